// Resolving a `dim` argument (negative counts from the end) for ops that work along one dimension.
#pragma once

#include <fmt/format.h>

#include <cstdint>

#include "actlab/core/tensor.hpp"

namespace actlab::ops {

// dim in [0, shape.size()), or an Error naming `op`, the dim and the shape.
inline int64_t normalize_dim(int64_t dim, const Shape& shape, const char* op) {
  const int64_t nd = shape.size();
  const int64_t d = dim < 0 ? dim + nd : dim;
  if (d < 0 || d >= nd)
    throw Error(fmt::format("{}: dim {} is out of range for shape {}", op, dim, shape.str()));
  return d;
}

}  // namespace actlab::ops
