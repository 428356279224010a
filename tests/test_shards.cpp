// Sweeps across machines: the cells of each shard, three shards merged into the files of a
// single run (timings aside), every bad merge refused by name, and --list / --shard / --merge
// through the command line.
#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <filesystem>
#include <fstream>

#include "actlab/actlab.hpp"
#include "actlab/lab/shards.hpp"
#include "cli_runner.hpp"

using namespace actlab;
using nlohmann::json;
namespace fs = std::filesystem;
using cli_runner::slurp;

namespace {

// 2 tasks x 2 activations x 2 seeds = 8 cells: shards of 3 hold 3, 3 and 2.
json small_sweep() {
  return {{"base", {{"task", {{"name", "xor"}, {"n_train", 64}, {"n_test", 32}}},
                    {"model", {{"hidden", {8}}}},
                    {"train", {{"epochs", 2}, {"batch_size", 16}, {"eval_every", 4}}}}},
          {"grid", {{"task.name", {"xor", "moons"}},
                    {"model.activation", {"relu", "tanh"}},
                    {"train.seed", {1, 2}}}}};
}

// The three files compare writes, as written for `result` with its timings zeroed.
std::map<std::string, std::string> outputs(const Sweep& sweep, CompareResult result,
                                           const fs::path& dir) {
  for (TrainResult& run : result.runs) {
    run.seconds = 0;
    for (EvalRecord& e : run.history) e.steps_per_second = 0;
  }
  write_compare_outputs(dir.string(), summarise_sweep(sweep, result.cells, result.runs));
  std::map<std::string, std::string> files;
  for (const char* name : {"summary.csv", "summary.json", "report.html"}) files[name] = slurp(dir / name);
  return files;
}

std::vector<std::string> shard_dirs(const cli_runner::TempDir& dir, int n) {
  std::vector<std::string> dirs;
  for (int k = 0; k < n; ++k) dirs.push_back((dir.path / fmt::format("shard-{}", k)).string());
  return dirs;
}

std::string merge_error(const std::vector<std::string>& dirs) {
  try {
    merge_shards(dirs);
  } catch (const InputError& e) {
    return e.what();
  }
  return "no error";
}

}  // namespace

TEST_CASE("shards: fixed, balanced, every cell once", "[shards]") {
  CHECK(shard_cells(8, {0, 3}) == std::vector<size_t>{0, 3, 6});
  CHECK(shard_cells(8, {1, 3}) == std::vector<size_t>{1, 4, 7});
  CHECK(shard_cells(8, {2, 3}) == std::vector<size_t>{2, 5});
  CHECK(shard_cells(2, {2, 3}).empty());
  const Shard s = parse_shard("2/3");
  CHECK((s.index == 2 && s.count == 3));
  for (const char* bad : {"3/3", "-1/3", "1", "a/3", "1/0", "1/3x", "/3", "0/10001"})
    CHECK_THROWS_WITH(parse_shard(bad),
                      fmt::format("--shard: expected K/N with 0 <= K < N <= 10000, found \"{}\"", bad));
}

TEST_CASE("shards: a sweep's hash follows its resolved cells", "[shards]") {
  const Sweep sweep = parse_sweep(small_sweep());
  CHECK(sweep_hash(sweep).size() == 16);
  CHECK(sweep_hash(parse_sweep(to_json(sweep))) == sweep_hash(sweep));
  json other = small_sweep();
  other["base"]["train"]["epochs"] = 3;
  CHECK(sweep_hash(parse_sweep(other)) != sweep_hash(sweep));
  // Defaults written out change nothing: the hash is of the resolved configs.
  json explicit_default = small_sweep();
  explicit_default["base"]["optimizer"] = {{"name", "adam"}};
  CHECK(sweep_hash(parse_sweep(explicit_default)) == sweep_hash(sweep));
}

TEST_CASE("shards: three shards merged give the single run's summary.csv, summary.json and "
          "report.html", "[shards]") {
  cli_runner::TempDir dir;
  const Sweep sweep = parse_sweep(small_sweep());
  const std::vector<std::string> dirs = shard_dirs(dir, 3);
  for (int k = 0; k < 3; ++k) run_shard(sweep, "small", {k, 3}, 2, dirs[static_cast<size_t>(k)]);
  const MergedSweep merged = merge_shards({dirs[2], dirs[0], dirs[1]});  // any order
  CHECK(merged.name == "small");
  const CompareResult single = run_compare(sweep, 1);
  REQUIRE(merged.result.runs.size() == 8);
  const auto expected = outputs(sweep, single, dir.path / "single");
  const auto actual = outputs(sweep, merged.result, dir.path / "merged");
  CHECK(actual.at("summary.csv") == expected.at("summary.csv"));
  CHECK(actual.at("summary.json") == expected.at("summary.json"));
  CHECK(actual.at("report.html") == expected.at("report.html"));
  // Timings are all that differ: the merged runs keep theirs.
  CHECK(merged.result.runs[0].history.back().steps_per_second > 0);
}

TEST_CASE("shards: each bad merge is refused, naming the shards", "[shards]") {
  cli_runner::TempDir dir;
  const Sweep sweep = parse_sweep(small_sweep());
  const std::vector<std::string> dirs = shard_dirs(dir, 3);
  for (int k = 0; k < 3; ++k) run_shard(sweep, "small", {k, 3}, 1, dirs[static_cast<size_t>(k)]);
  CHECK(merge_error({dirs[0], dirs[2]}) == "missing shard 1/3 (given: 0/3, 2/3)");
  CHECK(merge_error({dirs[1]}) == "missing shards 0/3, 2/3 (given: 1/3)");
  CHECK(merge_error({dirs[0], dirs[1], dirs[2], dirs[1]}) ==
        fmt::format("shard 1/3 is given twice: {} and {}", dirs[1], dirs[1]));
  const std::string halves = (dir.path / "halves").string();
  run_shard(sweep, "small", {0, 2}, 1, halves);
  CHECK(merge_error({dirs[0], halves}) ==
        fmt::format("{} splits the sweep into 2 shards, {} into 3", halves, dirs[0]));
  json other_doc = small_sweep();
  other_doc["base"]["train"]["epochs"] = 1;
  const Sweep other = parse_sweep(other_doc);
  const std::string foreign = (dir.path / "foreign").string();
  run_shard(other, "small", {1, 3}, 1, foreign);
  CHECK(merge_error({dirs[0], foreign, dirs[2]}) ==
        fmt::format("{} is a shard of another sweep (hash {}) than {} (hash {})", foreign,
                    sweep_hash(other), dirs[0], sweep_hash(sweep)));
  const std::string empty = (dir.path / "empty").string();
  fs::create_directories(empty);
  CHECK(merge_error({dirs[0], empty}) ==
        empty + ": missing shard.json (not a shard written by actlab compare --shard)");
  std::ofstream(fs::path(empty) / "shard.json") << "{\"version\": 1}";
  CHECK_THAT(merge_error({empty}), Catch::StartsWith(empty + "/shard.json: not a shard file: "));
}

TEST_CASE("shards: a merge refuses shards whose csv data has changed since", "[shards]") {
  cli_runner::TempDir dir;
  fs::create_directories(dir.path);
  const std::string data = (dir.path / "d.csv").string();
  std::string rows = "a,y\n";
  for (int i = 0; i < 20; ++i) rows += fmt::format("{},{}\n", i, i % 2 ? "odd" : "even");
  std::ofstream(data) << rows;
  json doc = small_sweep();
  doc["base"]["task"] = {{"name", "csv"}, {"path", data}, {"target", "y"}};
  doc["grid"].erase("task.name");
  const Sweep sweep = parse_sweep(doc);
  const std::string shard = (dir.path / "only").string();
  run_shard(sweep, "csv", {0, 1}, 1, shard);
  CHECK(merge_shards({shard}).result.runs.size() == 4);
  std::ofstream(data) << rows << "20,even\n";
  CHECK_THAT(merge_error({shard}),
             Catch::StartsWith("the sweep of " + shard + " resolves to hash ") &&
                 Catch::EndsWith(" as when the shards ran: a data file has changed since"));
}

TEST_CASE("shards through the command line: --list, --shard and --merge", "[shards][cli]") {
  cli_runner::TempDir dir;
  fs::create_directories(dir.path);
  const std::string sweep = (dir.path / "small.json").string();
  std::ofstream(sweep) << small_sweep().dump();
  const cli_runner::Result list = cli_runner::actlab("compare " + sweep + " --list");
  CHECK(list.status == 0);
  CHECK(list.out.substr(0, list.out.find('\n', list.out.find('\n') + 1) + 1) ==
        "0\tmodel.activation=relu\ttask.name=xor\ttrain.seed=1\n"
        "1\tmodel.activation=relu\ttask.name=xor\ttrain.seed=2\n");
  CHECK(std::count(list.out.begin(), list.out.end(), '\n') == 8);
  const std::vector<std::string> dirs = shard_dirs(dir, 2);
  for (int k = 0; k < 2; ++k)
    REQUIRE(cli_runner::actlab(fmt::format("compare {} --shard {}/2 --out {}", sweep, k,
                                           dirs[static_cast<size_t>(k)]))
                .status == 0);
  const std::string merged = (dir.path / "merged").string();
  const cli_runner::Result merge =
      cli_runner::actlab(fmt::format("compare --merge {} {} --out {}", dirs[0], dirs[1], merged));
  CHECK(merge.status == 0);
  CHECK(fs::is_regular_file(fs::path(merged) / "report.html"));
  const cli_runner::Result missing = cli_runner::actlab("compare --merge " + dirs[1]);
  CHECK(missing.status == 2);
  CHECK(missing.err == "actlab: missing shard 0/2 (given: 1/2)\n");
  const cli_runner::Result bad = cli_runner::actlab("compare " + sweep + " --shard 2/2");
  CHECK(bad.status == 2);
  CHECK(bad.err == "actlab: --shard: expected K/N with 0 <= K < N <= 10000, found \"2/2\"\n");
}
