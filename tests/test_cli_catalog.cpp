// `actlab activations` and `actlab softmax` end to end: tables on stdout, one JSON document
// with --json, a well-formed self-contained report with --out, and bad flags refused with one
// line on stderr and exit status 2.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "cli_runner.hpp"
#include "html_check.hpp"

using namespace cli_runner;
using html_check::contains;

namespace {

const std::vector<std::string> kBuiltins = {
    "identity", "relu", "leaky_relu", "prelu",     "elu",      "selu",    "celu",     "gelu",
    "gelu_tanh", "silu", "mish",       "softplus", "sigmoid", "tanh",    "hardswish"};

// Whether some line of `text` starts with `start`.
bool has_line_starting(const std::string& text, const std::string& start) {
  return text.starts_with(start) || contains(text, "\n" + start);
}

}  // namespace

TEST_CASE("actlab activations prints the table of every activation", "[cli][catalog]") {
  const Result r = actlab("activations");
  INFO(r.err);
  REQUIRE(r.status == 0);
  CHECK(r.err.empty());
  CHECK(r.out.starts_with("15 activations on [-4, 4]"));
  CHECK(contains(r.out, "activation"));
  CHECK(contains(r.out, "monotonic  smooth  zero-centred  saturates"));
  for (const std::string& name : kBuiltins) {
    INFO(name);
    CHECK(has_line_starting(r.out, name + " "));
  }
  CHECK(has_line_starting(r.out, "silu (also swish)"));
  CHECK(contains(r.out, "max(0, x)"));
  CHECK(contains(r.out, "hidden layers of MLPs and CNNs"));
}

TEST_CASE("actlab activations --json prints one document with every curve",
          "[cli][catalog][json]") {
  const Result r = actlab("activations --json");
  REQUIRE(r.status == 0);
  const nlohmann::json doc = nlohmann::json::parse(r.out);  // nothing else on stdout
  std::vector<std::string> names;
  for (const nlohmann::json& a : doc["activations"]) {
    names.push_back(a["name"]);
    CHECK(a["y"].size() == 161);
    CHECK(a["dy"].size() == 161);
  }
  CHECK(names == kBuiltins);
  CHECK(doc["activations"][7]["df0"] == 0.5);  // gelu'(0)
}

TEST_CASE("actlab activations --out writes one chart per activation", "[cli][catalog][report]") {
  TempDir dir;
  const Result r = actlab("activations --out " + dir.path.string());
  REQUIRE(r.status == 0);
  CHECK(contains(r.out, "report: " + (dir.path / "report.html").string()));
  const std::string page = slurp(dir.path / "report.html");
  const html_check::Parsed parsed = html_check::parse_ok(page);
  html_check::require_self_contained(page);
  CHECK(parsed.find("figure", "chart").size() == kBuiltins.size());
  CHECK(parsed.texts("figcaption")[9] == "silu (also swish): x * sigmoid(x)");
  // Its page is there now: a second --out at the directory is refused, unless with --force.
  const Result again = actlab("activations --out " + dir.path.string());
  CHECK(again.status == 2);
  CHECK(again.out.empty());
  CHECK(again.err == "actlab: --out: " + dir.path.string() + ": not empty (it holds "
                     "\"report.html\"); choose another --out, or --force to replace actlab's "
                     "files in it\n");
  CHECK(actlab("activations --out " + dir.path.string() + " --force").status == 0);
}

TEST_CASE("actlab softmax prints the seed's temperature table", "[cli][softmax]") {
  const Result r = actlab("softmax");
  INFO(r.err);
  REQUIRE(r.status == 0);
  CHECK(r.out.starts_with("softmax(logits / T) for logits [2, 1, 0.1]\n"));
  CHECK(contains(r.out, "\n0.5  0.8638  0.1169  0.0193"));
  CHECK(contains(r.out, "\n1    0.6590  0.2424  0.0986"));
  CHECK(contains(r.out, "\n2    0.5017  0.3043  0.1940"));
  CHECK(contains(r.out, "T < 1 sharpens the distribution"));
  CHECK(contains(r.out, "from 0.8638 at T = 0.5 to 0.5017 at T = 2"));
}

TEST_CASE("actlab softmax --json and --out", "[cli][softmax][json][report]") {
  TempDir dir;
  const Result r =
      actlab("softmax --logits 1,2,3,4 --temperatures 0.25,4 --json --out " + dir.path.string());
  REQUIRE(r.status == 0);
  const nlohmann::json doc = nlohmann::json::parse(r.out);
  CHECK(doc["logits"] == nlohmann::json::array({1, 2, 3, 4}));
  REQUIRE(doc["rows"].size() == 2);
  CHECK(doc["rows"][0]["max_probability"].get<double>() >
        doc["rows"][1]["max_probability"].get<double>());
  const std::string page = slurp(dir.path / "report.html");
  html_check::parse_ok(page);
  html_check::require_self_contained(page);
}

TEST_CASE("actlab softmax refuses bad numbers with one line and exit 2", "[cli][softmax][errors]") {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"--logits 2,x", "actlab: --logits: expected numbers separated by commas, found \"x\"\n"},
      {"--logits ''", "actlab: --logits: expected numbers separated by commas, found \"\"\n"},
      {"--logits 2,,1", "actlab: --logits: expected numbers separated by commas, found \"\"\n"},
      {"--logits nan", "actlab: --logits: expected finite numbers, found nan\n"},
      {"--temperatures 0", "actlab: --temperatures: expected positive finite numbers, found 0\n"},
      {"--logits 1e39", "actlab: --logits: \"1e39\" is out of float32's range\n"},
      {"--temperatures 1,-2",
       "actlab: --temperatures: expected positive finite numbers, found -2 (value 2 of 2)\n"},
  };
  for (const auto& [flags, message] : cases) {
    INFO(flags);
    const Result r = actlab("softmax " + flags);
    CHECK(r.status == 2);
    CHECK(r.err == message);
    CHECK(r.out.empty());
  }
  CHECK(actlab("softmax --logits").status == 2);
  CHECK(actlab("activations --frobnicate").status == 2);
}
