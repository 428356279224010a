// The one OpenMP parallel region of actlab (see actlab/detail/parallel.hpp). Its team is the
// calling thread's OpenMP pool, the one OpenBLAS's OpenMP build runs matrix products on, and
// its size is the calling thread's num_threads().
//
// kParallelMinWork: with the pool warm (its threads spinning after the previous region, as
// within a training step), one parallel region costs about 1-2 us here; a cheap loop such as
// an add moves about 4-8 floats per ns from cache on one core. A second thread saves
// time once the loop takes a few microseconds: 2^15 floats per thread.
#include <omp.h>

#include <algorithm>

#include "actlab/detail/parallel.hpp"

namespace actlab::detail {
namespace {

// Start of chunk `part` of `parts` over [0, n), rounded down to a multiple of 16.
int64_t chunk_start(int64_t n, int64_t part, int64_t parts) {
  if (part == parts) return n;
  return n * part / parts / 16 * 16;
}

}  // namespace

int max_threads() { return omp_get_max_threads(); }

void run_chunks(int64_t n, int64_t work, int threads, void (*chunk)(const void*, int64_t, int64_t),
                const void* body) {
  const auto team = static_cast<int>(std::min<int64_t>(threads, work / kParallelMinWork));
#pragma omp parallel num_threads(team)
  {
    // The team may be smaller than asked for (nested regions, OMP_DYNAMIC).
    const int64_t parts = omp_get_num_threads();
    const int64_t part = omp_get_thread_num();
    chunk(body, chunk_start(n, part, parts), chunk_start(n, part + 1, parts));
  }
}

}  // namespace actlab::detail
