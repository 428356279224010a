// The pointwise activations of ops.hpp and prelu. Each pointwise op is its functor from
// kernels/activations.hpp run by `pointwise`, which records the one backward they share:
// dx = g * f'(saved), where saved is the output for functors whose derivative is a function of
// it (sigmoid, tanh) and the input otherwise; dx is written over g when nothing else holds g.
#include <fmt/format.h>

#include <vector>

#include "actlab/core/autograd.hpp"
#include "actlab/ops/ops.hpp"
#include "kernels/activations.hpp"
#include "kernels/reduce.hpp"
#include "ops/elementwise.hpp"

namespace actlab {
namespace {

template <class F>
constexpr bool kDerivativeFromOutput = requires(const F& f, float y) {
  f.derivative_from_output(y);
};

// y = f(x) and d = f'(x) in one pass, then dx = g d: for the activations whose derivative
// shares most of its arithmetic with the value (kernels/activations.hpp says which), the
// forward pays little for d and the backward none. d takes the place of x among the saved
// tensors, and each d[k] is the value the backward would compute: the same bits.
template <class F>
Tensor pointwise_saving_derivative(const char* name, const Tensor& x, F f) {
  Tensor y = Tensor::empty(x.shape());
  Tensor d = Tensor::empty(x.shape());
  const float* in = x.data();
  float* out = y.mutable_data();
  float* slope = d.mutable_data();
  detail::parallel_for(x.numel(), [in, out, slope, f](int64_t begin, int64_t end) {
    for (int64_t k = begin; k < end; ++k) {
      // Both from one load, before either store: the compiler then shares their arithmetic.
      const float v = in[k];
      const float value = f(v), derivative = f.derivative(v);
      out[k] = value;
      slope[k] = derivative;
    }
  });
  record(name, y, {x}, [sd = save(d)](const Tensor& g, GradSink& sink) {
    const float* gv = g.data();
    const float* dv = sd.data();
    sink.target_reusing(0, g).write(g.numel(), [gv, dv](int64_t k) { return gv[k] * dv[k]; });
  });
  return y;
}

template <class F>
Tensor pointwise(const char* name, const Tensor& x, F f) {
  if constexpr (kernels::derivative_in_forward<F>)
    if (grad_enabled() && x.requires_grad()) return pointwise_saving_derivative(name, x, f);
  Tensor y = ops::map(x, f);
  const Tensor& saved = kDerivativeFromOutput<F> ? y : x;
  record(name, y, {x}, [s = save(saved), f](const Tensor& g, GradSink& sink) {
    const float* gv = g.data();
    const float* sv = s.data();
    // A local copy: the compiler can see that the gradient buffer does not alias it, and keeps
    // its parameters in registers (read through the closure, leaky_relu's backward ran 5x slower).
    const F local = f;
    sink.target_reusing(0, g).write(g.numel(), [gv, sv, local](int64_t k) {
      if constexpr (kDerivativeFromOutput<F>) {
        return gv[k] * local.derivative_from_output(sv[k]);
      } else {
        return gv[k] * local.derivative(sv[k]);
      }
    });
  });
  return y;
}

// prelu's layout: x viewed as [outer, channels, inner], channel c using weight[c]. A single
// shared weight is one channel spanning everything.
struct ChannelView {
  int64_t outer;
  int64_t channels;
  int64_t inner;
};

ChannelView prelu_view(const Tensor& x, const Tensor& weight) {
  const int64_t w = weight.numel();
  if (weight.dim() > 1 || (w != 1 && (x.dim() < 2 || w != x.size(1))))
    throw Error(fmt::format(
        "prelu: weight of shape {} does not fit input of shape {}: expected 1 value or one per "
        "channel (dim 1 of the input)",
        weight.shape().str(), x.shape().str()));
  if (w == 1) return {1, 1, x.numel()};
  int64_t inner = 1;
  for (int64_t d = 2; d < x.dim(); ++d) inner *= x.size(d);
  return {x.size(0), w, inner};
}

}  // namespace

Tensor relu(const Tensor& x) { return pointwise("relu", x, kernels::Relu{}); }

Tensor leaky_relu(const Tensor& x, float negative_slope) {
  return pointwise("leaky_relu", x, kernels::LeakyRelu{negative_slope});
}

Tensor elu(const Tensor& x, float alpha) { return pointwise("elu", x, kernels::Elu{alpha}); }

Tensor selu(const Tensor& x) {
  return pointwise("selu", x, kernels::Elu{kernels::kSeluAlpha, kernels::kSeluScale});
}

Tensor celu(const Tensor& x, float alpha) {
  if (alpha == 0.f) throw Error("celu: alpha must not be 0 (CELU divides by it)");
  return pointwise("celu", x, kernels::Elu{alpha, 1.f, 1.f / alpha});
}

Tensor gelu(const Tensor& x) { return pointwise("gelu", x, kernels::Gelu{}); }

Tensor gelu_tanh(const Tensor& x) { return pointwise("gelu_tanh", x, kernels::GeluTanh{}); }

Tensor silu(const Tensor& x) { return pointwise("silu", x, kernels::Silu{}); }

Tensor mish(const Tensor& x) { return pointwise("mish", x, kernels::Mish{}); }

Tensor softplus(const Tensor& x, float beta, float threshold) {
  if (beta == 0.f) throw Error("softplus: beta must not be 0 (softplus divides by it)");
  return pointwise("softplus", x, kernels::Softplus{beta, threshold});
}

Tensor sigmoid(const Tensor& x) { return pointwise("sigmoid", x, kernels::Sigmoid{}); }

Tensor tanh(const Tensor& x) { return pointwise("tanh", x, kernels::Tanh{}); }

Tensor hardswish(const Tensor& x) { return pointwise("hardswish", x, kernels::Hardswish{}); }

Tensor log_sigmoid(const Tensor& x) { return pointwise("log_sigmoid", x, kernels::LogSigmoid{}); }

// Per channel, prelu is leaky_relu with the channel's weight as slope; the weight's gradient
// is the sum over the channel of g * (x > 0 ? 0 : x).
Tensor prelu(const Tensor& x, const Tensor& weight) {
  const ChannelView v = prelu_view(x, weight);
  Tensor y = Tensor::empty(x.shape());
  const float* xv = x.data();
  const float* wv = weight.data();
  float* yv = y.mutable_data();
  for (int64_t row = 0; row < v.outer * v.channels; ++row) {
    const kernels::LeakyRelu f{wv[row % v.channels]};
    for (int64_t i = row * v.inner, end = i + v.inner; i < end; ++i) yv[i] = f(xv[i]);
  }
  record(
      "prelu", y, {x, weight},
      [xs = save(x), ws = save(weight), v](const Tensor& g, GradSink& sink) {
        const float* gv = g.data();
        const float* xv = xs.data();
        const float* wv = ws.data();
        if (sink.needs(0)) {
          GradSink::Target dx = sink.target(0);
          for (int64_t row = 0; row < v.outer * v.channels; ++row) {
            const kernels::LeakyRelu f{wv[row % v.channels]};
            const int64_t at = row * v.inner;
            GradSink::Target{dx.data + at, dx.accumulate}.write(
                v.inner, [&](int64_t i) { return gv[at + i] * f.derivative(xv[at + i]); });
          }
        }
        if (sink.needs(1)) {
          Tensor contribution = Tensor::empty(g.shape());  // g * (x > 0 ? 0 : x)
          float* cv = contribution.mutable_data();
          for (int64_t k = 0, n = g.numel(); k < n; ++k) cv[k] = xv[k] > 0.f ? 0.f : gv[k] * xv[k];
          std::vector<float> dw(static_cast<size_t>(v.channels), 0.f);
          for (int64_t row = 0; row < v.outer * v.channels; ++row)
            dw[static_cast<size_t>(row % v.channels)] += kernels::sum(cv + row * v.inner, v.inner);
          sink.target(1).write(v.channels, [&](int64_t c) { return dw[static_cast<size_t>(c)]; });
        }
      });
  return y;
}

}  // namespace actlab
