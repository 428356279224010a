// Sweeps: a base config and a grid over dotted paths ({"base": {...}, "grid": {"model.activation":
// ["relu", "gelu"], "train.seed": [1, 2, 3]}}), every cell trained, and a summary per group of
// cells that differ only in their seed: mean +- std of the final metric, steps to the target,
// time per step, dead units, the first/last gradient-norm ratio and the parameter count.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "actlab/train/config.hpp"
#include "actlab/train/memory_estimate.hpp"
#include "actlab/train/train.hpp"

namespace actlab {

// The most cells a sweep may have: refused before anything is trained.
constexpr int64_t kMaxSweepCells = 10000;

struct GridAxis {
  std::string path;                 // dotted, as --set takes it
  std::vector<nlohmann::json> values;
  std::vector<std::string> labels;  // one per value: "labels" from the file, or the value
};

struct Sweep {
  nlohmann::json base;
  std::vector<GridAxis> grid;  // in file order
};

struct SweepCell {
  std::vector<std::string> labels;  // one per axis
  std::string group;                // the labels of every axis but the seeds', joined
  Config config;
};

// Checks a sweep document: base, grid (each axis a non-empty list), optional labels, and every
// cell's config. Errors are FieldErrors with paths such as /grid/model.activation/2.
Sweep parse_sweep(const nlohmann::json& doc);
Sweep load_sweep(const std::string& path);
std::vector<SweepCell> expand(const Sweep& sweep);

struct Stat {
  double mean = 0, std = 0;
  int64_t count = 0;  // the runs it summarises
};

// An activation's learned parameter (a formula's beta, PReLU's slopes) over a group's runs.
struct LearnedParameter {
  std::string name;    // as in the model: "1.beta", "blocks.0.act.beta"
  Stat mean;           // each run's mean over its values (1, or one per channel), over runs
  double min = 0, max = 0;  // the smallest and largest value any run ended with
  int64_t values = 0;  // per run
};

struct GroupSummary {
  std::string group;
  std::vector<std::string> labels;  // the group's labels, one per non-seed axis
  int64_t runs = 0;
  int64_t diverged = 0;
  Stat final_metric;    // test accuracy (classification) or test loss (regression)
  std::vector<double> final_values;  // each run's final metric, in the grid's order
  Stat steps_to_target;  // over the runs that reached it
  Stat ms_per_step;
  Stat dead_percent;     // mean over layers of % dead units at the end
  // ||dL/dW_first|| / ||dL/dW_last|| at the end: the geometric mean over seeds, and the std of
  // its log10 (the spread is log-normal-like).
  Stat grad_ratio;
  int64_t parameters = 0;
  std::vector<LearnedParameter> learned;  // in the model's order; none without such parameters
  // The metric's curve over steps, averaged over the group's runs.
  std::vector<double> curve_steps, curve_values;
};

struct CompareResult {
  std::vector<std::string> axes;  // paths of the grid
  std::string metric;             // "test_accuracy" or "test_loss"
  std::vector<SweepCell> cells;
  std::vector<TrainResult> runs;  // one per cell
  std::vector<GroupSummary> groups;
};

// Trains every cell, `jobs` at a time on threads. Each cell's result depends only on its config
// (each cell trains on one thread, set_num_threads(1)), so any `jobs` gives the same numbers.
CompareResult run_compare(const Sweep& sweep, int jobs = 1,
                          const std::function<void(size_t done, size_t total)>& progress = {});

// The memory of training the sweep's cells `jobs` at a time (run_compare, or a shard of it):
// the sum of the `jobs` largest cells' estimates (train/memory_estimate.hpp), without
// checkpoints, which cells do not save. (train_cells gives each cell's buffers back to the OS
// when it ends, so the cells a thread runs one after another do not add up.)
MemoryEstimate estimate_sweep_memory(const Sweep& sweep, int jobs);

// The pieces of run_compare, which the shards of a sweep share (lab/shards.hpp): the cells
// `which` trained, `jobs` at a time, results in that order; and the summary of a whole sweep's
// cells and results (one per cell, in cell order).
std::vector<TrainResult> train_cells(const std::vector<SweepCell>& cells,
                                     const std::vector<size_t>& which, int jobs = 1,
                                     const std::function<void(size_t done, size_t total)>& progress = {});
CompareResult summarise_sweep(const Sweep& sweep, std::vector<SweepCell> cells,
                              std::vector<TrainResult> runs);

// A gradient-norm ratio as tables show it: "0.242 x/ 2.1", the geometric mean times or divided
// by its typical multiplicative spread over seeds.
std::string ratio_text(const Stat& ratio);
// Learned parameters as tables show them: "1.beta 1.37 +- 0.02", and for one per channel
// "1.beta 1.21 +- 0.02 (16 values, 0.93 to 1.52)"; "-" for none.
std::string learned_text(const std::vector<LearnedParameter>& learned);
// Whether any group has learned activation parameters (tables then show a column for them).
bool has_learned_parameters(const CompareResult& result);

nlohmann::json summary_json(const CompareResult& result);
std::string summary_csv(const CompareResult& result);
// summary.json, summary.csv and report.html (curves side by side) in `dir`.
void write_compare_outputs(const std::string& dir, const CompareResult& result);

}  // namespace actlab
