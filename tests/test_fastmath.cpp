// The accuracy of src/kernels/fastmath.hpp against double-precision libm over dense grids,
// and an exhaustive check of erf over every float in [0, 6] (hidden: run it by its tag,
// `actlab_tests "[exhaustive]"`, about ten seconds).
#include <catch2/catch.hpp>

#include <bit>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>

#include "kernels/fastmath.hpp"

using namespace actlab;

namespace {

// The largest error of `fast` against `exact` over n + 1 evenly spaced points of [lo, hi]:
// absolute, or relative to |exact| when `relative`.
double worst_error(float (*fast)(float), double (*exact)(double), double lo, double hi, int n,
                   bool relative) {
  double worst = 0.0;
  for (int i = 0; i <= n; ++i) {
    const auto x = static_cast<float>(lo + (hi - lo) * i / n);
    const double want = exact(x);
    if (relative && want == 0.0) continue;
    const double error = std::abs(fast(x) - want) / (relative ? std::abs(want) : 1.0);
    worst = std::max(worst, error);
  }
  return worst;
}

double exact_erf(double x) { return std::erf(x); }
double exact_erfc(double x) { return std::erfc(x); }
double exact_exp(double x) { return std::exp(x); }
double exact_expm1(double x) { return std::expm1(x); }
double exact_log1p(double x) { return std::log1p(x); }
double exact_tanh(double x) { return std::tanh(x); }

constexpr int kPoints = 2'000'000;

}  // namespace

// The float32 ulp is 1.2e-7 relative at worst: these bounds are 2-3 ulp.
TEST_CASE("fast exp, expm1, log1p and tanh are within 3 ulp", "[fastmath]") {
  // exp down to the smallest normal result (below it, subnormals have fewer bits).
  CHECK(worst_error(fastmath::exp, exact_exp, -87.3, 88.7, kPoints, true) < 1.2e-7);
  CHECK(worst_error(fastmath::expm1, exact_expm1, -20, 20, kPoints, true) < 2e-7);
  CHECK(worst_error(fastmath::expm1, exact_expm1, -1e-3, 1e-3, kPoints, true) < 2e-7);
  CHECK(worst_error(fastmath::log1p, exact_log1p, -0.9, 10, kPoints, true) < 2.5e-7);
  CHECK(worst_error(fastmath::log1p, exact_log1p, 0, 1e-6, kPoints, true) < 2e-7);
  CHECK(worst_error(fastmath::tanh, exact_tanh, -12, 12, kPoints, true) < 2.5e-7);
}

TEST_CASE("fast erf is within 1.5e-7 absolute, erfc within 5e-7 relative with FMA", "[fastmath]") {
  // 8.1e-8 with FMA (-march=native), 1.4e-7 without: see the exhaustive test.
  CHECK(worst_error(fastmath::erf, exact_erf, -6, 6, kPoints, false) < 1.5e-7);
  // erf near 0 is relative-accurate too.
  CHECK(worst_error(fastmath::erf, exact_erf, -1e-3, 1e-3, kPoints, true) < 1.5e-7);
  // Just below 1, erfc is 1 - erf and loses a few ulp to the subtraction.
  CHECK(worst_error(fastmath::erfc, exact_erfc, -6, 2, kPoints, true) < 5e-7);
#ifdef __FMA__
  // x^2 is carried to twice float precision (exp_minus_square), so the tail keeps ~4 ulp.
  CHECK(worst_error(fastmath::erfc, exact_erfc, 2, 9, kPoints, true) < 5e-7);
#else
  // Beyond, the rounding of x^2 in e^(-x^2) costs about x^2 * 6e-8 relative.
  CHECK(worst_error(fastmath::erfc, exact_erfc, 2, 4, kPoints, true) < 1e-6);
  CHECK(worst_error(fastmath::erfc, exact_erfc, 4, 9, kPoints, true) < 5e-6);
#endif
}

TEST_CASE("fast math at the edges: infinities, NaN, overflow, signed zero", "[fastmath]") {
  const float inf = std::numeric_limits<float>::infinity();
  const float nan = std::numeric_limits<float>::quiet_NaN();
  CHECK(fastmath::exp(89.f) == inf);
  CHECK(fastmath::exp(inf) == inf);
  CHECK(fastmath::exp(-inf) == 0.f);
  CHECK(fastmath::exp(-104.f) == 0.f);
  CHECK(fastmath::exp(-100.f) == Approx(std::exp(-100.0)).epsilon(0.05).margin(0));  // subnormal
  CHECK(fastmath::expm1(1e4f) == inf);
  CHECK(fastmath::expm1(-1e4f) == -1.f);
  CHECK(fastmath::tanh(1e4f) == 1.f);
  CHECK(fastmath::tanh(-inf) == -1.f);
  CHECK(std::signbit(fastmath::tanh(-0.f)));
  CHECK(std::signbit(fastmath::erf(-0.f)));
  CHECK(fastmath::erf(inf) == 1.f);
  CHECK(fastmath::erf(-inf) == -1.f);
  CHECK(fastmath::erfc(-inf) == 2.f);
  CHECK(fastmath::erfc(inf) == 0.f);
  for (float (*f)(float) : {fastmath::exp, fastmath::expm1, fastmath::log1p, fastmath::tanh,
                            fastmath::erf, fastmath::erfc})
    CHECK(std::isnan(f(nan)));
}

TEST_CASE("fast erf over every float in 0 to 6", "[.][exhaustive]") {
  // erf is odd and copies the sign exactly, so the positive floats say it all.
  double worst = 0.0;
  float at = 0.f;
  const auto last = std::bit_cast<uint32_t>(6.f);
  for (uint32_t bits = 0; bits <= last; ++bits) {
    const auto x = std::bit_cast<float>(bits);
    const double error = std::abs(fastmath::erf(x) - std::erf(static_cast<double>(x)));
    if (error > worst) {
      worst = error;
      at = x;
    }
  }
  WARN("fast erf: max abs error " << worst << " at x = " << at << " over every float in [0, 6]");
  CHECK(worst < 1.5e-7);
}
