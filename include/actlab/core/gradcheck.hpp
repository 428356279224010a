// Finite-difference gradient checking, for every op of actlab and for users' own ops.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "actlab/core/tensor.hpp"

namespace actlab {

struct GradcheckOptions {
  // Central differences in float32: eps 1e-3 balances truncation error (O(eps^2)) against
  // round-off (O(float_eps / eps)); an element passes when |analytic - numeric| <=
  // atol + rtol * |numeric|.
  double eps = 1e-3;
  double rtol = 1e-2;
  double atol = 1e-3;
  uint64_t seed = 0;            // for the projection vector and the garbage gradients
  bool allow_all_zero = false;  // accept a function whose gradient is zero everywhere
};

struct GradcheckResult {
  bool ok = true;
  std::string message;   // what failed, with the worst element; empty when ok
  int input = -1;        // the worst element: which input,
  int64_t index = -1;    // its flat index,
  double analytic = 0;   // the two gradients there,
  double numeric = 0;
  double worst_ratio = 0;  // and |analytic - numeric| / tolerance (passes when <= 1)
  explicit operator bool() const { return ok; }
};

// Checks the gradients of fn with respect to every input that requires grad. The output is
// projected onto a random vector r (L = sum(fn(x) * r)), so every output element matters.
// Backward runs twice: into empty gradients, and into gradients pre-filled with random
// garbage (which is subtracted after), so an op that assigns instead of accumulating fails.
// A check where every gradient is zero fails unless allow_all_zero is set.
GradcheckResult gradcheck(const std::function<Tensor(const std::vector<Tensor>&)>& fn,
                          std::vector<Tensor> inputs, const GradcheckOptions& options = {});

}  // namespace actlab
