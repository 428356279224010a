// `actlab diagnose` end to end: the table and findings on a terminal, one JSON document with
// --json, report.html with --out, run directories, and the exit statuses (0 diagnosed, 2 a bad
// config or a missing path, 1 a diagnosis that failed).
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "cli_runner.hpp"
#include "html_check.hpp"

namespace fs = std::filesystem;
using namespace cli_runner;
using html_check::contains;

TEST_CASE("actlab diagnose prints the layers and the findings with advice", "[cli][diagnose]") {
  const Result r = actlab("diagnose " + kConfigs + "/diagnose_dead_relu.json");
  INFO(r.err);
  REQUIRE(r.status == 0);  // findings are not failures
  CHECK(contains(r.out, "layer     activation        mean"));
  CHECK(contains(r.out, "  warning  layer 2: 100% dead relu units"));
  CHECK(contains(r.out, "           -> try leaky_relu"));
  CHECK(contains(r.out, "outputs all the same value"));
  CHECK(r.err.empty());

  const Result healthy = actlab("diagnose " + kConfigs + "/diagnose_healthy.json");
  CHECK(healthy.status == 0);
  CHECK(contains(healthy.out, "ECE (10 bins)"));
  CHECK_FALSE(contains(healthy.out, "warning"));
}

TEST_CASE("actlab diagnose --json prints one document, --out writes a self-contained report", "[cli][diagnose]") {
  TempDir dir;
  const Result r = actlab("diagnose " + kConfigs + "/diagnose_overconfident.json --steps 100 --json --out " +
                          dir.path.string());
  INFO(r.err);
  REQUIRE(r.status == 0);
  const nlohmann::json d = nlohmann::json::parse(r.out);
  for (const char* field : {"task", "model", "kind", "steps", "test_loss", "test_accuracy", "layers",
                            "grad_norms", "grad_ratio", "output_std", "calibration", "findings",
                            "source", "report"}) {
    INFO(field);
    CHECK(d.contains(field));
  }
  CHECK(d["steps"] == 100);
  CHECK(d["layers"][0]["name"] == "layer 1");
  CHECK(d["layers"][0].contains("grad_norm"));
  CHECK(d["calibration"]["after"]["temperature"].get<double>() > 1.5);
  CHECK(d["calibration"]["before"]["bins"].size() == 10);
  CHECK(d["findings"][0]["layer"] == "output");
  CHECK(d["findings"][0]["advice"].size() == 4);
  CHECK(d["report"] == (dir.path / "report.html").string());

  const std::string page = slurp(dir.path / "report.html");
  html_check::require_self_contained(page);
  const html_check::Parsed parsed = html_check::parse_ok(page);
  const auto titles = parsed.texts("figcaption");
  CHECK(std::find(titles.begin(), titles.end(), "Reliability diagram") != titles.end());
}

TEST_CASE("actlab diagnose reads a run directory written by actlab train", "[cli][diagnose]") {
  TempDir dir;
  REQUIRE(actlab("train " + kConfigs + "/diagnose_healthy.json --set train.epochs=2 --out " +
                 dir.path.string())
              .status == 0);
  const Result r = actlab("diagnose " + dir.path.string() + " --json");
  INFO(r.err);
  REQUIRE(r.status == 0);
  const nlohmann::json d = nlohmann::json::parse(r.out);
  CHECK(d["steps"] == 16);
  CHECK(d["source"] == dir.path.string());
}

TEST_CASE("actlab diagnose exits 2 for a bad config, a missing path or a damaged checkpoint", "[cli][diagnose][errors]") {
  const Result missing = actlab("diagnose /no/such/config.json");
  CHECK(missing.status == 2);
  CHECK(missing.err == "config error: cannot read config file /no/such/config.json: No such file or directory\n");

  const Result bad = actlab("diagnose " + kConfigs + "/diagnose_healthy.json --steps 0");
  CHECK(bad.status == 2);

  TempDir dir;
  fs::create_directories(dir.path);
  const Result empty = actlab("diagnose " + dir.path.string());
  CHECK(empty.status == 2);
  CHECK(empty.err == "actlab diagnose: " + dir.path.string() +
                         ": missing config.json (not a run directory written by actlab train?)\n");

  REQUIRE(actlab("train " + kConfigs + "/diagnose_healthy.json --set train.epochs=1 --out " +
                 dir.path.string())
              .status == 0);
  std::ofstream(dir.path / "checkpoint.bin") << "not a checkpoint";
  const Result damaged = actlab("diagnose " + dir.path.string());
  CHECK(damaged.status == 2);
  CHECK(damaged.err == "actlab: checkpoint " + (dir.path / "checkpoint.bin").string() +
                           ": not an actlab checkpoint (no ACTLABCK header, or truncated to 16 "
                           "bytes)\n");
  CHECK(damaged.out.empty());

  // The checkpoint of a moons run under an xor config, as --resume refuses it.
  REQUIRE(actlab("train " + kConfigs + "/moons_mlp_gelu.json --set train.epochs=1 --out " +
                 (dir.path / "moons").string())
              .status == 0);
  const nlohmann::json xor_config = nlohmann::json::parse(slurp(dir.path / "config.json"));
  std::ofstream(dir.path / "moons" / "config.json") << xor_config.dump(2);
  const Result mismatched = actlab("diagnose " + (dir.path / "moons").string());
  CHECK(mismatched.status == 2);
  CHECK(mismatched.err.starts_with("actlab: checkpoint " +
                                   (dir.path / "moons" / "checkpoint.bin").string() +
                                   ": saved with a different config than config.json: "));
  CHECK(mismatched.err.ends_with("; put the config back to resume\n"));
  CHECK(mismatched.out.empty());

  std::ofstream(dir.path / "config.json") << R"({"task": "xor", "model": {"activation": "relu6"}})";
  const Result bad_config = actlab("diagnose " + dir.path.string());
  CHECK(bad_config.status == 2);
  CHECK(bad_config.err.starts_with("config error at /model/activation: unknown activation \"relu6\""));
}
