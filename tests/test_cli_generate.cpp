// `actlab generate` end to end: on a small decoder run, the --json fields, reproducibility,
// T = 0, --out's attention page, and the run report and diagnose of a decoder; the exact line
// and exit status 2 for a run that is not a decoder, a missing run and flag values out of
// range, and that nothing is written then.
#include <catch2/catch.hpp>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "cli_runner.hpp"
#include "html_check.hpp"

namespace fs = std::filesystem;
using namespace cli_runner;

namespace {

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

namespace {

// lm_tiny_gelu cut down to 1 block of kHeads heads and a few steps.
constexpr size_t kHeads = 4;
// (The config's corpus path is relative to the repository, where its README runs it.)
const std::string kSmall = "--set task.path=" + kConfigs +
                           "/../data/kjv_genesis_ruth.txt --set model.n_layers=1 "
                           "--set task.n_train=64 --set task.n_test=8 --set train.epochs=1";

// A decoder run small enough to train in a second: lm_tiny_gelu cut down.
struct DecoderRun {
  TempDir dir;
  fs::path run = dir.path / "run";
  DecoderRun() {
    const Result r = actlab("train " + kConfigs + "/lm_tiny_gelu.json " + kSmall + " --out " +
                            run.string());
    INFO(r.err);
    REQUIRE(r.status == 0);
  }
};

nlohmann::json generate_json(const fs::path& run, const std::string& args) {
  const Result r = actlab("generate " + run.string() + " --json " + args);
  INFO(r.err);
  REQUIRE(r.status == 0);
  CHECK(r.err.empty());
  return nlohmann::json::parse(r.out);
}

}  // namespace

TEST_CASE("actlab generate --json: the text, its ids, the settings and the numbers",
          "[cli][generate]") {
  DecoderRun d;
  const nlohmann::json g = generate_json(d.run, "--prompt \"And God\" --tokens 40 --seed 3");
  for (const char* field : {"run", "prompt", "prompt_ids", "text", "ids", "settings",
                            "mean_entropy", "distinct_share", "entropies", "seconds",
                            "tokens_per_second", "attention"}) {
    INFO(field);
    CHECK(g.contains(field));
  }
  CHECK(g["prompt"] == "And God");
  CHECK(g["prompt_ids"].size() == 7);  // one character a token
  CHECK(g["ids"].size() == 40);
  CHECK(g["entropies"].size() == 40);
  CHECK(g["settings"] == nlohmann::json{{"tokens", 40}, {"temperature", 1.0}, {"top_k", 0}, {"seed", 3}});
  double sum = 0;
  for (double h : g["entropies"]) sum += h;
  CHECK(g["mean_entropy"].get<double>() == Approx(sum / 40));
  CHECK(g["distinct_share"].get<double>() > 0);
  CHECK(g["distinct_share"].get<double>() <= 1);
  CHECK(g["attention"].is_null());
  CHECK(g["tokens_per_second"].is_number());
}

TEST_CASE("actlab generate is reproducible for a seed, and at T = 0 the same for any seed",
          "[cli][generate]") {
  DecoderRun d;
  const auto ids = [&](const std::string& args) {
    return generate_json(d.run, "--tokens 30 " + args)["ids"];
  };
  CHECK(ids("--seed 1") == ids("--seed 1"));
  CHECK(ids("--seed 1 --temperature 2") != ids("--seed 2 --temperature 2"));
  const nlohmann::json greedy = ids("--temperature 0 --seed 1");
  CHECK(ids("--temperature 0 --seed 2") == greedy);
  CHECK(ids("--top-k 1 --seed 5") == greedy);
  CHECK(generate_json(d.run, "--temperature 0")["mean_entropy"] == 0.0);
  // Without --prompt: a newline, which the corpus holds.
  CHECK(generate_json(d.run, "--tokens 1")["prompt"] == "\n");
}

TEST_CASE("actlab generate refuses a prompt character outside the vocabulary",
          "[cli][generate][errors]") {
  DecoderRun d;
  const Result r = actlab("generate " + d.run.string() + " --prompt \"Ab\u20ac\"");
  CHECK(r.status == 2);
  CHECK(r.out.empty());
  CHECK(r.err.starts_with("actlab: --prompt: character 3, \"\u20ac\", is not in the vocabulary of "));
  CHECK(r.err.ends_with(" tokens\n"));
  const Result empty = actlab("generate " + d.run.string() + " --prompt \"\"");
  CHECK(empty.status == 2);
  CHECK(empty.err == "actlab: --prompt: the prompt is empty: give at least one character\n");
}

TEST_CASE("actlab generate --out draws the prompt's attention, and the run report and diagnose "
          "show the heads",
          "[cli][generate][attention]") {
  DecoderRun d;
  const fs::path out = d.dir.path / "maps";
  const nlohmann::json g =
      generate_json(d.run, "--prompt \"In the beginning\" --tokens 5 --out " + out.string());
  CHECK(g["attention"] == (out / "attention.html").string());
  const std::string page = slurp(out / "attention.html");
  html_check::require_self_contained(page);
  const html_check::Parsed p = html_check::parse_ok(page);
  CHECK(p.find("g", "cells").size() == kHeads);  // one map a head, 1 block
  CHECK(html_check::contains(page, "Every row sums to 1: max |sum - 1| = "));

  const std::string report = slurp(d.run / "report.html");
  CHECK(html_check::contains(report, "Attention weights over the prompt"));
  CHECK(html_check::contains(report, "Attention per head (test split)"));

  const Result diag = actlab("diagnose " + d.run.string() + " --json");
  INFO(diag.err);
  REQUIRE(diag.status == 0);
  const nlohmann::json j = nlohmann::json::parse(diag.out);
  CHECK(j["attention"].size() == kHeads);
  CHECK(j["attention"][0]["rows"].get<int64_t>() > 0);
  CHECK_FALSE(j["layers"].empty());  // the FFN's activation site
}
