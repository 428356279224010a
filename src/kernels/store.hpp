// Writing results into gradient buffers that are either fresh (assign: the memory holds
// nothing yet) or already hold a gradient (add). The choice is made once per loop, outside
// it, so that each variant of the loop stays a plain vectorisable one.
#pragma once

#include <cstdint>
#include <type_traits>

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

}  // namespace actlab::kernels
