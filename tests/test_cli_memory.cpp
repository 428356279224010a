// The memory estimate through `actlab` (issue 14), against real processes: a model far too
// large is refused, exit 2 and one line, before its peak RSS reaches 100 MiB, with no run
// directory made; the estimate of runs large enough that the binary's own RSS does not matter
// bounds their measured peak RSS growth, within a factor of 3, and compare's the cells it trains
// in turn; and --max-memory's bad values.
#include <catch2/catch.hpp>
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>

#include <fmt/format.h>

#include "actlab/actlab.hpp"
#include "cli_runner.hpp"

using namespace actlab;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

struct Measured {
  int status = -1;
  std::string out, err;
  int64_t peak_rss_bytes = 0;  // actlab's peak resident set
};

// Runs actlab with `args` through the launcher actlab_peak_rss, which measures its peak RSS
// (peak_rss.cpp says why this process cannot).
Measured run_measured(const std::vector<std::string>& args, const fs::path& scratch) {
  fs::create_directories(scratch);
  const std::string out = (scratch / "stdout").string(), err = (scratch / "stderr").string();
  const std::string rss = (scratch / "peak_rss").string();
  std::vector<std::string> all{ACTLAB_PEAK_RSS_PATH, rss, ACTLAB_CLI_PATH};
  all.insert(all.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& a : all) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  ::posix_spawn_file_actions_init(&actions);
  ::posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, out.c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0644);
  ::posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, err.c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0644);
  pid_t pid = 0;
  const int rc = ::posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  ::posix_spawn_file_actions_destroy(&actions);
  REQUIRE(rc == 0);
  int raw = 0;
  REQUIRE(::waitpid(pid, &raw, 0) == pid);
  std::ifstream peak(rss);
  Measured m{WIFEXITED(raw) ? WEXITSTATUS(raw) : -1, cli_runner::slurp(out),
             cli_runner::slurp(err), 0};
  REQUIRE(peak >> m.peak_rss_bytes);
  return m;
}

fs::path write_config(const fs::path& dir, const std::string& name, const json& doc) {
  fs::create_directories(dir);
  const fs::path path = dir / name;
  std::ofstream(path) << doc.dump(2);
  return path;
}

// The model: 64 layers 4096 wide, at batch 4096.
json huge_mlp() {
  return {{"task", {{"name", "blobs"}, {"dims", 16}, {"n_train", 4096}, {"n_test", 1024}}},
          {"model", {{"kind", "mlp"}, {"hidden", std::vector<int64_t>(64, 4096)}}},
          {"train", {{"batch_size", 4096}, {"epochs", 1}}}};
}

constexpr int64_t kMiB = int64_t{1} << 20;

// Under AddressSanitizer a process's RSS is mostly the sanitizer's (shadow memory, the
// quarantine of freed blocks, redzones), so peak RSS says nothing of actlab's own memory there:
// those comparisons run in the Release build only.
constexpr bool kRssMeaningful = !ACTLAB_SANITIZED;

}  // namespace

TEST_CASE("a model far too large exits 2 with its estimate and the limit before it allocates",
          "[cli][memory]") {
  cli_runner::TempDir scratch;
  const fs::path config = write_config(scratch.path, "huge.json", huge_mlp());
  const int64_t estimate = estimate_memory(load_config(config.string())).total();
  const fs::path out = scratch.path / "run";
  const Measured r = run_measured({"train", config.string(), "--out", out.string(),
                                   "--max-memory", "1G"},
                                  scratch.path / "io");
  CHECK(r.status == 2);
  CHECK(r.out.empty());
  CHECK(r.err == fmt::format("actlab: train: the run's memory estimate is {} ({} bytes), over "
                             "the limit of 1.00 GiB (1073741824 bytes, --max-memory)\n",
                             format_bytes(estimate), estimate));
  if (kRssMeaningful) CHECK(r.peak_rss_bytes < 100 * kMiB);
  CHECK_FALSE(fs::exists(out));
  // Its parameters alone are 64 * 4096^2 floats, 4 GiB: the estimate counts at least those,
  // their gradients and Adam's two moments.
  CHECK(estimate > 16 * (int64_t{64} << 24));

  // With no --max-memory, the limit is the memory available: refused the same way wherever
  // that is less than the estimate (everywhere but a machine with more than the estimate free).
  const std::optional<MemoryLimit> available = available_memory();
  REQUIRE(available);
  if (available->bytes < estimate) {
    const Measured unflagged = run_measured({"train", config.string(), "--out", out.string()},
                                            scratch.path / "io");
    CHECK(unflagged.status == 2);
    CHECK_THAT(unflagged.err,
               Catch::Matchers::StartsWith(fmt::format(
                   "actlab: train: the run's memory estimate is {} ({} bytes), over the limit of ",
                   format_bytes(estimate), estimate)));
    CHECK_THAT(unflagged.err, Catch::Matchers::EndsWith(fmt::format(
                                  " bytes, {})\n", available->source)));
    if (kRssMeaningful) CHECK(unflagged.peak_rss_bytes < 100 * kMiB);
    CHECK_FALSE(fs::exists(out));
  }

  // compare refuses the same way for its largest cell, and for --jobs cells at once.
  const json sweep{{"base", huge_mlp()}, {"grid", {{"train.seed", {1, 2}}}}};
  const fs::path sweep_path = write_config(scratch.path, "sweep.json", sweep);
  const Measured compared =
      run_measured({"compare", sweep_path.string(), "--out", out.string(), "--jobs", "2",
                    "--max-memory", "1G"},
                   scratch.path / "io");
  const int64_t cell = estimate_memory(load_config(config.string()), false).total();
  CHECK(compared.status == 2);
  CHECK(compared.err == fmt::format("actlab: compare: the run's memory estimate is {} ({} bytes), "
                                    "over the limit of 1.00 GiB (1073741824 bytes, --max-memory)\n",
                                    format_bytes(2 * cell), 2 * cell));
  if (kRssMeaningful) CHECK(compared.peak_rss_bytes < 100 * kMiB);
  CHECK_FALSE(fs::exists(out));
}

TEST_CASE("the estimate bounds a run's measured peak RSS growth within a factor of 3",
          "[cli][memory][slow]") {
  if (!kRssMeaningful) {
    WARN("skipped: peak RSS under AddressSanitizer is the sanitizer's");
    return;
  }
  cli_runner::TempDir scratch;
  // Each run stops after its first step and the evaluation and checkpoint that follow it
  // (eval_every 1): the step, the evaluation over both splits and the checkpoint are all in
  // its peak. On one thread: OpenBLAS's work buffers, a few MiB a thread that depend on the
  // CPU's kernel, are the process's and not the estimate's (README), and with one thread they
  // are the same in the tiny run that measures the process's own.
  const auto run_of = [&](const std::string& name, json model, json task, int64_t batch) {
    const json doc{{"task", std::move(task)},
                   {"model", std::move(model)},
                   {"train", {{"batch_size", batch}, {"epochs", 2}, {"eval_every", 1}}}};
    const fs::path config = write_config(scratch.path, name + ".json", doc);
    const Measured r =
        run_measured({"--threads", "1", "train", config.string(), "--out",
                      (scratch.path / name).string(),
                      "--stop-after", "1", "--json", "--max-memory", "4G"},
                     scratch.path / "io");
    INFO(name << ": " << r.err);
    REQUIRE(r.status == 0);
    const json summary = json::parse(r.out);
    CHECK(summary["memory_estimate_bytes"] == summary["memory_estimate"]["total"]);
    return std::pair(r.peak_rss_bytes, summary["memory_estimate_bytes"].get<int64_t>());
  };
  const json small_task{{"name", "blobs"}, {"dims", 8}, {"n_train", 256}, {"n_test", 128}};
  // The binary, its libraries, OpenBLAS's buffers and a run of a tiny model: what every run
  // has before its own memory.
  const auto [baseline, tiny_estimate] =
      run_of("tiny", {{"kind", "mlp"}, {"hidden", {8}}}, small_task, 64);
  CHECK(tiny_estimate < kMiB);

  struct Case {
    std::string name;
    json model, task;
    int64_t batch;
  };
  const std::vector<Case> cases{
      // Parameters, gradients, Adam's moments and the checkpoint dominate.
      {"mlp", {{"kind", "mlp"}, {"hidden", {1536, 1536, 1536}}}, small_task, 64},
      {"ffn", {{"kind", "ffn"}, {"d_model", 512}, {"d_ff", 2048}, {"blocks", 4}}, small_task, 64},
      {"gated_ffn",
       {{"kind", "ffn"}, {"block", "gated"}, {"d_model", 512}, {"d_ff", 1536}, {"blocks", 4}},
       small_task, 64},
      {"sequential",
       {{"kind", "sequential"},
        {"layers",
         {{{"type", "linear"}, {"out", 1536}}, "gelu", "layer_norm",
          {{"type", "linear"}, {"out", 1536}}, "relu", {{"type", "dropout"}, {"p", 0.1}},
          {{"type", "residual"}, {"layers", {{{"type", "linear"}, {"out", 1536}}, "silu"}}}}}},
       small_task, 64},
      // Activations dominate: a batch of 2048 and splits of 4096 through 1024-wide layers.
      {"activations", {{"kind", "mlp"}, {"hidden", {1024, 1024, 1024, 1024}}},
       {{"name", "blobs"}, {"dims", 8}, {"n_train", 4096}, {"n_test", 4096}}, 2048},
  };
  for (const Case& c : cases) {
    const auto [peak, estimate] = run_of(c.name, c.model, c.task, c.batch);
    const int64_t growth = peak - baseline;
    INFO(c.name << ": peak RSS " << peak << ", baseline " << baseline << ", growth " << growth
                << ", estimate " << estimate);
    CHECK(growth > 50 * kMiB);  // large enough that the binary's own memory does not matter
    CHECK(estimate >= growth);
    CHECK(estimate <= 3 * growth);
  }
}

TEST_CASE("compare's estimate bounds its peak RSS growth over cells of other widths in turn",
          "[cli][memory][slow]") {
  if (!kRssMeaningful) {
    WARN("skipped: peak RSS under AddressSanitizer is the sanitizer's");
    return;
  }
  cli_runner::TempDir scratch;
  // Three cells of about 75 MiB of parameters, gradients and Adam's moments each, in widths
  // that one cell's freed buffers cannot serve the next's with: one job trains them in turn,
  // and holds no more than the largest at once.
  const json base{{"task", {{"name", "blobs"}, {"dims", 8}, {"n_train", 256}, {"n_test", 128}}},
                  {"model", {{"kind", "mlp"}, {"hidden", {1536, 1536, 1536}}}},
                  {"train", {{"batch_size", 64}, {"epochs", 1}, {"eval_every", 4}}}};
  const json widths = json::array({{1536, 1536, 1536}, {2048, 1100, 1900}, {1000, 2000, 1200}});
  const fs::path one = write_config(scratch.path, "one.json",
                                    {{"base", base}, {"grid", {{"model.hidden", {widths[0]}}}}});
  const fs::path three =
      write_config(scratch.path, "three.json", {{"base", base}, {"grid", {{"model.hidden", widths}}}});
  const auto peak_of = [&](const fs::path& sweep, const std::string& out) {
    const Measured r = run_measured({"--threads", "1", "compare", sweep.string(), "--out",
                                     (scratch.path / out).string(), "--jobs", "1", "--json"},
                                    scratch.path / "io");
    INFO(r.err);
    REQUIRE(r.status == 0);
    return r.peak_rss_bytes;
  };
  const int64_t peak_one = peak_of(one, "one"), peak_three = peak_of(three, "three");
  const int64_t estimate = estimate_sweep_memory(load_sweep(three.string()), 1).total();
  INFO("one cell " << peak_one << ", three cells " << peak_three << ", estimate " << estimate);
  CHECK(estimate == estimate_sweep_memory(load_sweep(one.string()), 1).total());
  // The largest cell comes first, so three cells in turn peak where the first does (a few
  // MiB of allocator slack aside), below the tiny process and the estimate together.
  CHECK(peak_three < peak_one + 8 * kMiB);
  CHECK(peak_three < estimate + 16 * kMiB);
}

TEST_CASE("bad --max-memory values exit 2 with one line and make nothing, and a fitting run "
          "says its estimate",
          "[cli][memory]") {
  cli_runner::TempDir scratch;
  const fs::path config = write_config(
      scratch.path, "xor.json",
      {{"task", {{"name", "xor"}, {"n_train", 64}, {"n_test", 32}}},
       {"model", {{"kind", "mlp"}, {"hidden", {8}}}},
       {"train", {{"batch_size", 16}, {"epochs", 1}}}});
  const std::string out = (scratch.path / "run").string();
  const std::string expected = "actlab: --max-memory: expected a size such as 512M, 2G or 1048576 "
                               "(bytes; K, M, G and T are powers of 1024), found ";
  for (const std::string bad : {"abc", "12Q", "-5", "2GB", "1e3"}) {
    INFO(bad);
    const cli_runner::Result r = cli_runner::actlab(
        fmt::format("train {} --out {} --max-memory '{}'", config.string(), out, bad));
    CHECK(r.status == 2);
    CHECK(r.err == expected + "\"" + bad + "\"\n");
    CHECK_FALSE(fs::exists(out));
  }
  const cli_runner::Result zero =
      cli_runner::actlab(fmt::format("train {} --out {} --max-memory 0", config.string(), out));
  CHECK(zero.status == 2);
  CHECK(zero.err == "actlab: --max-memory: expected a size from 1 byte to 4096 PiB, found \"0\"\n");
  const cli_runner::Result compared = cli_runner::actlab(fmt::format(
      "compare {} --out {} --max-memory 5X", (fs::path(ACTLAB_CONFIG_DIR) / "compare_default.json")
                                                 .string(),
      out));
  CHECK(compared.status == 2);
  CHECK(compared.err == expected + "\"5X\"\n");
  CHECK_FALSE(fs::exists(out));

  // A run that fits trains, and --json carries its estimate, part by part.
  const int64_t estimate = estimate_memory(load_config(config.string())).total();
  const cli_runner::Result fits = cli_runner::actlab(
      fmt::format("train {} --out {} --max-memory {} --json", config.string(), out, estimate));
  REQUIRE(fits.status == 0);
  const json summary = json::parse(fits.out);
  CHECK(summary["memory_estimate_bytes"] == estimate);
  CHECK(summary["memory_estimate"] == estimate_memory(load_config(config.string())).to_json());
  // One byte less is refused.
  fs::remove_all(out);
  const cli_runner::Result over = cli_runner::actlab(
      fmt::format("train {} --out {} --max-memory {}", config.string(), out, estimate - 1));
  CHECK(over.status == 2);
  CHECK(over.err == fmt::format("actlab: train: the run's memory estimate is {} ({} bytes), over "
                                "the limit of {} ({} bytes, --max-memory)\n",
                                format_bytes(estimate), estimate, format_bytes(estimate - 1),
                                estimate - 1));
  CHECK_FALSE(fs::exists(out));
}
