// The per-element math of every pointwise activation: one small functor each, with the value
// (operator()) and the derivative as a function of the input (derivative). Those whose
// derivative is cheaper from their output also offer derivative_from_output. The functional
// ops (ops/activations.cpp) and the fused gated kernel (gated.hpp) inline these into plain loops
// that the compiler vectorises, so each function here is branch-free float math (fastmath.hpp
// for exp, erf and friends). Kinks and edges follow PyTorch: relu'(0) = 0,
// leaky_relu'(0) = negative_slope, elu'(0) = alpha, hardswish'(-3) = 0 and hardswish'(3) = 1;
// NaN inputs give NaN outputs.
//
// Functors marked kDerivativeInForward have a forward that is compute-bound and a derivative
// that shares most of its arithmetic (GELU's e^(-x^2/2) and Phi): while training, the forward
// computes f'(x) beside f(x) in the same loop, for about the cost of the derivative alone, and
// saves it in place of x; the backward is then g f' at memory speed (bench/RESULTS.md). For
// the cheap ones (relu, hardswish) that would only add a pass.
#pragma once

#include <algorithm>
#include <cmath>

#include "kernels/fastmath.hpp"

namespace actlab::kernels {

template <class F>
constexpr bool derivative_in_forward = requires { requires F::kDerivativeInForward; };

// 1 / (1 + e^-x) for x >= 0 and e^x / (1 + e^x) below, with e^-|x| that cannot overflow: no
// NaN anywhere, and relative accuracy down into the subnormals (x = -103).
ACTLAB_ALWAYS_INLINE float sigmoid(float x) {
  const float z = fastmath::exp(-std::abs(x));
  const float r = 1.f / (1.f + z);
  return x >= 0.f ? r : z * r;
}

// log(1 + e^x) without overflow: max(x, 0) + log(1 + e^-|x|).
ACTLAB_ALWAYS_INLINE float log1p_exp(float x) {
  return std::max(x, 0.f) + fastmath::log1p(fastmath::exp(-std::abs(x)));
}

struct Relu {
  ACTLAB_ALWAYS_INLINE float operator()(float x) const { return x < 0.f ? 0.f : x; }  // keeps NaN
  ACTLAB_ALWAYS_INLINE float derivative(float x) const { return x > 0.f ? 1.f : 0.f; }
};

struct LeakyRelu {
  float negative_slope;
  ACTLAB_ALWAYS_INLINE float operator()(float x) const { return x > 0.f ? x : x * negative_slope; }
  ACTLAB_ALWAYS_INLINE float derivative(float x) const { return x > 0.f ? 1.f : negative_slope; }
};

// PyTorch's ELU family: scale * x for x > 0, else scale * alpha * expm1(input_scale * x).
// ELU is (alpha, 1, 1), SELU (its fixed alpha and scale, 1), CELU (alpha, 1, 1 / alpha).
struct Elu {
  float alpha;
  float scale = 1.f;
  float input_scale = 1.f;
  ACTLAB_ALWAYS_INLINE float operator()(float x) const {
    return x > 0.f ? scale * x : scale * alpha * fastmath::expm1(input_scale * x);
  }
  ACTLAB_ALWAYS_INLINE float derivative(float x) const {
    return x > 0.f ? scale : scale * alpha * input_scale * fastmath::exp(input_scale * x);
  }
};

// Self-normalising constants of Klambauer et al. 2017, as in PyTorch.
inline constexpr float kSeluAlpha = 1.6732632423543772848170429916717f;
inline constexpr float kSeluScale = 1.0507009873554804934193349852946f;

// x Phi(x), Phi the standard normal CDF. Phi comes from its lower tail q = Phi(-|x|) =
// erfc(|x| / sqrt 2) / 2, which keeps relative accuracy for x < 0, where 1 + erf(x / sqrt 2)
// would cancel: Phi(x) = q for x < 0, 1 - q above. The exponential inside erfc, e^(-x^2/2), is
// the one of the pdf phi as well, so the derivative Phi + x phi evaluates it once.
struct Gelu {
  static constexpr bool kDerivativeInForward = true;
  ACTLAB_ALWAYS_INLINE static float gaussian(float x) {
    return fastmath::exp_minus_square(x, 0.5f);
  }
  ACTLAB_ALWAYS_INLINE static float cdf(float x, float gaussian_x) {
    const float q = 0.5f * fastmath::erfc_nonnegative(0.707106781f * std::abs(x), gaussian_x);
    return x < 0.f ? q : 1.f - q;
  }
  ACTLAB_ALWAYS_INLINE float operator()(float x) const { return x * cdf(x, gaussian(x)); }
  ACTLAB_ALWAYS_INLINE float derivative(float x) const {
    const float e = gaussian(x);
    return cdf(x, e) + x * 0.398942280f * e;
  }
};

// Hendrycks and Gimpel's tanh approximation, 0.5 x (1 + tanh(u)), u = sqrt(2/pi) (x + 0.044715
// x^3), computed as x sigmoid(2u) (the same function) so that it does not cancel for x < 0.
struct GeluTanh {
  static constexpr bool kDerivativeInForward = true;
  ACTLAB_ALWAYS_INLINE static float two_u(float x) {
    return 1.59576912f * (x + 0.044715f * x * x * x);
  }
  ACTLAB_ALWAYS_INLINE float operator()(float x) const { return x * sigmoid(two_u(x)); }
  ACTLAB_ALWAYS_INLINE float derivative(float x) const {
    const float s = sigmoid(two_u(x));
    const float du = 1.59576912f * (1.f + 3.f * 0.044715f * x * x);
    return s + x * s * (1.f - s) * du;
  }
};

struct Silu {
  ACTLAB_ALWAYS_INLINE float operator()(float x) const { return x * sigmoid(x); }
  ACTLAB_ALWAYS_INLINE float derivative(float x) const {
    const float s = sigmoid(x);
    return s * (1.f + x * (1.f - s));
  }
};

// x tanh(softplus(x)). With e = e^x and n = e (e + 2), tanh(log(1 + e)) = n / (n + 2) and
// 1 - tanh^2 = 4 (n + 1) / (n + 2)^2: one exp and no cancellation. Above x = 20 (PyTorch's
// softplus threshold) mish is x; the clamp keeps n finite for the lanes that are not used.
struct Mish {
  static constexpr bool kDerivativeInForward = true;
  ACTLAB_ALWAYS_INLINE static float n_of(float x) {
    const float e = fastmath::exp(std::min(x, 20.f));
    return e * (e + 2.f);
  }
  ACTLAB_ALWAYS_INLINE float operator()(float x) const {
    const float n = n_of(x);
    return x > 20.f ? x : x * n / (n + 2.f);
  }
  ACTLAB_ALWAYS_INLINE float derivative(float x) const {
    const float n = n_of(x);
    const float d = n + 2.f;
    const float sig = sigmoid(x);
    return x > 20.f ? 1.f : n / d + x * sig * 4.f * (n + 1.f) / (d * d);
  }
};

// log(1 + e^(beta x)) / beta, and x itself where beta x > threshold (as PyTorch).
struct Softplus {
  static constexpr bool kDerivativeInForward = true;
  float beta;
  float threshold;
  ACTLAB_ALWAYS_INLINE float operator()(float x) const {
    const float z = beta * x;
    return z > threshold ? x : log1p_exp(z) / beta;
  }
  ACTLAB_ALWAYS_INLINE float derivative(float x) const {
    const float z = beta * x;
    return z > threshold ? 1.f : sigmoid(z);
  }
};

struct Sigmoid {
  ACTLAB_ALWAYS_INLINE float operator()(float x) const { return sigmoid(x); }
  ACTLAB_ALWAYS_INLINE float derivative(float x) const { return derivative_from_output(sigmoid(x)); }
  ACTLAB_ALWAYS_INLINE float derivative_from_output(float y) const { return y * (1.f - y); }
};

struct Tanh {
  ACTLAB_ALWAYS_INLINE float operator()(float x) const { return fastmath::tanh(x); }
  ACTLAB_ALWAYS_INLINE float derivative(float x) const { return derivative_from_output(fastmath::tanh(x)); }
  ACTLAB_ALWAYS_INLINE float derivative_from_output(float y) const { return 1.f - y * y; }
};

// x relu6(x + 3) / 6. The derivative follows PyTorch's documented piecewise definition (0 for
// x <= -3, x (x + 3) / 6 inside, x for x >= 3), as current PyTorch does: f'(-3) = 0, f'(3) = 1.
struct Hardswish {
  ACTLAB_ALWAYS_INLINE float operator()(float x) const { return x * std::clamp(x + 3.f, 0.f, 6.f) / 6.f; }
  ACTLAB_ALWAYS_INLINE float derivative(float x) const { return x <= -3.f ? 0.f : (x < 3.f ? x / 3.f + 0.5f : 1.f); }
};

// log sigmoid(x) = -log(1 + e^-x).
struct LogSigmoid {
  static constexpr bool kDerivativeInForward = true;
  ACTLAB_ALWAYS_INLINE float operator()(float x) const { return -log1p_exp(-x); }
  ACTLAB_ALWAYS_INLINE float derivative(float x) const { return sigmoid(-x); }
};

}  // namespace actlab::kernels
