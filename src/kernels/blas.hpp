// The one place that calls BLAS: C = A B (+ beta C) on row-major operands as they lie in
// memory, with transpose flags instead of transposing copies.
#pragma once

#include <cstdint>

namespace actlab::kernels {

// C[m, n] = op(A)[m, k] op(B)[k, n] + beta * C, row-major; op transposes when the flag is set.
// beta is 0 (assign) or 1 (accumulate a gradient in place).
void gemm(bool transpose_a, bool transpose_b, int64_t m, int64_t n, int64_t k, const float* a,
          const float* b, float beta, float* c);

// The same on matrices that lie inside wider rows: lda, ldb and ldc are the row strides (in
// floats) of A, B and C as stored. Attention multiplies one head's columns of a
// [time, heads * head_dim] block this way, with no copy.
void gemm(bool transpose_a, bool transpose_b, int64_t m, int64_t n, int64_t k, const float* a,
          int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc);

// OpenBLAS's thread count (its OpenMP build also follows the calling thread's OpenMP count).
void set_blas_threads(int n);
int blas_threads();

}  // namespace actlab::kernels
