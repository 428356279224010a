// `actlab train CONFIG`: checks the config, trains with a progress bar on a terminal, writes the
// run directory and prints the final metrics (as JSON with --json). `--stop-after N` stops at
// the evaluation of step N; `--resume RUN_DIR` continues a run from its checkpoint. The run
// directory is locked while it is written, and --out never replaces what it does not own. A run
// whose memory estimate is over --max-memory (or the memory available) is refused before its
// model, data or directory are made.
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <optional>

#include "actlab/io/run.hpp"
#include "actlab/train/config.hpp"
#include "actlab/train/memory_estimate.hpp"
#include "cli/commands.hpp"
#include "cli/memory_option.hpp"

namespace actlab::cli {
namespace {

// One line redrawn in place on stderr:
// [=====>    ] step 120/3200 loss 0.4123 | 812 steps/s ETA 4s | est 12.3 MiB
class ProgressBar {
 public:
  // The memory estimate shown at the end of the line.
  void set_estimate(int64_t bytes) { estimate_ = format_bytes(bytes); }

  void update(int64_t step, int64_t total, double loss, const std::string& accuracy) {
    const auto now = std::chrono::steady_clock::now();
    if (step != total && now - last_draw_ < std::chrono::milliseconds(100)) return;
    last_draw_ = now;
    if (first_step_ == 0) first_step_ = step;  // a resumed run starts past step 1
    const double elapsed = std::chrono::duration<double>(now - start_).count();
    const double rate = elapsed > 0 ? static_cast<double>(step - first_step_ + 1) / elapsed : 0;
    const double eta = rate > 0 ? static_cast<double>(total - step) / rate : 0;
    constexpr int kWidth = 24;
    const int filled = static_cast<int>(kWidth * step / std::max<int64_t>(total, 1));
    std::string bar(static_cast<size_t>(filled), '=');
    if (filled < kWidth) bar += '>' + std::string(static_cast<size_t>(kWidth - filled - 1), ' ');
    fmt::print(stderr, "\r[{}] step {}/{} loss {:.4f}{} | {:.0f} steps/s ETA {:.0f}s | est {}\033[K",
               bar, step, total, loss, accuracy, rate, eta, estimate_);
    if (step == total) fmt::print(stderr, "\n");
  }

 private:
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point last_draw_{};
  int64_t first_step_ = 0;
  std::string estimate_;
};

std::string percent(const std::optional<double>& v) {
  return v ? fmt::format("{:.1f}%", 100 * *v) : "-";
}

void print_summary(const RunSummary& s) {
  const TrainResult& r = s.result;
  if (!r.history.empty()) {
    const EvalRecord& last = r.history.back();
    fmt::print("steps {}  train loss {:.4g}  test loss {:.4g}  train acc {}  test acc {}  "
               "({:.0f} steps/s, {} parameters)\n",
               r.steps, last.train_loss, last.test_loss, percent(last.train_accuracy),
               percent(last.test_accuracy), last.steps_per_second, r.parameter_count);
  }
  if (r.steps_to_target) fmt::print("reached the target at step {}\n", *r.steps_to_target);
  fmt::print("run directory: {} (report.html, metrics.csv, checkpoint.bin)\n", s.dir);
}

class Train final : public Command {
 public:
  CLI::App* add(CLI::App& app) override {
    CLI::App* train = app.add_subcommand("train", "train a model from a JSON config");
    train->add_option("config", config_path_, "the config file (see configs/schema.json)");
    train->add_option("--out", out_,
                      "the run directory (default runs/<config>-<time>); one that holds this "
                      "very run continues it, one that holds anything else is refused");
    train->add_flag("--force", force_,
                    "with --out at a directory that holds something else: replace actlab's run "
                    "files in it, and nothing else");
    train->add_option("--set", sets_,
                      "override a field by its dotted path, e.g. --set model.activation=gelu")
        ->expected(1)
        ->allow_extra_args(false)
        ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
    train->add_option("--resume", resume_dir_,
                      "continue the run in RUN_DIR from its checkpoint (its config.json is the "
                      "config)")
        ->type_name("RUN_DIR");
    train->add_option("--stop-after", stop_after_,
                      "stop after the evaluation at step N, saved so --resume continues it")
        ->type_name("N");
    train->add_flag("--json", json_, "print the final metrics as one JSON document");
    train->add_flag("--detect-anomaly", detect_anomaly_,
                    "check every op for NaN/Inf and name the first op, module and step that "
                    "made one (slower); the same as --set train.detect_anomaly=true");
    memory_.add(*train);
    return train;
  }

  int run() override {
    check_arguments();
    if (!resume_dir_.empty()) return resume();
    if (detect_anomaly_) sets_.push_back("train.detect_anomaly=true");
    Config config = load_config(config_path_, sets_);
    check_memory_of(config);
    Trainer trainer(std::move(config));
    check_stop_after(trainer, 0);
    const std::string dir = out_.empty() ? default_run_dir(config_path_) : out_;
    const ClaimedRunDir claimed =
        for_flag("--out", [&] { return claim_run_dir(dir, trainer.config(), force_); });
    if (claimed.holds_this_run) {
      fmt::print(stderr, "actlab train: {} holds this run; continuing it from its checkpoint\n",
                 dir);
      return continue_run(dir, "--out");
    }
    return finish(train_run(trainer, dir, callbacks()));
  }

 private:
  void check_arguments() const {
    if (resume_dir_.empty() && config_path_.empty())
      throw UsageError("train: expected a CONFIG file, or --resume RUN_DIR");
    if (resume_dir_.empty()) return;
    if (!config_path_.empty())
      throw UsageError(fmt::format("--resume: a resumed run keeps the config in {}/config.json; "
                                   "drop the CONFIG argument ({})",
                                   resume_dir_, config_path_));
    if (!sets_.empty()) throw UsageError("--set: a resumed run's config cannot change");
    if (!out_.empty()) throw UsageError("--out: a resumed run stays in its RUN_DIR");
    if (force_) throw UsageError("--force: a resumed run replaces nothing");
  }

  // Estimates the run's memory and refuses it when over the limit, before anything is built.
  void check_memory_of(const Config& config) {
    estimate_ = estimate_memory(config);
    memory_.check(estimate_, "train");
    bar_.set_estimate(estimate_.total());
  }

  // A stop must come after `done` steps, at an evaluation, where the run saves its state.
  void check_stop_after(const Trainer& trainer, int64_t done) const {
    if (!stop_after_) return;
    const int64_t total = trainer.total_steps();
    if (!trainer.is_evaluation_step(*stop_after_))
      throw UsageError(fmt::format("--stop-after: expected an evaluation step in [1, {}] (a "
                                   "multiple of train.eval_every = {}, or the last, {}), found {}",
                                   total, trainer.config().train.eval_every, total,
                                   *stop_after_));
    if (*stop_after_ <= done)
      throw UsageError(fmt::format("--stop-after: the run is already at step {}, found {}", done,
                                   *stop_after_));
  }

  int resume() {
    const DirLock lock = for_flag("--resume", [&] {
      check_run_dir(resume_dir_);
      return DirLock(resume_dir_);
    });
    check_memory_of(for_flag("--resume", [&] { return run_config(resume_dir_); }));
    return continue_run(resume_dir_, "--resume");
  }

  // Continues the run in `dir`, which the caller holds locked, from its checkpoint; a finished
  // run gets back the files it lost.
  int continue_run(const std::string& dir, const char* flag) {
    SavedRun saved = for_flag(flag, [&] { return open_run(dir); });
    if (saved.progress.finished) {
      const RunSummary summary = resume_run(saved);
      fmt::print(stderr, "actlab train: the run in {} already finished at step {}; {}\n", dir,
                 saved.progress.step,
                 summary.rewritten.empty()
                     ? "nothing to resume"
                     : fmt::format("rewrote {} from its checkpoint",
                                   fmt::join(summary.rewritten, ", ")));
      return finish(summary);
    }
    check_stop_after(*saved.trainer, saved.progress.step);
    // A resumed run's config cannot change, so --detect-anomaly goes to its trainer: resuming
    // a diverged run with it names the op that diverged.
    if (detect_anomaly_) saved.trainer->set_detect_anomaly(true);
    return finish(resume_run(saved, callbacks()));
  }

  TrainCallbacks callbacks() {
    TrainCallbacks callbacks;
    if (stop_after_) callbacks.should_stop = [n = *stop_after_](int64_t step) { return step == n; };
    if (json_ || !::isatty(STDERR_FILENO)) return callbacks;
    callbacks.on_step = [this](int64_t step, int64_t total, double loss) {
      bar_.update(step, total, loss, accuracy_);
    };
    callbacks.on_eval = [this](const EvalRecord& r) {
      accuracy_ = r.test_accuracy ? fmt::format(" test acc {:.1f}%", 100 * *r.test_accuracy) : "";
    };
    return callbacks;
  }

  // Prints the outcome; returns the exit status.
  int finish(const RunSummary& summary) const {
    if (json_) {
      nlohmann::json metrics = summary.metrics;
      metrics["memory_estimate_bytes"] = estimate_.total();
      metrics["memory_estimate"] = estimate_.to_json();
      fmt::print("{}\n", metrics.dump(2));
    } else {
      print_summary(summary);
    }
    if (summary.result.stopped && !json_)
      fmt::print("stopped after step {}; continue with: actlab train --resume {}\n",
                 summary.result.steps, summary.dir);
    if (!summary.result.diverged) return kDone;
    const bool saved =
        std::filesystem::exists(std::filesystem::path(summary.dir) / "checkpoint.bin");
    fmt::print(stderr, "actlab train: {}; {}\n", summary.result.failure,
               saved ? "the last good checkpoint is kept in " + summary.dir
                     : "no evaluation finished before it, so no checkpoint was saved");
    return kRunFailed;
  }

  std::string config_path_;
  std::string out_;
  std::vector<std::string> sets_;
  std::string resume_dir_;
  std::optional<int64_t> stop_after_;
  bool json_ = false;
  bool detect_anomaly_ = false;
  bool force_ = false;
  MemoryLimitOption memory_;
  MemoryEstimate estimate_;
  ProgressBar bar_;
  std::string accuracy_;
};

const CommandRegistration train_registration([] { return std::make_unique<Train>(); });

}  // namespace
}  // namespace actlab::cli
