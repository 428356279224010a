// gated_activation: act(gate) * up fused, the core of GLU-family feed-forward blocks, with its
// backward beneath: one pass over gate and up each way, for any activation functor of
// kernels/activations.hpp. A template, so that each activation's registry entry (its gate
// kernel) instantiates it for its own functor: no list of names chooses the kernel.
#pragma once

#include <fmt/format.h>

#include "actlab/core/autograd.hpp"
#include "kernels/gated.hpp"

namespace actlab::ops {

template <class Act>
Tensor gated_activation(const Tensor& gate, const Tensor& up, Act act) {
  if (gate.shape() != up.shape())
    throw Error(fmt::format(
        "gated_activation: gate of shape {} and up of shape {} must have the same shape",
        gate.shape().str(), up.shape().str()));
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

}  // namespace actlab::ops
