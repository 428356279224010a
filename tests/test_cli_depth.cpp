// `actlab collapse` and `actlab vanishing` end to end: JSON with the claimed outcomes, tables
// and reports, and one clear line with exit 2 for every bad flag.
#include <catch2/catch.hpp>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "cli_runner.hpp"
#include "html_check.hpp"

using namespace cli_runner;

namespace {

// The report a command wrote into dir: well-formed and self-contained.
html_check::Parsed checked_report(const fs::path& dir) {
  const std::string page = slurp(dir / "report.html");
  const html_check::Parsed p = html_check::parse_ok(page);
  html_check::require_self_contained(page);
  return p;
}

// A bad flag: exit 2, nothing on stdout, exactly `message` as one line on stderr.
void check_usage_error(const std::string& args, const std::string& message) {
  INFO(args);
  const Result r = actlab(args);
  CHECK(r.status == 2);
  CHECK(r.out.empty());
  CHECK(r.err == "actlab: " + message + "\n");
}

}  // namespace

TEST_CASE("actlab collapse --json: round-off differences and the linear/ReLU gap",
          "[cli][collapse]") {
  const Result r = actlab("collapse --depth 8 --width 16 --json");
  INFO(r.err);
  REQUIRE(r.status == 0);
  CHECK(r.err.empty());
  const nlohmann::json j = nlohmann::json::parse(r.out);
  REQUIRE(j["depths"].size() == 3);
  CHECK(j["depths"][2]["depth"] == 8);
  for (const auto& d : j["depths"]) CHECK(d["relative"].get<double>() < 1e-4);
  REQUIRE(j["training"].size() == 4);
  for (const auto& t : j["training"]) {
    INFO(t.dump());
    if (t["activation"] == "identity") CHECK(t["test_accuracy"].get<double>() <= 0.75);
    if (t["activation"] == "relu") CHECK(t["test_accuracy"].get<double>() >= 0.95);
  }
}

TEST_CASE("actlab collapse prints a table and writes its report", "[cli][collapse][report]") {
  TempDir dir;
  const Result r = actlab("collapse --depth 4 --width 8 --out " + dir.path.string());
  INFO(r.err);
  REQUIRE(r.status == 0);
  CHECK(html_check::contains(r.out, "max |deep - collapsed|"));
  CHECK(html_check::contains(r.out, "report: " + (dir.path / "report.html").string()));
  const html_check::Parsed p = checked_report(dir.path);
  CHECK(p.find("rect", "bar").size() == 4);
}

TEST_CASE("actlab vanishing --json: sigmoid vanishes and ReLU with He init flows",
          "[cli][vanishing]") {
  const Result r = actlab("vanishing --json");
  INFO(r.err);
  REQUIRE(r.status == 0);
  CHECK(r.err.empty());
  const nlohmann::json j = nlohmann::json::parse(r.out);
  CHECK(j["depth"] == 20);
  CHECK(j["width"] == 64);
  CHECK(j["seeds"] == 5);
  REQUIRE(j["nets"].size() == 4);
  for (const auto& net : j["nets"]) {
    INFO(net["activation"]);
    CHECK(net["layer_norms"].size() == 20);
    const double ratio = net["first_over_last"]["geomean"];
    if (net["activation"] == "sigmoid") {
      CHECK(ratio < 1e-6);
      CHECK(net["verdict"] == "vanishes");
    } else {
      CHECK(net["verdict"] == "flows");
    }
    if (net["activation"] == "relu") {
      CHECK(net["init"] == "kaiming_normal");
      CHECK(ratio > 0.05);
      CHECK(ratio < 20);
    }
  }
}

TEST_CASE("actlab vanishing compares inits, trains, and writes its report",
          "[cli][vanishing][report]") {
  TempDir dir;
  const Result r = actlab(
      "vanishing --depth 6 --width 16 --activations relu,tanh --init he,xavier "
      "--seeds 2 --train 10 --out " +
      dir.path.string());
  INFO(r.err);
  REQUIRE(r.status == 0);
  for (const char* row : {"relu       he ", "relu       xavier ", "tanh       he ",
                          "tanh       xavier ", "Trained 10 steps on circles", "report: "})
    CHECK(html_check::contains(r.out, row));
  const html_check::Parsed p = checked_report(dir.path);
  CHECK(p.find("path", "series").size() == 4 + 4);  // norms and loss curves of four nets
}

TEST_CASE("bad collapse and vanishing flags exit 2 with one line", "[cli][errors]") {
  check_usage_error("vanishing --activations relu,relu6",
                    "--activations: unknown activation \"relu6\"; known: identity, relu, "
                    "leaky_relu, prelu, elu, selu, celu, gelu, gelu_tanh, silu, swish, mish, "
                    "softplus, sigmoid, tanh, hardswish; did you mean \"relu\"?");
  check_usage_error("vanishing --depth 1", "--depth: expected an integer in [2, 64], found 1");
  check_usage_error("vanishing --width 1", "--width: expected an integer in [2, 4096], found 1");
  check_usage_error("vanishing --train -1",
                    "--train: expected an integer in [0, 100000], found -1");
  const Result init = actlab("vanishing --init xavior");
  CHECK(init.status == 2);
  CHECK(
      init.err.starts_with("actlab: --init: unknown init scheme \"xavior\"; known: xavier, he, "));
  CHECK(init.err.ends_with("did you mean \"xavier\"?\n"));
  CHECK(std::count(init.err.begin(), init.err.end(), '\n') == 1);
  check_usage_error("collapse --depth 1", "--depth: expected an integer in [2, 1024], found 1");
  check_usage_error("collapse --width 0", "--width: expected an integer in [1, 4096], found 0");
}
