// --max-memory, which the commands that train share: the limit a run's memory estimate must fit
// (the machine's available memory when the flag is not given), checked before the command
// allocates its model, data or output directory.
#pragma once

#include <CLI/CLI.hpp>

#include <string>

#include "actlab/train/memory_estimate.hpp"

namespace actlab::cli {

class MemoryLimitOption {
 public:
  void add(CLI::App& command);
  // Throws UsageError for a bad --max-memory value, and
  // "COMMAND: the run's memory estimate is ..., over the limit of ..." when `estimate` is over
  // the limit; quiet when no limit can be known (no flag, and no /proc/meminfo).
  void check(const MemoryEstimate& estimate, const char* command) const;

 private:
  std::string text_;
};

}  // namespace actlab::cli
