// The workloads W1-W7 of shared/bench/WORKLOADS.md: one entry each, naming what one
// step runs and what bounds it (the raw cblas_sgemm calls of the step's matrix products, or a
// memcpy of the same size), timed side by side with repetitions interleaved.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "harness.hpp"

namespace bench {

// A matrix product as actlab's kernel makes it: row-major C[m, n] = op(A)[m, k] op(B)[k, n].
struct Gemm {
  bool ta, tb;
  int64_t m, n, k;
};

// A built workload: one step (forward + backward + update) and its lower bound.
struct Instance {
  std::function<void()> step;
  std::vector<Gemm> gemms;  // the step's matrix products, forward and backward; or, if empty,
  int64_t copy_floats = 0;  // the size of the memory copy that bounds it
  int tokens_per_step = 0;  // a generation workload's tokens made per step, else 0
};

struct Workload {
  std::string id;
  std::string what;
  int default_steps;  // timed steps, at least 30: small steps get more, for a steady median
  std::function<Instance()> make;
};

const std::vector<Workload>& workloads();

struct WorkloadResult {
  int steps = 0;
  Stats step;
  std::optional<Stats> bound;  // none when run without it (for a clean peak-RSS figure)
  const char* bound_key = "";  // "gemm_bound_ms" or "copy_bound_ms"
  double peak_rss_mib = 0;
  int tokens_per_step = 0;  // as the Instance's
};

// Builds the workload, warms it up, then times `steps` steps, each followed by one run of its
// bound when `with_bound`. steps 0 means the workload's default.
WorkloadResult run_workload(const Workload& w, int steps, bool with_bound);

}  // namespace bench
