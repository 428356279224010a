// The activation catalog (each registered activation on a grid, its derivative by autograd and
// the facts read off both) and the softmax temperature table, with their JSON and report pages.
#include "actlab/lab/catalog.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <utility>

#include "actlab/core/autograd.hpp"
#include "actlab/ops/ops.hpp"

namespace actlab {
namespace {

using nlohmann::json;

// A float32 value as the double of its shortest decimal form, so that JSON shows 0.1 and
// 0.8637771 (all that the float holds) rather than 0.10000000149011612 and 0.8637771010398865.
double shortest(float v) {
  const std::string text = fmt::format("{}", v);
  double d = 0;
  std::from_chars(text.data(), text.data() + text.size(), d);
  return d;
}

std::vector<double> to_doubles(const std::vector<float>& v) {
  std::vector<double> out(v.size());
  std::transform(v.begin(), v.end(), out.begin(), shortest);
  return out;
}

// ---- The catalog ----------------------------------------------------------------------------

// Float32 round-off in f(0) and f' of order 1: smaller values count as 0.
constexpr double kRoundOff = 1e-6;

std::vector<double> grid(double lo, double hi, int points) {
  if (!std::isfinite(lo) || !std::isfinite(hi) || !(lo < hi) || points < 3)
    throw Error(fmt::format("activation_catalog: expected finite lo < hi and at least 3 points, "
                            "found [{}, {}] with {} points",
                            lo, hi, points));
  std::vector<double> x(static_cast<size_t>(points));
  for (int i = 0; i < points; ++i) x[static_cast<size_t>(i)] = lo + (hi - lo) * i / (points - 1);
  return x;
}

struct Evaluation {
  std::vector<double> y, dy;
};

// f at each x and, by one backward of sum(f(x)), d sum(f) / dx: f'(x) at each x when f is
// elementwise. An output that no gradient connects to x has a derivative of zero.
Evaluation evaluate(nn::Module& f, const std::vector<double>& x) {
  const auto n = static_cast<int64_t>(x.size());
  const Tensor input = Tensor::from_vector(std::vector<float>(x.begin(), x.end()), {n}, true);
  const Tensor output = f(input);
  if (!(output.shape() == input.shape()))
    throw Error(fmt::format("its output has shape {} for an input of shape {}; expected an "
                            "elementwise function",
                            output.shape().str(), input.shape().str()));
  if (output.requires_grad()) sum(output).backward();
  const Tensor grad = input.grad();
  return {to_doubles(output.to_vector()),
          grad.defined() ? to_doubles(grad.to_vector()) : std::vector<double>(x.size(), 0.0)};
}

// Whether f' keeps one sign on the grid, allowing float32 round-off around zero.
bool keeps_one_sign(double min_dy, double max_dy) {
  return min_dy >= -kRoundOff || max_dy <= kRoundOff;
}

// A jump J in f' makes a second difference of about J at the grid points beside it, whatever
// the spacing h; a continuous f' makes second differences of order h * (a jump in f'') or
// h^2 f''', e.g. 0.05 for ELU at 0 and 0.005 for tanh on the default grid. A jump counts when
// it exceeds 15% of the range of f': relu's, leaky_relu's, selu's and hardswish's (at 3) reach
// 29% to 100%. On a coarse grid a steep but smooth f' can look like a jump.
bool continuous_on_grid(const std::vector<double>& dy, double min_dy, double max_dy) {
  const double threshold = 0.15 * (max_dy - min_dy);
  for (size_t i = 1; i + 1 < dy.size(); ++i)
    if (std::abs(dy[i + 1] - 2 * dy[i] + dy[i - 1]) > threshold) return false;
  return true;
}

// Both ends of the grid on a plateau: |f'| there under 10% of its largest value on the grid
// (sigmoid's 0.018 at +-4 against 0.25 at 0).
bool flat_at_both_ends(const std::vector<double>& dy) {
  double peak = 0;
  for (double d : dy) peak = std::max(peak, std::abs(d));
  return peak > 0 && std::abs(dy.front()) < 0.1 * peak && std::abs(dy.back()) < 0.1 * peak;
}

void read_facts(ActivationCurve& c) {
  const auto [min_dy, max_dy] = std::minmax_element(c.dy.begin(), c.dy.end());
  c.min_dy = *min_dy;
  c.max_dy = *max_dy;
  c.monotonic = keeps_one_sign(c.min_dy, c.max_dy);
  c.smooth = continuous_on_grid(c.dy, c.min_dy, c.max_dy);
  c.zero_centred =
      std::abs(c.f0) <= kRoundOff && *std::min_element(c.y.begin(), c.y.end()) < -kRoundOff;
  c.saturates = flat_at_both_ends(c.dy);
}

// The activation of `spec` (in eval mode), on the grid and at 0.
ActivationCurve curve(const std::string& name, nn::ActivationInfo info, const json& spec,
                      const std::vector<double>& x) {
  ActivationCurve c{name, std::move(info), {}, x, {}, {}};
  try {
    const std::unique_ptr<nn::Module> f = nn::make_activation(spec);
    f->eval();
    Evaluation on_grid = evaluate(*f, x);
    c.y = std::move(on_grid.y);
    c.dy = std::move(on_grid.dy);
    const Evaluation at_zero = evaluate(*f, {0.0});
    c.f0 = at_zero.y[0];
    c.df0 = at_zero.dy[0];
  } catch (const std::exception& e) {
    throw Error(fmt::format("activation_catalog: activation \"{}\": {}", name, e.what()));
  }
  read_facts(c);
  return c;
}

// ---- The softmax table ----------------------------------------------------------------------

// " (value 2 of 3)" locates a bad value in a list of more than one.
std::string position(size_t i, size_t n) {
  return n > 1 ? fmt::format(" (value {} of {})", i + 1, n) : "";
}

template <class Ok>
void check_list(const std::vector<float>& values, const char* name, const std::string& expected,
                Ok ok) {
  if (values.empty())
    throw FieldError({name}, "expected at least one number, found none");
  for (size_t i = 0; i < values.size(); ++i)
    if (!ok(values[i]))
      throw FieldError({name}, fmt::format("expected {}, found {}{}", expected, values[i],
                                           position(i, values.size())));
}

// ---- Report pages ---------------------------------------------------------------------------

// A number as the tables show it: 4 significant digits, and 0 rather than -0.
std::string short_number(double v) { return fmt::format("{:.4g}", v + 0.0); }
const char* yes_no(bool b) { return b ? "yes" : "no"; }
std::string or_dash(const std::string& text) { return text.empty() ? "-" : text; }

report::LineChart curve_chart(const ActivationCurve& c) {
  std::string title = display_name(c);
  if (!c.info.formula.empty()) title += ": " + c.info.formula;
  return {title, "x", "", false, {{"f", c.x, c.y}, {"f'", c.x, c.dy}}};
}

// What each activation is and where to use it: prose, which a page wraps in its cells.
report::Table uses_table(const std::vector<ActivationCurve>& catalog) {
  report::Table table{"", {"activation", "what it is", "formula", "where to use it"}, {}, 4};
  for (const ActivationCurve& c : catalog)
    table.rows.push_back({display_name(c), or_dash(c.info.description), or_dash(c.info.formula),
                          or_dash(c.info.use)});
  return table;
}

// The distribution at one temperature, a bar per logit (labelled with its value).
report::BarChart distribution_chart(const std::vector<float>& logits, const SoftmaxRow& row) {
  report::BarChart chart{fmt::format("T = {}", row.temperature), "probability", false, {},
                         row.probabilities};
  for (float logit : logits) chart.labels.push_back(fmt::format("{}", logit));
  return chart;
}

// Each probability as T runs from near 0 to twice the largest temperature asked for (within
// the temperatures softmax_table takes): from all mass on the largest logit towards 1/n each.
report::LineChart temperature_sweep(const std::vector<float>& logits,
                                    const std::vector<SoftmaxRow>& table) {
  constexpr int kSteps = 100;
  constexpr auto kLargest = static_cast<double>(std::numeric_limits<float>::max());
  double hottest = 0;
  for (const SoftmaxRow& row : table) hottest = std::max(hottest, row.temperature);
  const double top = std::min(2 * hottest, kLargest);
  std::vector<float> temperatures;
  for (int i = 1; i <= kSteps; ++i)
    temperatures.push_back(
        std::max(std::numeric_limits<float>::min(), static_cast<float>(top * i / kSteps)));
  const std::vector<SoftmaxRow> sweep = softmax_table(logits, temperatures);
  report::LineChart chart{"Each probability as T grows", "temperature T", "probability", false,
                          {}};
  for (size_t k = 0; k < logits.size(); ++k) {
    report::Series series{fmt::format("p[{}], logit {}", k, logits[k]), {}, {}};
    for (const SoftmaxRow& row : sweep) {
      series.x.push_back(row.temperature);
      series.y.push_back(row.probabilities[k]);
    }
    chart.series.push_back(std::move(series));
  }
  return chart;
}

void check_not_empty(bool empty, const char* what) {
  if (empty) throw Error(fmt::format("{}: nothing to report", what));
}

}  // namespace

double entropy(std::span<const double> p) {
  double h = 0;
  for (double q : p)
    if (q > 0) h -= q * std::log(q);
  return h;
}

std::vector<ActivationCurve> activation_catalog(double lo, double hi, int points) {
  if (!grad_enabled())
    throw Error("activation_catalog: derivatives need autograd, which a NoGradGuard turned off");
  const std::vector<double> x = grid(lo, hi, points);
  std::vector<ActivationCurve> catalog;
  for (const std::string& name : nn::activation_names()) {
    const std::string alias_of = nn::activation_info(name).alias_of;
    if (alias_of.empty()) {
      catalog.push_back(curve(name, nn::activation_info(name), name, x));
      continue;
    }
    // The registry only takes aliases of activations registered before, and not of aliases.
    const auto target = std::find_if(catalog.begin(), catalog.end(),
                                     [&](const ActivationCurve& c) { return c.name == alias_of; });
    target->aliases.push_back(name);
  }
  return catalog;
}

ActivationCurve activation_curve(const std::string& name, const nn::ActivationInfo& info,
                                 const json& spec, double lo, double hi, int points) {
  if (!grad_enabled())
    throw Error("activation_curve: derivatives need autograd, which a NoGradGuard turned off");
  return curve(name, info, spec, grid(lo, hi, points));
}

std::vector<SoftmaxRow> softmax_table(const std::vector<float>& logits,
                                      const std::vector<float>& temperatures) {
  check_list(logits, "logits", "finite numbers", [](float v) { return std::isfinite(v); });
  check_list(temperatures, "temperatures", "positive finite numbers",
             [](float t) { return std::isfinite(t) && t > 0; });
  // softmax scales by 1 / T, which is infinite for a subnormal T: the result would be NaN.
  constexpr float kSmallest = std::numeric_limits<float>::min();
  check_list(temperatures, "temperatures",
             fmt::format("numbers >= {} (1 / T must not overflow float32)", kSmallest),
             [](float t) { return t >= kSmallest; });
  const Tensor x = Tensor::from_vector(logits, {static_cast<int64_t>(logits.size())});
  std::vector<SoftmaxRow> table;
  for (float t : temperatures) {
    std::vector<double> p = to_doubles(softmax(x, -1, t).to_vector());
    const double h = entropy(p), top = *std::max_element(p.begin(), p.end());
    table.push_back({shortest(t), std::move(p), h, top});
  }
  return table;
}

std::string display_name(const ActivationCurve& c) {
  return c.aliases.empty() ? c.name
                           : fmt::format("{} (also {})", c.name, fmt::join(c.aliases, ", "));
}

report::Table activation_facts_table(const std::vector<ActivationCurve>& catalog) {
  report::Table table{"",
                      {"activation", "range", "f(0)", "f'(0)", "min f'", "max f'", "monotonic",
                       "smooth", "zero-centred", "saturates"},
                      {},
                      2};
  for (const ActivationCurve& c : catalog)
    table.rows.push_back({display_name(c), or_dash(c.info.range), short_number(c.f0),
                          short_number(c.df0), short_number(c.min_dy), short_number(c.max_dy),
                          yes_no(c.monotonic), yes_no(c.smooth), yes_no(c.zero_centred),
                          yes_no(c.saturates)});
  return table;
}

report::Table temperature_table(const std::vector<SoftmaxRow>& table) {
  check_not_empty(table.empty(), "temperature_table");
  report::Table out{"", {"T"}, {}};
  for (size_t i = 0; i < table.front().probabilities.size(); ++i)
    out.header.push_back(fmt::format("p[{}]", i));
  out.header.insert(out.header.end(), {"entropy (nats)", "max probability"});
  for (const SoftmaxRow& row : table) {
    std::vector<std::string> cells{fmt::format("{}", row.temperature)};
    for (double p : row.probabilities) cells.push_back(fmt::format("{:.4f}", p));
    cells.push_back(fmt::format("{:.4f}", row.entropy));
    cells.push_back(fmt::format("{:.4f}", row.max_probability));
    out.rows.push_back(std::move(cells));
  }
  return out;
}

json catalog_json(const std::vector<ActivationCurve>& catalog) {
  json activations = json::array();
  for (const ActivationCurve& c : catalog)
    activations.push_back({{"name", c.name},
                           {"aliases", c.aliases},
                           {"description", c.info.description},
                           {"formula", c.info.formula},
                           {"range", c.info.range},
                           {"use", c.info.use},
                           {"f0", c.f0},
                           {"df0", c.df0},
                           {"min_dy", c.min_dy},
                           {"max_dy", c.max_dy},
                           {"monotonic", c.monotonic},
                           {"smooth", c.smooth},
                           {"zero_centred", c.zero_centred},
                           {"saturates", c.saturates},
                           {"x", c.x},
                           {"y", c.y},
                           {"dy", c.dy}});
  return {{"activations", std::move(activations)}};
}

json softmax_json(const std::vector<float>& logits, const std::vector<SoftmaxRow>& table) {
  json rows = json::array();
  for (const SoftmaxRow& row : table)
    rows.push_back({{"temperature", row.temperature},
                    {"probabilities", row.probabilities},
                    {"entropy", row.entropy},
                    {"max_probability", row.max_probability}});
  return {{"logits", to_doubles(logits)}, {"rows", std::move(rows)}};
}

void write_activations_report(const std::string& path,
                              const std::vector<ActivationCurve>& catalog) {
  check_not_empty(catalog.empty(), "write_activations_report");
  report::Document doc("actlab activations");
  const ActivationCurve& first = catalog.front();
  doc.paragraph(fmt::format(
      "Every registered activation f and its derivative f' over [{}, {}] ({} points). f' comes "
      "from autograd (the backward of sum f(x)), so an activation registered in C++ gets its "
      "derivative drawn without writing it out. Kinks take PyTorch's convention: relu'(0) = 0.",
      first.x.front(), first.x.back(), first.x.size()));
  doc.begin_grid();
  for (const ActivationCurve& c : catalog) doc.add(curve_chart(c));
  doc.end_grid();
  doc.heading("What each one is and where to use it");
  doc.paragraph("After the \"where to use what\" table of the seed notes.");
  doc.add(uses_table(catalog));
  doc.heading("Facts read off the curves");
  doc.paragraph(fmt::format(
      "On the grid over [{}, {}]. monotonic: f' keeps one sign. smooth: f' has no jump. "
      "zero-centred: f(0) = 0 and f takes negative values. saturates: |f'| at both ends is under "
      "10% of its peak, so gradients vanish there.",
      first.x.front(), first.x.back()));
  doc.add(activation_facts_table(catalog));
  doc.write(path);
}

void write_softmax_report(const std::string& path, const std::vector<float>& logits,
                          const std::vector<SoftmaxRow>& table) {
  check_not_empty(table.empty(), "write_softmax_report");
  report::Document doc("actlab softmax: temperature");
  doc.paragraph(fmt::format(
      "softmax(logits / T) for logits [{}]. T < 1 sharpens the distribution (more confident), "
      "T > 1 softens it towards uniform, T = 1 is the standard softmax. Each bar chart has an "
      "axis of its own; the sweep below shares one.",
      fmt::join(logits, ", ")));
  doc.begin_grid();
  for (const SoftmaxRow& row : table) doc.add(distribution_chart(logits, row));
  doc.end_grid();
  doc.add(temperature_sweep(logits, table));
  doc.add(temperature_table(table));
  doc.write(path);
}

}  // namespace actlab
