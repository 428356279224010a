// --max-memory SIZE (cli/memory_option.hpp).
#include "cli/memory_option.hpp"

#include <fmt/format.h>

#include "cli/commands.hpp"

namespace actlab::cli {

void MemoryLimitOption::add(CLI::App& command) {
  command
      .add_option("--max-memory", text_,
                  "refuse a run whose memory estimate is over SIZE (512M, 2G, or bytes); default: "
                  "the memory available (MemAvailable, or the cgroup's memory.max)")
      ->type_name("SIZE");
}

void MemoryLimitOption::check(const MemoryEstimate& estimate, const char* command) const {
  std::optional<MemoryLimit> limit;
  if (!text_.empty())
    limit = MemoryLimit{for_flag("--max-memory", [&] { return parse_memory_size(text_); }),
                        "--max-memory"};
  else
    limit = available_memory();
  if (!limit) return;
  try {
    check_memory(estimate, *limit);
  } catch (const Error& e) {
    throw UsageError(fmt::format("{}: {}", command, e.what()));
  }
}

}  // namespace actlab::cli
