// Broadcasting arithmetic (+ - * /), negation, scalar forms, exp, log, square, sqrt and
// reciprocal: each forward with its backward beneath it.
#include <cmath>

#include "actlab/core/autograd.hpp"
#include "actlab/ops/ops.hpp"
#include "kernels/broadcast.hpp"
#include "ops/elementwise.hpp"

namespace actlab {
namespace {

// f(a, b) over the broadcast shape of a and b.
template <class F>
Tensor broadcast_map(const char* op, const Tensor& a, const Tensor& b, F f) {
  const Shape out_shape = kernels::broadcast_shapes(a.shape(), b.shape(), op);
  Tensor out = Tensor::empty(out_shape);
  kernels::binary(a.data(), a.shape(), b.data(), b.shape(), out.mutable_data(), out_shape, f);
  return out;
}

// Adds f(g, other) (computed at g's broadcast shape) into input i's gradient.
template <class F>
void add_product_grad(GradSink& sink, int i, const Tensor& g, const Tensor& other, F f) {
  Tensor d = Tensor::empty(g.shape());
  kernels::binary(g.data(), g.shape(), other.data(), other.shape(), d.mutable_data(), g.shape(), f);
  sink.add(i, std::move(d));
}

// Adds g * other (computed at the output's shape, g there or uniform) into input i's gradient.
void add_times_grad(GradSink& sink, int i, const Tensor& g, const Tensor& other,
                    const Shape& out_shape) {
  if (g.numel() == 1 && other.shape() == out_shape) {  // a uniform g: one pass over `other`
    const float gv = g.data()[0];
    return sink.add(i, ops::map(other, [gv](float v) { return gv * v; }));
  }
  Tensor d = Tensor::empty(out_shape);
  kernels::binary(g.data(), g.shape(), other.data(), other.shape(), d.mutable_data(), out_shape,
                  [](float gv, float v) { return gv * v; });
  sink.add(i, std::move(d));
}

// Adds scale * g into input i's gradient.
void add_scaled_grad(GradSink& sink, int i, const Tensor& g, float scale) {
  if (scale == 1.f) return sink.add(i, g);
  sink.add(i, ops::map(g, [scale](float v) { return scale * v; }));
}

// Unary ops whose derivative is a function of one saved tensor (input or output):
// dx = g * df(saved).
template <class Forward, class Derivative>
Tensor unary(const char* name, const Tensor& x, Forward f, bool derivative_uses_output,
             Derivative df) {
  Tensor out = ops::map(x, f);
  record(name, out, {x},
         [s = save(derivative_uses_output ? out : x), df](const Tensor& g, GradSink& sink) {
           const float* gv = g.data();
           const float* sv = s.data();
           sink.target(0).write(g.numel(), [gv, sv, df](int64_t k) { return gv[k] * df(sv[k]); });
         });
  return out;
}

}  // namespace

Tensor add(const Tensor& a, const Tensor& b) {
  Tensor out = broadcast_map("add", a, b, [](float x, float y) { return x + y; });
  record("add", out, {a, b}, [](const Tensor& g, GradSink& sink) {
    if (sink.needs(0)) sink.add(0, g);
    if (sink.needs(1)) sink.add(1, g);
  });
  return out;
}

Tensor sub(const Tensor& a, const Tensor& b) {
  Tensor out = broadcast_map("sub", a, b, [](float x, float y) { return x - y; });
  record("sub", out, {a, b}, [](const Tensor& g, GradSink& sink) {
    if (sink.needs(0)) sink.add(0, g);
    if (sink.needs(1)) add_scaled_grad(sink, 1, g, -1.f);
  });
  return out;
}

// d/da = g b, d/db = g a: each factor is saved only when the other one needs a gradient. g may
// be uniform (one value for every element of the output, from a sum).
Tensor mul(const Tensor& a, const Tensor& b) {
  Tensor out = broadcast_map("mul", a, b, [](float x, float y) { return x * y; });
  const auto save_if = [](bool wanted, const Tensor& t) { return wanted ? save(t) : SavedTensor(); };
  record(
      "mul", out, {a, b},
      [sa = save_if(b.requires_grad(), a), sb = save_if(a.requires_grad(), b),
       out_shape = out.shape()](const Tensor& g, GradSink& sink) {
        if (sink.needs(0)) add_times_grad(sink, 0, g, sb.tensor(), out_shape);
        if (sink.needs(1)) add_times_grad(sink, 1, g, sa.tensor(), out_shape);
      },
      GradForm::uniform_accepted);
  return out;
}

Tensor div(const Tensor& a, const Tensor& b) {
  Tensor out = broadcast_map("div", a, b, [](float x, float y) { return x / y; });
  // d/da = 1 / b; d/db = -a / b^2 = -out / b.
  record("div", out, {a, b}, [sb = save(b), so = save(out)](const Tensor& g, GradSink& sink) {
    const Tensor bv = sb.tensor();
    if (sink.needs(0))
      add_product_grad(sink, 0, g, bv, [](float gv, float v) { return gv / v; });
    if (sink.needs(1)) {
      Tensor g_out = broadcast_map("div backward", g, so.tensor(),
                                   [](float gv, float o) { return -gv * o; });
      add_product_grad(sink, 1, g_out, bv, [](float gv, float v) { return gv / v; });
    }
  });
  return out;
}

Tensor div(const Tensor& x, float s) {
  Tensor out = ops::map(x, [s](float v) { return v / s; });
  record("div_scalar", out, {x}, [s](const Tensor& g, GradSink& sink) {
    const float* gv = g.data();
    sink.target(0).write(g.numel(), [gv, s](int64_t k) { return gv[k] / s; });
  });
  return out;
}

Tensor neg(const Tensor& x) {
  Tensor out = ops::map(x, [](float v) { return -v; });
  record("neg", out, {x},
         [](const Tensor& g, GradSink& sink) { add_scaled_grad(sink, 0, g, -1.f); });
  return out;
}

Tensor add(const Tensor& x, float s) {
  Tensor out = ops::map(x, [s](float v) { return v + s; });
  record("add_scalar", out, {x}, [](const Tensor& g, GradSink& sink) { sink.add(0, g); });
  return out;
}

Tensor mul(const Tensor& x, float s) {
  Tensor out = ops::map(x, [s](float v) { return v * s; });
  record("mul_scalar", out, {x},
         [s](const Tensor& g, GradSink& sink) { add_scaled_grad(sink, 0, g, s); });
  return out;
}

Tensor exp(const Tensor& x) {
  return unary("exp", x, [](float v) { return std::exp(v); }, true, [](float y) { return y; });
}

Tensor log(const Tensor& x) {
  return unary("log", x, [](float v) { return std::log(v); }, false,
               [](float v) { return 1.f / v; });
}

Tensor square(const Tensor& x) {
  return unary("square", x, [](float v) { return v * v; }, false,
               [](float v) { return 2.f * v; });
}

Tensor sqrt(const Tensor& x) {
  return unary("sqrt", x, [](float v) { return std::sqrt(v); }, true,
               [](float y) { return 0.5f / y; });
}

Tensor reciprocal(const Tensor& x) {
  return unary("reciprocal", x, [](float v) { return 1.f / v; }, true,
               [](float y) { return -y * y; });
}

Tensor operator+(const Tensor& a, const Tensor& b) { return add(a, b); }
Tensor operator-(const Tensor& a, const Tensor& b) { return sub(a, b); }
Tensor operator*(const Tensor& a, const Tensor& b) { return mul(a, b); }
Tensor operator/(const Tensor& a, const Tensor& b) { return div(a, b); }
Tensor operator-(const Tensor& a) { return neg(a); }
Tensor operator+(const Tensor& a, float s) { return add(a, s); }
Tensor operator+(float s, const Tensor& a) { return add(a, s); }
Tensor operator-(const Tensor& a, float s) { return add(a, -s); }
Tensor operator-(float s, const Tensor& a) { return add(neg(a), s); }
Tensor operator*(const Tensor& a, float s) { return mul(a, s); }
Tensor operator*(float s, const Tensor& a) { return mul(a, s); }
Tensor operator/(const Tensor& a, float s) { return div(a, s); }
Tensor operator/(float s, const Tensor& a) { return mul(reciprocal(a), s); }

}  // namespace actlab
