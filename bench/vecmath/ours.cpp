// actlab's own exp, erf and erfc (src/kernels/fastmath.hpp) as plain loops over arrays, the way
// the library's kernels call them; compiled twice by bench/CMakeLists.txt, for AVX2 + FMA and
// for this machine's CPU (-march=native, as the library), into functions named by VECMATH_ISA.
#include <cstdint>

#include "kernels/fastmath.hpp"

#define VECMATH_CAT2(a, b) a##_##b
#define VECMATH_CAT(a, b) VECMATH_CAT2(a, b)
#define VECMATH_NAME(f) VECMATH_CAT(f, VECMATH_ISA)

namespace vecmath {

void VECMATH_NAME(ours_exp)(const float* __restrict x, float* __restrict y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = actlab::fastmath::exp(x[i]);
}
void VECMATH_NAME(ours_erf)(const float* __restrict x, float* __restrict y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = actlab::fastmath::erf(x[i]);
}
void VECMATH_NAME(ours_erfc)(const float* __restrict x, float* __restrict y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = actlab::fastmath::erfc(x[i]);
}

}  // namespace vecmath
