// Helpers shared by the elementwise ops: map a function over a tensor into a new one.
#pragma once

#include "actlab/core/tensor.hpp"
#include "actlab/detail/parallel.hpp"

namespace actlab::ops {

// y[k] = f(x[k]) in a new tensor of x's shape.
template <class F>
Tensor map(const Tensor& x, F f) {
  Tensor y = Tensor::empty(x.shape());
  const float* in = x.data();
  float* out = y.mutable_data();
  detail::parallel_for(x.numel(), [in, out, f](int64_t begin, int64_t end) {
    for (int64_t k = begin; k < end; ++k) out[k] = f(in[k]);
  });
  return y;
}

}  // namespace actlab::ops
