// The op table that gradcheck suites share: one line per op (its name, input shapes, the
// function, the kinks its inputs keep away from, and the range they are drawn from).
#pragma once

#include <cmath>
#include <functional>
#include <vector>

#include "actlab/core/tensor.hpp"

namespace op_cases {

using actlab::Generator;
using actlab::Shape;
using actlab::Tensor;
using Fn = std::function<Tensor(const std::vector<Tensor>&)>;

struct OpCase {
  const char* name;
  std::vector<Shape> shapes;  // one input each, all requiring grad
  Fn fn;
  std::vector<float> kinks = {};  // inputs are kept at least kKinkMargin away from these
  float lo = -2.f;                // inputs drawn from U[lo, hi]
  float hi = 2.f;
};

// Far beyond gradcheck's eps (1e-3), so no finite difference straddles a kink.
constexpr float kKinkMargin = 0.05f;

// Leaf inputs of the given shapes, drawn from U[lo, hi], requiring grad.
inline std::vector<Tensor> uniform_inputs(const std::vector<Shape>& shapes, float lo, float hi,
                                          uint64_t seed) {
  Generator gen(seed);
  std::vector<Tensor> xs;
  for (const Shape& s : shapes) xs.push_back(Tensor::uniform(s, lo, hi, gen).set_requires_grad(true));
  return xs;
}

// An op's inputs, moved away from its kinks.
inline std::vector<Tensor> make_inputs(const OpCase& op, uint64_t seed) {
  std::vector<Tensor> xs = uniform_inputs(op.shapes, op.lo, op.hi, seed);
  for (Tensor& x : xs) {
    float* v = x.mutable_data();
    for (int64_t k = 0; k < x.numel(); ++k)
      for (float kink : op.kinks)
        if (std::abs(v[k] - kink) < kKinkMargin)
          v[k] = kink + (v[k] < kink ? -1.f : 1.f) * kKinkMargin;
  }
  return xs;
}

}  // namespace op_cases
