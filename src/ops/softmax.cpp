// softmax and log_softmax along one dimension at a temperature, each with its hand-written
// backward (from the saved output): softmax dx = y (g - sum(g y)) / T, log_softmax
// dx = (g - softmax sum(g)) / T. The kernels work on contiguous rows; softmax along any other
// dimension moves that dimension last in a scratch copy (rare, and it keeps the math in one
// place).
#include <fmt/format.h>

#include "actlab/core/autograd.hpp"
#include "actlab/ops/ops.hpp"
#include "kernels/broadcast.hpp"
#include "kernels/softmax.hpp"
#include "ops/dim.hpp"

namespace actlab {
namespace {

// x viewed as [outer, n, inner] around the softmax dimension n.
struct Rows {
  int64_t outer;
  int64_t n;
  int64_t inner;
  int64_t count() const { return outer * inner; }
};

Rows rows_along(const Tensor& x, int64_t dim, float temperature, const char* op) {
  if (!(temperature > 0.f))
    throw Error(fmt::format("{}: temperature must be > 0, got {}", op, temperature));
  if (x.dim() == 0 && (dim == 0 || dim == -1)) return {1, 1, 1};  // a scalar is one row
  const int64_t d = ops::normalize_dim(dim, x.shape(), op);
  Rows r{1, x.size(d), 1};
  for (int64_t i = 0; i < d; ++i) r.outer *= x.size(i);
  for (int64_t i = d + 1; i < x.dim(); ++i) r.inner *= x.size(i);
  return r;
}

// [outer, n, inner] -> rows [outer, inner, n], a contiguous copy.
Tensor to_rows(const float* x, const Rows& r) {
  Tensor rows = Tensor::empty({r.outer, r.inner, r.n});
  const int64_t strides[] = {r.n * r.inner, 1, r.inner};
  kernels::strided_copy(x, strides, rows.mutable_data(), rows.shape(), false);
  return rows;
}

// rows [outer, inner, n] -> dst [outer, n, inner], assigned or added.
void from_rows(const float* rows, const Rows& r, float* dst, bool accumulate) {
  const int64_t strides[] = {r.inner * r.n, 1, r.n};
  kernels::strided_copy(rows, strides, dst, Shape{r.outer, r.n, r.inner}, accumulate);
}

using RowsForward = void (*)(const float*, int64_t, int64_t, float, float*);
using RowsBackward = void (*)(const float*, const float*, int64_t, int64_t, float, float*, bool);

// The op both softmaxes share: row kernels in place when dim is the last one (inner == 1),
// through row copies otherwise.
Tensor softmax_along(const char* name, const Tensor& x, int64_t dim, float temperature,
                     RowsForward forward, RowsBackward backward) {
  const Rows r = rows_along(x, dim, temperature, name);
  Tensor y = Tensor::empty(x.shape());
  if (r.inner == 1) {
    forward(x.data(), r.count(), r.n, temperature, y.mutable_data());
  } else {
    Tensor y_rows = Tensor::empty({r.outer, r.inner, r.n});
    forward(to_rows(x.data(), r).data(), r.count(), r.n, temperature, y_rows.mutable_data());
    from_rows(y_rows.data(), r, y.mutable_data(), false);
  }
  record(name, y, {x}, [ys = save(y), r, temperature, backward](const Tensor& g, GradSink& sink) {
    GradSink::Target dx = sink.target(0);
    if (r.inner == 1) {
      backward(ys.data(), g.data(), r.count(), r.n, temperature, dx.data, dx.accumulate);
      return;
    }
    Tensor dx_rows = Tensor::empty({r.outer, r.inner, r.n});
    backward(to_rows(ys.data(), r).data(), to_rows(g.data(), r).data(), r.count(), r.n, temperature,
             dx_rows.mutable_data(), false);
    from_rows(dx_rows.data(), r, dx.data, dx.accumulate);
  });
  return y;
}

}  // namespace

Tensor softmax(const Tensor& x, int64_t dim, float temperature) {
  return softmax_along("softmax", x, dim, temperature, kernels::softmax_rows,
                       kernels::softmax_rows_backward);
}

Tensor log_softmax(const Tensor& x, int64_t dim, float temperature) {
  return softmax_along("log_softmax", x, dim, temperature, kernels::log_softmax_rows,
                       kernels::log_softmax_rows_backward);
}

}  // namespace actlab
