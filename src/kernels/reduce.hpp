// Raw reduction loops: whole sums and sums along one dimension, and the broadcast back.
// A tensor reduced along a dimension is viewed as [outer, n, inner].
#pragma once

#include <cstdint>

namespace actlab::kernels {

// Sum of x[0..n), with eight independent partial sums (vectorisable, deterministic). Beyond
// kSumBlock elements: the sums of blocks of kSumBlock, taken on the threads, added in order,
// so the result is the same for any thread count.
inline constexpr int64_t kSumBlock = int64_t{1} << 16;
float sum(const float* x, int64_t n);

// Largest of x[0..n) (-inf when n = 0; NaN when any element is NaN), with sixteen
// independent lanes, as a float max reduction is not vectorised otherwise.
float max(const float* x, int64_t n);

// sum_k a[k] b[k], with eight independent partial sums (vectorisable, deterministic).
float dot(const float* a, const float* b, int64_t n);

// out[o, i] = scale * sum_k x[o, k, i].
void sum_dim(const float* x, int64_t outer, int64_t n, int64_t inner, float scale, float* out);

// dx[o, k, i] = (or +=) scale * g[o, i]: the gradient of sum_dim.
void expand_dim(const float* g, int64_t outer, int64_t n, int64_t inner, float scale, float* dx,
                bool accumulate);

}  // namespace actlab::kernels
