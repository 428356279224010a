// Uses the installed headers and library: a gradient through matmul, printed; and checks that
// the program runs on OpenBLAS's OpenMP build, as the installed package promises.
#include <actlab/actlab.hpp>

#include <cstdio>

extern "C" int openblas_get_parallel();  // 2: the OpenMP build

int main() {
  if (openblas_get_parallel() != 2) {
    std::printf("OpenBLAS is not its OpenMP build (openblas_get_parallel() = %d)\n",
                openblas_get_parallel());
    return 1;
  }
  actlab::Tensor a = actlab::Tensor::from_vector({1, 2, 3, 4}, {2, 2}, true);
  actlab::Tensor b = actlab::Tensor::from_vector({5, 6, 7, 8}, {2, 2});
  actlab::sum(actlab::matmul(a, b)).backward();
  const auto g = a.grad().to_vector();  // [11, 15, 11, 15]
  std::printf("grad %g %g %g %g\n", g[0], g[1], g[2], g[3]);
  return g[0] == 11.f && g[1] == 15.f ? 0 : 1;
}
