// Softmax and log-softmax row kernels; see softmax.hpp.
#include "kernels/softmax.hpp"

#include <cmath>

#include "kernels/fastmath.hpp"
#include "kernels/reduce.hpp"
#include "kernels/store.hpp"

namespace actlab::kernels {
namespace {

// e[k] = exp((x[k] - max x) / T) for one row; returns max x and the sum of e. Every exponent
// is <= 0, so nothing overflows, and the largest term is 1, so the sum is >= 1. Dividing by T
// (rather than multiplying by 1/T) keeps a tiny T finite: 1/T overflows below about 1e-38.
struct ShiftedExp {
  float row_max;
  float total;
};

ShiftedExp shifted_exp(const float* x, int64_t n, float temperature, float* e) {
  const float m = max(x, n);
  for (int64_t k = 0; k < n; ++k) e[k] = fastmath::exp((x[k] - m) / temperature);
  return {m, sum(e, n)};
}

}  // namespace

void softmax_rows(const float* x, int64_t rows, int64_t n, float temperature, float* y) {
  for (int64_t r = 0; r < rows; ++r) {
    float* yr = y + r * n;
    const float inv_sum = 1.f / shifted_exp(x + r * n, n, temperature, yr).total;
    for (int64_t k = 0; k < n; ++k) yr[k] *= inv_sum;
  }
}

void log_softmax_rows(const float* x, int64_t rows, int64_t n, float temperature, float* y) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * n;
    float* yr = y + r * n;  // holds the exponentials until the log-sum-exp is known
    const ShiftedExp s = shifted_exp(xr, n, temperature, yr);
    const float log_sum = std::log(s.total);
    for (int64_t k = 0; k < n; ++k) yr[k] = (xr[k] - s.row_max) / temperature - log_sum;
  }
}

void softmax_rows_backward(const float* y, const float* g, int64_t rows, int64_t n,
                           float temperature, float* dx, bool accumulate) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* yr = y + r * n;
    const float* gr = g + r * n;
    const float gy = dot(gr, yr, n);
    write({dx + r * n, accumulate}, n,
          [&](int64_t k) { return yr[k] * (gr[k] - gy) / temperature; });
  }
}

void log_softmax_rows_backward(const float* y, const float* g, int64_t rows, int64_t n,
                               float temperature, float* dx, bool accumulate) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* yr = y + r * n;
    const float* gr = g + r * n;
    const float g_sum = sum(gr, n);
    write({dx + r * n, accumulate}, n,
          [&](int64_t k) { return (gr[k] - fastmath::exp(yr[k]) * g_sum) / temperature; });
  }
}

}  // namespace actlab::kernels
