// Differentiable functional ops, named as in torch and torch.nn.functional. Each records its
// backward when an input requires grad (see autograd.hpp). Shapes in comments: N rows, K the
// shared dimension, M columns.
#pragma once

#include <cstdint>
#include <vector>

#include "actlab/tensor.hpp"

namespace actlab {

// ---- arithmetic (broadcasting as NumPy/PyTorch) ------------------------------------------
Tensor add(const Tensor& a, const Tensor& b);
Tensor sub(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor div(const Tensor& a, const Tensor& b);
Tensor neg(const Tensor& x);
Tensor add(const Tensor& x, float s);  // x + s
Tensor mul(const Tensor& x, float s);  // x * s
Tensor div(const Tensor& x, float s);  // x / s
Tensor exp(const Tensor& x);
Tensor log(const Tensor& x);
Tensor square(const Tensor& x);
Tensor sqrt(const Tensor& x);
Tensor reciprocal(const Tensor& x);

// ---- reductions ----------------------------------------------------------------------------
Tensor sum(const Tensor& x);  // a 0-dim tensor
Tensor sum(const Tensor& x, int64_t dim, bool keepdim = false);
Tensor mean(const Tensor& x);
Tensor mean(const Tensor& x, int64_t dim, bool keepdim = false);

// ---- shape ---------------------------------------------------------------------------------
Tensor reshape(const Tensor& x, const std::vector<int64_t>& shape);  // one entry may be -1
Tensor transpose(const Tensor& x, int64_t dim0, int64_t dim1);       // copies

// ---- linear algebra ------------------------------------------------------------------------
// [N, K] x [K, M] -> [N, M]: one cblas_sgemm forward, one per input gradient backward.
Tensor matmul(const Tensor& a, const Tensor& b);
// x [..., in], weight [out, in], bias [out] or undefined -> x W^T + b [..., out], fused.
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor());

// ---- regularisation ------------------------------------------------------------------------
// Inverted dropout: in training, zeroes each element with probability p and scales the rest by
// 1 / (1 - p); the identity otherwise.
Tensor dropout(const Tensor& x, float p, bool training, Generator& gen);

}  // namespace actlab
