// The trainer and the models it builds from configs.
#include "actlab/train/train.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <set>
#include <chrono>
#include <limits>
#include <functional>
#include <cmath>
#include <numbers>

#include "actlab/core/anomaly.hpp"
#include "actlab/core/autograd.hpp"
#include "actlab/nn/activation.hpp"
#include "actlab/nn/registry.hpp"
#include "actlab/ops/loss.hpp"
#include "actlab/ops/ops.hpp"
#include "actlab/train/optim.hpp"

namespace actlab {
namespace {

double to_double(const Tensor& scalar) { return static_cast<double>(scalar.item()); }

// Forward hooks removed when the guard goes, even when a forward throws.
class HookGuard {
 public:
  HookGuard() = default;
  HookGuard(const HookGuard&) = delete;
  HookGuard& operator=(const HookGuard&) = delete;
  ~HookGuard() {
    for (auto& [module, id] : hooks_) module->remove_forward_hook(id);
  }
  void add(nn::Module& module, nn::Module::ForwardHook hook) {
    hooks_.emplace_back(&module, module.add_forward_hook(std::move(hook)));
  }

 private:
  std::vector<std::pair<nn::Module*, int>> hooks_;
};

// The failure of a run that diverged at `step`, with what is known of why.
std::string diverged_at(int64_t step, const std::string& why) {
  return fmt::format("step {}: the run diverged to NaN/Inf; {}", step, why);
}

// Per-column statistics of activations [N, units] (a 1-D tensor counts as one unit); outputs on
// a flat tail are counted by the test of the activation's registry entry, if it has one.
LayerStats stats_of(const Tensor& a, const std::string& activation) {
  LayerStats s;
  s.activation = activation;
  const int64_t n = a.numel();
  if (n == 0) return s;
  const int64_t units = a.dim() >= 2 ? a.size(-1) : 1;
  const int64_t rows = n / units;
  const float* v = a.data();
  const std::function<bool(float)> saturated =
      nn::is_activation(activation) ? nn::activation_info(activation).saturated : nullptr;
  double sum = 0, sum_sq = 0;
  int64_t zeros = 0, saturated_count = 0;
  std::vector<char> alive(static_cast<size_t>(units), 0);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t u = 0; u < units; ++u) {
      const float y = v[r * units + u];
      sum += y;
      sum_sq += static_cast<double>(y) * y;
      if (y == 0.f)
        ++zeros;
      else
        alive[static_cast<size_t>(u)] = 1;
      if (saturated && saturated(y)) ++saturated_count;
    }
  s.mean = sum / static_cast<double>(n);
  s.std = std::sqrt(std::max(0.0, sum_sq / static_cast<double>(n) - s.mean * s.mean));
  s.zero_fraction = static_cast<double>(zeros) / static_cast<double>(n);
  int64_t dead = 0;
  for (char a_live : alive) dead += a_live == 0;
  s.dead_fraction = static_cast<double>(dead) / static_cast<double>(units);
  s.saturated_fraction = static_cast<double>(saturated_count) / static_cast<double>(n);
  return s;
}

}  // namespace

namespace {

// The weights (parameter names ending in "weight") of `modules`, under `prefix`.
std::vector<std::string> weights_of(const std::vector<std::pair<std::string, nn::Module*>>& modules,
                                    const std::string& prefix) {
  std::vector<std::string> names;
  for (const auto& [name, module] : modules)
    for (const auto& [parameter, tensor] : module->named_parameters())
      if (parameter.ends_with("weight")) names.push_back(prefix + name + "." + parameter);
  return names;
}

// A site and the layer of the model (its top-level child) it lies in: "" for a site that is
// such a layer itself.
struct FoundSite {
  ActivationSite site;
  std::string top;
};

// The marked modules below `parent`, depth first, each with the weights of the siblings that
// come before it since the previous marked one: the layers that compute what it sees.
void collect_sites(nn::Module& parent, const std::string& prefix, const std::string& top,
                   std::vector<FoundSite>& found) {
  std::vector<std::pair<std::string, nn::Module*>> feeding;
  for (const auto& [name, child] : parent.named_children()) {
    if (const auto& mark = child->activation_mark()) {
      found.push_back({{"", child, mark->watch_input, mark->activation, weights_of(feeding, prefix)},
                       top});
      feeding.clear();
      if (!mark->watch_input) continue;  // an activation's own parameters feed nothing
    }
    feeding.emplace_back(name, child);
    collect_sites(*child, prefix + name + ".", top.empty() ? name : top, found);
  }
}

}  // namespace

std::vector<ActivationSite> find_activation_sites(nn::Module& net) {
  std::vector<FoundSite> found;
  collect_sites(net, "", "", found);
  // A site that is a layer of the model is "layer k"; the sites inside one of its layers (a
  // block) are "block k", or "block k.i" when that block holds several.
  std::vector<ActivationSite> sites;
  int64_t layers = 0, blocks = 0;
  for (size_t i = 0; i < found.size();) {
    if (found[i].top.empty()) {
      found[i].site.name = fmt::format("layer {}", ++layers);
      sites.push_back(std::move(found[i++].site));
      continue;
    }
    size_t end = i;
    while (end < found.size() && found[end].top == found[i].top) ++end;
    ++blocks;
    for (size_t k = i; k < end; ++k) {
      found[k].site.name = end - i == 1 ? fmt::format("block {}", blocks)
                                        : fmt::format("block {}.{}", blocks, k - i + 1);
      sites.push_back(std::move(found[k].site));
    }
    i = end;
  }
  return sites;
}

Model build_model(const ModelConfig& config, int64_t input_dim, int64_t output_dim,
                  Generator& gen) {
  Model model;
  model.net = nn::make_model(config.spec, input_dim, output_dim, gen);
  model.sites = find_activation_sites(*model.net);
  return model;
}

// ---- Trainer ---------------------------------------------------------------------------------

namespace {

int64_t output_dim_for(const Config& config, const data::Dataset& data) {
  if (config.loss.name == "bce_with_logits") return 1;
  if (config.loss.name == "cross_entropy") return data.num_classes;
  return data.kind == data::TaskKind::multiclass ? data.num_classes : data.output_dim;
}

std::unique_ptr<optim::Optimizer> make_optimizer(const OptimizerConfig& c,
                                                 std::vector<Tensor> params) {
  if (c.name == "sgd")
    return std::make_unique<optim::SGD>(std::move(params), c.lr, c.momentum, c.weight_decay,
                                        c.nesterov);
  if (c.name == "adamw")
    return std::make_unique<optim::AdamW>(std::move(params), c.lr, c.beta1, c.beta2, c.eps,
                                          c.weight_decay);
  return std::make_unique<optim::Adam>(std::move(params), c.lr, c.beta1, c.beta2, c.eps,
                                       c.weight_decay);
}

// Multiclass labels, binary ones from a [N, 1] 0/1 column, or a sequence task's [N, T] next
// tokens (kIgnoreIndex where unscored), flattened to N * T labels.
std::vector<int64_t> class_labels(const Tensor& y, bool sequence) {
  return data::labels(y.dim() == 2 ? reshape(y, {-1}) : y, sequence);
}

// A sequence model's logits [batch, time, vocab] as the [batch * time, vocab] rows the loss
// and the accuracy score, one per token; other outputs as they are.
Tensor token_rows(const Tensor& output) {
  return output.dim() == 3 ? reshape(output, {-1, output.size(-1)}) : output;
}

// Rows [first, first + count) of t, copied.
Tensor rows_of(const Tensor& t, int64_t first, int64_t count) {
  Shape shape = t.shape();
  const int64_t width = t.numel() / shape[0];
  shape[0] = count;
  Tensor out = Tensor::empty(shape);
  std::copy_n(t.data() + first * width, count * width, out.mutable_data());
  return out;
}


Tensor one_hot(const std::vector<int64_t>& labels, int64_t classes) {
  Tensor t = Tensor::zeros({static_cast<int64_t>(labels.size()), classes});
  float* v = t.mutable_data();
  for (size_t i = 0; i < labels.size(); ++i) v[static_cast<int64_t>(i) * classes + labels[i]] = 1.f;
  return t;
}

// The parameters of the activation sites that are activations (not a gated block's `down`),
// with their values, in the order of the model's named_parameters().
std::vector<std::pair<std::string, std::vector<float>>> activation_parameters(
    const nn::Module& net, const std::vector<ActivationSite>& sites) {
  std::set<const detail::TensorImpl*> own;
  for (const ActivationSite& site : sites)
    if (!site.watch_input)
      for (const Tensor& p : site.module->parameters()) own.insert(p.impl());
  std::vector<std::pair<std::string, std::vector<float>>> found;
  for (const auto& [name, p] : net.named_parameters())
    if (own.count(p.impl())) found.emplace_back(name, p.to_vector());
  return found;
}

}  // namespace

Trainer::Trainer(Config config)
    : config_(std::move(config)),
      dataset_(data::make_task(config_.task)),
      gen_(config_.train.seed),
      detect_anomaly_(config_.train.detect_anomaly) {
  model_ = build_model(config_.model, dataset_.input_dim, output_dim_for(config_, dataset_), gen_);
  optimizer_ = make_optimizer(config_.optimizer, model_.net->parameters());
  // An activation's own parameters (PReLU's slopes, a formula's beta) get no weight decay,
  // which would pull them to 0 (He et al. 2015 train PReLU without it).
  for (const ActivationSite& site : model_.sites)
    if (!site.watch_input)
      for (const Tensor& p : site.module->parameters()) optimizer_->exclude_from_weight_decay(p);
}

Trainer::~Trainer() = default;

int64_t Trainer::total_steps() const {
  const int64_t n = dataset_.x_train.size(0);
  const int64_t per_epoch = (n + config_.train.batch_size - 1) / config_.train.batch_size;
  return per_epoch * config_.train.epochs;
}

Tensor Trainer::loss(const Tensor& output, const Tensor& y) const {
  const std::string& name = config_.loss.name;
  if (name == "bce_with_logits") return binary_cross_entropy_with_logits(output, y);
  if (name == "cross_entropy")
    return cross_entropy(token_rows(output), class_labels(y, dataset_.sequence),
                         config_.loss.label_smoothing);
  if (dataset_.kind == data::TaskKind::multiclass)
    return mse_loss(output, one_hot(class_labels(y, false), dataset_.num_classes));
  return mse_loss(output, y);
}

std::optional<double> Trainer::accuracy(const Tensor& output, const Tensor& y) const {
  if (dataset_.kind == data::TaskKind::regression) return std::nullopt;
  const auto [correct, scored] = correct_predictions(output, y);
  return static_cast<double>(correct) / static_cast<double>(scored);
}

std::pair<int64_t, int64_t> Trainer::correct_predictions(const Tensor& output,
                                                         const Tensor& y) const {
  const std::vector<int64_t> truth = class_labels(y, dataset_.sequence);
  const int64_t cols = output.size(-1);
  const float* o = output.data();
  // One output column: a logit (threshold 0) or, trained with MSE, a 0/1 score (threshold 0.5).
  const float threshold = config_.loss.name == "mse" ? 0.5f : 0.f;
  int64_t correct = 0, scored = 0;
  for (size_t i = 0; i < truth.size(); ++i) {
    if (truth[i] == kIgnoreIndex) continue;
    ++scored;
    const float* row = o + static_cast<int64_t>(i) * cols;
    int64_t predicted = 0;
    if (cols == 1) {
      predicted = row[0] > threshold ? 1 : 0;
    } else {
      for (int64_t c = 1; c < cols; ++c)
        if (row[c] > row[predicted]) predicted = c;
    }
    correct += predicted == truth[i];
  }
  return {correct, scored};
}

// A sequence task is evaluated this many tokens at a time (whole windows, at least one), and
// its activation statistics are taken over its first such chunk: the whole test split at once
// would hold [N, heads, T, T] attention weights and [N, T, d_ff] hidden units per block.
int64_t evaluation_chunk_rows(bool sequence, int64_t input_dim) {
  constexpr int64_t kEvalChunkTokens = 8192;
  if (!sequence) return std::numeric_limits<int64_t>::max();
  return std::max<int64_t>(1, kEvalChunkTokens / input_dim);
}

int64_t Trainer::eval_chunk_rows() const {
  return evaluation_chunk_rows(dataset_.sequence, dataset_.input_dim);
}

Tensor Trainer::predict(const Tensor& x) {
  NoGradGuard no_grad;
  nn::EvalModeGuard eval(*model_.net);
  return (*model_.net)(x);
}

std::pair<double, std::optional<double>> Trainer::evaluate(const Tensor& x, const Tensor& y) {
  const int64_t rows = x.size(0), chunk = eval_chunk_rows();
  NoGradGuard no_grad;
  if (rows <= chunk) {
    const Tensor out = predict(x);
    return {to_double(loss(out, y)), accuracy(out, y)};
  }
  // Chunk by chunk, each chunk's mean loss weighted by its scored tokens: the mean over all.
  double loss_sum = 0;
  int64_t correct = 0, scored = 0;
  for (int64_t first = 0; first < rows; first += chunk) {
    const int64_t count = std::min(chunk, rows - first);
    const Tensor ys = rows_of(y, first, count);
    const Tensor out = predict(rows_of(x, first, count));
    const auto [right, tokens] = correct_predictions(out, ys);
    loss_sum += to_double(loss(out, ys)) * static_cast<double>(tokens);
    correct += right;
    scored += tokens;
  }
  return {loss_sum / static_cast<double>(scored),
          static_cast<double>(correct) / static_cast<double>(scored)};
}

float Trainer::lr_at(int64_t step) const {
  const float base = config_.optimizer.lr;
  const TrainConfig& t = config_.train;
  if (t.schedule == "cosine")
    return base * 0.5f *
           (1.f + std::cos(std::numbers::pi_v<float> * static_cast<float>(step) /
                           static_cast<float>(total_steps())));
  if (t.schedule == "step") {
    const int64_t per_epoch = std::max<int64_t>(1, total_steps() / t.epochs);
    return base * std::pow(t.gamma, static_cast<float>(step / per_epoch / t.step_size));
  }
  return base;
}

std::vector<LayerStats> Trainer::activation_stats(const Tensor& x) {
  if (x.size(0) > eval_chunk_rows()) return activation_stats(rows_of(x, 0, eval_chunk_rows()));
  std::vector<Tensor> seen(model_.sites.size());
  {
    HookGuard hooks;
    for (size_t i = 0; i < model_.sites.size(); ++i) {
      const ActivationSite& site = model_.sites[i];
      hooks.add(*site.module, [&seen, i, input = site.watch_input](nn::Module&, const Tensor& x,
                                                                   const Tensor& y) {
        seen[i] = input ? x : y;
      });
    }
    predict(x);
  }
  std::vector<LayerStats> stats;
  for (size_t i = 0; i < model_.sites.size(); ++i) {
    LayerStats s = stats_of(seen[i], model_.sites[i].activation);
    s.name = model_.sites[i].name;
    stats.push_back(std::move(s));
  }
  return stats;
}

bool Trainer::parameters_finite() const {
  for (const Tensor& p : model_.net->parameters())
    if (!all_finite(p)) return false;
  return true;
}

std::vector<GradNorm> Trainer::grad_norms() const {
  std::vector<GradNorm> norms;
  for (auto& [name, p] : model_.net->named_parameters()) {
    if (!name.ends_with("weight")) continue;
    const Tensor g = p.grad();
    double sq = 0;
    const float* values = g.defined() ? g.data() : nullptr;  // read in place: no copy to count
    for (int64_t i = 0; values && i < g.numel(); ++i) sq += static_cast<double>(values[i]) * values[i];
    norms.push_back({name, std::sqrt(sq)});
  }
  return norms;
}

std::vector<GradNorm> Trainer::gradient_norms(const Tensor& x, const Tensor& y) {
  const bool was_training = model_.net->is_training();
  model_.net->eval();
  optimizer_->zero_grad();
  loss((*model_.net)(x), y).backward();
  model_.net->train(was_training);
  std::vector<GradNorm> norms = grad_norms();
  optimizer_->zero_grad();
  return norms;
}

// Replays a failed step's forward with every module watched, to name the first op whose output
// is not finite.
std::string Trainer::explain_non_finite(const Tensor& x, const Tensor& y, int64_t step) {
  std::string culprit;
  {
    HookGuard hooks;
    for (auto& [name, module] : model_.net->named_modules()) {
      const std::string label = name.empty() ? "the model" : name;
      hooks.add(*module, [&culprit, label](nn::Module& m, const Tensor&, const Tensor& out) {
        if (culprit.empty() && !all_finite(out))
          culprit = fmt::format("{} ({})", label, m.describe());
      });
    }
    NoGradGuard no_grad;
    const Tensor out = (*model_.net)(x);
    if (culprit.empty() && !std::isfinite(loss(out, y).item()))
      culprit = fmt::format("the loss ({})", config_.loss.name);
  }
  if (culprit.empty()) {
    for (const auto& [name, p] : model_.net->named_parameters())
      if (!all_finite(p)) {
        culprit = fmt::format("the optimiser step, which made parameter {} non-finite", name);
        break;
      }
  }
  if (culprit.empty()) culprit = "a gradient (the forward pass was finite)";
  return diverged_at(step, "the first non-finite value came from " + culprit);
}

bool Trainer::is_evaluation_step(int64_t step) const {
  return step >= 1 && step <= total_steps() &&
         (step % config_.train.eval_every == 0 || step == total_steps());
}

std::vector<std::pair<std::string, Generator::State>> Trainer::generator_states() {
  std::vector<std::pair<std::string, Generator::State>> states;
  for (auto& [name, gen] : model_.net->named_generators()) states.emplace_back(name, gen->state());
  return states;
}

void Trainer::check_progress(const TrainProgress& from) {
  const int64_t total = total_steps(), epochs = config_.train.epochs;
  if (from.step < 0 || from.step > total)
    throw Error(fmt::format("step {} is outside the run's [0, {}]", from.step, total));
  if (from.epoch < 1 || from.epoch > epochs)
    throw Error(fmt::format("epoch {} is outside the run's [1, {}]", from.epoch, epochs));
  int64_t previous = 0;
  for (const EvalRecord& r : from.history) {
    if (r.step <= previous || r.step > from.step)
      throw Error(fmt::format("the history's evaluations are not at increasing steps up to {}: "
                              "step {} follows step {}",
                              from.step, r.step, previous));
    previous = r.step;
  }
  Generator unused;
  data::BatchIterator(dataset_.x_train, dataset_.y_train, config_.train.batch_size, unused)
      .set_state(from.batches);
  const auto gens = model_.net->named_generators();
  const auto names = [](const auto& list) {
    std::vector<std::string> out;
    for (const auto& entry : list) out.push_back(entry.first);
    return fmt::format("[{}]", fmt::join(out, ", "));
  };
  bool same = gens.size() == from.model_generators.size();
  for (size_t i = 0; same && i < gens.size(); ++i)
    same = gens[i].first == from.model_generators[i].first;
  if (!same)
    throw Error(fmt::format("the saved generators {} are not the model's {}",
                            names(from.model_generators), names(gens)));
}

void Trainer::restore_generators(
    const std::vector<std::pair<std::string, Generator::State>>& states) {
  auto gens = model_.net->named_generators();
  for (size_t i = 0; i < gens.size(); ++i) gens[i].second->set_state(states[i].second);
}

TrainResult Trainer::run(const TrainCallbacks& callbacks) {
  TrainProgress start;
  Generator batch_gen(config_.train.seed, 1);
  start.batch_generator = batch_gen.state();
  start.batches = data::BatchIterator(dataset_.x_train, dataset_.y_train,
                                      config_.train.batch_size, batch_gen)
                      .state();
  start.model_generators = generator_states();
  return resume(start, callbacks);
}

std::optional<double> Trainer::train_step(const data::Batch& batch, float lr) {
  optimizer_->set_lr(lr);
  optimizer_->zero_grad();
  Tensor l = loss((*model_.net)(batch.x), batch.y);
  const double value = to_double(l);
  if (!std::isfinite(value)) return std::nullopt;
  l.backward();
  for (const Tensor& p : model_.net->parameters())
    if (p.grad().defined() && !all_finite(p.grad())) return std::nullopt;
  if (config_.train.clip_grad_norm)
    optim::clip_grad_norm(model_.net->parameters(), *config_.train.clip_grad_norm);
  optimizer_->step();
  return value;
}

bool Trainer::evaluate_into(EvalRecord& record) {
  std::tie(record.test_loss, record.test_accuracy) = evaluate(dataset_.x_test, dataset_.y_test);
  // The last update may have broken the model even though its step's loss was finite.
  if (!std::isfinite(record.test_loss) || !parameters_finite()) return false;
  // A sequence task's training windows can be many times its test windows: its training
  // accuracy is measured on as many of them as the test split holds (the first, which were
  // drawn at random positions), so that an evaluation costs what the test split costs.
  const int64_t rows = dataset_.x_train.size(0);
  const int64_t sample = dataset_.sequence ? std::min(rows, dataset_.x_test.size(0)) : rows;
  record.train_accuracy =
      sample == rows ? evaluate(dataset_.x_train, dataset_.y_train).second
                     : evaluate(rows_of(dataset_.x_train, 0, sample),
                                rows_of(dataset_.y_train, 0, sample))
                           .second;
  if (config_.diagnostics.grad_norms) record.grad_norms = grad_norms();
  if (config_.diagnostics.activation_stats) record.layers = activation_stats(dataset_.x_test);
  return true;
}

void Trainer::record_evaluation(EvalRecord record, const Generator& batch_gen,
                                const data::BatchIterator& batches,
                                const TrainCallbacks& callbacks) {
  const int64_t step = record.step, epoch = record.epoch;
  const auto& target = config_.train.target;
  // A sequence task's target is a test loss (nats per token), like regression's.
  const bool by_accuracy = record.test_accuracy && !dataset_.sequence;
  const bool reached = target && (by_accuracy ? *record.test_accuracy >= *target
                                              : record.test_loss <= *target);
  progress_.history.push_back(std::move(record));
  if (callbacks.on_eval) callbacks.on_eval(progress_.history.back());
  if (reached && !progress_.steps_to_target) progress_.steps_to_target = step;
  progress_.step = step;
  progress_.epoch = epoch;
  progress_.batch_generator = batch_gen.state();
  progress_.batches = batches.state();
  progress_.model_generators = generator_states();
  progress_.finished = step == total_steps() || (reached && config_.train.stop_at_target);
  if (callbacks.on_good_state) callbacks.on_good_state(step);
}

TrainResult Trainer::resume(const TrainProgress& from, const TrainCallbacks& callbacks) {
  check_progress(from);
  const int64_t total = total_steps();
  Generator batch_gen;
  batch_gen.set_state(from.batch_generator);
  data::BatchIterator batches(dataset_.x_train, dataset_.y_train, config_.train.batch_size,
                              batch_gen);
  batches.set_state(from.batches);
  restore_generators(from.model_generators);
  progress_ = from;

  TrainResult result;
  result.parameter_count = nn::count_parameters(*model_.net);
  const auto start = std::chrono::steady_clock::now();
  double loss_sum = 0;
  int64_t loss_count = 0;
  auto window_start = std::chrono::steady_clock::now();
  model_.net->train();
  const auto finish = [&](int64_t steps) {
    if (!result.diverged) result.activation_parameters = activation_parameters(*model_.net, model_.sites);
    result.history = progress_.history;
    result.steps_to_target = progress_.steps_to_target;
    result.steps = steps;
    result.seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return result;
  };
  // Ends a run that went non-finite at `step`, as `failure` says.
  const auto stop_diverged = [&](std::string failure, int64_t step) {
    result.diverged = true;
    result.failure = std::move(failure);
    return finish(step);
  };
  // Ends a run whose loss, gradients or parameters went non-finite at `step`.
  const auto diverged = [&](const data::Batch& batch, int64_t step) {
    return stop_diverged(explain_non_finite(batch.x, batch.y, step), step);
  };
  if (from.finished) return finish(from.step);

  std::optional<AnomalyModeGuard> anomaly_mode;
  if (detect_anomaly_) anomaly_mode.emplace();
  int64_t step = from.step + 1;
  try {
    for (int64_t epoch = from.epoch; step <= total; ++epoch) {
      while (auto batch = batches.next()) {
        const float lr = lr_at(step - 1);
        const std::optional<double> value = train_step(*batch, lr);
        if (!value) return diverged(*batch, step);
        loss_sum += *value;
        ++loss_count;
        if (callbacks.on_step) callbacks.on_step(step, total, *value);

        if (is_evaluation_step(step)) {
          const double window = std::chrono::duration<double>(std::chrono::steady_clock::now() -
                                                               window_start).count();
          EvalRecord rec;
          rec.step = step;
          rec.epoch = epoch;
          rec.lr = lr;
          rec.train_loss = loss_sum / static_cast<double>(loss_count);
          rec.steps_per_second = window > 0 ? static_cast<double>(loss_count) / window : 0;
          if (!evaluate_into(rec)) return diverged(*batch, step);
          loss_sum = 0;
          loss_count = 0;
          record_evaluation(std::move(rec), batch_gen, batches, callbacks);
          if (progress_.finished) return finish(step);
          if (callbacks.should_stop && callbacks.should_stop(step)) {
            result.stopped = true;
            return finish(step);
          }
          window_start = std::chrono::steady_clock::now();
        }
        if (++step > total) break;
      }
    }
  } catch (const AnomalyError& e) {
    return stop_diverged(diverged_at(step, e.what()), step);
  }
  return finish(total);
}

}  // namespace actlab
