// Optimisers with the update rules and defaults of torch 1.13's torch.optim (SGD, Adam,
// AdamW), and gradient clipping by global norm. A step is one pass over each parameter's
// floats. All state is created, as zeros, at construction, so a checkpoint can save and
// restore it through named_state() before the first step.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "actlab/core/tensor.hpp"

namespace actlab::optim {

class Optimizer {
 public:
  virtual ~Optimizer() = default;
  Optimizer(const Optimizer&) = delete;
  Optimizer& operator=(const Optimizer&) = delete;

  // Updates every parameter whose gradient is defined, in place; parameters without one are
  // skipped and their state (step counts included) stays as it is, as in PyTorch.
  void step();
  // Sets every parameter's gradient to undefined (PyTorch's zero_grad(set_to_none=True)).
  void zero_grad();

  float lr() const { return lr_; }
  void set_lr(float lr);
  // "sgd", "adam" or "adamw".
  std::string kind() const;
  const std::vector<Tensor>& params() const { return params_; }

  // Handles to the state tensors, named "<parameter index>.<name>" as in PyTorch's
  // state_dict: "0.momentum_buffer"; "1.step" (one element), "1.exp_avg", "1.exp_avg_sq".
  // They share storage with the optimiser: copy_ into them to restore a checkpoint.
  std::vector<std::pair<std::string, Tensor>> named_state() const { return state_; }

  // Exempts one of the parameters from weight decay (as PyTorch's parameter groups with
  // weight_decay 0 do): He et al. (2015) advise none for PReLU's learned slopes.
  void exclude_from_weight_decay(const Tensor& parameter);
  // Whether parameter i takes weight decay.
  bool decays(size_t i) const { return decays_[i]; }

 protected:
  // `name` ("SGD", "Adam", "AdamW") prefixes error messages. Throws on an empty list, an
  // undefined or non-leaf parameter, or a bad lr.
  Optimizer(const char* name, std::vector<Tensor> params, float lr);

  // A zero-filled state tensor of parameter i, listed in named_state() as "i.name".
  Tensor add_state(size_t i, const char* name, const Shape& shape);

  // Throws "<name>: <field> must be <rule>, got <value>" unless ok. Write conditions so that
  // NaN fails them.
  void require(bool ok, const char* field, const char* rule, float value) const;

 private:
  // Parameter i's update: p[0, n) in place from its gradient g[0, n).
  virtual void update(size_t i, float* p, const float* g, int64_t n) = 0;

  const char* name_;
  std::vector<Tensor> params_;
  std::vector<bool> decays_;
  float lr_;
  std::vector<std::pair<std::string, Tensor>> state_;
};

// Stochastic gradient descent with momentum (PyTorch's form, dampening 0):
//   d = g + weight_decay * p;  buf = momentum * buf + d;
//   p -= lr * (nesterov ? d + momentum * buf : buf)          (momentum > 0)
//   p -= lr * d                                              (momentum = 0)
// buf starts at zero, which makes the first step's buf = d, as PyTorch's.
class SGD final : public Optimizer {
 public:
  SGD(std::vector<Tensor> params, float lr, float momentum = 0.f, float weight_decay = 0.f,
      bool nesterov = false);

 private:
  void update(size_t i, float* p, const float* g, int64_t n) override;

  float momentum_;
  float weight_decay_;
  bool nesterov_;
  std::vector<Tensor> momentum_buffer_;  // one per parameter when momentum > 0
};

// Adam (Kingma & Ba 2015, Algorithm 1) as PyTorch computes it, at step t:
//   g += weight_decay * p   (Adam: coupled L2)  |  p *= 1 - lr * weight_decay   (AdamW)
//   m = beta1 m + (1 - beta1) g;   v = beta2 v + (1 - beta2) g^2
//   p -= lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
class Adam : public Optimizer {
 public:
  Adam(std::vector<Tensor> params, float lr = 1e-3f, float beta1 = 0.9f, float beta2 = 0.999f,
       float eps = 1e-8f, float weight_decay = 0.f);

 protected:
  Adam(const char* name, bool decoupled_weight_decay, std::vector<Tensor> params, float lr,
       float beta1, float beta2, float eps, float weight_decay);

 private:
  void update(size_t i, float* p, const float* g, int64_t n) override;

  bool decoupled_weight_decay_;
  float beta1_;
  float beta2_;
  float eps_;
  float weight_decay_;
  std::vector<Tensor> step_;  // [1] each: the step count t, a float as in PyTorch
  std::vector<Tensor> exp_avg_;
  std::vector<Tensor> exp_avg_sq_;
};

// Adam with decoupled weight decay (Loshchilov & Hutter 2019): the weights shrink by
// lr * weight_decay each step instead of receiving an L2 gradient that Adam would rescale.
class AdamW final : public Adam {
 public:
  AdamW(std::vector<Tensor> params, float lr = 1e-3f, float beta1 = 0.9f, float beta2 = 0.999f,
        float eps = 1e-8f, float weight_decay = 1e-2f);
};

// Scales the gradients of `params` (those defined) by max_norm / (total + 1e-6) when that
// factor is below 1, where total is the 2-norm of all of them together, as
// torch.nn.utils.clip_grad_norm_ does. Returns total, measured before clipping.
float clip_grad_norm(const std::vector<Tensor>& params, float max_norm);

}  // namespace actlab::optim
