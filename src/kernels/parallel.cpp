// The one OpenMP parallel region of actlab (see actlab/detail/parallel.hpp). Its team is the
// calling thread's OpenMP pool, the one OpenBLAS's OpenMP build runs matrix products on, and
// its size is the calling thread's num_threads().
//
// kParallelMinWork, measured on 2 cores (a throwaway program timing a loop serial and split in
// two, sizes 2^10-2^22, interleaved): with libgomp's threads spin-waiting between regions (its
// default), a region costs about 0.6 us; c = a + b breaks even at about 2^13-2^14 floats
// (16384: 2.1 us serial, 1.7 split; 65536: 8.5 and 4.8), exact GELU at about 2^11. With
// OMP_WAIT_POLICY=PASSIVE a region costs about 7 us (the sleeping thread is woken), and an add
// breaks even only near 2^20. 2^15 per thread (a loop of 2^16 floats and more is split) keeps
// the cheapest loops clear of a loss under the default; under the passive setting, which is
// for machines whose cores are busy anyway, a split loop below 2^20 floats loses up to ~8 us.
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
