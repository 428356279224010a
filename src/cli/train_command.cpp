// `actlab train CONFIG`: checks the config, trains with a progress bar on a terminal, writes the
// run directory and prints the final metrics (as JSON with --json).
#include <fmt/format.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>

#include "actlab/config.hpp"
#include "actlab/run.hpp"
#include "cli/commands.hpp"

namespace actlab::cli {
namespace {

// One line redrawn in place on stderr: [=====>    ] step 120/3200 loss 0.4123 | 812 steps/s ETA 4s
class ProgressBar {
 public:
  void update(int64_t step, int64_t total, double loss, const std::string& accuracy) {
    const auto now = std::chrono::steady_clock::now();
    if (step != total && now - last_draw_ < std::chrono::milliseconds(100)) return;
    last_draw_ = now;
    const double elapsed = std::chrono::duration<double>(now - start_).count();
    const double rate = elapsed > 0 ? static_cast<double>(step) / elapsed : 0;
    const double eta = rate > 0 ? static_cast<double>(total - step) / rate : 0;
    constexpr int kWidth = 24;
    const int filled = static_cast<int>(kWidth * step / std::max<int64_t>(total, 1));
    std::string bar(static_cast<size_t>(filled), '=');
    if (filled < kWidth) bar += '>' + std::string(static_cast<size_t>(kWidth - filled - 1), ' ');
    fmt::print(stderr, "\r[{}] step {}/{} loss {:.4f}{} | {:.0f} steps/s ETA {:.0f}s\033[K", bar,
               step, total, loss, accuracy, rate, eta);
    if (step == total) fmt::print(stderr, "\n");
  }

 private:
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point last_draw_{};
};

std::string percent(const std::optional<double>& v) {
  return v ? fmt::format("{:.1f}%", 100 * *v) : "-";
}

void print_summary(const RunSummary& s) {
  const TrainResult& r = s.result;
  if (!r.history.empty()) {
    const EvalRecord& last = r.history.back();
    fmt::print("steps {}  train loss {:.4g}  test loss {:.4g}  train acc {}  test acc {}  "
               "({:.0f} steps/s)\n",
               r.steps, last.train_loss, last.test_loss, percent(last.train_accuracy),
               percent(last.test_accuracy), last.steps_per_second);
  }
  if (r.steps_to_target) fmt::print("reached the target at step {}\n", *r.steps_to_target);
  fmt::print("run directory: {} (report.html, metrics.csv, checkpoint.bin)\n", s.dir);
}

class Train final : public Command {
 public:
  CLI::App* add(CLI::App& app) override {
    CLI::App* train = app.add_subcommand("train", "train a model from a JSON config");
    train->add_option("config", config_path_, "the config file (see configs/schema.json)")
        ->required();
    train->add_option("--out", out_, "the run directory (default runs/<config>-<time>)");
    train->add_option("--set", sets_,
                      "override a field by its dotted path, e.g. --set model.activation=gelu")
        ->expected(1)
        ->allow_extra_args(false)
        ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
    train->add_flag("--json", json_, "print the final metrics as one JSON document");
    train->add_flag("--detect-anomaly", detect_anomaly_,
                    "check every op for NaN/Inf and name the first op, module and step that "
                    "made one (slower); the same as --set train.detect_anomaly=true");
    return train;
  }

  int run() override {
    if (detect_anomaly_) sets_.push_back("train.detect_anomaly=true");
    const Config config = load_config(config_path_, sets_);
    const std::string dir = out_.empty() ? default_run_dir(config_path_) : out_;
    const bool show_progress = !json_ && ::isatty(STDERR_FILENO);
    ProgressBar bar;
    TrainCallbacks callbacks;
    std::string accuracy;
    if (show_progress) {
      callbacks.on_step = [&](int64_t step, int64_t total, double loss) {
        bar.update(step, total, loss, accuracy);
      };
      callbacks.on_eval = [&](const EvalRecord& r) {
        accuracy = r.test_accuracy ? fmt::format(" test acc {:.1f}%", 100 * *r.test_accuracy) : "";
      };
    }
    const RunSummary summary = train_run(config, dir, callbacks);
    if (json_)
      fmt::print("{}\n", summary.metrics.dump(2));
    else
      print_summary(summary);
    if (!summary.result.diverged) return kDone;
    const bool saved = std::filesystem::exists(std::filesystem::path(dir) / "checkpoint.bin");
    fmt::print(stderr, "actlab train: {}; {}\n", summary.result.failure,
               saved ? "the last good checkpoint is kept in " + dir
                     : "no evaluation finished before it, so no checkpoint was saved");
    return kRunFailed;
  }

 private:
  std::string config_path_;
  std::string out_;
  std::vector<std::string> sets_;
  bool json_ = false;
  bool detect_anomaly_ = false;
};

const CommandRegistration registration([] { return std::make_unique<Train>(); });

}  // namespace
}  // namespace actlab::cli
