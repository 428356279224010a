// nn::Module: the base of every layer. A module registers its parameters and sub-modules by
// name (in registration order, as PyTorch), so named_parameters() walks the whole tree:
// "0.weight", "up.bias", ... Modules are neither copied nor moved: the registry points at
// their members.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "actlab/core/tensor.hpp"

namespace actlab {

// The generator that layers draw their initial weights from when none is given;
// manual_seed resets it (as torch.manual_seed).
Generator& default_generator();
void manual_seed(uint64_t seed);

namespace detail {
// While it lives, default_generator() on this thread is `gen`: a model build points it at the
// run's generator, so that modules made with default arguments draw from that one too.
class DefaultGeneratorScope {
 public:
  explicit DefaultGeneratorScope(Generator& gen);
  ~DefaultGeneratorScope();
  DefaultGeneratorScope(const DefaultGeneratorScope&) = delete;
  DefaultGeneratorScope& operator=(const DefaultGeneratorScope&) = delete;

 private:
  Generator* previous_;
};
}  // namespace detail

namespace nn {

class Module {
 public:
  Module() = default;
  virtual ~Module() = default;
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  virtual Tensor forward(const Tensor& x) = 0;
  // forward, then the forward hooks of this module.
  Tensor operator()(const Tensor& x);

  // A short description such as "Linear(in=2, out=3, bias=true)".
  virtual std::string describe() const = 0;

  std::vector<std::pair<std::string, Tensor>> named_parameters() const;
  std::vector<Tensor> parameters() const;
  // The random generators of this module and every module below it ("1.generator" for a
  // Sequential's Dropout), so a checkpoint can save and restore where each one stands.
  std::vector<std::pair<std::string, Generator*>> named_generators();
  std::vector<std::pair<std::string, Module*>> named_children() const { return children_; }
  // This module and every module below it, depth first, with dotted names ("" for this one).
  std::vector<std::pair<std::string, Module*>> named_modules();

  void train(bool on = true);
  void eval() { train(false); }
  bool is_training() const { return training_; }

  // Called after every forward with (module, input, output); used by diagnostics to watch
  // activations without touching the model's code. Returns an id for remove_forward_hook.
  using ForwardHook = std::function<void(Module&, const Tensor&, const Tensor&)>;
  int add_forward_hook(ForwardHook hook);
  void remove_forward_hook(int id);
  bool has_forward_hooks() const { return !hooks_.empty(); }

  // A mark on the modules whose output (or input) the activation statistics watch: the
  // statistics find their sites by walking the module tree for these marks. make_activation
  // marks every module it makes with its activation's name; a gated FFN marks its `down`,
  // whose input is act(gate) * up.
  struct ActivationMark {
    std::string activation;    // e.g. "relu", "swiglu": the statistics' label and saturation test
    bool watch_input = false;  // watch what goes in rather than what comes out
  };
  void mark_activation(ActivationMark mark) { activation_mark_ = std::move(mark); }
  const std::optional<ActivationMark>& activation_mark() const { return activation_mark_; }

 protected:
  // Registers a parameter member (made a leaf requiring grad) under `name`.
  void register_parameter(std::string name, Tensor* parameter);
  // Registers a sub-module member under `name`.
  void register_module(std::string name, Module* child);
  // Registers a generator member that forward draws from (dropout's masks), under `name`: a
  // resumed run then continues its sequence instead of restarting it.
  void register_generator(std::string name, Generator* gen);

 private:
  std::vector<std::pair<std::string, Tensor*>> parameters_;
  std::vector<std::pair<std::string, Module*>> children_;
  std::vector<std::pair<std::string, Generator*>> generators_;
  std::vector<std::pair<int, ForwardHook>> hooks_;
  int next_hook_id_ = 0;
  bool training_ = true;
  std::optional<ActivationMark> activation_mark_;
};

// Puts a module in eval mode for as long as this lives, then back as it was.
class EvalModeGuard {
 public:
  explicit EvalModeGuard(Module& module) : module_(module), was_training_(module.is_training()) {
    module_.eval();
  }
  ~EvalModeGuard() { module_.train(was_training_); }
  EvalModeGuard(const EvalModeGuard&) = delete;
  EvalModeGuard& operator=(const EvalModeGuard&) = delete;

 private:
  Module& module_;
  bool was_training_;
};

// The number of scalar parameters in a module tree.
int64_t count_parameters(const Module& module);

}  // namespace nn
}  // namespace actlab
