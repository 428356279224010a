// linear(x, W, b) = x W^T + b, fused: the bias is copied into the output and one sgemm
// accumulates onto it. x may have leading dimensions ([..., in] -> [..., out]).
#include <fmt/format.h>

#include <algorithm>

#include "actlab/core/autograd.hpp"
#include "actlab/ops/ops.hpp"
#include "kernels/blas.hpp"

namespace actlab {
namespace {

void check_linear_shapes(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  const bool ok = weight.dim() == 2 && x.dim() >= 1 && x.size(-1) == weight.size(1) &&
                  (!bias.defined() || (bias.dim() == 1 && bias.size(0) == weight.size(0)));
  if (!ok)
    throw Error(fmt::format(
        "linear: input {}, weight {} and bias {} do not fit: expected [..., in], [out, in], [out]",
        x.shape().str(), weight.shape().str(), bias.defined() ? bias.shape().str() : "none"));
}

}  // namespace

Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  check_linear_shapes(x, weight, bias);
  const int64_t out_features = weight.size(0);
  const int64_t in_features = weight.size(1);
  int64_t rows = 1;  // the product of x's leading dimensions
  for (int64_t d = 0; d + 1 < x.dim(); ++d) rows *= x.size(d);
  Shape out_shape = x.shape();
  out_shape[out_shape.size() - 1] = out_features;
  Tensor y = Tensor::empty(out_shape);  // [rows, out]
  float* yv = y.mutable_data();
  if (bias.defined())
    detail::parallel_for(rows, out_features, [b = bias.data(), yv, out_features](int64_t begin,
                                                                                int64_t end) {
      for (int64_t r = begin; r < end; ++r) std::copy_n(b, out_features, yv + r * out_features);
    });
  kernels::gemm(false, true, rows, out_features, in_features, x.data(), weight.data(),
                bias.defined() ? 1.f : 0.f, yv);

  // dW comes first, then x's values are dropped: when nothing else holds x (an FFN's act(h),
  // kept only here), dX, of x's size, reuses its buffer instead of adding one to the peak.
  record("linear", y, {x, weight, bias},
         [sx = save(x), sw = save(weight), rows, in_features, out_features](
             const Tensor& g, GradSink& sink) mutable {
           const float* gv = g.data();  // [rows, out]
           if (sink.needs(1)) {         // dW [out, in] = dY^T X
             GradSink::Target t = sink.target(1);
             kernels::gemm(true, false, out_features, in_features, rows, gv, sx.data(),
                           t.accumulate ? 1.f : 0.f, t.data);
           }
           sx = SavedTensor();
           if (sink.needs(0)) {  // dX [rows, in] = dY W
             GradSink::Target t = sink.target(0);
             kernels::gemm(false, false, rows, in_features, out_features, gv, sw.data(),
                           t.accumulate ? 1.f : 0.f, t.data);
           }
           if (sink.needs(2)) {  // db [out] = column sums of dY, each summed in row order
             GradSink::Target t = sink.target(2);
             if (!t.accumulate) std::fill_n(t.data, out_features, 0.f);
             detail::parallel_for(out_features, rows, [db = t.data, gv, rows, out_features](
                                                          int64_t begin, int64_t end) {
               for (int64_t r = 0; r < rows; ++r)
                 for (int64_t j = begin; j < end; ++j) db[j] += gv[r * out_features + j];
             });
           }
         });
  return y;
}

}  // namespace actlab
