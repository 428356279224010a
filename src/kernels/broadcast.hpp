// Raw loops over broadcast index spaces (NumPy rules): binary elementwise ops, summing a
// gradient down to a broadcast input's shape, and strided copies (expand, transpose).
// They know nothing of autograd.
#pragma once

#include <cstdint>
#include <cstring>

#include "actlab/core/tensor.hpp"
#include "actlab/detail/parallel.hpp"

namespace actlab::kernels {

// The shape two operands broadcast to; throws an Error naming `op` and both shapes.
Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op);

// Strides (in elements) of a contiguous tensor of shape `in` read as shape `out`, to which it
// broadcasts: 0 along broadcast dimensions. `strides` gets out.size() entries.
void broadcast_strides(const Shape& in, const Shape& out, int64_t* strides);

// Walks `out`'s index space one innermost row at a time:
// row(out_offset, a_offset, b_offset, n, a_step, b_step), where a and b are addressed
// through the strides sa and sb.
template <class Row>
void for_each_row(const Shape& out, const int64_t* sa, const int64_t* sb, Row&& row) {
  const int nd = static_cast<int>(out.size());
  if (nd == 0) {
    row(int64_t{0}, int64_t{0}, int64_t{0}, int64_t{1}, int64_t{0}, int64_t{0});
    return;
  }
  const int64_t n = out[nd - 1];
  const int64_t total = out.numel();
  if (total == 0) return;
  int64_t index[Shape::kMaxDims] = {};
  int64_t offset_a = 0;
  int64_t offset_b = 0;
  for (int64_t start = 0; start < total; start += n) {
    row(start, offset_a, offset_b, n, sa[nd - 1], sb[nd - 1]);
    for (int d = nd - 2; d >= 0; --d) {  // advance the outer index like an odometer
      offset_a += sa[d];
      offset_b += sb[d];
      if (++index[d] < out[d]) break;
      offset_a -= sa[d] * out[d];
      offset_b -= sb[d] * out[d];
      index[d] = 0;
    }
  }
}

// out = f(a, b) elementwise, a and b broadcast to out_shape (split over the threads when they
// all have one shape and it is large).
template <class F>
void binary(const float* a, const Shape& a_shape, const float* b, const Shape& b_shape, float* out,
            const Shape& out_shape, F f) {
  if (a_shape == out_shape && b_shape == out_shape) {
    detail::parallel_for(out_shape.numel(), [a, b, out, f](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) out[i] = f(a[i], b[i]);
    });
    return;
  }
  int64_t sa[Shape::kMaxDims];
  int64_t sb[Shape::kMaxDims];
  broadcast_strides(a_shape, out_shape, sa);
  broadcast_strides(b_shape, out_shape, sb);
  for_each_row(out_shape, sa, sb,
               [&](int64_t o, int64_t ia, int64_t ib, int64_t n, int64_t da, int64_t db) {
                 float* y = out + o;
                 const float* x = a + ia;
                 const float* z = b + ib;
                 if (da == 1 && db == 1) {
                   for (int64_t j = 0; j < n; ++j) y[j] = f(x[j], z[j]);
                 } else if (da == 1) {
                   const float s = *z;
                   for (int64_t j = 0; j < n; ++j) y[j] = f(x[j], s);
                 } else if (db == 1) {
                   const float s = *x;
                   for (int64_t j = 0; j < n; ++j) y[j] = f(s, z[j]);
                 } else {
                   const float v = f(*x, *z);
                   for (int64_t j = 0; j < n; ++j) y[j] = v;
                 }
               });
}

// dst (shape dst_shape) = or += the sum of src (shape src_shape) over the dimensions along
// which dst_shape broadcasts to src_shape: the gradient of a broadcast.
void sum_to(const float* src, const Shape& src_shape, float* dst, const Shape& dst_shape,
            bool accumulate);

// dst (contiguous, shape out_shape) = or += src read through `src_strides`.
void strided_copy(const float* src, const int64_t* src_strides, float* dst,
                  const Shape& out_shape, bool accumulate);

}  // namespace actlab::kernels
