// Reduction loops; see reduce.hpp.
#include "kernels/reduce.hpp"

#include <algorithm>
#include <limits>
#include <vector>

#include "actlab/detail/parallel.hpp"

namespace actlab::kernels {
namespace {

float sum_lanes(const float* x, int64_t n) {
  constexpr int kLanes = 8;
  float partial[kLanes] = {};
  int64_t k = 0;
  for (; k + kLanes <= n; k += kLanes)
    for (int j = 0; j < kLanes; ++j) partial[j] += x[k + j];
  float total = 0.f;
  for (; k < n; ++k) total += x[k];
  for (float p : partial) total += p;
  return total;
}

}  // namespace

float sum(const float* x, int64_t n) {
  if (n <= kSumBlock) return sum_lanes(x, n);
  std::vector<float> block_sums(static_cast<size_t>((n + kSumBlock - 1) / kSumBlock));
  const auto blocks = static_cast<int64_t>(block_sums.size());
  detail::parallel_for(blocks, kSumBlock, [x, n, sums = block_sums.data()](int64_t begin,
                                                                            int64_t end) {
    for (int64_t b = begin; b < end; ++b)
      sums[b] = sum_lanes(x + b * kSumBlock, std::min(kSumBlock, n - b * kSumBlock));
  });
  float total = 0.f;
  for (float s : block_sums) total += s;
  return total;
}

float max(const float* x, int64_t n) {
  constexpr int kLanes = 16;
  // std::max in each lane and a separate NaN flag: a comparison that also let a NaN in
  // compiled to a branch per element; this one is a vector max (softmax's rows 2x faster).
  float partial[kLanes];
  std::fill(partial, partial + kLanes, -std::numeric_limits<float>::infinity());
  int nan_seen = 0;
  int64_t k = 0;
  for (; k + kLanes <= n; k += kLanes)
    for (int j = 0; j < kLanes; ++j) {
      partial[j] = std::max(partial[j], x[k + j]);
      nan_seen |= x[k + j] != x[k + j];
    }
  float m = -std::numeric_limits<float>::infinity();
  for (; k < n; ++k) {
    m = std::max(m, x[k]);
    nan_seen |= x[k] != x[k];
  }
  for (float p : partial) m = std::max(m, p);
  if (nan_seen != 0) return *std::find_if(x, x + n, [](float v) { return v != v; });
  return m;
}

float dot(const float* a, const float* b, int64_t n) {
  constexpr int kLanes = 8;
  float partial[kLanes] = {};
  int64_t k = 0;
  for (; k + kLanes <= n; k += kLanes)
    for (int j = 0; j < kLanes; ++j) partial[j] += a[k + j] * b[k + j];
  float total = 0.f;
  for (; k < n; ++k) total += a[k] * b[k];
  for (float p : partial) total += p;
  return total;
}

void sum_dim(const float* x, int64_t outer, int64_t n, int64_t inner, float scale, float* out) {
  for (int64_t o = 0; o < outer; ++o) {
    const float* block = x + o * n * inner;
    float* row = out + o * inner;
    if (inner == 1) {
      row[0] = scale * sum(block, n);
      continue;
    }
    std::fill(row, row + inner, 0.f);
    for (int64_t k = 0; k < n; ++k)
      for (int64_t i = 0; i < inner; ++i) row[i] += block[k * inner + i];
    for (int64_t i = 0; i < inner; ++i) row[i] *= scale;
  }
}

void expand_dim(const float* g, int64_t outer, int64_t n, int64_t inner, float scale, float* dx,
                bool accumulate) {
  for (int64_t o = 0; o < outer; ++o) {
    const float* row = g + o * inner;
    for (int64_t k = 0; k < n; ++k) {
      float* dst = dx + (o * n + k) * inner;
      if (accumulate) {
        for (int64_t i = 0; i < inner; ++i) dst[i] += scale * row[i];
      } else {
        for (int64_t i = 0; i < inner; ++i) dst[i] = scale * row[i];
      }
    }
  }
}

}  // namespace actlab::kernels
