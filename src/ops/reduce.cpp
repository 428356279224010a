// sum and mean, over everything or along one dimension (keepdim as in PyTorch).
#include "actlab/core/autograd.hpp"
#include "actlab/ops/ops.hpp"
#include "kernels/reduce.hpp"
#include "ops/dim.hpp"

namespace actlab {
namespace {

// scale * sum of all elements; its gradient is scale * g everywhere, handed on as that one
// value where the op that made x takes it so (autograd.hpp), else written out.
Tensor scaled_total(const char* name, const Tensor& x, float scale) {
  Tensor out = Tensor::scalar(scale * kernels::sum(x.data(), x.numel()));
  record(name, out, {x}, [scale](const Tensor& g, GradSink& sink) {
    sink.add_uniform(0, scale * g.data()[0]);
  });
  return out;
}

// scale * sum along `dim`, viewed as [outer, n, inner] -> [outer, inner].
Tensor scaled_sum_dim(const char* name, const Tensor& x, int64_t dim, bool keepdim,
                      bool divide_by_count) {
  const Shape& in = x.shape();
  const int64_t d = ops::normalize_dim(dim, in, name);
  int64_t outer = 1;
  int64_t inner = 1;
  Shape out_shape;
  for (int64_t i = 0; i < in.size(); ++i) {
    if (i < d) outer *= in[i];
    if (i > d) inner *= in[i];
    if (i != d)
      out_shape.push_back(in[i]);
    else if (keepdim)
      out_shape.push_back(1);
  }
  const int64_t n = in[d];
  const float scale = divide_by_count ? 1.f / static_cast<float>(n) : 1.f;
  Tensor out = Tensor::empty(out_shape);
  kernels::sum_dim(x.data(), outer, n, inner, scale, out.mutable_data());
  record(name, out, {x}, [outer, n, inner, scale](const Tensor& g, GradSink& sink) {
    GradSink::Target t = sink.target(0);
    kernels::expand_dim(g.data(), outer, n, inner, scale, t.data, t.accumulate);
  });
  return out;
}

}  // namespace

Tensor sum(const Tensor& x) { return scaled_total("sum", x, 1.f); }

Tensor mean(const Tensor& x) {
  if (x.numel() == 0) throw Error("mean: the tensor has no elements");
  return scaled_total("mean", x, 1.f / static_cast<float>(x.numel()));
}

Tensor sum(const Tensor& x, int64_t dim, bool keepdim) {
  return scaled_sum_dim("sum", x, dim, keepdim, false);
}

Tensor mean(const Tensor& x, int64_t dim, bool keepdim) {
  return scaled_sum_dim("mean", x, dim, keepdim, true);
}

}  // namespace actlab
