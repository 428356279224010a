// Diagnosing a model: analyses a trainer's state (a config trained briefly, or a run
// directory's checkpoint) into the numbers of a Diagnosis, and writes it as JSON.
#include "actlab/io/run.hpp"
#include "actlab/lab/diagnostics.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>

#include "actlab/io/serialize.hpp"
#include "actlab/ops/loss.hpp"
#include "actlab/ops/ops.hpp"

namespace actlab {
namespace {


// "mlp [32, 32] relu", "ffn gated 2 x (64 -> 256) swiglu", "sequential [linear, gelu, ...]";
// another kind by its name.
std::string model_summary(const ModelConfig& m) {
  const std::string act =
      m.activation.is_string() ? m.activation.get<std::string>() : m.activation.dump();
  if (m.kind == "mlp") return fmt::format("mlp [{}] {}", fmt::join(m.hidden, ", "), act);
  if (m.kind == "ffn")
    return fmt::format("ffn {} {} x ({} -> {}) {}", m.block, m.blocks, m.d_model, m.d_ff, act);
  if (m.kind == "decoder") {
    const nlohmann::json& s = m.spec;
    const bool gated = s["block"] == "gated";
    return fmt::format("decoder {} x (d_model {}, {} heads, {} FFN {}) {}",
                       s["n_layers"].get<int64_t>(), s["d_model"].get<int64_t>(),
                       s["n_heads"].get<int64_t>(), s["block"].get<std::string>(),
                       s[gated ? "gated_d_ff" : "d_ff"].get<int64_t>(), act);
  }
  std::vector<std::string> types;
  for (const auto& layer : m.spec.value("layers", nlohmann::json::array()))
    types.push_back(layer.value("type", layer.contains("formula") ? "formula" : "?"));
  return types.empty() ? m.kind : fmt::format("{} [{}]", m.kind, fmt::join(types, ", "));
}

double norm_of(const std::vector<GradNorm>& norms, const std::vector<std::string>& names) {
  double sq = 0;
  for (const GradNorm& g : norms)
    if (std::find(names.begin(), names.end(), g.name) != names.end()) sq += g.norm * g.norm;
  return std::sqrt(sq);
}

// The largest std across rows of any column of outputs [N, K], and the mean |output|.
std::pair<double, double> output_spread(const Tensor& out) {
  const int64_t n = out.size(0), cols = out.numel() / std::max<int64_t>(n, 1);
  const float* v = out.data();
  double widest = 0, scale = 0;
  for (int64_t c = 0; c < cols; ++c) {
    double sum = 0, sum_sq = 0;
    for (int64_t i = 0; i < n; ++i) {
      const double y = v[i * cols + c];
      sum += y, sum_sq += y * y, scale += std::abs(y);
    }
    const double mean = sum / static_cast<double>(n);
    widest =
        std::max(widest, std::sqrt(std::max(0.0, sum_sq / static_cast<double>(n) - mean * mean)));
  }
  return {widest, scale / static_cast<double>(out.numel())};
}

// The logits and labels the calibration reads: a sequence task's logits [N, T, V] as N * T
// rows, without the rows whose position is not scored.
std::pair<Tensor, std::vector<int64_t>> scored_rows(const Tensor& out, const data::Dataset& data) {
  std::vector<int64_t> labels = data::labels(reshape(data.y_test, {-1}), data.sequence);
  if (!data.sequence) return {out, labels};
  const int64_t vocab = out.size(-1);
  std::vector<float> rows;
  std::vector<int64_t> kept;
  for (size_t i = 0; i < labels.size(); ++i) {
    if (labels[i] == kIgnoreIndex) continue;
    const float* row = out.data() + static_cast<int64_t>(i) * vocab;
    rows.insert(rows.end(), row, row + vocab);
    kept.push_back(labels[i]);
  }
  return {Tensor::from_vector(std::move(rows), {static_cast<int64_t>(kept.size()), vocab}),
          std::move(kept)};
}

// Softmax or sigmoid outputs: classifiers trained on their logits (MSE gives scores instead).
bool has_logits(const Trainer& trainer) {
  return trainer.dataset().kind != data::TaskKind::regression &&
         trainer.config().loss.name != "mse";
}

void add_gradients(Diagnosis& d, Trainer& trainer) {
  Generator gen(trainer.config().train.seed, 2);
  const data::Dataset& data = trainer.dataset();
  data::BatchIterator batches(data.x_train, data.y_train, trainer.config().train.batch_size, gen);
  const data::Batch batch = *batches.next();
  d.grad_norms = trainer.gradient_norms(batch.x, batch.y);
  if (!d.grad_norms.empty() && d.grad_norms.back().norm > 0)
    d.grad_ratio = d.grad_norms.front().norm / d.grad_norms.back().norm;
}

Diagnosis analyse(Trainer& trainer, int64_t steps, std::string failure) {
  const data::Dataset& data = trainer.dataset();
  Diagnosis d;
  d.task = data.name;
  d.model = model_summary(trainer.config().model);
  d.kind = data.kind;
  d.steps = steps;
  d.failure = std::move(failure);
  std::tie(d.test_loss, d.test_accuracy) = trainer.evaluate(data.x_test, data.y_test);
  add_gradients(d, trainer);
  const std::vector<LayerStats> stats = trainer.activation_stats(data.x_test);
  for (size_t i = 0; i < stats.size(); ++i)
    d.layers.push_back({stats[i], norm_of(d.grad_norms, trainer.sites()[i].weights)});
  if (auto* decoder = dynamic_cast<nn::Decoder*>(&trainer.model()))
    d.attention = attention_head_stats(*decoder, data.x_test);
  const Tensor out = trainer.predict(data.x_test);
  std::tie(d.output_std, d.output_scale) = output_spread(out);
  if (has_logits(trainer)) {
    const auto [logits, labels] = scored_rows(out, data);
    d.calibration = Calibration{confidence_stats(logits, labels),
                                confidence_stats(logits, labels, fit_temperature(logits, labels))};
  }
  d.findings = find_issues(d);
  return d;
}

// The config cut to at most `steps` steps, in whole epochs, and without the per-evaluation
// statistics, which the diagnosis computes once at the end.
Config shortened(Config config, int64_t steps) {
  const int64_t n_train = config.task.at("n_train").get<int64_t>();
  const int64_t per_epoch = (n_train + config.train.batch_size - 1) / config.train.batch_size;
  config.train.epochs =
      std::min(config.train.epochs, std::max<int64_t>(1, (steps + per_epoch - 1) / per_epoch));
  config.diagnostics = {false, false};
  return config;
}

std::vector<Tensor> snapshot(nn::Module& model) {
  std::vector<Tensor> copy;
  for (const Tensor& p : model.parameters()) copy.push_back(p.clone());
  return copy;
}

void restore(nn::Module& model, const std::vector<Tensor>& copy) {
  std::vector<Tensor> params = model.parameters();
  for (size_t i = 0; i < params.size(); ++i) params[i].copy_(copy[i]);
}

nlohmann::json optional_json(const std::optional<double>& v) {
  return v ? nlohmann::json(*v) : nlohmann::json(nullptr);
}

nlohmann::json to_json(const ConfidenceStats& s) {
  nlohmann::json bins = nlohmann::json::array();
  for (const ReliabilityBin& b : s.bins)
    bins.push_back({{"lo", b.lo},
                    {"hi", b.hi},
                    {"count", b.count},
                    {"confidence", b.confidence},
                    {"accuracy", b.accuracy}});
  return {{"temperature", s.temperature},
          {"accuracy", s.accuracy},
          {"mean_confidence", s.mean_confidence},
          {"mean_entropy", s.mean_entropy},
          {"confident_wrong_rate", s.confident_wrong_rate},
          {"nll", s.nll},
          {"ece", s.ece},
          {"bins", bins}};
}

nlohmann::json to_json(const HeadStats& h) {
  return {{"layer", h.layer},
          {"head", h.head},
          {"rows", h.rows},
          {"mean_entropy", h.mean_entropy},
          {"uniform_entropy", h.uniform_entropy},
          {"collapsed_share", h.collapsed_share},
          {"mean_max_weight", h.mean_max_weight}};
}

}  // namespace

Diagnosis diagnose_model(Trainer& trainer, int64_t steps) { return analyse(trainer, steps, ""); }

Diagnosis diagnose_config(const Config& config, int64_t steps) {
  if (steps < 1) throw Error(fmt::format("diagnose: steps must be >= 1, got {}", steps));
  Trainer trainer(shortened(config, steps));
  std::vector<Tensor> good = snapshot(trainer.model());
  int64_t good_step = 0;
  TrainCallbacks keep_good;
  keep_good.on_good_state = [&](int64_t step) {
    good = snapshot(trainer.model());
    good_step = step;
  };
  const TrainResult result = trainer.run(keep_good);
  if (!result.diverged) return analyse(trainer, result.steps, "");
  restore(trainer.model(), good);
  return analyse(trainer, good_step, result.failure);
}

Diagnosis diagnose_run(const std::string& run_dir) {
  SavedRun run = open_run(run_dir);
  return analyse(*run.trainer, run.progress.step, "");
}

nlohmann::json to_json(const Diagnosis& d) {
  nlohmann::json layers = nlohmann::json::array();
  for (const LayerDiagnosis& l : d.layers) {
    nlohmann::json layer = to_json(l.stats);
    layer["grad_norm"] = l.grad_norm;
    layers.push_back(std::move(layer));
  }
  nlohmann::json grads = nlohmann::json::array();  // in model order, input to output
  for (const GradNorm& g : d.grad_norms) grads.push_back({{"name", g.name}, {"norm", g.norm}});
  nlohmann::json findings = nlohmann::json::array();
  for (const Finding& f : d.findings)
    findings.push_back({{"severity", f.severity},
                        {"layer", f.layer},
                        {"message", f.message},
                        {"advice", f.advice}});
  nlohmann::json attention = nlohmann::json::array();
  for (const HeadStats& h : d.attention) attention.push_back(to_json(h));
  nlohmann::json calibration = nullptr;
  if (d.calibration)
    calibration = {{"before", to_json(d.calibration->before)},
                   {"after", to_json(d.calibration->after)}};
  return {{"task", d.task},
          {"model", d.model},
          {"kind", data::to_string(d.kind)},
          {"steps", d.steps},
          {"failure", d.failure.empty() ? nlohmann::json(nullptr) : nlohmann::json(d.failure)},
          {"test_loss", d.test_loss},
          {"test_accuracy", optional_json(d.test_accuracy)},
          {"layers", layers},
          {"grad_norms", grads},
          {"grad_ratio", optional_json(d.grad_ratio)},
          {"output_std", d.output_std},
          {"output_scale", d.output_scale},
          {"calibration", calibration},
          {"attention", attention},
          {"findings", findings}};
}

}  // namespace actlab
