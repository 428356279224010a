// The README's bad-input table, row by row: what actlab says to each kind of bad input, its
// exit status, and that nothing is written. Each TEST_CASE is one row of the table.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include "cli_runner.hpp"

namespace fs = std::filesystem;
using namespace cli_runner;

namespace {

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

TEST_CASE("bad input: a config file larger than 16 MiB, checked before it is read",
          "[cli][errors][bad-input]") {
  check_train_refused("/dev/zero",
                      "config error: cannot read config file /dev/zero: larger than 16 MiB, the "
                      "most it may hold");
  const ConfigFile file("");
  fs::resize_file(file.path, (std::uintmax_t{16} << 20) + 1);  // sparse: nothing is written
  check_train_refused(file.path.string(), "config error: cannot read config file " +
                                              file.path.string() +
                                              ": larger than 16 MiB, the most it may hold");
}

TEST_CASE("bad input: a string or key over 4096 bytes, quoted at most 80 bytes with its control "
          "characters escaped",
          "[cli][errors][bad-input]") {
  const std::string key(10 << 20, 'k');
  const ConfigFile long_key("{\"task\": \"xor\", \"" + key + "\": 1}");
  check_train_refused(long_key.path.string(),
                      "config error at /" + std::string(80, 'k') +
                          "...: expected a key of at most 4096 bytes, found one of 10485760 bytes");
  check_train_refused(kXor + " --set model.activation=" + std::string(5000, 'a'),
                      "config error at /model/activation: expected a string of at most 4096 "
                      "bytes, found one of 5000 bytes");
  const ConfigFile control("{\"task\": \"xor\", \"mod\\nel\\u001b[2J\": {}}");
  check_train_refused(control.path.string(),
                      "config error at /mod\\nel\\u001b[2J: unknown field \"mod\\nel\\u001b[2J\" "
                      "for the config; known: task, model, loss, optimizer, train, diagnostics");
}

TEST_CASE("bad input: a duplicate key", "[cli][errors][bad-input]") {
  const ConfigFile file(R"({"task": "xor", "optimizer": {"lr": 0.1, "lr": 0.2}})");
  check_train_refused(file.path.string(),
                      "config error at /optimizer/lr: duplicate key \"lr\" in " +
                          file.path.string() + " (an object names each key once)");
}

TEST_CASE("bad input: bytes after the JSON document", "[cli][errors][bad-input]") {
  const ConfigFile nul(std::string("{\"task\": \"xor\"}\n\0{\"task\": \"moons\"}", 34));
  check_train_refused(nul.path.string(),
                      "config error: " + nul.path.string() +
                          ": invalid JSON at line 2, column 1: a NUL byte (JSON text holds none; "
                          "are there bytes after the document?)");
  const ConfigFile second(R"({"task": "xor"} {"task": "moons"})");
  check_train_refused(second.path.string(),
                      "config error: " + second.path.string() +
                          ": invalid JSON at line 1, column 17: syntax error while parsing value "
                          "- unexpected '{'; expected end of input");
}

TEST_CASE("bad input: a number beyond float32 where the field is float32",
          "[cli][errors][bad-input]") {
  const ConfigFile overflow(R"({"task": "xor", "optimizer": {"lr": 1e309}})");
  check_train_refused(overflow.path.string(), "config error at /optimizer/lr: the number 1e309 in " +
                                                  overflow.path.string() + " overflows a double");
  check_train_refused(kXor + " --set optimizer.lr=1e39",
                      "config error at /optimizer/lr: expected a number in (0, 1000000], found "
                      "1e+39");
  check_train_refused(kXor + " --set optimizer.lr=1e-46",
                      "config error at /optimizer/lr: expected a number in (0, 1000000], found "
                      "1e-46: it underflows to 0 in float32, this field's type");
  check_train_refused(kXor + " --set model.dropout=0.99999999999",
                      "config error at /model/dropout: expected a number in [0, 1), found "
                      "0.99999999999: it rounds to 1 in float32, this field's type");
}

TEST_CASE("bad input: a fraction where an integer is expected, refused alike in every field",
          "[cli][errors][bad-input]") {
  check_train_refused(kXor + " --set train.epochs=2.5",
                      "config error at /train/epochs: expected an integer in [1, 100000], found 2.5");
  check_train_refused(kXor + " --set model.hidden=[16.5]",
                      "config error at /model/hidden/0: expected an integer in [1, 4096], found 16.5");
}

TEST_CASE("bad input: label smoothing where the loss cannot use it", "[cli][errors][bad-input]") {
  check_train_refused(kXor + " --set loss.label_smoothing=0.1",
                      "config error at /loss/label_smoothing: expected 0 with bce_with_logits "
                      "(label smoothing is for cross_entropy only), found 0.1");
  check_train_refused(kConfigs + "/sine_mlp_tanh.json --set loss.label_smoothing=0.1",
                      "config error at /loss/label_smoothing: expected 0 with mse (label "
                      "smoothing is for cross_entropy only), found 0.1");
}

TEST_CASE("bad input: a usage error of the command line, on one line", "[cli][errors][bad-input]") {
  const Result range = actlab("--threads 0 schema");
  CHECK(range.status == 2);
  CHECK(range.err == "actlab: --threads: Value 0 not in range 1 to 1024 (see --help)\n");
  CHECK(range.out.empty());
  const Result unknown = actlab("train --nope");
  CHECK(unknown.status == 2);
  CHECK(unknown.err == "actlab: The following argument was not expected: --nope (see --help)\n");
}

TEST_CASE("bad input: an --out or --resume path that is not a usable directory",
          "[cli][errors][bad-input]") {
  TempDir dir;
  fs::create_directories(dir.path);
  const std::string file = (dir.path / "file").string();
  std::ofstream(file) << "x";
  const std::string loop = (dir.path / "loop").string();
  fs::create_symlink(loop, loop);
  const auto refused = [](const std::string& args, const std::string& message) {
    const Result r = actlab(args);
    INFO(args);
    CHECK(r.status == 2);
    CHECK(r.err == message + "\n");
    CHECK(r.out.empty());
  };
  refused("train " + kXor + " --out " + file,
          "actlab: --out: " + file + ": not a directory (it is a file)");
  refused("train " + kXor + " --out /dev/full",
          "actlab: --out: /dev/full: not a directory (it is a device)");
  refused("train " + kXor + " --out " + file + "/run",
          "actlab: --out: " + file + "/run: Not a directory");
  // A folder on the way that cannot be made; on a read-only filesystem this reads "cannot
  // create it: Read-only file system" (seen with a read-only tmpfs, which a test cannot mount).
  const std::string dangling = (dir.path / "dangling").string();
  fs::create_symlink(dir.path / "nowhere", dangling);
  refused("train " + kXor + " --out " + dangling + "/run",
          "actlab: --out: " + dangling + "/run: cannot create it: File exists");
  refused("train " + kXor + " --out " + loop,
          "actlab: --out: " + loop + ": Too many levels of symbolic links");
  refused("train --resume " + loop,
          "actlab: --resume: " + loop + ": not a run directory (Too many levels of symbolic links)");
  refused("train --resume " + file, "actlab: --resume: " + file + ": not a run directory (it is not a directory)");
  refused("diagnose " + kXor + " --out /", "actlab: --out: /: refusing to write into the root directory");
  CHECK(slurp(file) == "x");
}

namespace {

// A text task's file holding `bytes`, and a decoder config that trains on it.
struct TextTask {
  fs::path path = fs::temp_directory_path() /
                  ("actlab_bad_text_" + std::to_string(::getpid()) + ".txt");
  ConfigFile config;
  explicit TextTask(const std::string& bytes, int context = 8)
      : config(R"({"task": {"name": "text", "path": ")" + path.string() +
               R"(", "context": )" + std::to_string(context) +
               R"(}, "model": {"kind": "decoder", "d_model": 16, "n_heads": 2, "d_ff": 32}})") {
    std::ofstream(path, std::ios::binary) << bytes;
  }
  ~TextTask() { fs::remove(path); }
};

const std::string kEnglish =
    "In the beginning God created the heaven and the earth. And the earth was without form.\n";

}  // namespace

TEST_CASE("bad input: a text task's file that is missing, binary or not UTF-8",
          "[cli][errors][bad-input][sequence]") {
  {
    TextTask task(kEnglish);
    fs::remove(task.path);
    check_train_refused(task.config.path.string(),
                        "config error at /task/path: cannot read " + task.path.string() +
                            ": No such file or directory");
  }
  {
    const TextTask task(kEnglish + std::string("\0\x01\x02", 3));
    check_train_refused(task.config.path.string(),
                        "config error at /task/path: " + task.path.string() +
                            " is not text: a NUL byte at byte offset 87");
  }
  {
    const TextTask task("caf\xe9 au lait, " + kEnglish);  // Latin-1, not UTF-8
    check_train_refused(task.config.path.string(),
                        "config error at /task/path: " + task.path.string() +
                            " is not UTF-8 text: a missing continuation byte at byte offset 4 "
                            "(byte 0x20)");
  }
}

TEST_CASE("bad input: a text task's file over 64 MiB, checked before it is read",
          "[cli][errors][bad-input][sequence]") {
  const TextTask task("");
  fs::resize_file(task.path, (std::uintmax_t{64} << 20) + 1);  // sparse: nothing is written
  check_train_refused(task.config.path.string(),
                      "config error at /task/path: " + task.path.string() +
                          " holds 67108865 bytes, over the 64 MiB a text task reads");
}

TEST_CASE("bad input: a context longer than the text", "[cli][errors][bad-input][sequence]") {
  // 87 characters: the last round(8.7) = 9 are the test part, which a window of 9 and its next
  // character do not fit in.
  const TextTask task(kEnglish, 9);
  check_train_refused(task.config.path.string(),
                      "config error at /task/context: 9 characters need 10 of text (a window and "
                      "its next character), and the test part of " +
                          task.path.string() +
                          " holds 9 (test_fraction 0.1); use a shorter context or a longer text");
  check_train_refused(task.config.path.string() + " --set task.context=4096",
                      "config error at /task/context: 4096 characters need 4097 of text (a "
                      "window and its next character), and the training part of " +
                          task.path.string() +
                          " holds 78 (test_fraction 0.1); use a shorter context or a longer "
                          "text");
}

TEST_CASE("bad input: a decoder that does not fit its task", "[cli][errors][bad-input][sequence]") {
  const TextTask task(kEnglish);
  const std::string config = task.config.path.string();
  check_train_refused(config + " --set model.n_heads=3",
                      "config error at /model/n_heads: expected a divisor of d_model (16), "
                      "found 3");
  // 20 characters in the training part, and <unk> for the test part's newline.
  check_train_refused(config + " --set model.vocab=10",
                      "config error at /model/vocab: expected at least the task's vocabulary "
                      "(21), found 10");
  check_train_refused(config + " --set model.context=4",
                      "config error at /model/context: expected at least the task's sequence "
                      "length (8), found 4");
  check_train_refused(config + " --set task=moons",
                      "config error at /model/kind: a decoder model reads token sequences, and "
                      "task \"moons\" is not a sequence task; use one of: modadd, reverse, text");
}
