// The trainer: builds the task, model, loss and optimiser a Config describes, trains with
// mini-batches, evaluates on the test split every eval_every steps, and watches the model
// (per-layer activation statistics and gradient norms) through forward hooks, without touching
// the model's code. Deterministic for a config, seed and thread count.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "actlab/nn/module.hpp"
#include "actlab/train/config.hpp"
#include "actlab/train/data.hpp"
#include "actlab/train/optim.hpp"

namespace actlab {

// Where a model's activations can be watched: the output of an activation module, or the input
// of a layer that consumes one (a gated FFN's `down`, whose input is act(gate) * up).
struct ActivationSite {
  std::string name;        // "layer 1" (an MLP's first hidden layer), "block 2" (an FFN block)
  nn::Module* module;
  bool watch_input;
  std::string activation;  // e.g. "relu", "swiglu"
  // The weights (parameter names) of the layers that compute what the site sees, e.g.
  // {"0.weight"}, or a gated block's {"blocks.0.gate.weight", "blocks.0.up.weight"}: the
  // gradient that reaches the site's layer is theirs.
  std::vector<std::string> weights;
};

// How many rows (examples) an evaluation runs at once: for a sequence task (rows of input_dim
// tokens), whole windows of about 8192 tokens in all, at least one; every row for other tasks.
// The memory estimate counts the same.
int64_t evaluation_chunk_rows(bool sequence, int64_t input_dim);

struct Model {
  std::unique_ptr<nn::Module> net;
  std::vector<ActivationSite> sites;
};

// The activation sites of a model: every module marked by make_activation or a gated block
// (Module::activation_mark), found by walking the module tree. A site that is one of the
// model's own layers is "layer k", one inside a layer (a block) "block k" ("block k.i" when the
// block holds several).
std::vector<ActivationSite> find_activation_sites(nn::Module& net);

// The network of a model config (its kind's factory in the model registry, nn/registry.hpp),
// from input_dim features to output_dim outputs, and its activation sites.
Model build_model(const ModelConfig& config, int64_t input_dim, int64_t output_dim,
                  Generator& gen);

// Statistics of one activation site over the test split.
struct LayerStats {
  std::string name;
  std::string activation;
  double mean = 0, std = 0;
  double zero_fraction = 0;       // outputs exactly 0
  double dead_fraction = 0;       // units that are 0 for every example
  double saturated_fraction = 0;  // sigmoid/tanh outputs within 0.01 of their asymptotes
};

struct GradNorm {
  std::string name;  // a parameter's name, e.g. "0.weight"
  double norm = 0;
};

struct EvalRecord {
  int64_t step = 0;
  int64_t epoch = 0;
  double lr = 0;
  double train_loss = 0;  // mean over the steps since the previous evaluation
  double test_loss = 0;
  // Classification only; for a sequence task, over its first n_test training windows.
  std::optional<double> train_accuracy;
  std::optional<double> test_accuracy;
  double steps_per_second = 0;
  std::vector<LayerStats> layers;
  std::vector<GradNorm> grad_norms;  // of the last training step
};

struct TrainResult {
  std::vector<EvalRecord> history;
  int64_t steps = 0;
  std::optional<int64_t> steps_to_target;
  bool diverged = false;
  bool stopped = false;  // ended early by TrainCallbacks::should_stop; Trainer::resume continues it
  std::string failure;  // for a diverged run: the step and the op that produced NaN/Inf
  int64_t parameter_count = 0;
  double seconds = 0;
  // The activations' own parameters as the run left them (PReLU's slopes, a formula's learned
  // beta), by their names in the model ("1.beta", "blocks.0.act.beta"), in the model's order.
  std::vector<std::pair<std::string, std::vector<float>>> activation_parameters;
};

struct TrainCallbacks {
  std::function<void(int64_t step, int64_t total_steps, double loss)> on_step;
  std::function<void(const EvalRecord&)> on_eval;
  // Called after each evaluation of a run that is still finite (e.g. to save a checkpoint);
  // Trainer::progress() then holds what resuming from here needs.
  std::function<void(int64_t step)> on_good_state;
  // Asked after on_good_state; true ends the run there (TrainResult::stopped), resumable from
  // that state. Runs are stopped only at evaluations, so only their states can be saved.
  std::function<bool(int64_t step)> should_stop;
};

// Where a run stands after one of its evaluations. With the model's parameters and the
// optimiser's state (step counts included), it is all Trainer::resume needs to continue the
// run bit for bit as if it had never stopped (same thread count; timings aside).
struct TrainProgress {
  int64_t step = 0;   // steps taken
  int64_t epoch = 1;  // the epoch of the last step taken (1 before the first)
  Generator::State batch_generator;  // draws each epoch's permutation
  data::BatchIterator::State batches;
  // The model's generators (dropout masks), by their names in Module::named_generators().
  std::vector<std::pair<std::string, Generator::State>> model_generators;
  std::vector<EvalRecord> history;
  std::optional<int64_t> steps_to_target;
  bool finished = false;  // the run ended here: its last step, or its target reached and stopping
};

class Trainer {
 public:
  explicit Trainer(Config config);
  ~Trainer();
  Trainer(const Trainer&) = delete;
  Trainer& operator=(const Trainer&) = delete;

  // Trains from the current state of the model with fresh batches: a whole run.
  TrainResult run(const TrainCallbacks& callbacks = {});
  // Continues a run from `from`, which the model's parameters and the optimiser's state must
  // belong to (load_checkpoint them from the file saved with it). The result covers the whole
  // run: from's evaluations, then the new ones. From a finished run, returns at once.
  TrainResult resume(const TrainProgress& from, const TrainCallbacks& callbacks = {});
  // Throws Error unless `from` is a state this run can be in: its step and epoch within the
  // run, its evaluations at increasing steps up to it, its batch order a permutation of the
  // training rows (cursor inside), its generators the model's. resume checks it first.
  void check_progress(const TrainProgress& from);
  // Where the run stood at its latest evaluation (or where resume started); a checkpoint saved
  // in on_good_state holds the state this describes.
  const TrainProgress& progress() const { return progress_; }
  // Whether a run evaluates (and so can be saved and stopped) after `step`: every eval_every
  // steps and after the last.
  bool is_evaluation_step(int64_t step) const;
  // Whether training steps run in anomaly mode (AnomalyModeGuard); train.detect_anomaly by
  // default. Setting it leaves the config alone, e.g. to resume a diverged run from its
  // checkpoint and name the op that made NaN/Inf.
  void set_detect_anomaly(bool on) { detect_anomaly_ = on; }

  const Config& config() const { return config_; }
  const data::Dataset& dataset() const { return dataset_; }
  nn::Module& model() { return *model_.net; }
  const std::vector<ActivationSite>& sites() const { return model_.sites; }
  optim::Optimizer& optimizer() { return *optimizer_; }
  int64_t total_steps() const;

  // The model's raw outputs (logits, or regression values) for x, in eval mode without grad.
  Tensor predict(const Tensor& x);
  // Loss and accuracy (classification) of the model on (x, y), in eval mode without grad. For a
  // sequence task both are per scored token (unscored positions left out), computed a chunk
  // of windows at a time.
  std::pair<double, std::optional<double>> evaluate(const Tensor& x, const Tensor& y);
  // Statistics of every activation site over the inputs x, in eval mode without grad (for a
  // sequence task, over x's first eval_chunk_rows() windows).
  std::vector<LayerStats> activation_stats(const Tensor& x);
  // How many rows of x an evaluation runs at once: a sequence task's windows of about 8192
  // tokens in all; every row for other tasks.
  int64_t eval_chunk_rows() const;
  // The norm of each weight's gradient of the loss on (x, y) at the current state, in eval
  // mode; no step is taken and the gradients are cleared afterwards.
  std::vector<GradNorm> gradient_norms(const Tensor& x, const Tensor& y);

 private:
  Tensor loss(const Tensor& output, const Tensor& y) const;
  std::optional<double> accuracy(const Tensor& output, const Tensor& y) const;
  // The predictions that match y, and how many labels count (all but ignored positions).
  std::pair<int64_t, int64_t> correct_predictions(const Tensor& output, const Tensor& y) const;
  float lr_at(int64_t step) const;
  std::vector<GradNorm> grad_norms() const;
  bool parameters_finite() const;
  std::string explain_non_finite(const Tensor& x, const Tensor& y, int64_t step);
  std::vector<std::pair<std::string, Generator::State>> generator_states();
  // Sets the model's generators to `states`, which check_progress found to be theirs.
  void restore_generators(const std::vector<std::pair<std::string, Generator::State>>& states);
  // One training step on `batch` at learning rate `lr`: its loss, or nothing when the loss or
  // a gradient is not finite (the parameters are then left as they were).
  std::optional<double> train_step(const data::Batch& batch, float lr);
  // The evaluation after a step: fills in `record`'s test and train metrics and the statistics
  // the config asks for (the caller sets its step, epoch, lr, train loss and speed). False when
  // the last update left the model non-finite.
  bool evaluate_into(EvalRecord& record);
  // Appends an evaluation to the run's progress, with the batch order to resume from after it,
  // decides whether the run is finished there, and calls on_eval and on_good_state.
  void record_evaluation(EvalRecord record, const Generator& batch_gen,
                         const data::BatchIterator& batches, const TrainCallbacks& callbacks);

  Config config_;
  data::Dataset dataset_;
  Generator gen_;
  Model model_;
  std::unique_ptr<optim::Optimizer> optimizer_;
  TrainProgress progress_;
  bool detect_anomaly_;
};

}  // namespace actlab
