// vecmath-compare: actlab's own vectorisable exp, erf and erfc (src/kernels/fastmath.hpp)
// against SLEEF's (libsleef-dev, the vector math library PyTorch uses), for issue 16 part 5:
//   - speed: ns per float over an L2-resident array (2^16 floats), as a kernel loop sees them,
//     in thread CPU time (so that a loaded machine's waits for a core do not count), medians
//     of interleaved repetitions; ours compiled for AVX2 + FMA and for -march=native
//     (the library's build), SLEEF's AVX2 functions (8 lanes) and its AVX-512 ones (16 lanes);
//   - accuracy: the worst error in ulp over every float32 input (all 2^32 bit patterns but
//     NaNs), against glibc's double-precision functions rounded to nothing: ulp of the exact
//     value r is 2^(floor(log2 |r|) - 23), at least 2^-149 (the subnormals' spacing).
// Not a part of the library or its tests: built only when SLEEF is installed.
//
//   build/bench/vecmath-compare [--reps N] [--no-accuracy] [--stride K]
// --stride K checks every K-th bit pattern only (all exponents still covered), for a quick run.
#include <immintrin.h>
#include <omp.h>
#include <sleef.h>

#include <algorithm>
#include <bit>
#include <time.h>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

namespace vecmath {
void ours_exp_avx2(const float*, float*, int64_t);
void ours_erf_avx2(const float*, float*, int64_t);
void ours_erfc_avx2(const float*, float*, int64_t);
void ours_exp_native(const float*, float*, int64_t);
void ours_erf_native(const float*, float*, int64_t);
void ours_erfc_native(const float*, float*, int64_t);
void sleef_exp_avx512(const float*, float*, int64_t);  // sleef512.cpp
void sleef_erf_avx512(const float*, float*, int64_t);
void sleef_erfc_avx512(const float*, float*, int64_t);
}  // namespace vecmath

namespace {

using Loop = void (*)(const float*, float*, int64_t);

// SLEEF's vector functions as loops over arrays (n a multiple of 16).
#define VECMATH_SLEEF_AVX2(name, f)                                          \
  void name(const float* x, float* y, int64_t n) {                           \
    for (int64_t i = 0; i < n; i += 8) _mm256_storeu_ps(y + i, f(_mm256_loadu_ps(x + i))); \
  }
VECMATH_SLEEF_AVX2(sleef_exp_avx2, Sleef_expf8_u10avx2)
VECMATH_SLEEF_AVX2(sleef_erf_avx2, Sleef_erff8_u10avx2)
VECMATH_SLEEF_AVX2(sleef_erfc_avx2, Sleef_erfcf8_u15avx2)

struct Implementation {
  const char* name;
  Loop loop;
};

struct Function {
  const char* name;
  double (*reference)(double);
  float lo, hi;  // the timed inputs: evenly spaced over [lo, hi]
  std::vector<Implementation> implementations;
};

std::vector<Function> functions(bool avx512) {
  std::vector<Function> all = {
      {"exp", [](double v) { return std::exp(v); }, -20.f, 20.f,
       {{"actlab avx2", vecmath::ours_exp_avx2}, {"actlab native", vecmath::ours_exp_native},
        {"sleef avx2 u10", sleef_exp_avx2}}},
      {"erf", [](double v) { return std::erf(v); }, -5.f, 5.f,
       {{"actlab avx2", vecmath::ours_erf_avx2}, {"actlab native", vecmath::ours_erf_native},
        {"sleef avx2 u10", sleef_erf_avx2}}},
      {"erfc", [](double v) { return std::erfc(v); }, -5.f, 10.f,
       {{"actlab avx2", vecmath::ours_erfc_avx2}, {"actlab native", vecmath::ours_erfc_native},
        {"sleef avx2 u15", sleef_erfc_avx2}}},
  };
  if (avx512) {
    all[0].implementations.push_back({"sleef avx512 u10", vecmath::sleef_exp_avx512});
    all[1].implementations.push_back({"sleef avx512 u10", vecmath::sleef_erf_avx512});
    all[2].implementations.push_back({"sleef avx512 u15", vecmath::sleef_erfc_avx512});
  }
  return all;
}

double thread_ns() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) * 1e9 + static_cast<double>(t.tv_nsec);
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// ns per float of each implementation, repetitions interleaved.
std::vector<double> speeds(const Function& f, int reps) {
  constexpr int64_t n = 1 << 16;
  constexpr int inner = 20;  // calls per timed repetition
  std::vector<float> x(n), y(n);
  for (int64_t i = 0; i < n; ++i) x[i] = f.lo + (f.hi - f.lo) * static_cast<float>(i) / n;
  std::vector<std::vector<double>> times(f.implementations.size());
  for (int r = -3; r < reps; ++r)
    for (size_t k = 0; k < f.implementations.size(); ++k) {
      const double start = thread_ns();
      for (int i = 0; i < inner; ++i) f.implementations[k].loop(x.data(), y.data(), n);
      asm volatile("" : : "r"(y.data()) : "memory");
      if (r >= 0) times[k].push_back((thread_ns() - start) / (inner * n));
    }
  std::vector<double> out;
  for (auto& t : times) out.push_back(median(t));
  return out;
}

double ulp_of(double r) {
  const double a = std::abs(r);
  if (a < std::ldexp(1.0, -126)) return std::ldexp(1.0, -149);
  return std::ldexp(1.0, std::ilogb(a) - 23);
}

// Error of y against the exact r in ulp; a float result where r overflows float is right only
// when it is the same infinity (and 1e9 ulp otherwise).
double ulp_error(float y, double r) {
  constexpr double kMax = std::numeric_limits<float>::max();
  if (std::isnan(r)) return std::isnan(y) ? 0 : 1e9;
  if (std::abs(r) > kMax * (1 + 0x1p-25)) return y == static_cast<float>(r) ? 0 : 1e9;
  if (!std::isfinite(y)) return 1e9;
  return std::abs(static_cast<double>(y) - r) / ulp_of(r);
}

struct Worst {
  double ulp = 0;
  float at = 0;
};

// The worst error of each implementation over the non-NaN floats (every stride-th bit pattern),
// on all threads.
std::vector<Worst> accuracy(const Function& f, int64_t stride) {
  const size_t m = f.implementations.size();
  std::vector<Worst> worst(m);
  constexpr int64_t chunk = 1 << 16;
#pragma omp parallel
  {
    std::vector<float> x(chunk), y(chunk);
    std::vector<double> r(chunk);
    std::vector<Worst> mine(m);
#pragma omp for schedule(dynamic)
    for (int64_t c = 0; c < (int64_t{1} << 32) / chunk / stride; ++c) {
      for (int64_t i = 0; i < chunk; ++i) {
        float v = std::bit_cast<float>(static_cast<uint32_t>((c * chunk + i) * stride));
        x[i] = std::isnan(v) ? 0.f : v;
        r[i] = f.reference(x[i]);
      }
      for (size_t k = 0; k < m; ++k) {
        f.implementations[k].loop(x.data(), y.data(), chunk);
        for (int64_t i = 0; i < chunk; ++i) {
          if (y[i] == static_cast<float>(r[i])) continue;  // correctly rounded: under 0.5 ulp
          const double e = ulp_error(y[i], r[i]);
          if (e > mine[k].ulp) mine[k] = {e, x[i]};
        }
      }
    }
#pragma omp critical
    for (size_t k = 0; k < m; ++k)
      if (mine[k].ulp > worst[k].ulp) worst[k] = mine[k];
  }
  return worst;
}

}  // namespace

int main(int argc, char** argv) {
  int reps = 15;
  bool with_accuracy = true;
  int64_t stride = 1;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--reps") == 0 && i + 1 < argc) reps = std::max(1, std::atoi(argv[++i]));
    else if (std::strcmp(argv[i], "--no-accuracy") == 0) with_accuracy = false;
    else if (std::strcmp(argv[i], "--stride") == 0 && i + 1 < argc) stride = std::max(1, std::atoi(argv[++i]));
    else {
      std::fprintf(stderr, "usage: vecmath-compare [--reps N] [--no-accuracy] [--stride K]\n");
      return 2;
    }
  }
  const bool avx512 = __builtin_cpu_supports("avx512f");
  std::printf("%-6s %-18s %10s %12s %14s\n", "fn", "implementation", "ns/float", "worst ulp", "at x");
  for (const Function& f : functions(avx512)) {
    const std::vector<double> ns = speeds(f, reps);
    std::vector<Worst> worst(f.implementations.size());
    if (with_accuracy) worst = accuracy(f, stride);
    for (size_t k = 0; k < f.implementations.size(); ++k) {
      if (with_accuracy)
        std::printf("%-6s %-18s %10.3f %12.3f %14.7g\n", f.name, f.implementations[k].name, ns[k],
                    worst[k].ulp, worst[k].at);
      else
        std::printf("%-6s %-18s %10.3f\n", f.name, f.implementations[k].name, ns[k]);
      std::fflush(stdout);
    }
  }
}
