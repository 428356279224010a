// `actlab schema`: prints the JSON Schema of run configs, for editors (configs/schema.json).
#include <fmt/format.h>

#include "actlab/config.hpp"
#include "cli/commands.hpp"

namespace actlab::cli {

void add_schema_command(CLI::App& app) {
  app.add_subcommand("schema", "print the JSON Schema of run configs (configs/schema.json)");
}

int run_schema() {
  fmt::print("{}\n", config_schema().dump(2));
  return kDone;
}

}  // namespace actlab::cli
