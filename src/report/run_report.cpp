// The report.html of a training run: loss and accuracy curves, the decision boundary of 2-D
// classifiers and the per-layer statistics.
#include "actlab/report/run_report.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "actlab/ops/ops.hpp"
#include "actlab/report/attention_report.hpp"
#include "actlab/report/report.hpp"

namespace actlab {
namespace {


report::LineChart curves(const TrainResult& result, bool accuracy) {
  report::LineChart chart{accuracy ? "Accuracy" : "Loss", "step", accuracy ? "accuracy" : "loss",
                          !accuracy, {}};
  report::Series train{"train", {}, {}}, test{"test", {}, {}};
  for (const EvalRecord& r : result.history) {
    train.x.push_back(static_cast<double>(r.step));
    test.x.push_back(static_cast<double>(r.step));
    train.y.push_back(accuracy ? r.train_accuracy.value_or(NAN) : r.train_loss);
    test.y.push_back(accuracy ? r.test_accuracy.value_or(NAN) : r.test_loss);
  }
  chart.series = {train, test};
  return chart;
}

// The classifier's decision over a grid around the test points (2-D inputs only).
report::DecisionBoundary boundary(Trainer& trainer) {
  const data::Dataset& d = trainer.dataset();
  constexpr int64_t kCells = 100;
  constexpr int64_t kMaxPoints = 1000;
  report::DecisionBoundary chart;
  chart.title = "Decision boundary (test points)";
  chart.resolution = kCells;
  chart.num_classes = static_cast<int>(d.num_classes);
  const float* x = d.x_test.data();
  const int64_t n = d.x_test.size(0);
  const std::vector<int64_t> labels = data::labels(reshape(d.y_test, {-1}));
  chart.x_min = chart.y_min = INFINITY;
  chart.x_max = chart.y_max = -INFINITY;
  for (int64_t i = 0; i < n; ++i) {
    chart.x_min = std::min<double>(chart.x_min, x[2 * i]);
    chart.x_max = std::max<double>(chart.x_max, x[2 * i]);
    chart.y_min = std::min<double>(chart.y_min, x[2 * i + 1]);
    chart.y_max = std::max<double>(chart.y_max, x[2 * i + 1]);
    if (i < kMaxPoints) chart.points.push_back({x[2 * i], x[2 * i + 1], static_cast<int>(labels[i])});
  }
  const double pad_x = 0.1 * (chart.x_max - chart.x_min), pad_y = 0.1 * (chart.y_max - chart.y_min);
  chart.x_min -= pad_x;
  chart.x_max += pad_x;
  chart.y_min -= pad_y;
  chart.y_max += pad_y;
  Tensor grid = Tensor::empty({kCells * kCells, 2});
  float* g = grid.mutable_data();
  for (int64_t r = 0; r < kCells; ++r)
    for (int64_t c = 0; c < kCells; ++c) {
      g[2 * (r * kCells + c)] = static_cast<float>(chart.x_min + (c + 0.5) * (chart.x_max - chart.x_min) / kCells);
      g[2 * (r * kCells + c) + 1] = static_cast<float>(chart.y_min + (r + 0.5) * (chart.y_max - chart.y_min) / kCells);
    }
  const Tensor out = trainer.predict(grid);
  const int64_t cols = out.size(-1);
  const float* o = out.data();
  const float threshold = trainer.config().loss.name == "mse" ? 0.5f : 0.f;
  for (int64_t cell = 0; cell < kCells * kCells; ++cell) {
    const float* row = o + cell * cols;
    if (cols == 1) {
      chart.cls.push_back(row[0] > threshold ? 1 : 0);
      const float p = threshold == 0.f ? 1.f / (1.f + std::exp(-row[0])) : row[0];
      chart.confidence.push_back(std::clamp(std::abs(2.f * p - 1.f), 0.f, 1.f));
      continue;
    }
    int best = 0;
    for (int k = 1; k < cols; ++k)
      if (row[k] > row[best]) best = k;
    double total = 0;
    for (int k = 0; k < cols; ++k) total += std::exp(static_cast<double>(row[k] - row[best]));
    const double top = 1.0 / total, floor = 1.0 / static_cast<double>(cols);
    chart.cls.push_back(best);
    chart.confidence.push_back(static_cast<float>((top - floor) / (1.0 - floor)));
  }
  return chart;
}

}  // namespace

void add_layer_statistics(report::Document& doc, const std::string& heading,
                          const std::vector<LayerStats>& layers,
                          const std::vector<GradNorm>& grad_norms, const std::string& grad_title) {
  if (!layers.empty()) {
    doc.heading(heading);
    report::BarChart dead{"Dead units (%)", "% of units", false, {}, {}};
    report::BarChart zeros{"Zero outputs (%)", "% of outputs", false, {}, {}};
    report::BarChart spread{"Activation std", "std", false, {}, {}};
    report::BarChart saturated{"Saturated (%)", "% of outputs", false, {}, {}};
    report::Table table{"Per-layer statistics", {"layer", "activation", "mean", "std", "% zeros", "% dead", "% saturated"}, {}};
    for (const LayerStats& s : layers) {
      for (auto* chart : {&dead, &zeros, &spread, &saturated}) chart->labels.push_back(s.name);
      dead.values.push_back(100 * s.dead_fraction);
      zeros.values.push_back(100 * s.zero_fraction);
      spread.values.push_back(s.std);
      saturated.values.push_back(100 * s.saturated_fraction);
      table.rows.push_back({s.name, s.activation, fmt::format("{:.4g}", s.mean), fmt::format("{:.4g}", s.std),
                            fmt::format("{:.1f}", 100 * s.zero_fraction), fmt::format("{:.1f}", 100 * s.dead_fraction),
                            fmt::format("{:.1f}", 100 * s.saturated_fraction)});
    }
    doc.begin_grid();
    for (const auto* chart : {&dead, &zeros, &spread, &saturated}) doc.add(*chart);
    doc.end_grid();
    doc.add(table);
  }
  if (!grad_norms.empty()) {
    report::BarChart norms{grad_title, "||dL/dW||", true, {}, {}};
    for (const GradNorm& g : grad_norms) {
      norms.labels.push_back(g.name);
      norms.values.push_back(g.norm);
    }
    doc.add(norms);
  }
}

void write_run_report(const std::string& path, Trainer& trainer, const TrainResult& result) {
  const Config& config = trainer.config();
  const data::Dataset& d = trainer.dataset();
  report::Document doc(fmt::format("actlab run: {} / {}", d.name, config.model.kind));
  doc.paragraph(fmt::format("Task {} ({}), model {} with {} parameters, loss {}, optimiser {} "
                            "(lr {}), {} steps in {:.2f} s.",
                            d.name, data::to_string(d.kind), trainer.model().describe(),
                            result.parameter_count, config.loss.name, config.optimizer.name,
                            config.optimizer.lr, result.steps, result.seconds));
  if (result.diverged) doc.paragraph("The run failed: " + result.failure);
  if (result.steps_to_target)
    doc.paragraph(fmt::format("Reached the target at step {}.", *result.steps_to_target));
  doc.add(curves(result, false));
  if (d.kind != data::TaskKind::regression) doc.add(curves(result, true));
  if (d.input_dim == 2 && d.kind != data::TaskKind::regression) doc.add(boundary(trainer));
  if (!result.history.empty())
    add_layer_statistics(doc, "Activations per layer (test split, last evaluation)",
                         result.history.back().layers, result.history.back().grad_norms,
                         "Gradient norm per weight (last step)");
  if (auto* decoder = dynamic_cast<nn::Decoder*>(&trainer.model()))
    add_decoder_attention(doc, *decoder, d);
  doc.add_json("Resolved config", config.resolved);
  doc.write(path);
}

}  // namespace actlab
