// The linear-collapse measurement (deep linear nets against their collapsed layer), the
// linear-versus-ReLU training comparison, and their JSON and report.
#include "actlab/lab/collapse.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "actlab/core/autograd.hpp"
#include "actlab/detail/fields.hpp"
#include "actlab/nn/init.hpp"
#include "actlab/nn/linear.hpp"
#include "actlab/nn/mlp.hpp"
#include "actlab/ops/ops.hpp"
#include "actlab/train/config.hpp"
#include "actlab/train/train.hpp"

namespace actlab {
namespace {

using nlohmann::json;

constexpr int kMaxDepth = 1024;
constexpr int64_t kMaxWidth = 4096;
constexpr int64_t kBatch = 256;

// One Linear layer's parameters: y = x W^T + b.
struct Affine {
  Tensor weight;  // [width, width]
  Tensor bias;    // [width]
};

// W' = W_N ... W_1 and b' = W_N (... (W_2 b_1 + b_2) ...) + b_N.
Affine collapse(const std::vector<nn::Linear*>& layers) {
  Affine total{layers.front()->weight, layers.front()->bias};
  for (size_t i = 1; i < layers.size(); ++i) {
    const nn::Linear& next = *layers[i];
    total.weight = matmul(next.weight, total.weight);
    total.bias = reshape(linear(reshape(total.bias, {1, -1}), next.weight, next.bias), {-1});
  }
  return total;
}

double max_abs(const Tensor& t) {
  double m = 0;
  for (float v : t.to_vector()) m = std::max(m, static_cast<double>(std::abs(v)));
  return m;
}

CollapseDepth measure(int depth, int64_t width, Generator& gen) {
  // kaiming_normal with the identity's gain 1: weights N(0, 1/width).
  nn::init::Scheme scheme;
  scheme.name = "kaiming_normal";
  nn::MLP deep(width, std::vector<int64_t>(static_cast<size_t>(depth - 1), width), width,
               "identity", scheme, 0.f, gen);
  for (nn::Linear* layer : deep.linears()) nn::init::normal_(layer->bias, 1.f, gen);
  const Tensor x = Tensor::randn({kBatch, width}, gen);  // [batch, width]
  const Tensor y = deep(x);
  const Affine one = collapse(deep.linears());
  CollapseDepth d;
  d.depth = depth;
  d.max_abs_diff = max_abs(y - linear(x, one.weight, one.bias));
  d.max_abs_output = max_abs(y);
  d.relative = d.max_abs_diff / d.max_abs_output;
  return d;
}

CollapseTraining train(const std::string& task, const std::string& activation, uint64_t seed) {
  const json doc = {
      {"task", {{"name", task}, {"n_train", 512}, {"n_test", 256}, {"seed", 1}}},
      {"model",
       {{"kind", "mlp"},
        {"hidden", {16, 16}},
        {"activation", activation},
        {"init", "kaiming_normal"}}},
      {"optimizer", {{"name", "adam"}, {"lr", 0.01}}},
      {"train", {{"epochs", 40}, {"batch_size", 32}, {"seed", seed}, {"eval_every", 1000000}}},
      {"diagnostics", {{"activation_stats", false}, {"grad_norms", false}}}};
  Trainer trainer(parse_config(doc));
  const EvalRecord last = trainer.run().history.back();
  CollapseTraining t;
  t.task = task;
  t.activation = activation;
  t.train_accuracy = last.train_accuracy.value_or(0);
  t.test_accuracy = last.test_accuracy.value_or(0);
  return t;
}

std::string accuracy_label(const CollapseTraining& t) {
  return fmt::format("{} {}", t.task, t.activation == "identity" ? "linear" : t.activation);
}

report::Table differences_table(const CollapseResult& r) {
  report::Table table;
  table.title = "Deep linear net against its collapsed layer";
  table.header = {"depth", "max |deep - collapsed|", "max |deep|", "relative"};
  for (const CollapseDepth& d : r.depths)
    table.rows.push_back({std::to_string(d.depth), fmt::format("{:.3g}", d.max_abs_diff),
                          fmt::format("{:.3g}", d.max_abs_output),
                          fmt::format("{:.3g}", d.relative)});
  return table;
}

report::BarChart accuracy_bars(const CollapseResult& r) {
  report::BarChart chart;
  chart.title = "Test accuracy: no activation against ReLU (two hidden layers of 16)";
  chart.y_label = "test accuracy";
  for (const CollapseTraining& t : r.training) {
    chart.labels.push_back(accuracy_label(t));
    chart.values.push_back(t.test_accuracy);
  }
  return chart;
}

}  // namespace

CollapseResult linear_collapse(const std::vector<int>& depths, int64_t width, uint64_t seed) {
  detail::check_integer("width", width, 1, kMaxWidth);
  for (int depth : depths) detail::check_integer("depth", depth, 1, kMaxDepth);
  CollapseResult result;
  result.width = width;
  result.seed = seed;
  Generator gen(seed);
  {
    NoGradGuard no_grad;
    for (int depth : depths) result.depths.push_back(measure(depth, width, gen));
  }
  for (const char* task : {"xor", "circles"})
    for (const char* activation : {"identity", "relu"})
      result.training.push_back(train(task, activation, seed));
  return result;
}

std::vector<int> collapse_depths(int max_depth) {
  detail::check_integer("depth", max_depth, 2, kMaxDepth);
  std::vector<int> depths;
  for (int d = 2; d <= max_depth; d *= 2) depths.push_back(d);
  if (depths.back() != max_depth) depths.push_back(max_depth);
  return depths;
}

nlohmann::json to_json(const CollapseResult& result) {
  json depths = json::array();
  for (const CollapseDepth& d : result.depths)
    depths.push_back({{"depth", d.depth},
                      {"max_abs_diff", d.max_abs_diff},
                      {"max_abs_output", d.max_abs_output},
                      {"relative", d.relative}});
  json training = json::array();
  for (const CollapseTraining& t : result.training)
    training.push_back({{"task", t.task},
                        {"activation", t.activation},
                        {"train_accuracy", t.train_accuracy},
                        {"test_accuracy", t.test_accuracy}});
  return {
      {"width", result.width}, {"seed", result.seed}, {"depths", depths}, {"training", training}};
}

report::Document collapse_report(const CollapseResult& result) {
  report::Document doc("Linear collapse");
  doc.paragraph(fmt::format(
      "Without an activation, N layers y = x W^T + b are one layer: W' = W_N ... W_1 and "
      "b' = W_N(...(W_2 b_1 + b_2)...) + b_N. Each net below has width {} (weights "
      "N(0, 1/{}), biases N(0, 1)); its output on {} random inputs is compared with that of "
      "the collapsed layer. The differences are float32 round-off: depth adds no expressive "
      "power.",
      result.width, result.width, kBatch));
  doc.add(differences_table(result));
  doc.heading("Trained");
  doc.paragraph(
      "The same two-hidden-layer net, trained with and without ReLU. Without an activation it "
      "is a linear classifier: on xor no line beats 75%, and circles need a closed boundary. "
      "On xor the best line for the logistic loss is nearly flat (the data are symmetric), so "
      "what a linear net ends at is a toss anywhere from 25% to 75%.");
  doc.add(accuracy_bars(result));
  doc.add_json("All numbers (JSON)", to_json(result));
  return doc;
}

}  // namespace actlab
