// Differentiable functional ops, named as in torch and torch.nn.functional. Each records its
// backward when an input requires grad (see core/autograd.hpp). Shapes in comments: N rows, K the
// shared dimension, M columns.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "actlab/core/tensor.hpp"

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

// ---- activations (torch.nn.functional names and defaults) -----------------------------------
// Elementwise unless stated. Kinks follow PyTorch: relu'(0) = 0, leaky_relu'(0) =
// negative_slope, prelu'(0) = weight, elu'(0) = alpha. All are stable at any finite input:
// no NaN or Inf at |x| = 100 or 1e4.
Tensor relu(const Tensor& x);                                   // max(0, x)
Tensor leaky_relu(const Tensor& x, float negative_slope = 0.01f);  // x > 0 ? x : slope x
// x > 0 ? x : weight x, with weight [1] shared or [C] per channel (C = dim 1 of x).
Tensor prelu(const Tensor& x, const Tensor& weight);
Tensor elu(const Tensor& x, float alpha = 1.f);  // x > 0 ? x : alpha (e^x - 1)
Tensor selu(const Tensor& x);  // scale elu(x, alpha), alpha = 1.6733, scale = 1.0507
Tensor celu(const Tensor& x, float alpha = 1.f);  // x > 0 ? x : alpha (e^(x / alpha) - 1)
Tensor gelu(const Tensor& x);       // x Phi(x), exact (erf)
Tensor gelu_tanh(const Tensor& x);  // 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
Tensor silu(const Tensor& x);       // x sigmoid(x), also called swish
Tensor mish(const Tensor& x);       // x tanh(softplus(x))
// log(1 + e^(beta x)) / beta, and x where beta x > threshold.
Tensor softplus(const Tensor& x, float beta = 1.f, float threshold = 20.f);
Tensor sigmoid(const Tensor& x);      // 1 / (1 + e^-x)
Tensor tanh(const Tensor& x);
Tensor hardswish(const Tensor& x);    // x relu6(x + 3) / 6
Tensor log_sigmoid(const Tensor& x);  // -softplus(-x)
// softmax(x / T) and log_softmax(x / T) along `dim` (negative counts from the end); each
// subtracts the maximum first, so logits of +-1000 are fine. T must be > 0.
Tensor softmax(const Tensor& x, int64_t dim = -1, float temperature = 1.f);
Tensor log_softmax(const Tensor& x, int64_t dim = -1, float temperature = 1.f);

// ---- sequences ([batch, time, channels] row-major; see README "Sequence models") ------------
// Rows of weight [num_embeddings, dim] picked by ids (row-major, of the given shape):
// shape + [dim]. Backward scatter-adds into weight's gradient. Ids must be in
// [0, num_embeddings).
Tensor embedding(const std::vector<int64_t>& ids, std::vector<int64_t> shape,
                 const Tensor& weight);
// (x - mean) / sqrt(var + eps) * weight + bias over the last dimension (biased variance, as
// torch); weight and bias are [d], bias may be undefined.
Tensor layer_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, float eps = 1e-5f);
// x / sqrt(mean(x^2) + eps) * weight over the last dimension (Zhang & Sennrich 2019, Llama).
Tensor rms_norm(const Tensor& x, const Tensor& weight, float eps = 1e-6f);
// RoPE on x [batch, time, heads, head_dim] (head_dim even): channels (2i, 2i+1) are rotated by
// (position_offset + t) * base^(-2i / head_dim), t the time index (Llama's interleaved pairs).
Tensor rotary_embedding(const Tensor& x, int64_t position_offset = 0, float base = 10000.f);
// softmax(q k^T / (sqrt(head_dim) * temperature)) v per (batch, head), on q [batch, Tq, heads,
// head_dim] and k, v [batch, Tk, heads, head_dim] -> [batch, Tq, heads, head_dim]. With
// is_causal, query i is position Tk - Tq + i and sees keys up to it (Tq <= Tk). When
// `attention` is given it receives the probabilities [batch, heads, Tq, Tk], the buffer backward
// keeps anyway (no copy; writing into it makes backward throw).
Tensor scaled_dot_product_attention(const Tensor& q, const Tensor& k, const Tensor& v,
                                    bool is_causal = true, float temperature = 1.f,
                                    Tensor* attention = nullptr);

}  // namespace actlab
