// `actlab schema`: prints the JSON Schema of run configs, for editors (configs/schema.json).
#include <fmt/format.h>

#include "actlab/train/config.hpp"
#include "cli/commands.hpp"

namespace actlab::cli {
namespace {

class Schema final : public Command {
 public:
  CLI::App* add(CLI::App& app) override {
    return app.add_subcommand("schema", "print the JSON Schema of run configs (configs/schema.json)");
  }
  int run() override {
    fmt::print("{}\n", config_schema().dump(2));
    return kDone;
  }
};

const CommandRegistration schema_registration([] { return std::make_unique<Schema>(); });

}  // namespace
}  // namespace actlab::cli
