// Broadcast shapes and strides, and the two broadcast loops that are not templates.
#include "kernels/broadcast.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace actlab::kernels {

Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op) {
  const int64_t nd = std::max(a.size(), b.size());
  Shape out;
  for (int64_t d = 0; d < nd; ++d) {
    // Align from the right: missing leading dimensions count as 1.
    const int64_t da = d - (nd - a.size()) >= 0 ? a[d - (nd - a.size())] : 1;
    const int64_t db = d - (nd - b.size()) >= 0 ? b[d - (nd - b.size())] : 1;
    if (da != db && da != 1 && db != 1)
      throw Error(fmt::format("{}: shapes {} and {} cannot be broadcast together (dimension {} "
                              "from the right: {} vs {})",
                              op, a.str(), b.str(), nd - d, da, db));
    out.push_back(da == 1 ? db : da);
  }
  return out;
}

void broadcast_strides(const Shape& in, const Shape& out, int64_t* strides) {
  const int64_t nd = out.size();
  const int64_t lead = nd - in.size();
  if (lead < 0) throw Error(fmt::format("broadcast: {} has more dimensions than {}", in.str(),
                                        out.str()));
  int64_t stride = 1;
  for (int64_t d = nd - 1; d >= 0; --d) {
    const int64_t dim_in = d >= lead ? in[d - lead] : 1;
    if (dim_in != out[d] && dim_in != 1)
      throw Error(fmt::format("broadcast: {} does not broadcast to {}", in.str(), out.str()));
    strides[d] = dim_in == 1 ? 0 : stride;
    stride *= dim_in;
  }
}

void sum_to(const float* src, const Shape& src_shape, float* dst, const Shape& dst_shape,
            bool accumulate) {
  if (!accumulate) std::fill(dst, dst + dst_shape.numel(), 0.f);
  int64_t sd[Shape::kMaxDims];
  broadcast_strides(dst_shape, src_shape, sd);
  for_each_row(src_shape, sd, sd, [&](int64_t o, int64_t id, int64_t, int64_t n, int64_t dd, int64_t) {
    const float* x = src + o;
    float* y = dst + id;
    if (dd == 1) {
      for (int64_t j = 0; j < n; ++j) y[j] += x[j];
    } else {
      float acc = 0.f;
      for (int64_t j = 0; j < n; ++j) acc += x[j];
      *y += acc;
    }
  });
}

void strided_copy(const float* src, const int64_t* src_strides, float* dst,
                  const Shape& out_shape, bool accumulate) {
  for_each_row(out_shape, src_strides, src_strides,
               [&](int64_t o, int64_t is, int64_t, int64_t n, int64_t ds, int64_t) {
                 float* y = dst + o;
                 const float* x = src + is;
                 if (accumulate) {
                   for (int64_t j = 0; j < n; ++j) y[j] += x[j * ds];
                 } else if (ds == 1) {
                   std::memcpy(y, x, static_cast<size_t>(n) * sizeof(float));
                 } else {
                   for (int64_t j = 0; j < n; ++j) y[j] = x[j * ds];
                 }
               });
}

}  // namespace actlab::kernels
