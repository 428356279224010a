// The memory a run will take, estimated from its config before anything large is allocated:
// from the model's registry entry (its parameters and what its layers keep for backward, see
// nn::MemoryCost), the batch size, the task's size and the optimiser. `actlab train` and
// `compare` refuse a run whose estimate is over the limit (--max-memory, or the memory the
// machine has available) before they make the model, the data or a run directory.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "actlab/train/config.hpp"

namespace actlab {

// Bytes, by what holds them. Each is an upper bound of what a run adds to the process at its
// peak, except where `left_out` says what could not be counted.
struct MemoryEstimate {
  int64_t parameters = 0;
  int64_t gradients = 0;        // one per parameter
  int64_t optimizer_state = 0;  // Adam and AdamW: two per parameter; SGD with momentum: one
  // A training step at the batch size: what the tape keeps for backward, as many again for the
  // gradients flowing back through it (the buffer cache keeps both), and the batch.
  int64_t activations = 0;
  int64_t data = 0;  // the training and test tensors (and, for csv, the files' bytes)
  // The evaluations: a forward without grad over the whole test split and over the training
  // split (its accuracy), each holding its widest layer, and the activation statistics, which
  // keep every site's output over the test split.
  int64_t evaluation = 0;
  // Checkpoints (train only): saving one encodes the parameters and optimiser state in memory,
  // and the weights again for model.safetensors; --resume holds the file and its decoded
  // tensors at once. Counted as twice the parameters and optimiser state.
  int64_t checkpoint = 0;
  // What the estimate leaves out, or empty: "model kind \"x\" reports no memory cost".
  std::string left_out;

  int64_t total() const;
  // {"total": ..., "parameters": ..., ...} (bytes), with "left_out" when something is.
  nlohmann::json to_json() const;
};

// The estimate of a run of `config`, without building its model or data; `checkpoints` says
// whether the run saves them (train does, compare's cells do not).
MemoryEstimate estimate_memory(const Config& config, bool checkpoints = true);

// The estimate of `jobs` runs at once: the sum of the `jobs` largest (as compare trains its
// cells, each thread with a model, data and buffer cache of its own).
MemoryEstimate estimate_concurrent(const std::vector<MemoryEstimate>& runs, int jobs);

// The memory a run may take when no limit is given: MemAvailable of /proc/meminfo, or less if
// a cgroup (v2) limit leaves less (memory.max - memory.current); nothing when neither can be
// read.
struct MemoryLimit {
  int64_t bytes = 0;
  std::string source;  // "MemAvailable in /proc/meminfo", "the cgroup's memory.max"
};
std::optional<MemoryLimit> available_memory();

// A size as --max-memory takes it: a whole or decimal number of bytes with an optional binary
// suffix K, M, G or T (case-insensitive; "512M", "1.5G", "1048576"), above 0 and at most
// 2^62. Throws Error naming what it found: expected a size such as 512M, 2G or 1048576 ...
int64_t parse_memory_size(const std::string& text);

// "12.3 MiB", "1.50 GiB", "512 B": three significant digits.
std::string format_bytes(int64_t bytes);

// Throws Error unless `estimate` fits `limit`:
// "the run's memory estimate is 17.0 GiB (18253611008 bytes), over the limit of 512 MiB
// (536870912 bytes, --max-memory)". An estimate that leaves something out is checked for
// what it counts.
void check_memory(const MemoryEstimate& estimate, const MemoryLimit& limit);

}  // namespace actlab
