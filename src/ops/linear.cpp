// linear(x, W, b) = x W^T + b, fused: the bias is copied into the output and one sgemm
// accumulates onto it. x may have leading dimensions ([..., in] -> [..., out]). Its halves are
// shared with linear_activation (ops/linear_parts.hpp).
#include <fmt/format.h>

#include <algorithm>

#include "actlab/core/autograd.hpp"
#include "actlab/ops/ops.hpp"
#include "kernels/blas.hpp"
#include "ops/linear_parts.hpp"

namespace actlab {
namespace ops {

LinearDims linear_dims(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  const bool ok = weight.dim() == 2 && x.dim() >= 1 && x.size(-1) == weight.size(1) &&
                  (!bias.defined() || (bias.dim() == 1 && bias.size(0) == weight.size(0)));
  if (!ok)
    throw Error(fmt::format(
        "linear: input {}, weight {} and bias {} do not fit: expected [..., in], [out, in], [out]",
        x.shape().str(), weight.shape().str(), bias.defined() ? bias.shape().str() : "none"));
  int64_t rows = 1;
  for (int64_t d = 0; d + 1 < x.dim(); ++d) rows *= x.size(d);
  return {rows, weight.size(1), weight.size(0)};
}

Tensor linear_output(const Tensor& x, const Tensor& weight, const Tensor& bias,
                     const LinearDims& d) {
  Shape out_shape = x.shape();
  out_shape[out_shape.size() - 1] = d.out;
  Tensor y = Tensor::empty(out_shape);  // [rows, out]
  float* yv = y.mutable_data();
  if (bias.defined())
    detail::parallel_for(d.rows, d.out, [b = bias.data(), yv, out = d.out](int64_t begin,
                                                                          int64_t end) {
      for (int64_t r = begin; r < end; ++r) std::copy_n(b, out, yv + r * out);
    });
  kernels::gemm(false, true, d.rows, d.out, d.in, x.data(), weight.data(),
                bias.defined() ? 1.f : 0.f, yv);
  return y;
}

void linear_products_backward(const float* dy, SavedTensor& x, const SavedTensor& weight,
                              const LinearDims& d, GradSink& sink) {
  if (sink.needs(1)) {  // dW [out, in] = dY^T X
    GradSink::Target t = sink.target(1);
    kernels::gemm(true, false, d.out, d.in, d.rows, dy, x.data(), t.accumulate ? 1.f : 0.f,
                  t.data);
  }
  x = SavedTensor();
  if (sink.needs(0)) {  // dX [rows, in] = dY W
    GradSink::Target t = sink.target(0);
    kernels::gemm(false, false, d.rows, d.in, d.out, dy, weight.data(), t.accumulate ? 1.f : 0.f,
                  t.data);
  }
}

}  // namespace ops

Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  const ops::LinearDims d = ops::linear_dims(x, weight, bias);
  Tensor y = ops::linear_output(x, weight, bias, d);
  record("linear", y, {x, weight, bias},
         [sx = save(x), sw = save(weight), d](const Tensor& g, GradSink& sink) mutable {
           const float* gv = g.data();  // [rows, out]
           ops::linear_products_backward(gv, sx, sw, d, sink);
           if (sink.needs(2)) {  // db [out] = column sums of dY, each summed in row order
             GradSink::Target t = sink.target(2);
             if (!t.accumulate) std::fill_n(t.data, d.out, 0.f);
             detail::parallel_for(d.out, d.rows, [db = t.data, gv, d](int64_t begin, int64_t end) {
               for (int64_t r = 0; r < d.rows; ++r)
                 for (int64_t j = begin; j < end; ++j) db[j] += gv[r * d.out + j];
             });
           }
         });
  return y;
}

}  // namespace actlab
