// gated_activation: act(gate) * up fused, the core of GLU-family feed-forward blocks, with its
// backward beneath: one pass over gate and up each way, whatever the activation.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <string>

#include "actlab/core/autograd.hpp"
#include "actlab/ops/ops.hpp"
#include "kernels/activations.hpp"
#include "kernels/gated.hpp"

namespace actlab {
namespace {

// Calls visit(functor) for the gate activation named `name`.
template <class Visit>
Tensor with_gate_activation(const std::string& name, Visit&& visit) {
  if (name == "sigmoid") return visit(kernels::Sigmoid{});
  if (name == "relu") return visit(kernels::Relu{});
  if (name == "gelu") return visit(kernels::Gelu{});
  if (name == "gelu_tanh") return visit(kernels::GeluTanh{});
  if (name == "silu" || name == "swish") return visit(kernels::Silu{});
  throw Error(fmt::format("gated_activation: unknown activation \"{}\"; expected one of {}", name,
                          fmt::join(gate_activation_names(), ", ")));
}

template <class Act>
Tensor gated(const Tensor& gate, const Tensor& up, Act act) {
  Tensor out = Tensor::empty(gate.shape());
  kernels::gated_forward(act, gate.data(), up.data(), gate.numel(), out.mutable_data());
  record("gated_activation", out, {gate, up},
         [gs = save(gate), us = save(up), act](const Tensor& g, GradSink& sink) {
           const auto destination = [&](int i) {
             if (!sink.needs(i)) return kernels::Destination{};
             const GradSink::Target t = sink.target(i);
             return kernels::Destination{t.data, t.accumulate};
           };
           // In this order: when gate and up are one tensor, their gradient buffer is then
           // fresh for d_gate and accumulating for d_up, as gated_backward needs.
           const kernels::Destination d_gate = destination(0);
           const kernels::Destination d_up = destination(1);
           kernels::gated_backward(act, g.data(), gs.data(), us.data(), g.numel(), d_gate, d_up);
         });
  return out;
}

}  // namespace

const std::vector<std::string>& gate_activation_names() {
  static const std::vector<std::string> names = {"sigmoid", "relu", "gelu", "gelu_tanh", "silu",
                                                 "swish"};
  return names;
}

Tensor gated_activation(const Tensor& gate, const Tensor& up, const std::string& activation) {
  if (gate.shape() != up.shape())
    throw Error(fmt::format(
        "gated_activation: gate of shape {} and up of shape {} must have the same shape",
        gate.shape().str(), up.shape().str()));
  return with_gate_activation(activation, [&](auto act) { return gated(gate, up, act); });
}

}  // namespace actlab
