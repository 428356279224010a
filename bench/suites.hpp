// Micro-benchmark suites of actlab-bench: a table of benchmarks timed side by side, and
// figures derived from their medians (overheads, ratios, bandwidths), each with an optional
// target. Adding a benchmark or a figure means adding one entry to a suite's tables.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "harness.hpp"

namespace bench {

// A bound a derived figure should stay within: at most (or at least) `value`.
struct Target {
  double value;
  bool at_most = true;
  bool met(double v) const { return at_most ? v <= value : v >= value; }
};

using Medians = std::map<std::string, double>;  // benchmark name -> median microseconds per op

struct Derived {
  std::string name;
  std::string unit;
  std::string formula;  // how it is computed, for the reader
  std::function<double(const Medians&)> value;
  std::optional<Target> target;
};

struct Suite {
  std::string name;
  std::vector<Bench> benches;
  std::vector<Derived> derived;
  int default_reps = 50;
};

// Per-op overhead of a recorded and an unrecorded add, and matmul against raw sgemm.
Suite ops_suite();
// Each activation's forward + backward over 2^24 floats against a memory copy.
Suite activations_suite();

// Every suite, by name.
const std::vector<std::pair<std::string, std::function<Suite()>>>& suites();

}  // namespace bench
