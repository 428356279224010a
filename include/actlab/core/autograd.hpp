// Reverse-mode autograd. Each differentiable op computes its output, then (only when grad mode
// is on and some input requires grad) records one Node holding a backward closure. backward()
// gathers the nodes reachable from a scalar, runs them in reverse creation order (the tape),
// and frees what each node saved as soon as it has run.
//
// Writing an op with its own gradient (see examples/custom_layer.cpp):
//
//   Tensor square(const Tensor& x) {
//     Tensor y = Tensor::empty(x.shape());
//     ... y[i] = x[i] * x[i] ...
//     record("square", y, {x}, [xs = save(x)](const Tensor& gy, GradSink& sink) {
//       const float* xv = xs.data();
//       GradSink::Target dx = sink.target(0);   // dx += 2 x gy  (or = when fresh)
//       ...
//     });
//     return y;
//   }
//
// Capture tensors only through save(): it drops their history (no reference cycles, no deep
// chains) and lets backward detect a value that was changed in place after it was saved.
//
// A gradient that is one value at every element of an op's output (sum's and mean's backward
// make one) is handed on as that one value to a node recorded with GradForm::uniform_accepted:
// its backward then gets a g of one element whatever its output's shape, and must compute at
// its output's shape (mul and fused formulas do: no 64 MiB tensor of ones for sum(x * w)).
//
// In anomaly mode (AnomalyModeGuard) record() checks the op's output for NaN/Inf before
// anything else, whether or not it records, and backward checks every gradient a node writes:
// see anomaly.hpp.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <optional>
#include <utility>

#include "actlab/core/tensor.hpp"
#include "actlab/detail/parallel.hpp"

namespace actlab {

// Whether ops record nodes on this thread.
bool grad_enabled();

// Turns recording off for its scope (nestable), as torch.no_grad().
class NoGradGuard {
 public:
  NoGradGuard();
  ~NoGradGuard();
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool previous_;
};

// Whether anomaly detection is on for this thread (off by default), as
// torch.is_anomaly_enabled(); see anomaly.hpp for what it checks.
bool is_anomaly_enabled();
// Turns anomaly detection on or off for this thread, as torch.autograd.set_detect_anomaly.
void set_detect_anomaly(bool on);

// Turns anomaly detection on (or off) for its scope, then back as it was (nestable), as
// torch.autograd.detect_anomaly(). Other threads are not affected.
class AnomalyModeGuard {
 public:
  explicit AnomalyModeGuard(bool on = true);
  ~AnomalyModeGuard();
  AnomalyModeGuard(const AnomalyModeGuard&) = delete;
  AnomalyModeGuard& operator=(const AnomalyModeGuard&) = delete;

 private:
  bool previous_;
};

// A tensor kept for backward: its storage and shape without its history, and the storage
// version it had. Saving costs a reference count, not an allocation.
class SavedTensor {
 public:
  SavedTensor() = default;
  explicit SavedTensor(const Tensor& t);
  // The saved values; these throw if they were modified in place since they were saved.
  const float* data() const;
  Tensor tensor() const;
  const Shape& shape() const { return shape_; }

 private:
  void check_version() const;
  std::shared_ptr<detail::Storage> storage_;
  Shape shape_;
  uint64_t version_ = 0;
};
inline SavedTensor save(const Tensor& t) { return SavedTensor(t); }

class Node;
namespace detail {
struct ModuleFrame;
}

// What a node's backward writes the gradients of its inputs into.
class GradSink {
 public:
  struct Target {
    float* data;      // laid out as the input (its shape, row-major)
    bool accumulate;  // true: add to what is there; false: assign (the buffer is uninitialised)

    // Writes value_at(k), or adds it when accumulating, for k in [0, n). A large n is split
    // over the threads (detail/parallel.hpp): value_at must only read, and is best a closure
    // that holds copies of the scalars it uses (captured by value).
    template <class F>
    void write(int64_t n, F value_at) const {
      detail::parallel_for(n, [out = data, add = accumulate, value_at](int64_t begin, int64_t end) {
        if (add) {
          for (int64_t k = begin; k < end; ++k) out[k] += value_at(k);
        } else {
          for (int64_t k = begin; k < end; ++k) out[k] = value_at(k);
        }
      });
    }
  };

  explicit GradSink(Node& node) : node_(node) {}
  // Whether input i wants a gradient at all.
  bool needs(int i) const;
  // The buffer for input i's gradient, to be written in place by a kernel.
  Target target(int i);
  // As target(i), but when input i has no gradient yet and `grad_output` (the gradient this
  // node was given) has its shape and is held nowhere else, grad_output's own buffer becomes
  // input i's gradient: an elementwise backward then writes dx[k] over g[k] and allocates
  // nothing. Only for loops that read g[k] before writing dx[k], and at no other index.
  Target target_reusing(int i, const Tensor& grad_output);
  // Adds `value` at every element of input i's gradient. An input made by a node recorded with
  // GradForm::uniform_accepted that has no full gradient yet keeps it as one value; any other
  // gets it written out.
  void add_uniform(int i, float value);
  // Adds a computed gradient to input i's; a gradient of a broadcast shape is summed down to
  // the input's shape first. Passing an rvalue (std::move(scratch)) hands the tensor over, which
  // saves a copy when it becomes the first gradient of its input.
  void add(int i, const Tensor& grad);
  void add(int i, Tensor&& grad);

 private:
  void accumulate(int i, const Tensor& grad, bool may_take);
  // Input i's gradient slot, a uniform gradient in it first written out at the input's shape.
  Tensor& full_slot(int i);
  Node& node_;
};

// Whether a node's backward accepts a uniform gradient (one value for every element of its
// output; see the top of this file) or needs it written out in full.
enum class GradForm : uint8_t { full, uniform_accepted };

// One recorded op. Edges say where each input's gradient goes: into the node that made the
// input, or into the grad of a leaf tensor, or nowhere.
class Node {
 public:
  static constexpr int kMaxInputs = 4;

  Node(const char* name, std::initializer_list<Tensor> inputs, GradForm form = GradForm::full);
  virtual ~Node();
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  const char* name() const { return name_; }
  uint64_t sequence() const { return sequence_; }
  int num_inputs() const { return num_inputs_; }

  // Runs backward from `root` (one element): accumulates gradients into leaves.
  static void run_backward(const Tensor& root);

 protected:
  virtual void apply(const Tensor& grad_output, GradSink& sink) = 0;
  virtual void release_saved() = 0;

 private:
  friend class GradSink;
  struct Edge {
    std::shared_ptr<Node> node;                  // input made by an op
    std::shared_ptr<detail::TensorImpl> leaf;    // input is a leaf requiring grad
    Shape shape;
  };
  Tensor& grad_slot(int i);
  // Anomaly mode: throws if a gradient this node's backward wrote holds NaN/Inf.
  void check_gradients();

  const char* name_;
  uint64_t sequence_;
  uint64_t visit_mark_ = 0;
  bool released_ = false;
  GradForm grad_form_;
  int num_inputs_ = 0;
  Edge edges_[kMaxInputs];
  Tensor grad_;  // gradient of this node's output, accumulated during backward
  std::shared_ptr<const detail::ModuleFrame> module_;  // where it ran forward (anomaly mode only)
};

namespace detail {
template <class Backward>
class FunctionNode final : public Node {
 public:
  FunctionNode(const char* name, std::initializer_list<Tensor> inputs, GradForm form, Backward&& fn)
      : Node(name, inputs, form), fn_(std::move(fn)) {}

 protected:
  void apply(const Tensor& grad_output, GradSink& sink) override { (*fn_)(grad_output, sink); }
  void release_saved() override { fn_.reset(); }

 private:
  std::optional<Backward> fn_;
};

// Checks `output` in anomaly mode, then says whether to record a node for it.
bool should_record(const char* name, const Tensor& output, std::initializer_list<Tensor> inputs);
void attach(Tensor& output, std::shared_ptr<Node> node);
}  // namespace detail

// Records `backward` as the gradient of `output` with respect to `inputs`, if grad mode is on
// and some input requires grad; in anomaly mode, first throws AnomalyError if `output` holds
// NaN/Inf. `backward(grad_output, sink)` must write or add each needed
// input gradient into `sink` (accumulate, never overwrite, when Target::accumulate is true).
// With GradForm::uniform_accepted, grad_output may hold one value standing for every element.
template <class Backward>
void record(const char* name, Tensor& output, std::initializer_list<Tensor> inputs,
            Backward&& backward, GradForm form = GradForm::full) {
  if (!detail::should_record(name, output, inputs)) return;
  using Fn = std::decay_t<Backward>;
  detail::attach(output, std::make_shared<detail::FunctionNode<Fn>>(
                             name, inputs, form, Fn(std::forward<Backward>(backward))));
}

namespace autograd {
// Nodes alive in the process (for tests of graph lifetime).
int64_t live_nodes();
}  // namespace autograd

}  // namespace actlab
