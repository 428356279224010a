// Splitting a large loop over the threads that matrix products use: OpenMP's, which OpenBLAS's
// OpenMP build shares, so the two never compete for the cores. A loop below the threshold
// runs on the calling thread, as a plain loop: waking other threads would cost more than it
// saves. The chunks of a loop do not depend on anything but its size and the thread count,
// and a body must write only its own range, so an elementwise result is the same for any
// thread count.
#pragma once

#include <cstdint>

namespace actlab::detail {

// The least work (about one float read or written per unit) each thread gets; a loop of less
// than twice this stays serial. Measured in kernels/parallel.cpp.
inline constexpr int64_t kParallelMinWork = int64_t{1} << 15;

// The calling thread's thread count (actlab::num_threads()).
int max_threads();

// Calls chunk(body, begin, end) for contiguous ranges that cover [0, n), one per thread of up
// to `threads`, each with at least kParallelMinWork of the `work`.
void run_chunks(int64_t n, int64_t work, int threads, void (*chunk)(const void*, int64_t, int64_t),
                const void* body);

// body(begin, end) over [0, n), each index costing `work_per_index` units: on the calling
// thread at 1 thread or below 2 * kParallelMinWork in all, else split in up to num_threads()
// chunks of at least kParallelMinWork each, whose boundaries fall on multiples of 16 (a
// 64-byte line of floats). The body must not throw. Each thread, the caller too, runs its
// own copy of the body, whose address goes nowhere else: capture by value what its loop reads
// (scalars, functors), and the compiler keeps them in registers as in a plain loop. Read
// through a reference (or from a copy that escapes), a float might alias the floats the loop
// writes, and the loop would stay scalar (8-10x slower).
template <class Body>
void parallel_for(int64_t n, int64_t work_per_index, const Body& body) {
  const int threads = n * work_per_index < 2 * kParallelMinWork ? 1 : max_threads();
  if (threads == 1) {
    const Body local = body;
    local(int64_t{0}, n);
    return;
  }
  run_chunks(
      n, n * work_per_index, threads,
      [](const void* b, int64_t begin, int64_t end) {
        const Body local = *static_cast<const Body*>(b);
        local(begin, end);
      },
      &body);
}

template <class Body>
void parallel_for(int64_t n, const Body& body) {
  parallel_for(n, 1, body);
}

}  // namespace actlab::detail
