// The activation catalog and the softmax temperature table: what `actlab activations` and
// `actlab softmax` print, as library calls. Every registered activation, a user's included, is
// drawn with its derivative (by autograd, so a new activation needs no derivative written out)
// and described by a few facts read off the curve; softmax(logits / T) is tabled per T.
#pragma once

#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "actlab/nn/activation.hpp"
#include "actlab/report/report.hpp"

namespace actlab {

// One activation on a grid: f and f' at each x, with what the registry says of it.
struct ActivationCurve {
  std::string name;
  nn::ActivationInfo info;
  std::vector<std::string> aliases;  // other registered names of it ("swish" for "silu")
  std::vector<double> x, y, dy;      // dy = f'(x), by autograd
  double f0 = 0, df0 = 0;            // f(0) and f'(0), evaluated at 0 whatever the grid
  double min_dy = 0, max_dy = 0;     // over the grid
  bool monotonic = false;            // f' keeps one sign over the grid
  bool smooth = false;               // f' has no jump on the grid (kinks: relu at 0)
  bool zero_centred = false;         // f(0) = 0 and f takes negative values
  bool saturates = false;            // |f'| at both ends of the grid is under 10% of its peak
};

// Every registered activation (made with its defaults) on `points` evenly spaced x in
// [lo, hi], in registration order; an alias is listed under the activation it names. Its
// derivative comes from backward of sum(f(x)): for an elementwise f that is f'(x) at each x.
// Throws Error for a grid of fewer than 3 points or lo >= hi, and when an activation fails on
// the grid (naming it).
std::vector<ActivationCurve> activation_catalog(double lo = -4, double hi = 4, int points = 161);

// One activation given by its spec (a name, or {"formula": ...}) on the same kind of grid,
// shown under `name` with `info`; as activation_catalog, it throws Error when it fails.
ActivationCurve activation_curve(const std::string& name, const nn::ActivationInfo& info,
                                 const nlohmann::json& spec, double lo = -4, double hi = 4,
                                 int points = 161);

// softmax(logits / temperature) for one temperature, with its entropy (in nats) and its
// largest probability: T < 1 sharpens the distribution, T > 1 flattens it towards uniform.
struct SoftmaxRow {
  double temperature;
  std::vector<double> probabilities;
  double entropy;
  double max_probability;
};

// -sum p log p in nats, with 0 log 0 = 0 (a probability that underflowed to 0 adds nothing).
double entropy(std::span<const double> p);

// One row per temperature, computed with actlab::softmax(x, -1, T). Throws FieldError with
// path "logits" or "temperatures" when a list is empty, a logit is not finite or a
// temperature is not a positive finite number (nor subnormal: 1 / T would overflow).
std::vector<SoftmaxRow> softmax_table(const std::vector<float>& logits,
                                      const std::vector<float>& temperatures);

// "silu (also swish)": the name and its aliases.
std::string display_name(const ActivationCurve& curve);

// One row per activation: activation, range, f(0), f'(0), min f', max f', monotonic, smooth,
// zero-centred, saturates; as the terminal shows it and the report (with formula and use).
report::Table activation_facts_table(const std::vector<ActivationCurve>& catalog);

// One row per temperature: T, each probability, the entropy and the largest probability, to 4
// decimals; as the terminal and the report show them.
report::Table temperature_table(const std::vector<SoftmaxRow>& table);

// The catalog and the table as JSON documents (the curves included), as --json prints them.
nlohmann::json catalog_json(const std::vector<ActivationCurve>& catalog);
nlohmann::json softmax_json(const std::vector<float>& logits, const std::vector<SoftmaxRow>& table);

// Self-contained report pages (see report/report.hpp), written atomically; each throws Error when
// given nothing to report. The activations page has one chart of f and f' per activation, side
// by side, a table of what each is and where to use it, and the facts table; the softmax page
// a bar chart of the distribution at each temperature, each probability over a sweep of T, and
// the temperature table.
void write_activations_report(const std::string& path,
                              const std::vector<ActivationCurve>& catalog);
void write_softmax_report(const std::string& path, const std::vector<float>& logits,
                          const std::vector<SoftmaxRow>& table);

}  // namespace actlab
