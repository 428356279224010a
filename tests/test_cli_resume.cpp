// `actlab train --stop-after N` and `--resume RUN_DIR` end to end: the resumed run writes what an
// uninterrupted run writes; a process killed (SIGKILL) in the middle of writing its checkpoint
// leaves the previous one intact and resumes to the same end; bad input exits 2 with one line
// and leaves the run directory as it was.
#include <catch2/catch.hpp>
#include <signal.h>
#include <sys/wait.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "actlab/io/serialize.hpp"
#include "cli_runner.hpp"

using cli_runner::Result;
using cli_runner::contents;
using cli_runner::slurp;
using cli_runner::spawn_actlab;
using cli_runner::TempDir;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// 60 rows in batches of 8, 3 epochs: 24 steps, evaluated (and saved) every 4; with dropout.
const json kConfig = {
    {"task", {{"name", "spirals"}, {"n_train", 60}, {"n_test", 40}, {"seed", 3}}},
    {"model", {{"hidden", {16, 16}}, {"dropout", 0.2}}},
    {"train", {{"epochs", 3}, {"batch_size", 8}, {"eval_every", 4}, {"seed", 5}}}};

// Writes the config into the scratch directory; returns its path.
std::string write_config(const TempDir& dir) {
  fs::create_directories(dir.path);
  const fs::path path = dir.path / "tiny.json";
  std::ofstream(path) << kConfig.dump();
  return path.string();
}

// metrics.csv without its last column (steps_per_second, a timing).
std::vector<std::string> untimed_csv(const fs::path& path) {
  std::vector<std::string> rows;
  std::istringstream in(slurp(path));
  for (std::string line; std::getline(in, line);) rows.push_back(line.substr(0, line.rfind(',')));
  return rows;
}

// The model's and the optimiser's tensors of two checkpoints are the same bits.
void check_same_tensors(const fs::path& expected_path, const fs::path& actual_path) {
  const actlab::TensorFile expected = actlab::read_tensor_file(expected_path.string());
  const actlab::TensorFile actual = actlab::read_tensor_file(actual_path.string());
  REQUIRE(expected.tensors.size() == actual.tensors.size());
  for (size_t i = 0; i < expected.tensors.size(); ++i) {
    const actlab::Tensor& a = expected.tensors[i].second;
    const actlab::Tensor& b = actual.tensors[i].second;
    INFO(expected.tensors[i].first);
    CHECK(expected.tensors[i].first == actual.tensors[i].first);
    REQUIRE(a.shape() == b.shape());
    CHECK(std::memcmp(a.data(), b.data(), static_cast<size_t>(a.numel()) * sizeof(float)) == 0);
  }
}

}  // namespace

TEST_CASE("actlab train --stop-after then --resume writes what an uninterrupted run writes",
          "[cli][resume]") {
  TempDir dir;
  const std::string config = write_config(dir);
  const fs::path full = dir.path / "full", part = dir.path / "part";
  REQUIRE(cli_runner::actlab("train " + config + " --out " + full.string()).status == 0);

  const Result stopped = cli_runner::actlab("train " + config + " --out " + part.string() + " --stop-after 12");
  INFO(stopped.err);
  REQUIRE(stopped.status == 0);
  CHECK_THAT(stopped.out, Catch::Matchers::EndsWith("stopped after step 12; continue with: actlab "
                                                    "train --resume " + part.string() + "\n"));
  CHECK(untimed_csv(part / "metrics.csv").size() == 4);  // the header and steps 4, 8, 12

  const Result resumed = cli_runner::actlab("train --resume " + part.string() + " --json");
  INFO(resumed.err);
  REQUIRE(resumed.status == 0);
  const json metrics = json::parse(resumed.out);
  CHECK(metrics.at("steps") == 24);
  CHECK_FALSE(metrics.contains("stopped"));
  CHECK(resumed.err.empty());

  check_same_tensors(full / "checkpoint.bin", part / "checkpoint.bin");
  CHECK(untimed_csv(part / "metrics.csv") == untimed_csv(full / "metrics.csv"));
  CHECK(untimed_csv(part / "metrics.csv").size() == 7);

  const Result again = cli_runner::actlab("train --resume " + part.string());
  CHECK(again.status == 0);
  CHECK(again.err == "actlab train: the run in " + part.string() +
                         " already finished at step 24; nothing to resume\n");
}

TEST_CASE("a run killed while writing its checkpoint resumes from the previous one",
          "[cli][resume]") {
  TempDir dir;
  const std::string config = write_config(dir);
  const fs::path full = dir.path / "full", killed = dir.path / "killed";
  REQUIRE(cli_runner::actlab("train " + config + " --out " + full.string()).status == 0);

  // The second checkpoint write (step 8) stops itself halfway through its temp file.
  const pid_t child = spawn_actlab({"train", config, "--out", killed.string()},
                                   "ACTLAB_TEST_STOP_MID_WRITE=checkpoint.bin:2");
  int status = 0;
  REQUIRE(::waitpid(child, &status, WUNTRACED) == child);
  REQUIRE(WIFSTOPPED(status));
  ::kill(child, SIGKILL);
  REQUIRE(::waitpid(child, &status, 0) == child);
  REQUIRE(WIFSIGNALED(status));

  const fs::path checkpoint = killed / "checkpoint.bin";
  // The killed write's temp file, named for the process that wrote it: the only one left.
  const std::string temp_prefix = "checkpoint.bin." + std::to_string(child) + "-";
  std::vector<fs::path> temps;
  for (const auto& entry : fs::directory_iterator(killed)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind(temp_prefix, 0) == 0 && name.size() > 4 && name.substr(name.size() - 4) == ".tmp")
      temps.push_back(entry.path());
  }
  REQUIRE(temps.size() == 1);
  const fs::path temp = temps.front();
  CHECK_THROWS_AS(actlab::read_tensor_file(temp.string()), actlab::Error);  // half written
  CHECK(actlab::read_tensor_file(checkpoint.string()).meta.at("step") == 4);
  CHECK_FALSE(fs::exists(killed / "metrics.csv"));
  // Its lock died with it: the file stays, naming the dead process, and blocks nothing.
  CHECK(slurp(killed / ".actlab.lock") == std::to_string(child) + "\n");

  const Result resumed = cli_runner::actlab("train --resume " + killed.string());
  INFO(resumed.err);
  REQUIRE(resumed.status == 0);
  CHECK_FALSE(fs::exists(temp));
  check_same_tensors(full / "checkpoint.bin", checkpoint);
  CHECK(untimed_csv(killed / "metrics.csv") == untimed_csv(full / "metrics.csv"));
}

TEST_CASE("bad --resume and --stop-after input exits 2 with one line and writes nothing",
          "[cli][resume][errors]") {
  TempDir dir;
  const std::string config = write_config(dir);
  const std::string run = (dir.path / "run").string();
  REQUIRE(cli_runner::actlab("train " + config + " --out " + run + " --stop-after 8").status == 0);
  const std::string checkpoint = run + "/checkpoint.bin";
  const auto expect_refused = [&](const std::string& args, const std::string& message) {
    const auto before = contents(dir.path);
    const Result r = cli_runner::actlab(args);
    INFO(args);
    CHECK(r.status == 2);
    CHECK(r.err == message + "\n");
    CHECK(r.out.empty());
    CHECK(contents(dir.path) == before);
  };

  SECTION("the command line") {
    expect_refused("train", "actlab: train: expected a CONFIG file, or --resume RUN_DIR");
    expect_refused("train " + config + " --resume " + run,
                   "actlab: --resume: a resumed run keeps the config in " + run +
                       "/config.json; drop the CONFIG argument (" + config + ")");
    expect_refused("train --resume " + run + " --set train.epochs=4",
                   "actlab: --set: a resumed run's config cannot change");
    expect_refused("train --resume " + run + " --out " + run + "2",
                   "actlab: --out: a resumed run stays in its RUN_DIR");
    expect_refused("train " + config + " --out " + run + "2 --stop-after 10",
                   "actlab: --stop-after: expected an evaluation step in [1, 24] (a multiple of "
                   "train.eval_every = 4, or the last, 24), found 10");
    expect_refused("train " + config + " --out " + run + "2 --stop-after 28",
                   "actlab: --stop-after: expected an evaluation step in [1, 24] (a multiple of "
                   "train.eval_every = 4, or the last, 24), found 28");
    expect_refused("train --resume " + run + " --stop-after 8",
                   "actlab: --stop-after: the run is already at step 8, found 8");
  }
  SECTION("a missing run directory") {
    expect_refused("train --resume " + run + "/nowhere",
                   "actlab: --resume: " + run + "/nowhere: not a run directory");
  }
  SECTION("a run directory without a checkpoint") {
    fs::remove(checkpoint);
    expect_refused("train --resume " + run,
                   "actlab: --resume: " + run +
                       ": missing checkpoint.bin (the run saved no checkpoint: it stopped before "
                       "its first evaluation)");
  }
  SECTION("a corrupted checkpoint") {
    std::string bytes = slurp(checkpoint);
    bytes[bytes.size() / 2] ^= 0x01;
    std::ofstream(checkpoint, std::ios::binary) << bytes;
    expect_refused("train --resume " + run,
                   "actlab: --resume: checkpoint " + checkpoint +
                       ": checksum mismatch: the file is truncated or corrupted");
  }
  SECTION("a config edited after the checkpoint") {
    json edited = json::parse(slurp(run + "/config.json"));
    edited["optimizer"]["lr"] = 0.01;
    std::ofstream(run + "/config.json") << edited.dump(2);
    expect_refused("train --resume " + run,
                   "actlab: --resume: checkpoint " + checkpoint +
                       ": saved with a different config than config.json: /optimizer/lr is 0.001 "
                       "in the checkpoint but 0.01 in config.json; put the config back to resume");
  }
  SECTION("a checkpoint whose step cannot be, under a valid checksum") {
    actlab::TensorFile file = actlab::read_tensor_file(checkpoint);
    file.meta["progress"]["step"] = -1;
    actlab::write_tensor_file(checkpoint, file);
    expect_refused("train --resume " + run,
                   "actlab: --resume: checkpoint " + checkpoint +
                       ": bad training progress: step -1 is outside the run's [0, 24]");
  }
  SECTION("a checkpoint whose batch order is not a permutation, under a valid checksum") {
    actlab::TensorFile file = actlab::read_tensor_file(checkpoint);
    json& order = file.meta["progress"]["batches"]["order"];
    order[0] = order[1];
    actlab::write_tensor_file(checkpoint, file);
    expect_refused("train --resume " + run,
                   "actlab: --resume: checkpoint " + checkpoint +
                       ": bad training progress: BatchIterator: the saved order is not a "
                       "permutation of the rows");
  }
  SECTION("a checkpoint saved without progress, as older versions did") {
    actlab::TensorFile file = actlab::read_tensor_file(checkpoint);
    file.meta.erase("progress");
    actlab::write_tensor_file(checkpoint, file);
    expect_refused("train --resume " + run,
                   "actlab: --resume: checkpoint " + checkpoint +
                       ": holds no training progress (an older actlab saved it), so the run "
                       "cannot be resumed");
  }
}
