// `actlab generate` end to end: the exact line and exit status 2 for a run that is not a
// decoder, a missing run and flag values out of range, and that nothing is written then.
#include <catch2/catch.hpp>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "cli_runner.hpp"

namespace fs = std::filesystem;
using namespace cli_runner;

namespace {

const std::string kConfigs = ACTLAB_CONFIG_DIR;

// `actlab generate ARGS` refused with exactly `message` (one line) and status 2, nothing on
// stdout.
void check_refused(const std::string& args, const std::string& message) {
  const Result r = actlab("generate " + args);
  INFO(args);
  CHECK(r.status == 2);
  CHECK(r.err == message + "\n");
  CHECK(r.out.empty());
}

}  // namespace

TEST_CASE("actlab generate refuses a run that is not a decoder, and a missing run",
          "[cli][generate][errors]") {
  TempDir dir;
  const fs::path run = dir.path / "run";
  REQUIRE(actlab("train " + kConfigs + "/xor_mlp_relu.json --set train.epochs=1 --out " +
                 run.string())
              .status == 0);
  const fs::path out = dir.path / "maps";
  check_refused(run.string() + " --out " + out.string(),
                "actlab: " + run.string() +
                    ": the run's model is \"mlp\", not a decoder: generate needs a run of "
                    "model.kind \"decoder\"");
  CHECK_FALSE(fs::exists(out));
  check_refused((dir.path / "nope").string(),
                "actlab: " + (dir.path / "nope").string() + ": not a run directory");
}

TEST_CASE("actlab generate refuses flag values out of range with one line",
          "[cli][generate][errors]") {
  // Checked while parsing, before the run is read: RUN need not exist.
  check_refused("RUN --temperature -1",
                "actlab: --temperature: expected a number >= 0, found -1 (see --help)");
  check_refused("RUN --temperature nan",
                "actlab: --temperature: expected a number >= 0, found nan (see --help)");
  check_refused("RUN --temperature inf",
                "actlab: --temperature: expected a number >= 0, found inf (see --help)");
  check_refused("RUN --seed -3", "actlab: --seed: expected an integer >= 0, found -3 (see --help)");
  check_refused("RUN --tokens -5",
                "actlab: --tokens: Value -5 not in range 0 to 1000000 (see --help)");
  check_refused("RUN --top-k -1",
                "actlab: --top-k: Value -1 not in range 0 to 1000000 (see --help)");
  check_refused("", "actlab: run_dir is required (see --help)");
}
