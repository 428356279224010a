// cblas_sgemm on row-major operands; leading dimensions follow from the transpose flags.
#include "kernels/blas.hpp"

#include <cblas.h>

#include <algorithm>

namespace actlab::kernels {

void gemm(bool transpose_a, bool transpose_b, int64_t m, int64_t n, int64_t k, const float* a,
          const float* b, float beta, float* c) {
  if (m == 0 || n == 0) return;
  if (k == 0) {  // an empty sum: BLAS implementations differ on whether they touch C
    if (beta == 0.f) std::fill(c, c + m * n, 0.f);
    return;
  }
  const auto lda = static_cast<int>(transpose_a ? m : k);
  const auto ldb = static_cast<int>(transpose_b ? k : n);
  cblas_sgemm(CblasRowMajor, transpose_a ? CblasTrans : CblasNoTrans,
              transpose_b ? CblasTrans : CblasNoTrans, static_cast<int>(m), static_cast<int>(n),
              static_cast<int>(k), 1.f, a, lda, b, ldb, beta, c, static_cast<int>(n));
}

void set_blas_threads(int n) { openblas_set_num_threads(n); }
int blas_threads() { return openblas_get_num_threads(); }

}  // namespace actlab::kernels
