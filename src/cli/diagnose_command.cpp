// `actlab diagnose CONFIG.json|RUN_DIR`: trains a config briefly (or loads a run directory's
// checkpoint), then prints the per-layer statistics, a decoder's attention heads, the
// classifier's calibration and the findings with their advice (as JSON with --json), and
// writes report.html with --out.
#include <fmt/format.h>

#include <filesystem>

#include "actlab/io/run.hpp"
#include "actlab/lab/diagnostics.hpp"
#include "actlab/report/attention_report.hpp"
#include "cli/commands.hpp"
#include "cli/output.hpp"

namespace actlab::cli {
namespace {

namespace fs = std::filesystem;

std::string percent(double fraction) { return fmt::format("{:.1f}%", 100 * fraction); }

void print_layers(const Diagnosis& d) {
  fmt::print("{:<9} {:<11} {:>10} {:>10} {:>7} {:>7} {:>10} {:>10}\n", "layer", "activation",
             "mean", "std", "zeros", "dead", "saturated", "grad norm");
  for (const LayerDiagnosis& l : d.layers) {
    const LayerStats& s = l.stats;
    fmt::print("{:<9} {:<11} {:>10.4g} {:>10.4g} {:>7} {:>7} {:>10} {:>10.3g}\n", s.name,
               s.activation, s.mean, s.std, percent(s.zero_fraction), percent(s.dead_fraction),
               percent(s.saturated_fraction), l.grad_norm);
  }
  if (d.grad_ratio)
    fmt::print("gradient norms first/last weight ({} / {}): {:.3g}\n", d.grad_norms.front().name,
               d.grad_norms.back().name, *d.grad_ratio);
  fmt::print("output std across test inputs: {:.4g} (mean |output| {:.4g})\n", d.output_std,
             d.output_scale);
}

void print_attention(const std::vector<HeadStats>& heads) {
  fmt::print("\n{:<14} {:>14} {:>14} {:>15} {:>15}\n", "attention", "entropy (nats)",
             "uniform (nats)", "mean max weight", "rows collapsed");
  for (const HeadStats& h : heads)
    fmt::print("{:<14} {:>14.3f} {:>14.3f} {:>15.3f} {:>15}\n", head_name(h.layer, h.head),
               h.mean_entropy, h.uniform_entropy, h.mean_max_weight, percent(h.collapsed_share));
}

void print_calibration(const Calibration& c) {
  const auto row = [&](const char* name, auto field, auto format) {
    fmt::print("  {:<30} {:>10} {:>10}\n", name, format(c.before.*field), format(c.after.*field));
  };
  const auto fixed = [](double v) { return fmt::format("{:.4f}", v); };
  fmt::print("\ncalibration (test split)         {:>10} {:>10}\n", "T = 1",
             fmt::format("T = {:.2f}", c.after.temperature));
  row("accuracy", &ConfidenceStats::accuracy, percent);
  row("mean max probability", &ConfidenceStats::mean_confidence, percent);
  row("mean entropy (nats)", &ConfidenceStats::mean_entropy, fixed);
  row("confident (> 90%) but wrong", &ConfidenceStats::confident_wrong_rate, percent);
  row("NLL", &ConfidenceStats::nll, fixed);
  row("ECE (10 bins)", &ConfidenceStats::ece, fixed);
}

void print_findings(const std::vector<Finding>& findings) {
  if (findings.empty()) {
    fmt::print("\nno findings: every number is within the thresholds of actlab/lab/diagnostics.hpp\n");
    return;
  }
  fmt::print("\nfindings:\n");
  for (const Finding& f : findings) {
    fmt::print("  {:<7}  {}\n", f.severity, f.message);
    for (const std::string& advice : f.advice) fmt::print("           -> {}\n", advice);
  }
}

void print_text(const std::string& source, const Diagnosis& d) {
  fmt::print("diagnose {}: {} ({}), {}, {} steps; test loss {:.4g}{}\n\n", source, d.task,
             data::to_string(d.kind), d.model, d.steps, d.test_loss,
             d.test_accuracy ? ", test accuracy " + percent(*d.test_accuracy) : "");
  print_layers(d);
  if (!d.attention.empty()) print_attention(d.attention);
  if (d.calibration) print_calibration(*d.calibration);
  print_findings(d.findings);
}

class Diagnose final : public Command {
 public:
  CLI::App* add(CLI::App& app) override {
    CLI::App* cmd =
        app.add_subcommand("diagnose",
                           "diagnose a config (trained briefly) or a run directory: dead units, "
                           "saturation, gradients, calibration, with advice");
    cmd->add_option("path", path_, "a config file, or a run directory written by actlab train")
        ->required()
        ->type_name("CONFIG|RUN_DIR");
    cmd->add_option("--steps", steps_, "training steps for a config (at most its own length)")
        ->check(CLI::Range(int64_t{1}, int64_t{1000000}));
    cmd->add_flag("--json", json_, "print the diagnosis as one JSON document");
    out_.add(*cmd);
    return cmd;
  }

  int run() override {
    // Locked from before the diagnosis until its report is written, once the input is checked.
    std::string report;
    const auto claim_out = [&] { report = out_.claim(); };
    Diagnosis d;
    try {
      std::error_code ec;
      if (fs::is_directory(path_, ec)) {
        SavedRun run = open_run(path_);
        claim_out();
        d = diagnose_model(*run.trainer, run.progress.step);
      } else {
        const Config config = load_config(path_);
        claim_out();
        d = diagnose_config(config, steps_);
      }
    } catch (const RunDirError& e) {
      fmt::print(stderr, "actlab diagnose: {}\n", e.what());
      return kUsageError;
    }
    if (!report.empty()) write_diagnosis_report(report, d);
    if (json_) {
      nlohmann::json doc = to_json(d);
      doc["source"] = path_;
      doc["report"] = report.empty() ? nlohmann::json(nullptr) : nlohmann::json(report);
      fmt::print("{}\n", doc.dump(2));
    } else {
      print_text(path_, d);
      if (!report.empty()) fmt::print("\nreport: {}\n", report);
    }
    return kDone;
  }

 private:
  std::string path_;
  int64_t steps_ = kDefaultDiagnoseSteps;
  bool json_ = false;
  ReportOut out_;
};

const CommandRegistration diagnose_registration([] { return std::make_unique<Diagnose>(); });

}  // namespace
}  // namespace actlab::cli
