// T(values, shape): a tensor written out in a test, for the op, activation and loss tests.
#pragma once

#include <utility>
#include <vector>

#include "actlab/core/tensor.hpp"

inline actlab::Tensor T(std::vector<float> values, actlab::Shape shape,
                       bool requires_grad = false) {
  return actlab::Tensor::from_vector(std::move(values), shape, requires_grad);
}
