// Fast float32 exp, expm1, log, log1p, tanh, erf and erfc that GCC vectorises inside plain loops:
// no table lookups, no calls into libm, and no branches (both sides of a choice are computed
// and one is selected). NaN propagates. Accuracy against double-precision libm, measured by
// tests/test_fastmath.cpp: exp, expm1, log, log1p and tanh within 3 ulp (relative error < 2.5e-7);
// erf within 8.1e-8 absolute (1.4 ulp near 1) with FMA, 1.4e-7 without; erfc within 4.5e-7
// relative up to x = 9 with FMA; without it the rounding of x^2 in e^(-x^2) costs about
// x^2 * 6e-8 beyond x = 2 (4e-6 at 9).
//
// Method: each function is reduced to a smooth function on a short interval and that one is
// a polynomial whose coefficients minimise the largest relative error (fitted by
// src/kernels/fit_fastmath.py, which documents each reduction and the fitting method).
#pragma once

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>

// The scalar functions that elementwise loops call per element, forced inline: a loop
// vectorises only with them inlined, and GCC's inliner gives up inside large loop bodies (a
// gated block's backward, wrapped in a parallel_for body, called sigmoid per element and
// made W5's step 20% slower).
#define ACTLAB_ALWAYS_INLINE inline __attribute__((always_inline))

namespace actlab::fastmath {
namespace detail {

// c[0] + c[1] x + ... + c[N-1] x^(N-1) by Horner's rule.
template <size_t N>
ACTLAB_ALWAYS_INLINE float polynomial(float x, const float (&c)[N]) {
  float p = c[N - 1];
  for (size_t i = N - 1; i-- > 0;) p = p * x + c[i];
  return p;
}

// a b + c, rounded once where the CPU has FMA (without it std::fma would be a slow libm call).
ACTLAB_ALWAYS_INLINE float multiply_add(float a, float b, float c) {
#ifdef __FMA__
  return std::fma(a, b, c);
#else
  return a * b + c;
#endif
}

// 2^n for n in [-126, 127], built from its exponent bits.
ACTLAB_ALWAYS_INLINE float pow2(int32_t n) { return std::bit_cast<float>((n + 127) << 23); }

// e^x = 2^n (1 + em1), where x = n ln2 + r and em1 = expm1(r), |r| <= ln2 / 2 (Cody and
// Waite's reduction: ln2 in two parts, the first with few enough bits that n * ln2_hi is
// exact). 2^n is kept as two factors, each a normal float, so that their product can
// overflow to inf or fall gradually into the subnormals as e^x does.
struct ExpParts {
  float em1;
  int32_t n;
  float scale_a;  // scale_a * scale_b = 2^n
  float scale_b;
};

ACTLAB_ALWAYS_INLINE ExpParts exp_parts(float x) {
  constexpr float kLog2e = 1.44269504f;
  constexpr float kLn2Hi = 0.693359375f;  // 355 / 512
  constexpr float kLn2Lo = -2.12194440e-4f;
  constexpr float kRound = 0x1.8p23f;  // adding it rounds to an integer (|v| < 2^22)
  constexpr float kExpm1[] = {0.49999997f, 0.166665465f, 0.0416674428f, 0.00836625043f,
                              0.00138699729f};
  // Below -104 e^x is 0 and above 89 it is inf in float32; the clamp keeps n in [-150, 128].
  x = std::clamp(x, -104.f, 89.f);
  const float shifted = x * kLog2e + kRound;
  const float nf = shifted - kRound;
  const float r = (x - nf * kLn2Hi) - nf * kLn2Lo;
  // n from the bits of `shifted`, whose low mantissa bits hold it: unlike a conversion of nf,
  // defined for a NaN x too.
  const int32_t n = std::bit_cast<int32_t>(shifted) - std::bit_cast<int32_t>(kRound);
  const int32_t half = n >> 1;
  return {r + r * r * polynomial(r, kExpm1), n, pow2(half), pow2(n - half)};
}

}  // namespace detail

ACTLAB_ALWAYS_INLINE float exp(float x) {
  const detail::ExpParts p = detail::exp_parts(x);
  return (1.f + p.em1) * p.scale_a * p.scale_b;
}

// e^x - 1, accurate to a few ulp also where e^x is close to 1.
ACTLAB_ALWAYS_INLINE float expm1(float x) {
  const detail::ExpParts p = detail::exp_parts(x);
  // 2^n em1 + (2^n - 1) rounds once at the end. Once n > 24 the 1 is below e^x's ulp, and
  // e^x itself is the answer (2^n alone may overflow there while e^x does not).
  const float two_n = p.scale_a * p.scale_b;
  const float near_one = two_n * p.em1 + (two_n - 1.f);
  const float large = (1.f + p.em1) * p.scale_a * p.scale_b;
  return p.n > 24 ? large : near_one;
}

namespace detail {

// log(w) for w = 1 + u, where `u` is w - 1 computed without rounding when known (log1p's
// argument), or w - 1 otherwise (log's).
ACTLAB_ALWAYS_INLINE float log_of(float w, float u) {
  constexpr float kLn2 = 0.693147181f;
  constexpr float kAtanh[] = {0.666667759f, 0.399775863f, 0.298706859f};
  constexpr float kInf = std::numeric_limits<float>::infinity();
  // w = m 2^e with m in [sqrt(1/2), sqrt(2)); log(m) = 2 atanh(s), s = (m - 1) / (m + 1).
  // Unsigned arithmetic: for negative w (refused below) a signed subtraction would overflow.
  const uint32_t bits = std::bit_cast<uint32_t>(w);
  const int32_t e = static_cast<int32_t>(bits - 0x3f3504f3u) >> 23;  // 0x3f3504f3 = sqrt(1/2)
  const float m = std::bit_cast<float>(bits - (static_cast<uint32_t>(e) << 23));
  // When w needs no rescaling, m - 1 is u, without the rounding of 1 + u.
  const float f = e == 0 ? u : m - 1.f;
  const float s = f / (2.f + f);
  const float s2 = s * s;
  const float log_w = static_cast<float>(e) * kLn2 + (2.f * s + s * s2 * polynomial(s2, kAtanh));
  // The bit manipulation above is meaningless for w = 0, inf, NaN or negative w. (Nested
  // selects on w alone: with && in the condition the loops around it stopped vectorising.)
  const float finite_or_nan = w < kInf ? log_w : w;  // log(inf) = inf; NaN stays NaN
  const float at_or_below_zero = w == 0.f ? -kInf : std::numeric_limits<float>::quiet_NaN();
  return w > 0.f ? finite_or_nan : at_or_below_zero;
}

}  // namespace detail

// log(1 + u) for u >= -1 (NaN below), accurate also for tiny u.
ACTLAB_ALWAYS_INLINE float log1p(float u) { return detail::log_of(1.f + u, u); }

// log(x) for x >= 0 (NaN below); w - 1 is exact for the w that need no rescaling (Sterbenz).
ACTLAB_ALWAYS_INLINE float log(float x) { return detail::log_of(x, x - 1.f); }

ACTLAB_ALWAYS_INLINE float tanh(float x) {
  // tanh|x| = e / (e + 2) with e = expm1(2|x|): no cancellation near 0. Beyond |x| = 9 tanh
  // rounds to 1 in float32, and the clamp keeps e finite.
  const float e = expm1(2.f * std::min(std::abs(x), 9.f));
  return std::copysign(e / (e + 2.f), x);
}

namespace detail {

// Where erf switches from erf_small to 1 - erfc: below it the polynomial rounds to about
// an ulp; above it erfc is small enough that 1 - erfc does.
constexpr float kErfSwitch = 1.f;

// erf(x) = x (c0 + P(x^2)) for |x| < kErfSwitch, with c0 = 2/sqrt(pi) rounded to float32
// and P(0) its rounding error (alone it would cost half an ulp).
ACTLAB_ALWAYS_INLINE float erf_small(float x) {
  constexpr float kC0 = 1.12837923f;
  constexpr float kP[] = {-6.00036429e-08f, -0.37612626f,     0.112835862f,   -0.0268538371f,
                          0.00518834777f,   -0.000801016286f, 7.85315351e-05f};
  return multiply_add(x, kC0, x * polynomial(x * x, kP));
}

}  // namespace detail

// e^(-scale x^2) for a scale that is a power of two in [1/2, 1], with x^2 carried to twice
// float32's precision (x^2 = hi + lo, lo from one FMA) so that its rounding does not cost up
// to x^2 * 6e-8 relative (5e-6 at x = 9): e^(-scale hi) (1 - scale lo). Without FMA lo is 0.
// |x| is clamped to 20, where the result is already 0: an x^2 that overflows would make lo
// infinite and the result NaN.
ACTLAB_ALWAYS_INLINE float exp_minus_square(float x, float scale = 1.f) {
  const float a = std::min(std::abs(x), 20.f);  // keeps NaN
  const float hi = a * a;
  const float lo = detail::multiply_add(a, a, -hi);
  const float e = fastmath::exp(-scale * hi);
  return e - e * (scale * lo);
}

// erfc(a) for a >= 0, given e^(-a^2) (callers that need that exponential for something else
// too, as GELU's derivative does for the normal pdf, compute it once): t e^(-a^2) R(t) with
// t = 2 / (2 + a), one polynomial for the whole range, so that loops over it run no second
// branch. Fitted up to a = 10.2; beyond it e^(-a^2) is 0 in float32, and so is the result.
ACTLAB_ALWAYS_INLINE float erfc_nonnegative(float a, float exp_minus_a_squared) {
  constexpr float kR[] = {0.282086045f, 0.282381803f, 0.243056923f,  0.202870533f, -0.0270557273f,
                          0.27868557f,  -0.487735331f, 0.284831107f, -0.0591209643f};
  const float t = 2.f / (2.f + a);
  return t * exp_minus_a_squared * detail::polynomial(t, kR);
}

// erf(x) given e = exp_minus_square(x), for callers that need e^(-x^2) for something else too
// (a compiled formula's derivative). Odd exactly: computed for |x|, then given x's sign (also
// erf(-0) = -0).
ACTLAB_ALWAYS_INLINE float erf_given(float x, float exp_minus_x_squared) {
  const float a = std::abs(x);
  const float tail = 1.f - erfc_nonnegative(a, exp_minus_x_squared);
  return std::copysign(a < detail::kErfSwitch ? detail::erf_small(a) : tail, x);
}

ACTLAB_ALWAYS_INLINE float erf(float x) { return erf_given(x, exp_minus_square(x)); }

// 1 - erf(x) given e = exp_minus_square(x), with relative accuracy in the tail (where 1 - erf(x)
// would cancel).
ACTLAB_ALWAYS_INLINE float erfc_given(float x, float exp_minus_x_squared) {
  const float tail = erfc_nonnegative(std::abs(x), exp_minus_x_squared);
  return x < 0.f ? 2.f - tail : tail;
}

ACTLAB_ALWAYS_INLINE float erfc(float x) { return erfc_given(x, exp_minus_square(x)); }

}  // namespace actlab::fastmath
