// The autograd engine: recording nodes, the reverse walk over the tape, gradient accumulation,
// and graph teardown without recursion.
#include "actlab/core/autograd.hpp"
#include "actlab/detail/ownership.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <vector>

#include "actlab/core/anomaly.hpp"
#include "kernels/broadcast.hpp"

namespace actlab {
namespace {

thread_local bool t_grad_enabled = true;
thread_local bool t_detect_anomaly = false;
// One counter for the process: a graph may be built on several threads, and the tape's order
// must hold across them.
std::atomic<uint64_t> g_next_sequence{0};
std::atomic<uint64_t> g_visit_epoch{0};
std::atomic<int64_t> g_live_nodes{0};

}  // namespace

namespace detail {
bool uniquely_owned(const Tensor& t) {
  return t.impl_ptr().use_count() == 1 && t.impl()->storage.use_count() == 1;
}
}  // namespace detail

bool grad_enabled() { return t_grad_enabled; }

NoGradGuard::NoGradGuard() : previous_(t_grad_enabled) { t_grad_enabled = false; }
NoGradGuard::~NoGradGuard() { t_grad_enabled = previous_; }

bool is_anomaly_enabled() { return t_detect_anomaly; }
void set_detect_anomaly(bool on) { t_detect_anomaly = on; }

AnomalyModeGuard::AnomalyModeGuard(bool on) : previous_(t_detect_anomaly) {
  t_detect_anomaly = on;
}
AnomalyModeGuard::~AnomalyModeGuard() { t_detect_anomaly = previous_; }

SavedTensor::SavedTensor(const Tensor& t)
    : storage_(t.impl()->storage), shape_(t.shape()), version_(t.impl()->storage->version) {}

void SavedTensor::check_version() const {
  if (storage_->version != version_)
    throw Error(fmt::format(
        "backward: a tensor of shape {} saved for the gradient was modified in place after it "
        "was saved (version {} now, {} when saved); clone it before changing it",
        shape_.str(), storage_->version, version_));
}

const float* SavedTensor::data() const {
  check_version();
  return storage_->data;
}

Tensor SavedTensor::tensor() const {
  check_version();
  auto impl = std::make_shared<detail::TensorImpl>();
  impl->shape = shape_;
  impl->storage = storage_;
  return Tensor(std::move(impl));
}

// ---- Node ------------------------------------------------------------------------------

Node::Node(const char* name, std::initializer_list<Tensor> inputs, GradForm form)
    : name_(name),
      sequence_(g_next_sequence.fetch_add(1, std::memory_order_relaxed)),
      grad_form_(form) {
  if (inputs.size() > static_cast<size_t>(kMaxInputs))
    throw Error(fmt::format("{}: an op records at most {} inputs, got {}", name, kMaxInputs,
                            inputs.size()));
  for (const Tensor& t : inputs) {
    Edge& e = edges_[num_inputs_++];
    if (!t.defined() || !t.requires_grad()) continue;
    e.shape = t.shape();
    if (t.grad_fn())
      e.node = t.grad_fn();
    else
      e.leaf = t.impl_ptr();
  }
  if (t_detect_anomaly) module_ = detail::innermost_module();
  g_live_nodes.fetch_add(1, std::memory_order_relaxed);
}

// Destroying the last handle to a long graph would destroy node after node recursively and
// overflow the stack; instead, the first destructor on a thread drains a worklist.
namespace {
struct Worklist {
  std::vector<std::shared_ptr<Node>> pending;
  bool draining = false;
  ~Worklist();
};
// Set when this thread's worklist is gone (thread exit): graphs held by static objects are then
// torn down the plain way.
thread_local bool t_worklist_destroyed = false;
Worklist::~Worklist() { t_worklist_destroyed = true; }
}  // namespace

Node::~Node() {
  g_live_nodes.fetch_sub(1, std::memory_order_relaxed);
  if (t_worklist_destroyed) return;
  thread_local Worklist work;
  for (int i = 0; i < num_inputs_; ++i)
    if (edges_[i].node) work.pending.push_back(std::move(edges_[i].node));
  if (work.draining) return;
  work.draining = true;
  while (!work.pending.empty()) {
    std::shared_ptr<Node> next = std::move(work.pending.back());
    work.pending.pop_back();
    next.reset();  // may push that node's inputs onto `pending`
  }
  work.draining = false;
}

Tensor& Node::grad_slot(int i) {
  Edge& e = edges_[i];
  if (e.node) return e.node->grad_;
  if (e.leaf) return e.leaf->grad;
  throw Error(fmt::format("{}: backward wrote a gradient for input {}, which needs none",
                          name_, i));
}

void Node::check_gradients() {
  for (int i = 0; i < num_inputs_; ++i) {
    const Edge& e = edges_[i];
    if (e.node == nullptr && e.leaf == nullptr) continue;
    const Tensor& grad = grad_slot(i);
    if (grad.defined()) detail::check_gradient(name_, i, grad, module_.get());
  }
}

bool GradSink::needs(int i) const {
  const auto& e = node_.edges_[i];
  return e.node != nullptr || e.leaf != nullptr;
}

namespace {
// A gradient slot holding one value for an input of more elements: a uniform gradient.
bool holds_uniform(const Tensor& slot, const Shape& shape) {
  return slot.defined() && slot.numel() == 1 && shape.numel() != 1;
}
}  // namespace

Tensor& GradSink::full_slot(int i) {
  Tensor& slot = node_.grad_slot(i);
  const Shape& shape = node_.edges_[i].shape;
  if (holds_uniform(slot, shape)) slot = Tensor::full(shape, slot.data()[0]);
  return slot;
}

void GradSink::add_uniform(int i, float value) {
  const auto& e = node_.edges_[i];
  Tensor& slot = node_.grad_slot(i);
  const bool keeps_uniform = e.node != nullptr && e.node->grad_form_ == GradForm::uniform_accepted;
  if (keeps_uniform && !slot.defined()) {
    slot = Tensor::scalar(value);
  } else if (keeps_uniform && holds_uniform(slot, e.shape)) {
    slot.mutable_data()[0] += value;
  } else {
    target(i).write(e.shape.numel(), [value](int64_t) { return value; });
  }
}

GradSink::Target GradSink::target(int i) {
  Tensor& slot = full_slot(i);
  if (slot.defined()) return {slot.mutable_data(), true};
  slot = Tensor::empty(node_.edges_[i].shape);
  return {slot.mutable_data(), false};
}

GradSink::Target GradSink::target_reusing(int i, const Tensor& grad_output) {
  Tensor& slot = full_slot(i);
  if (slot.defined() || grad_output.shape() != node_.edges_[i].shape ||
      !detail::uniquely_owned(grad_output))
    return target(i);
  slot = grad_output;
  return {slot.mutable_data(), false};
}

void GradSink::add(int i, const Tensor& grad) { accumulate(i, grad, false); }

void GradSink::add(int i, Tensor&& grad) { accumulate(i, grad, detail::uniquely_owned(grad)); }

void GradSink::accumulate(int i, const Tensor& grad, bool may_take) {
  const Shape& shape = node_.edges_[i].shape;
  Tensor& slot = full_slot(i);
  if (grad.shape() != shape) {
    Target t = target(i);
    kernels::sum_to(grad.data(), grad.shape(), t.data, shape, t.accumulate);
    return;
  }
  if (!slot.defined()) {
    slot = may_take ? grad : grad.clone();
    return;
  }
  float* dst = slot.mutable_data();
  const float* src = grad.data();
  detail::parallel_for(grad.numel(), [dst, src](int64_t begin, int64_t end) {
    for (int64_t k = begin; k < end; ++k) dst[k] += src[k];
  });
}

// ---- the backward walk ---------------------------------------------------------------------

void Node::run_backward(const Tensor& root) {
  if (!root.defined()) throw Error("backward: called on an undefined tensor");
  if (root.numel() != 1)
    throw Error(fmt::format(
        "backward: the output must hold one element (a scalar loss), got shape {}",
        root.shape().str()));
  if (!root.requires_grad())
    throw Error("backward: the tensor does not require grad and has no grad_fn "
                "(no input of the computation requires grad, or it ran under NoGradGuard)");
  const Tensor seed = Tensor::ones(root.shape());
  if (!root.grad_fn()) {  // a leaf: d(root)/d(root) = 1
    Tensor g = root.grad();
    if (g.defined())
      g.mutable_data()[0] += 1.f;
    else
      root.impl()->grad = seed;
    return;
  }

  // Gather the tape: every node reachable from the root, iteratively.
  const uint64_t mark = g_visit_epoch.fetch_add(1) + 1;
  std::vector<Node*> tape;
  std::vector<Node*> stack{root.grad_fn().get()};
  root.grad_fn()->visit_mark_ = mark;
  while (!stack.empty()) {
    Node* n = stack.back();
    stack.pop_back();
    if (n->released_)
      throw Error(fmt::format(
          "backward: trying to backward through the graph a second time: the values saved "
          "by '{}' were freed by the first backward; run the forward pass again",
          n->name_));
    tape.push_back(n);
    for (int i = 0; i < n->num_inputs_; ++i) {
      Node* in = n->edges_[i].node.get();
      if (in != nullptr && in->visit_mark_ != mark) {
        in->visit_mark_ = mark;
        stack.push_back(in);
      }
    }
  }
  // An op is always created after its inputs, so reverse creation order is a valid order.
  std::sort(tape.begin(), tape.end(),
            [](const Node* a, const Node* b) { return a->sequence_ > b->sequence_; });

  root.grad_fn()->grad_ = seed;
  for (Node* n : tape) {
    Tensor grad_output = std::move(n->grad_);
    n->grad_ = Tensor();
    if (grad_output.defined()) {
      GradSink sink(*n);
      n->apply(grad_output, sink);
      if (t_detect_anomaly) n->check_gradients();
    }
    n->release_saved();
    n->released_ = true;
  }
}

namespace detail {

bool should_record(const char* name, const Tensor& output, std::initializer_list<Tensor> inputs) {
  if (t_detect_anomaly) check_output(name, output, inputs);
  if (!t_grad_enabled) return false;
  for (const Tensor& t : inputs)
    if (t.defined() && t.requires_grad()) return true;
  return false;
}

void attach(Tensor& output, std::shared_ptr<Node> node) {
  output.impl()->grad_fn = std::move(node);
  output.impl()->requires_grad = true;
}

}  // namespace detail

namespace autograd {
int64_t live_nodes() { return g_live_nodes.load(); }
}  // namespace autograd

}  // namespace actlab
