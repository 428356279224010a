// Thread settings: the OpenMP thread count of the calling thread, which OpenBLAS's OpenMP build
// and kernels/parallel.cpp both follow, from code or from ACTLAB_NUM_THREADS.
#include "actlab/core/threads.hpp"

#include <fmt/format.h>
#include <omp.h>

#include <algorithm>
#include <cstdlib>
#include <string>

#include "actlab/core/tensor.hpp"
#include "kernels/blas.hpp"

namespace actlab {

void set_num_threads(int n) {
  if (n < 1) throw Error(fmt::format("set_num_threads: expected at least 1 thread, got {}", n));
  omp_set_num_threads(n);        // this thread's OpenMP team: parallel loops and matrix products
  kernels::set_blas_threads(n);  // OpenBLAS's own count, which its OpenMP build keeps in step
}

int num_threads() { return omp_get_max_threads(); }

bool apply_num_threads_from_env() {
  const char* value = std::getenv("ACTLAB_NUM_THREADS");
  if (value == nullptr || *value == '\0') return false;
  char* end = nullptr;
  const long n = std::strtol(value, &end, 10);
  if (*end != '\0' || n < 1 || n > 1024)
    throw Error(fmt::format("ACTLAB_NUM_THREADS: expected a positive integer, found \"{}\"", value));
  set_num_threads(static_cast<int>(n));
  return true;
}

}  // namespace actlab
