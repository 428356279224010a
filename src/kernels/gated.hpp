// The fused gate of gated feed-forward blocks (GLU, ReGLU, GeGLU, SwiGLU): out = act(gate) * up
// in one pass, and its backward d_gate = g up act'(gate), d_up = g act(gate) in one pass over
// gate and up, for any activation functor of kernels/activations.hpp. The functor comes by
// value: a local copy, which no output can alias, keeps its parameters in registers.
#pragma once

#include <cstdint>

#include "actlab/detail/parallel.hpp"
#include "kernels/store.hpp"

namespace actlab::kernels {

template <class Act>
void gated_forward(Act act, const float* __restrict gate, const float* __restrict up,
                   int64_t n, float* __restrict out) {
  detail::parallel_for(n, [act, gate, up, out](int64_t begin, int64_t end) {
    for (int64_t k = begin; k < end; ++k) out[k] = act(gate[k]) * up[k];
  });
}

// d_gate and d_up may each be unwanted (null data), fresh or accumulating, and may even be the
// same buffer (gate and up one tensor): d_gate is stored before d_up at each element, so the
// buffer must then be fresh for d_gate and accumulating for d_up. No __restrict here: the
// compiler checks for overlap at run time and keeps that order when there is one.
template <class Act>
void gated_backward(Act act, const float* g, const float* gate, const float* up, int64_t n,
                    Destination d_gate, Destination d_up) {
  with_mode(d_gate, [&](auto gate_mode) {
    with_mode(d_up, [&](auto up_mode) {
      detail::parallel_for(n, [act, g, gate, up, d_gate, d_up](int64_t begin, int64_t end) {
        for (int64_t k = begin; k < end; ++k) {
          store<decltype(gate_mode)::value>(d_gate.data, k, g[k] * up[k] * act.derivative(gate[k]));
          store<decltype(up_mode)::value>(d_up.data, k, g[k] * act(gate[k]));
        }
      });
    });
  });
}

}  // namespace actlab::kernels
