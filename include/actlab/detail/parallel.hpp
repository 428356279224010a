// Splitting a large loop over the threads that matrix products use: OpenMP's, which OpenBLAS's
// OpenMP build shares, so the two never compete for the cores. A loop below the threshold
// runs on the calling thread, as a plain loop: waking other threads would cost more than it
// saves. The chunks of a loop do not depend on anything but its size and the thread count,
// and a body must write only its own range, so an elementwise result is the same for any
// thread count.
#pragma once

#include <cstdint>
#include <type_traits>

namespace actlab::detail {

// The work (about one float read or written, per unit) below which a loop stays serial, and
// the least each thread gets: measured on 2 cores, a cheap loop (an add) gains from a second
// thread only above about this size (kernels/parallel.cpp says how).
inline constexpr int64_t kParallelMinWork = int64_t{1} << 15;

// Calls chunk(body, begin, end) for contiguous ranges that cover [0, n), one per thread.
void run_chunks(int64_t n, int64_t work, void (*chunk)(void*, int64_t, int64_t), void* body);

// body(begin, end) over [0, n), each index costing `work_per_index` units: on the calling
// thread below 2 * kParallelMinWork in all, else split in up to num_threads() chunks of at
// least kParallelMinWork each. Chunk boundaries fall on multiples of 16 (a 64-byte line of
// floats). The body must not throw.
template <class Body>
void parallel_for(int64_t n, int64_t work_per_index, Body&& body) {
  if (n * work_per_index < 2 * kParallelMinWork) {
    body(int64_t{0}, n);
    return;
  }
  using B = std::remove_reference_t<Body>;
  run_chunks(
      n, n * work_per_index,
      [](void* b, int64_t begin, int64_t end) { (*static_cast<B*>(b))(begin, end); },
      const_cast<void*>(static_cast<const void*>(&body)));
}

template <class Body>
void parallel_for(int64_t n, Body&& body) {
  parallel_for(n, 1, static_cast<Body&&>(body));
}

}  // namespace actlab::detail
