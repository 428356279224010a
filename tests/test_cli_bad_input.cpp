// The README's bad-input table, row by row: what actlab says to each kind of bad input, its
// exit status, and that nothing is written. Each TEST_CASE is one row of the table.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include "cli_runner.hpp"

namespace fs = std::filesystem;
using namespace cli_runner;

namespace {

const std::string kConfigs = ACTLAB_CONFIG_DIR;
const std::string kXor = kConfigs + "/xor_mlp_relu.json";

// Runs `actlab train ARGS --out DIR` and checks that it is refused with exactly `message` on
// stderr (one line), status 2, nothing on stdout and no run directory.
void check_train_refused(const std::string& args, const std::string& message) {
  TempDir dir;
  const Result r = actlab("train " + args + " --out " + dir.path.string());
  CHECK(r.status == 2);
  CHECK(r.err == message + "\n");
  CHECK(r.out.empty());
  CHECK_FALSE(fs::exists(dir.path));
}

// A config file holding `text` (apart from TempDir's path, which the run uses), removed when
// dropped.
struct ConfigFile {
  fs::path path = fs::temp_directory_path() /
                  ("actlab_bad_input_" + std::to_string(::getpid()) + ".json");
  explicit ConfigFile(const std::string& text) { std::ofstream(path) << text; }
  ~ConfigFile() { fs::remove(path); }
};

}  // namespace

TEST_CASE("bad input: a config file that cannot be read", "[cli][errors][bad-input]") {
  check_train_refused("/no/such/config.json",
                      "config error: cannot read config file /no/such/config.json: No such file "
                      "or directory");
  check_train_refused(kConfigs, "config error: cannot read config file " + kConfigs +
                                    ": it is a directory");
  const Result sweep = actlab("compare /no/such/sweep.json");
  CHECK(sweep.status == 2);
  CHECK(sweep.err ==
        "config error: cannot read sweep file /no/such/sweep.json: No such file or directory\n");
}

TEST_CASE("bad input: invalid JSON is located by line and column", "[cli][errors][bad-input]") {
  const ConfigFile file("{\n  \"task\": \"xor\",\n  \"model\": {\"hidden\": [8,, 8]}\n}\n");
  check_train_refused(file.path.string(),
                      "config error: " + file.path.string() +
                          ": invalid JSON at line 3, column 26: syntax error while parsing value "
                          "- unexpected ','; expected '[', '{', or a literal");
}

TEST_CASE("bad input: a field of the wrong type", "[cli][errors][bad-input]") {
  check_train_refused(kXor + " --set optimizer.lr=\\\"fast\\\"",
                      "config error at /optimizer/lr: expected a number in (0, 1000000], found "
                      "\"fast\"");
  check_train_refused(kXor + " --set model.hidden=64",
                      "config error at /model/hidden: expected a list of at most 64 layer "
                      "widths, found 64");
}

TEST_CASE("bad input: an unknown activation gets a suggestion", "[cli][errors][bad-input]") {
  TempDir dir;
  const Result r = actlab("train " + kXor + " --set model.activation=gelu_fast --out " +
                          dir.path.string());
  CHECK(r.status == 2);
  CHECK(r.err.starts_with("config error at /model/activation: unknown activation "
                          "\"gelu_fast\"; known: identity, relu, "));
  CHECK(r.err.ends_with("; did you mean \"gelu_tanh\"?\n"));
  CHECK_FALSE(fs::exists(dir.path));
}

TEST_CASE("bad input: shapes that do not fit", "[cli][errors][bad-input]") {
  check_train_refused(kXor + " --set model.hidden=[16,8] "
                             "--set 'model.activation={\"name\": \"prelu\", \"num_parameters\": 16}'",
                      "config error at /model/activation/num_parameters: expected 1 or the "
                      "width of every layer it follows (8), found 16");
}

TEST_CASE("bad input: zero or negative sizes", "[cli][errors][bad-input]") {
  check_train_refused(kXor + " --set model.hidden=[8,0]",
                      "config error at /model/hidden/1: expected an integer in [1, 4096], found 0");
  check_train_refused(kXor + " --set train.batch_size=-64",
                      "config error at /train/batch_size: expected an integer in [1, 1000000], "
                      "found -64");
  check_train_refused(kXor + " --set model.hidden=[5000]",
                      "config error at /model/hidden/0: expected an integer in [1, 4096], found "
                      "5000");
}

TEST_CASE("bad input: a learning rate that is NaN, infinite or not positive",
          "[cli][errors][bad-input]") {
  // JSON has no NaN or Infinity: in a file they are invalid JSON, through --set they are text.
  check_train_refused(kXor + " --set optimizer.lr=NaN",
                      "config error at /optimizer/lr: expected a number in (0, 1000000], found "
                      "\"NaN\"");
  check_train_refused(kXor + " --set optimizer.lr=1e999",
                      "config error at /optimizer/lr: expected a number in (0, 1000000], found "
                      "\"1e999\"");
  check_train_refused(kXor + " --set optimizer.lr=0",
                      "config error at /optimizer/lr: expected a number in (0, 1000000], found 0");
  const ConfigFile file(R"({"task": "xor", "optimizer": {"lr": NaN}})");
  check_train_refused(file.path.string(),
                      "config error: " + file.path.string() +
                          ": invalid JSON at line 1, column 37: syntax error while parsing value "
                          "- invalid literal; last read: '\"lr\": N'");
}
