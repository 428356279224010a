// `actlab vanishing`: per-layer gradient norms at initialisation across depth for chosen
// activations and inits, optionally the same nets trained; a table, JSON, or a report.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "actlab/lab/vanishing.hpp"
#include "cli/commands.hpp"
#include "cli/output.hpp"

namespace actlab::cli {
namespace {

// One character per layer, its height the norm on a log scale shared by every row, so that
// rows can be compared: "▁▁▂▃▅▇" is a gradient that shrinks towards the input.
class LogBars {
 public:
  explicit LogBars(const VanishingResult& r) {
    for (const VanishingNet& net : r.nets)
      for (const Spread& s : net.layer_norms)
        if (s.geomean > 0 && std::isfinite(s.geomean)) {
          lo_ = std::min(lo_, std::log10(s.geomean));
          hi_ = std::max(hi_, std::log10(s.geomean));
        }
  }

  std::string row(const VanishingNet& net) const {
    static const char* const kLevels[] = {"▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"};
    std::string out;
    for (const Spread& s : net.layer_norms) {
      if (!(s.geomean > 0) || !std::isfinite(s.geomean)) {
        out += ' ';
        continue;
      }
      const double t = hi_ > lo_ ? (std::log10(s.geomean) - lo_) / (hi_ - lo_) : 0.5;
      out += kLevels[static_cast<int>(std::lround(t * 7))];
    }
    return out;
  }

  std::string scale() const {
    return fmt::format("{:.1e} .. {:.1e}", std::pow(10.0, lo_), std::pow(10.0, hi_));
  }

 private:
  double lo_ = INFINITY, hi_ = -INFINITY;
};

void print_norms(const VanishingResult& r) {
  const VanishingOptions& o = r.options;
  const size_t middle = static_cast<size_t>(o.depth / 2);  // 0-based: layer depth/2 + 1
  fmt::print(
      "Gradient norms ||dL/dW_l|| at initialisation: {} layers of width {}, {} random "
      "inputs, cross-entropy on random labels; geometric mean over {} seeds\n",
      o.depth, o.width, o.batch, o.seeds);
  const LogBars bars(r);
  const std::string first = "layer 1", mid = fmt::format("layer {}", middle + 1),
                    last = fmt::format("layer {}", o.depth);
  fmt::print("{:<10} {:<15} {:>9} {:>9} {:>9} {:>10}  {:<21} {:<9} layers 1..{} ({})\n",
             "activation", "init", first, mid, last, "first/last", "(min .. max)", "verdict",
             o.depth, bars.scale());
  for (const VanishingNet& net : r.nets)
    fmt::print("{:<10} {:<15} {:>9.2e} {:>9.2e} {:>9.2e} {:>10.2e}  {:<21} {:<9} {}\n",
               net.activation, net.init, net.layer_norms.front().geomean,
               net.layer_norms[middle].geomean, net.layer_norms.back().geomean, net.ratio.geomean,
               fmt::format("({:.1e} .. {:.1e})", net.ratio.min, net.ratio.max), net.verdict,
               bars.row(net));
  fmt::print(
      "verdict: first/last below 0.01 vanishes, above 100 explodes, else flows (the ratio "
      "cannot see every layer shrinking alike: compare the levels too)\n");
}

void print_training(const VanishingResult& r) {
  fmt::print(
      "\nTrained {} steps on circles (full-batch SGD, lr 0.01); a coin flip's loss is "
      "ln 2 = 0.693\n",
      r.options.train_steps);
  fmt::print("{:<10} {:<15} {:>10} {:>10} {:>9}\n", "activation", "init", "first loss", "last loss",
             "test acc");
  for (const VanishingNet& net : r.nets)
    fmt::print("{:<10} {:<15} {:>10.4f} {:>10.4f} {:>8.1f}%\n", net.activation, net.init,
               net.loss_curve.front().train_loss, net.loss_curve.back().train_loss,
               100 * net.test_accuracy);
}

// The library names a bad option by its field; the user typed a flag.
std::string flag_for(const FieldError& e) {
  const std::string& field = e.path().front();
  return field == "train_steps" ? "--train" : "--" + field;
}

class Vanishing final : public Command {
 public:
  CLI::App* add(CLI::App& app) override {
    CLI::App* cmd = app.add_subcommand(
        "vanishing", "per-layer gradient norms across depth, per activation and init");
    cmd->add_option("--depth", options_.depth, "Linear layers, 2..64")->capture_default_str();
    cmd->add_option("--width", options_.width, "the width of every layer")->capture_default_str();
    cmd->add_option("--activations", options_.activations, "activations to compare, a,b,...")
        ->delimiter(',')
        ->capture_default_str();
    cmd->add_option("--init", options_.inits,
                    "init schemes, each with every activation: xavier (gain 1), he, or any "
                    "config scheme (xavier_normal, kaiming_normal, ...); default: xavier_normal "
                    "for sigmoid and tanh, kaiming_normal for the rest")
        ->delimiter(',');
    cmd->add_option("--seeds", options_.seeds,
                    "nets per activation, summarised by the geometric mean")
        ->capture_default_str();
    cmd->add_option("--train", options_.train_steps,
                    "also train each net this many steps on circles and show the loss curves");
    cmd->add_flag("--json", json_, "print the results as one JSON document");
    out_.add(*cmd);
    return cmd;
  }

  int run() override {
    VanishingResult result;
    try {
      result = vanishing_gradients(options_);
    } catch (const FieldError& e) {
      throw UsageError(fmt::format("{}: {}", flag_for(e), e.reason()));
    }
    const std::string path = out_.claim();  // before any output: a refused --out prints nothing
    if (json_) {
      fmt::print("{}\n", to_json(result).dump(2));
    } else {
      print_norms(result);
      if (options_.train_steps > 0) print_training(result);
    }
    if (path.empty()) return kDone;
    vanishing_report(result).write(path);
    if (!json_) fmt::print("report: {}\n", path);
    return kDone;
  }

 private:
  VanishingOptions options_;
  bool json_ = false;
  ReportOut out_;
};

const CommandRegistration vanishing_registration([] { return std::make_unique<Vanishing>(); });

}  // namespace
}  // namespace actlab::cli
