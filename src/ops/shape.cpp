// reshape (a view on the same storage) and transpose (a copy: tensors stay contiguous).
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <utility>

#include "actlab/core/autograd.hpp"
#include "actlab/ops/ops.hpp"
#include "kernels/broadcast.hpp"

namespace actlab {
namespace {

// A new handle on x's storage with another shape of the same element count.
Tensor view(const Tensor& x, const Shape& shape) {
  auto impl = std::make_shared<detail::TensorImpl>();
  impl->shape = shape;
  impl->storage = x.impl()->storage;
  return Tensor(std::move(impl));
}

Shape resolve_reshape(const Shape& from, const std::vector<int64_t>& to) {
  Shape shape;
  int64_t known = 1;
  int64_t infer_at = -1;
  for (size_t i = 0; i < to.size(); ++i) {
    if (to[i] == -1) {
      if (infer_at >= 0)
        throw Error(fmt::format("reshape: only one dimension can be -1 in [{}]",
                                fmt::join(to, ", ")));
      infer_at = static_cast<int64_t>(i);
      shape.push_back(1);
      continue;
    }
    if (to[i] < 0)
      throw Error(fmt::format("reshape: invalid dimension {} in [{}]", to[i], fmt::join(to, ", ")));
    shape.push_back(to[i]);
    known *= to[i];
  }
  if (infer_at >= 0 && known != 0 && from.numel() % known == 0)
    shape[infer_at] = from.numel() / known;
  if (shape.numel() != from.numel())
    throw Error(fmt::format("reshape: cannot reshape {} ({} elements) to [{}]", from.str(),
                            from.numel(), fmt::join(to, ", ")));
  return shape;
}

// Element strides of a contiguous tensor of `shape`, with dimensions d0 and d1 swapped.
void swapped_strides(const Shape& shape, int64_t d0, int64_t d1, int64_t* strides) {
  int64_t stride = 1;
  for (int64_t d = shape.size() - 1; d >= 0; --d) {
    strides[d] = stride;
    stride *= shape[d];
  }
  std::swap(strides[d0], strides[d1]);
}

}  // namespace

Tensor reshape(const Tensor& x, const std::vector<int64_t>& shape) {
  Tensor out = view(x, resolve_reshape(x.shape(), shape));
  record("reshape", out, {x}, [in_shape = x.shape()](const Tensor& g, GradSink& sink) {
    sink.add(0, view(g, in_shape));
  });
  return out;
}

Tensor transpose(const Tensor& x, int64_t dim0, int64_t dim1) {
  const Shape& in = x.shape();
  const int64_t nd = in.size();
  const int64_t d0 = dim0 < 0 ? dim0 + nd : dim0;
  const int64_t d1 = dim1 < 0 ? dim1 + nd : dim1;
  if (d0 < 0 || d0 >= nd || d1 < 0 || d1 >= nd)
    throw Error(fmt::format("transpose: dims ({}, {}) are out of range for shape {}", dim0, dim1,
                            in.str()));
  Shape out_shape = in;
  std::swap(out_shape[d0], out_shape[d1]);
  int64_t strides[Shape::kMaxDims];
  swapped_strides(in, d0, d1, strides);
  Tensor out = Tensor::empty(out_shape);
  kernels::strided_copy(x.data(), strides, out.mutable_data(), out_shape, false);
  record("transpose", out, {x}, [d0, d1, in](const Tensor& g, GradSink& sink) {
    int64_t g_strides[Shape::kMaxDims];
    swapped_strides(g.shape(), d0, d1, g_strides);
    GradSink::Target t = sink.target(0);
    kernels::strided_copy(g.data(), g_strides, t.data, in, t.accumulate);
  });
  return out;
}

}  // namespace actlab
