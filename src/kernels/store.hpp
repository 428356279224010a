// Writing results into gradient buffers that are either fresh (assign: the memory holds
// nothing yet) or already hold a gradient (add). The choice is made once per loop, outside
// it, so that each variant of the loop stays a plain vectorisable one.
#pragma once

#include <cstdint>
#include <type_traits>

#if defined(__SSE__)
#include <immintrin.h>
#endif

#include "actlab/detail/parallel.hpp"

namespace actlab::kernels {

// Where a loop writes one of its results; a null `data` means the result is not wanted.
struct Destination {
  float* data = nullptr;
  bool accumulate = false;
};

// data[k] = (or +=) value_at(k) for k in [0, n), split over the threads when n is large.
template <class F>
void write(Destination d, int64_t n, F value_at) {
  if (d.data == nullptr) return;
  detail::parallel_for(n, [d, value_at](int64_t begin, int64_t end) {
    if (d.accumulate) {
      for (int64_t k = begin; k < end; ++k) d.data[k] += value_at(k);
    } else {
      for (int64_t k = begin; k < end; ++k) d.data[k] = value_at(k);
    }
  });
}

// For loops that fill several destinations at once: `with_mode(d, body)` calls body with the
// destination's mode as a compile-time constant, and `store<mode>(data, k, v)` then compiles
// to an assignment, an addition or nothing.
enum class StoreMode { skip, assign, add };

template <StoreMode M>
using ModeConstant = std::integral_constant<StoreMode, M>;

template <class Body>
void with_mode(Destination d, Body&& body) {
  if (d.data == nullptr) {
    body(ModeConstant<StoreMode::skip>{});
  } else if (d.accumulate) {
    body(ModeConstant<StoreMode::add>{});
  } else {
    body(ModeConstant<StoreMode::assign>{});
  }
}

template <StoreMode M>
inline void store(float* data, int64_t k, float v) {
  if constexpr (M == StoreMode::add) data[k] += v;
  if constexpr (M == StoreMode::assign) data[k] = v;
}

// Results at least this large go to memory around the caches (stream_copy): a plain store
// first reads each line it writes into the cache (a write-allocate), which made a loop that
// writes two 64 MiB outputs a third slower (bench/RESULTS.md, W6f). Half an L3 of 32 MiB: a
// smaller result may still be in the cache when the next op reads it (an FFN's [1024, 2048]
// activation, 8 MiB, is read by the next product at once).
inline constexpr int64_t kStreamingBytes = int64_t{16} << 20;

// Whether stream_copy can write to `p`: the x86 stores it uses need 16-byte alignment.
inline bool streamable(const float* p) { return reinterpret_cast<uintptr_t>(p) % 16 == 0; }

// dst[k] = src[k] for k in [0, n) by non-temporal stores, dst streamable; the stores are
// ordered before any later store only after stream_fence().
inline void stream_copy(float* dst, const float* src, int64_t n) {
  int64_t k = 0;
#if defined(__AVX__)
  for (; k + 8 <= n && reinterpret_cast<uintptr_t>(dst + k) % 32 != 0; k += 4)
    _mm_stream_ps(dst + k, _mm_loadu_ps(src + k));
  for (; k + 8 <= n; k += 8) _mm256_stream_ps(dst + k, _mm256_loadu_ps(src + k));
#endif
#if defined(__SSE__)
  for (; k + 4 <= n; k += 4) _mm_stream_ps(dst + k, _mm_loadu_ps(src + k));
#endif
  for (; k < n; ++k) dst[k] = src[k];
}

inline void stream_fence() {
#if defined(__SSE__)
  _mm_sfence();
#endif
}

}  // namespace actlab::kernels
