// matmul of two matrices: one sgemm forward, one per input gradient backward, each with the
// operands as they lie and transpose flags doing the work.
#include <fmt/format.h>

#include "actlab/core/autograd.hpp"
#include "actlab/ops/ops.hpp"
#include "kernels/blas.hpp"

namespace actlab {

Tensor matmul(const Tensor& a, const Tensor& b) {
  if (a.dim() != 2 || b.dim() != 2 || a.size(1) != b.size(0))
    throw Error(fmt::format("matmul: shapes {} and {} do not fit: expected [N, K] x [K, M]",
                            a.shape().str(), b.shape().str()));
  const int64_t n = a.size(0);
  const int64_t k = a.size(1);
  const int64_t m = b.size(1);
  Tensor out = Tensor::empty({n, m});  // [N, M]
  kernels::gemm(false, false, n, m, k, a.data(), b.data(), 0.f, out.mutable_data());
  record("matmul", out, {a, b}, [sa = save(a), sb = save(b), n, k, m](const Tensor& g,
                                                                      GradSink& sink) {
    if (sink.needs(0)) {  // dA [N, K] = dY [N, M] B^T
      GradSink::Target t = sink.target(0);
      kernels::gemm(false, true, n, k, m, g.data(), sb.data(), t.accumulate ? 1.f : 0.f, t.data);
    }
    if (sink.needs(1)) {  // dB [K, M] = A^T dY
      GradSink::Target t = sink.target(1);
      kernels::gemm(true, false, k, m, n, sa.data(), g.data(), t.accumulate ? 1.f : 0.f, t.data);
    }
  });
  return out;
}

}  // namespace actlab
