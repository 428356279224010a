// SLEEF's AVX-512 exp, erf and erfc as loops over arrays (n a multiple of 16), for
// compare.cpp, which calls them only on a CPU with AVX-512F: this file alone is compiled for it.
#include <immintrin.h>
#include <sleef.h>

#include <cstdint>

namespace vecmath {

#define VECMATH_SLEEF_AVX512(name, f)                                                       \
  void name(const float* x, float* y, int64_t n) {                                          \
    for (int64_t i = 0; i < n; i += 16) _mm512_storeu_ps(y + i, f(_mm512_loadu_ps(x + i))); \
  }
VECMATH_SLEEF_AVX512(sleef_exp_avx512, Sleef_expf16_u10avx512f)
VECMATH_SLEEF_AVX512(sleef_erf_avx512, Sleef_erff16_u10avx512f)
VECMATH_SLEEF_AVX512(sleef_erfc_avx512, Sleef_erfcf16_u15avx512f)

}  // namespace vecmath
