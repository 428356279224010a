// Run directories that no sequence of commands can corrupt: one writer at a time (a second
// exits 2 naming the holder's pid, a killed holder blocks nothing), --out never replaces
// another run or a user's files without --force, and a finished run that lost its metrics or
// report gets them back from its checkpoint.
#include <catch2/catch.hpp>
#include <signal.h>
#include <sys/wait.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "actlab/io/lock.hpp"
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

// 60 rows in batches of 8, 3 epochs: 24 steps, evaluated (and saved) every 4.
json tiny_config(int seed) {
  return {{"task", {{"name", "spirals"}, {"n_train", 60}, {"n_test", 40}, {"seed", 3}}},
          {"model", {{"hidden", {16, 16}}}},
          {"train", {{"epochs", 3}, {"batch_size", 8}, {"eval_every", 4}, {"seed", seed}}}};
}

// Writes a file into the scratch directory (`name` may hold folders); returns its path.
std::string write_file(const TempDir& dir, const std::string& name, const std::string& text) {
  const fs::path path = dir.path / name;
  fs::create_directories(path.parent_path());
  std::ofstream(path) << text;
  return path.string();
}

// Runs `actlab ARGS` and checks that it is refused with exactly `message` (one line), status 2,
// nothing on stdout and nothing under `watched` changed.
void check_refused(const std::string& args, const std::string& message, const fs::path& watched) {
  const auto before = contents(watched);
  const Result r = cli_runner::actlab(args);
  INFO(args);
  CHECK(r.status == 2);
  CHECK(r.err == message + "\n");
  CHECK(r.out.empty());
  CHECK(contents(watched) == before);
}

int exit_status(pid_t pid) {
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  REQUIRE(WIFEXITED(status));
  return WEXITSTATUS(status);
}

}  // namespace

TEST_CASE("a second writer of a locked run directory exits 2 naming the holder's pid",
          "[cli][run-dir]") {
  TempDir dir;
  const std::string config = write_file(dir, "a.json", tiny_config(5).dump());
  const std::string sweep = write_file(
      dir, "sweep.json", json{{"base", tiny_config(5)}, {"grid", {{"train.seed", {1}}}}}.dump());
  const std::string run = (dir.path / "run").string();
  // The holder stops itself halfway through writing its second checkpoint, lock held.
  const pid_t holder = spawn_actlab({"train", config, "--out", run},
                                    "ACTLAB_TEST_STOP_MID_WRITE=checkpoint.bin:2");
  int status = 0;
  REQUIRE(::waitpid(holder, &status, WUNTRACED) == holder);
  REQUIRE(WIFSTOPPED(status));

  const std::string in_use = run + ": in use by another actlab process (pid " +
                             std::to_string(holder) + "); wait for it to end, or write elsewhere";
  check_refused("train --resume " + run, "actlab: --resume: " + in_use, dir.path);
  check_refused("train " + config + " --out " + run, "actlab: --out: " + in_use, dir.path);
  check_refused("train " + config + " --out " + run + " --force", "actlab: --out: " + in_use,
                dir.path);
  check_refused("compare " + sweep + " --out " + run, "actlab: --out: " + in_use, dir.path);
  check_refused("diagnose " + config + " --steps 4 --out " + run, "actlab: --out: " + in_use,
                dir.path);
  check_refused("activations --out " + run + " --force", "actlab: --out: " + in_use, dir.path);
  check_refused("collapse --depth 2 --width 4 --out " + run, "actlab: --out: " + in_use, dir.path);

  // Killed, the holder's lock goes with it.
  ::kill(holder, SIGKILL);
  REQUIRE(::waitpid(holder, &status, 0) == holder);
  const Result resumed = cli_runner::actlab("train --resume " + run + " --json");
  INFO(resumed.err);
  REQUIRE(resumed.status == 0);
  CHECK(json::parse(resumed.out).at("steps") == 24);
}

TEST_CASE("two actlab train on one --out: exactly one runs, and its directory then resumes",
          "[cli][run-dir]") {
  TempDir dir;
  const std::string a = write_file(dir, "a.json", tiny_config(5).dump());
  const std::string b = write_file(dir, "b.json", tiny_config(6).dump());
  const std::string run = (dir.path / "run").string();
  const std::string err_a = (dir.path / "a.err").string(), err_b = (dir.path / "b.err").string();
  const pid_t pa = spawn_actlab({"train", a, "--out", run, "--stop-after", "12"}, "", err_a);
  const pid_t pb = spawn_actlab({"train", b, "--out", run, "--stop-after", "12"}, "", err_b);
  const int status_a = exit_status(pa), status_b = exit_status(pb);
  INFO(slurp(err_a) << slurp(err_b));
  // Whichever came second found the first running (in use) or done (a run of another config).
  REQUIRE(((status_a == 0 && status_b == 2) || (status_a == 2 && status_b == 0)));
  const bool a_won = status_a == 0;
  const std::string loser_err = slurp(a_won ? err_b : err_a);
  const bool in_use = loser_err.starts_with("actlab: --out: " + run + ": in use by another actlab process (pid " +
                                            std::to_string(a_won ? pa : pb) + ")");
  const bool refused = loser_err.starts_with("actlab: --out: " + run + ": holds a run of another config (/train/seed is ");
  CHECK((in_use || refused));
  CHECK(std::count(loser_err.begin(), loser_err.end(), '\n') == 1);

  const Result resumed = cli_runner::actlab("train --resume " + run + " --json");
  INFO(resumed.err);
  REQUIRE(resumed.status == 0);
  CHECK(json::parse(resumed.out).at("steps") == 24);
  CHECK(json::parse(slurp(fs::path(run) / "config.json")).at("train").at("seed") ==
        (a_won ? 5 : 6));
}

TEST_CASE("train --out never replaces another run or other files without --force", "[cli][run-dir]") {
  TempDir dir;
  const std::string a = write_file(dir, "a.json", tiny_config(5).dump());
  const std::string b = write_file(dir, "b.json", tiny_config(6).dump());
  const std::string run = (dir.path / "run").string();
  REQUIRE(cli_runner::actlab("train " + a + " --out " + run).status == 0);

  check_refused("train " + b + " --out " + run,
                "actlab: --out: " + run + ": holds a run of another config (/train/seed is 5 "
                "there but 6 here); choose another --out, or --force to replace actlab's files "
                "in it",
                dir.path);

  const std::string notes = write_file(dir, "notes/notes.txt", "mine");
  const std::string notes_dir = (dir.path / "notes").string();
  check_refused("train " + a + " --out " + notes_dir,
                "actlab: --out: " + notes_dir + ": not empty (it holds \"notes.txt\"); choose "
                "another --out, or --force to replace actlab's files in it",
                dir.path);

  SECTION("--force replaces actlab's files and nothing else") {
    std::ofstream(fs::path(run) / "notes.txt") << "mine";
    const Result forced = cli_runner::actlab("train " + b + " --out " + run + " --force --stop-after 8");
    INFO(forced.err);
    REQUIRE(forced.status == 0);
    CHECK(slurp(fs::path(run) / "notes.txt") == "mine");
    CHECK(json::parse(slurp(fs::path(run) / "config.json")).at("train").at("seed") == 6);
    // The checkpoint is the new run's, stopped at 8, not the old one's at 24.
    CHECK(actlab::read_tensor_file(run + "/checkpoint.bin").meta.at("step") == 8);
    const Result user_files = cli_runner::actlab("train " + a + " --out " + notes_dir + " --force");
    CHECK(user_files.status == 0);
    CHECK(slurp(notes) == "mine");
  }
  SECTION("the same command again continues its own run") {
    const std::string part = (dir.path / "part").string();
    REQUIRE(cli_runner::actlab("train " + a + " --out " + part + " --stop-after 12").status == 0);
    const Result again = cli_runner::actlab("train " + a + " --out " + part + " --json");
    INFO(again.err);
    REQUIRE(again.status == 0);
    CHECK(json::parse(again.out).at("steps") == 24);
    CHECK(again.err == "actlab train: " + part +
                           " holds this run; continuing it from its checkpoint\n");
    const Result finished = cli_runner::actlab("train " + a + " --out " + run);
    CHECK(finished.status == 0);
    CHECK(finished.err == "actlab train: " + run +
                              " holds this run; continuing it from its checkpoint\nactlab train: "
                              "the run in " + run + " already finished at step 24; nothing to "
                              "resume\n");
  }
  SECTION("compare and diagnose never write into a training run") {
    const std::string sweep = write_file(
        dir, "sweep.json", json{{"base", tiny_config(5)}, {"grid", {{"train.seed", {1}}}}}.dump());
    const std::string message = "actlab: --out: " + run + ": holds a training run, whose "
                                "report.html this would replace; choose another --out";
    check_refused("compare " + sweep + " --out " + run, message, dir.path);
    check_refused("compare " + sweep + " --out " + run + " --force", message, dir.path);
    check_refused("diagnose " + a + " --steps 4 --out " + run, message, dir.path);
    check_refused("diagnose " + run + " --out " + run + " --force", message, dir.path);
    // Nor do the other commands that write a report.
    check_refused("collapse --depth 2 --width 4 --out " + run, message, dir.path);
    check_refused("vanishing --depth 2 --width 4 --seeds 1 --out " + run + " --force", message,
                  dir.path);
    check_refused("activations --out " + run, message, dir.path);
    check_refused("softmax --logits 1,2 --out " + run, message, dir.path);
  }
}

TEST_CASE("a finished run that lost its metrics or report gets them back from its checkpoint",
          "[cli][run-dir][resume]") {
  TempDir dir;
  const std::string config = write_file(dir, "a.json", tiny_config(5).dump());
  const fs::path run = dir.path / "run";
  REQUIRE(cli_runner::actlab("train " + config + " --out " + run.string()).status == 0);
  const std::string csv = slurp(run / "metrics.csv"), jsonl = slurp(run / "metrics.jsonl");
  const std::string report = slurp(run / "report.html");

  fs::remove(run / "metrics.csv");
  std::ofstream(run / "report.html") << report.substr(0, report.size() / 2);  // cut short
  const Result repaired = cli_runner::actlab("train --resume " + run.string());
  INFO(repaired.err);
  REQUIRE(repaired.status == 0);
  CHECK(repaired.err == "actlab train: the run in " + run.string() +
                            " already finished at step 24; rewrote metrics.csv, report.html "
                            "from its checkpoint\n");
  CHECK(slurp(run / "metrics.csv") == csv);  // the same bytes, timings included
  CHECK(slurp(run / "metrics.jsonl") == jsonl);
  CHECK(slurp(run / "report.html").ends_with("</html>\n"));

  std::ofstream(run / "metrics.jsonl") << "{\"step\": 4}\n";  // damaged
  const Result again = cli_runner::actlab("train --resume " + run.string());
  CHECK(again.status == 0);
  CHECK(again.err == "actlab train: the run in " + run.string() +
                         " already finished at step 24; rewrote metrics.jsonl from its "
                         "checkpoint\n");
  CHECK(slurp(run / "metrics.jsonl") == jsonl);
}

TEST_CASE("the root directory is never an output directory", "[run-dir][errors]") {
  CHECK_THROWS_WITH(actlab::lock_output_dir("/"), "/: refusing to write into the root directory");
  CHECK_THROWS_WITH(actlab::lock_output_dir("/tmp/.."),
                    "/tmp/..: refusing to write into the root directory");
  CHECK_THROWS_WITH(actlab::lock_output_dir(""), "expected a directory, found an empty path");
}
