// linear_activation: act(x W^T + b) as one op, for a Linear followed by an activation whose
// pre-activation nobody else needs (FeedForward's up and act, when no hook watches them). Its
// forward is linear's then the activation's, as two ops would compute them. Its backward saves
// a pass: the bias gradient, the column sums of dz = g act'(z), is summed in the same pass that
// writes dz, where linear would read dz again. The float operations and their order are the
// same as those of the two ops, so the results are the same bits. A template, so that each
// activation's registry entry (its linear kernel) instantiates it for its own functor.
#pragma once

#include <algorithm>

#include "actlab/core/autograd.hpp"
#include "actlab/detail/ownership.hpp"
#include "actlab/detail/parallel.hpp"
#include "kernels/activations.hpp"
#include "ops/elementwise.hpp"
#include "ops/linear_parts.hpp"

namespace actlab::ops {

// dz = g slope(k), and, when db is wanted, db[j] (+)= the sum of column j of dz, summed in row
// order as linear's backward sums it. The columns are split over the threads, so each sum is
// one thread's, in the same order at any thread count. dz may be g's buffer or the one slope
// reads, as each element is read at an index before it is written there.
template <class Slope>
void activation_backward_with_bias(Slope slope, const float* g, float* dz, const LinearDims& d,
                                   GradSink::Target db) {
  if (db.data == nullptr) {
    detail::parallel_for(d.rows * d.out, [slope, g, dz](int64_t begin, int64_t end) {
      for (int64_t k = begin; k < end; ++k) dz[k] = g[k] * slope(k);
    });
    return;
  }
  if (!db.accumulate) std::fill_n(db.data, d.out, 0.f);
  detail::parallel_for(d.out, d.rows, [slope, g, dz, d, b = db.data](int64_t begin, int64_t end) {
    for (int64_t r = 0; r < d.rows; ++r) {
      const int64_t row = r * d.out;
      for (int64_t j = begin; j < end; ++j) {
        dz[row + j] = g[row + j] * slope(row + j);
        b[j] += dz[row + j];
      }
    }
  });
}

// y = act(z), and z overwritten with act'(z) in the same pass (kernels/activations.hpp says
// for which activations and why).
template <class Act>
Tensor map_keeping_derivative(Tensor& z, Act act) {
  Tensor y = Tensor::empty(z.shape());
  float* zv = z.mutable_data();
  float* out = y.mutable_data();
  detail::parallel_for(z.numel(), [zv, out, act](int64_t begin, int64_t end) {
    for (int64_t k = begin; k < end; ++k) {
      // Both from one load, before either store: the compiler then shares their arithmetic.
      const float v = zv[k];
      const float value = act(v), derivative = act.derivative(v);
      out[k] = value;
      zv[k] = derivative;
    }
  });
  return y;
}

// For activation functors whose derivative is a function of their input (kernels/activations.hpp).
template <class Act>
Tensor linear_activation(const Tensor& x, const Tensor& weight, const Tensor& bias, Act act) {
  const LinearDims d = linear_dims(x, weight, bias);
  Tensor z = linear_output(x, weight, bias, d);  // held by this op alone
  // While training, z becomes act'(z) where the activation computes it in its forward.
  const bool z_holds_derivative =
      kernels::derivative_in_forward<Act> && grad_enabled() &&
      (x.requires_grad() || weight.requires_grad() || (bias.defined() && bias.requires_grad()));
  Tensor y = z_holds_derivative ? map_keeping_derivative(z, act) : map(z, act);
  record("linear_activation", y, {x, weight, bias},
         [sx = save(x), sw = save(weight), z, act, d, z_holds_derivative](const Tensor& g,
                                                                          GradSink& sink) mutable {
           // dz goes over g when nothing else holds g (as the activation's own backward would
           // write it), else over z, which only this op holds; each is read at an index before
           // it is written there. z is dropped before the products allocate dW and dX.
           Tensor dz = detail::uniquely_owned(g) ? g : z;
           const GradSink::Target db =
               sink.needs(2) ? sink.target(2) : GradSink::Target{nullptr, false};
           const float* zv = z.data();
           if (z_holds_derivative)
             activation_backward_with_bias([zv](int64_t k) { return zv[k]; }, g.data(),
                                           dz.mutable_data(), d, db);
           else
             activation_backward_with_bias([zv, act](int64_t k) { return act.derivative(zv[k]); },
                                           g.data(), dz.mutable_data(), d, db);
           z = Tensor();
           linear_products_backward(dz.data(), sx, sw, d, sink);
         });
  return y;
}

}  // namespace actlab::ops
