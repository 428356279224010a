// The linear-collapse proof, measured: a deep net of Linear layers with no activation between
// them equals one Linear layer, W' = W_N ... W_1 and b' = W_N(...(W_2 b_1 + b_2)...) + b_N, up
// to float32 round-off; and trained, such a net does no better than a linear classifier, while
// the same net with ReLU fits what a line cannot separate.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "actlab/detail/fields.hpp"  // FieldError, thrown for bad options
#include "actlab/report/report.hpp"

namespace actlab {

// One depth: the deep net's outputs against those of its collapsed layer, on random inputs.
struct CollapseDepth {
  int depth = 0;
  double max_abs_diff = 0;    // max |deep(x) - (x W'^T + b')| over the batch
  double max_abs_output = 0;  // max |deep(x)|
  double relative = 0;        // max_abs_diff / max_abs_output: float32 round-off is ~1e-6
};

// One trained net: two hidden layers of 16 with the activation, on xor or circles.
struct CollapseTraining {
  std::string task;
  std::string activation;  // "identity" (linear) or "relu"
  double train_accuracy = 0;
  double test_accuracy = 0;
};

struct CollapseResult {
  int64_t width = 0;
  uint64_t seed = 0;
  std::vector<CollapseDepth> depths;
  std::vector<CollapseTraining> training;  // per task, identity then relu
};

// For each depth, a net of `depth` Linear layers of width x width (weights N(0, 1/width), which
// keep the output's scale across depth, and biases N(0, 1), so that b' is tested too) against
// its collapse, on 256 random inputs N(0, 1); then the training half on xor and circles
// (Adam, lr 0.01, 40 epochs of 512 examples; about a second in all). Depths must be >= 1 and
// width >= 1, else FieldError at "depth" or "width".
CollapseResult linear_collapse(const std::vector<int>& depths, int64_t width = 32,
                               uint64_t seed = 0);

// 2, 4, 8, ... up to max_depth, and max_depth itself when it is not a power of two; max_depth
// must be in [2, 1024], else FieldError at "depth".
std::vector<int> collapse_depths(int max_depth);

nlohmann::json to_json(const CollapseResult& result);
// The table of differences per depth and the accuracy bars of the trained nets.
report::Document collapse_report(const CollapseResult& result);

}  // namespace actlab
