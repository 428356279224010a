// The two halves of linear(x, W, b) that ops/linear_activation.hpp shares with it: the forward
// product with the bias fused in (copied into the output, then one sgemm accumulating onto it),
// and backward's two products, dW = dY^T X and dX = dY W. The bias gradient is not here: linear
// sums it from dY in a pass of its own, linear_activation in its activation's backward pass.
#pragma once

#include <cstdint>

#include "actlab/core/autograd.hpp"

namespace actlab::ops {

struct LinearDims {
  int64_t rows;  // the product of x's leading dimensions
  int64_t in, out;
};

// Checks that x [..., in], weight [out, in] and bias [out] (or undefined) fit; throws an Error
// naming the shapes when not.
LinearDims linear_dims(const Tensor& x, const Tensor& weight, const Tensor& bias);

// x W^T + b as a new tensor [..., out].
Tensor linear_output(const Tensor& x, const Tensor& weight, const Tensor& bias,
                     const LinearDims& d);

// dW then dX from dy [rows, out], for the inputs (x 0, weight 1) that want them. x's saved values
// are dropped between the two: when nothing else holds x (an FFN's act(h), kept only here), dX,
// of x's size, reuses its buffer instead of adding one to the peak.
void linear_products_backward(const float* dy, SavedTensor& x, const SavedTensor& weight,
                              const LinearDims& d, GradSink& sink);

}  // namespace actlab::ops
