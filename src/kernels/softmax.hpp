// Softmax and log-softmax over the rows of a [rows, n] matrix at a temperature T, forward and
// backward. Each row subtracts its maximum before exponentiating, so logits of +-1000 give no
// overflow and no NaN. Other layouts are moved into rows by the caller.
#pragma once

#include <cstdint>

namespace actlab::kernels {

// y = exp((x - max x) / T) / sum(...)
void softmax_rows(const float* x, int64_t rows, int64_t n, float temperature, float* y);
// y = (x - max x) / T - log sum exp((x - max x) / T)
void log_softmax_rows(const float* x, int64_t rows, int64_t n, float temperature, float* y);

// dx = (or +=) y (g - sum(g y)) / T, from softmax's output y.
void softmax_rows_backward(const float* y, const float* g, int64_t rows, int64_t n,
                           float temperature, float* dx, bool accumulate);
// dx = (or +=) (g - exp(y) sum(g)) / T, from log_softmax's output y.
void log_softmax_rows_backward(const float* y, const float* g, int64_t rows, int64_t n,
                               float temperature, float* dx, bool accumulate);

}  // namespace actlab::kernels
