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
#include "ops/elementwise.hpp"
#include "ops/linear_parts.hpp"

namespace actlab::ops {

// dz = g act'(z), and, when db is wanted, db[j] (+)= the sum of column j of dz, summed in row
// order as linear's backward sums it. The columns are split over the threads, so each sum is
// one thread's, in the same order at any thread count. dz may be g's or z's buffer.
template <class Act>
void activation_backward_with_bias(Act act, const float* g, const float* z, float* dz,
                                   const LinearDims& d, GradSink::Target db) {
  if (db.data == nullptr) {
    detail::parallel_for(d.rows * d.out, [act, g, z, dz](int64_t begin, int64_t end) {
      for (int64_t k = begin; k < end; ++k) dz[k] = g[k] * act.derivative(z[k]);
    });
    return;
  }
  if (!db.accumulate) std::fill_n(db.data, d.out, 0.f);
  detail::parallel_for(d.out, d.rows, [act, g, z, dz, d, b = db.data](int64_t begin, int64_t end) {
    for (int64_t r = 0; r < d.rows; ++r) {
      const int64_t row = r * d.out;
      for (int64_t j = begin; j < end; ++j) {
        dz[row + j] = g[row + j] * act.derivative(z[row + j]);
        b[j] += dz[row + j];
      }
    }
  });
}

// For activation functors whose derivative is a function of their input (kernels/activations.hpp).
template <class Act>
Tensor linear_activation(const Tensor& x, const Tensor& weight, const Tensor& bias, Act act) {
  const LinearDims d = linear_dims(x, weight, bias);
  Tensor z = linear_output(x, weight, bias, d);  // held by this op alone
  Tensor y = map(z, act);
  record("linear_activation", y, {x, weight, bias},
         [sx = save(x), sw = save(weight), z, act, d](const Tensor& g, GradSink& sink) mutable {
           // dz goes over g when nothing else holds g (as the activation's own backward would
           // write it), else over z, which only this op holds; each is read at an index before
           // it is written there. z is dropped before the products allocate dW and dX.
           Tensor dz = detail::uniquely_owned(g) ? g : z;
           const GradSink::Target db =
               sink.needs(2) ? sink.target(2) : GradSink::Target{nullptr, false};
           activation_backward_with_bias(act, g.data(), z.data(), dz.mutable_data(), d, db);
           z = Tensor();
           linear_products_backward(dz.data(), sx, sw, d, sink);
         });
  return y;
}

}  // namespace actlab::ops
