// Anomaly detection, as torch.autograd.detect_anomaly: while it is on for a thread
// (AnomalyModeGuard, set_detect_anomaly in autograd.hpp), every op's output is checked for
// NaN/Inf as soon as it is computed, and every gradient a node writes during backward; the
// first non-finite value throws AnomalyError naming the op, the pass and the innermost module
// that was running. Off, it costs one thread-local test per op.
#pragma once

#include <initializer_list>
#include <memory>
#include <string>

#include "actlab/core/tensor.hpp"

namespace actlab {

namespace nn {
class Module;
}

// Whether every value of t is finite (no NaN, no Inf).
bool all_finite(const Tensor& t);

// Where a non-finite value was born.
struct Anomaly {
  std::string op;           // the op's name, e.g. "log", "linear", "cross_entropy"
  bool backward = false;    // in a gradient the op's backward wrote, else in its output
  std::string value;        // "NaN", or "Inf" when there is no NaN
  // backward: the input whose gradient held it. forward: an input that already held NaN/Inf
  // (data, a parameter, or a value made while anomaly detection was off), or -1 when the op
  // made it from finite inputs.
  int input = -1;
  // The innermost module running when the op ran forward: its dotted name as in
  // named_modules() ("blocks.0.up"; "" for the outermost module) and its describe(), cut to
  // its first line for containers ("MLP"). No description: no module was running.
  std::string module;
  std::string module_description;
};

class AnomalyError : public Error {
 public:
  // The message reads e.g.: anomaly: op "log" (forward) in module 2 (Linear(in=16, out=16,
  // bias=true)) produced NaN
  explicit AnomalyError(Anomaly anomaly);
  const Anomaly& anomaly() const { return anomaly_; }

 private:
  Anomaly anomaly_;
};

namespace detail {

// One module call on a thread's stack of running modules.
struct ModuleFrame {
  const nn::Module* module;  // only read while it runs, to name its children
  std::string name;
  std::string description;
};

// The innermost module running on this thread, or null. nn::Module's call operator keeps the
// stack, and only while anomaly detection is on.
const std::shared_ptr<const ModuleFrame>& innermost_module();
void enter_module(std::shared_ptr<const ModuleFrame> frame);
void leave_module();

// Throws AnomalyError if `output` of op `name` holds NaN/Inf.
void check_output(const char* name, const Tensor& output, std::initializer_list<Tensor> inputs);
// Throws AnomalyError if `grad`, the gradient op `name`'s backward wrote for its input `input`,
// holds NaN/Inf; `module` is where the op ran forward (or null).
void check_gradient(const char* name, int input, const Tensor& grad, const ModuleFrame* module);

}  // namespace detail
}  // namespace actlab
