// The `actlab` command line end to end: exit statuses, one-line errors on stderr, JSON on
// stdout, and no run directory left behind by a bad config.
#include <catch2/catch.hpp>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "cli_runner.hpp"

namespace fs = std::filesystem;
using namespace cli_runner;

TEST_CASE("actlab train --json prints only the final metrics and exits 0", "[cli]") {
  TempDir dir;
  const Result r = actlab("train " + kConfigs + "/xor_mlp_relu.json --out " + dir.path.string() +
                          " --json");
  INFO(r.err);
  REQUIRE(r.status == 0);
  const nlohmann::json metrics = nlohmann::json::parse(r.out);
  CHECK(metrics["final"]["test_accuracy"] == 1.0);
  CHECK(metrics["diverged"] == false);
  CHECK(metrics["run_dir"] == dir.path.string());
  CHECK(fs::exists(dir.path / "report.html"));
  CHECK(r.err.empty());  // no progress bar when not on a terminal
}

TEST_CASE("a bad config exits 2 with one line naming the JSON path, and writes nothing", "[cli][errors]") {
  TempDir dir;
  const Result r = actlab("train " + kConfigs + "/xor_mlp_relu.json --set model.activation=relu6 --out " +
                          dir.path.string());
  CHECK(r.status == 2);
  CHECK(r.err ==
        "config error at /model/activation: unknown activation \"relu6\"; known: identity, relu, "
        "leaky_relu, prelu, elu, selu, celu, gelu, gelu_tanh, silu, swish, mish, softplus, "
        "sigmoid, tanh, hardswish; did you mean \"relu\"?\n");
  CHECK(r.out.empty());
  CHECK_FALSE(fs::exists(dir.path));

  const Result missing = actlab("train /no/such/config.json");
  CHECK(missing.status == 2);
  CHECK(missing.err == "config error: cannot read config file /no/such/config.json: No such file or directory\n");
}

TEST_CASE("bad usage exits 2, help exits 0", "[cli][errors]") {
  CHECK(actlab("").status == 2);
  CHECK(actlab("frobnicate").status == 2);
  CHECK(actlab("train").status == 2);
  const Result help = actlab("train --help");
  CHECK(help.status == 0);
  CHECK(help.out.find("--set") != std::string::npos);
}

TEST_CASE("a diverging run exits 1 naming the step", "[cli][errors]") {
  TempDir dir;
  const Result r = actlab("train " + kConfigs + "/xor_mlp_relu.json --set optimizer.name=sgd "
                          "--set optimizer.lr=1e3 --set model.activation=identity --out " +
                          dir.path.string());
  CHECK(r.status == 1);
  CHECK(r.err.starts_with("actlab train: step "));
  CHECK(r.err.find("the run diverged to NaN/Inf") != std::string::npos);
}

TEST_CASE("actlab schema prints the config schema", "[cli]") {
  const Result r = actlab("schema");
  CHECK(r.status == 0);
  CHECK(nlohmann::json::parse(r.out)["required"] == nlohmann::json::array({"task"}));
}

TEST_CASE("the thread count comes from --threads or ACTLAB_NUM_THREADS", "[cli]") {
  CHECK(actlab("--threads 1 softmax").status == 0);
  CHECK(actlab("--threads 0 softmax").status == 2);
  const Result bad_env = actlab_with_env("ACTLAB_NUM_THREADS=two", "softmax");
  CHECK(bad_env.status == 2);
  CHECK(bad_env.err == "actlab: ACTLAB_NUM_THREADS: expected a positive integer, found \"two\"\n");
  CHECK(actlab_with_env("ACTLAB_NUM_THREADS=1", "softmax").status == 0);
}
