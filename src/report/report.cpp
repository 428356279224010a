// HTML reports: the page and its CSS, ticks and axes, and one renderer per chart kind. Every
// chart is a <figure>: an HTML caption (its title), an inline <svg>, and an HTML legend.
#include "actlab/report/report.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <iterator>
#include <limits>
#include <map>
#include <utility>

#include "actlab/core/tensor.hpp"
#include "actlab/io/serialize.hpp"

namespace actlab::report {
namespace {

// Okabe & Ito's palette, ordered so that the first colours differ most on white; yellow, the
// faintest, comes last.
constexpr std::array<const char*, 8> kPalette = {"#0072B2", "#D55E00", "#009E73", "#CC79A7",
                                                 "#E69F00", "#56B4E9", "#000000", "#F0E442"};
const char* colour(size_t i) { return kPalette[i % kPalette.size()]; }

// Series beyond the palette's length repeat its colours with a dash pattern (SVG and CSS).
struct Dash {
  const char* svg;
  const char* css;
};
constexpr std::array<Dash, 3> kDashes = {{{"none", "solid"}, {"7 4", "dashed"}, {"2 3", "dotted"}}};
const Dash& dash(size_t i) { return kDashes[(i / kPalette.size()) % kDashes.size()]; }

constexpr double kCharWidth = 6.2;   // the mean advance of an 11px sans-serif glyph, for layout
constexpr size_t kMaxBarLabel = 20;  // characters; longer bar labels are shortened

template <class... Args>
void put(std::string& out, fmt::format_string<Args...> format, Args&&... args) {
  fmt::format_to(std::back_inserter(out), format, std::forward<Args>(args)...);
}

// An SVG coordinate to a tenth of a pixel: precise enough for any screen, and short.
std::string num(double v) {
  std::string s = fmt::format("{:.1f}", v);
  if (s.ends_with(".0")) s.resize(s.size() - 2);
  return s == "-0" ? "0" : s;
}
double round1(double v) { return std::round(v * 10) / 10; }

// A tick value as a person writes it: "0.3", "1200", "1e-6".
std::string tick_label(double v) {
  std::string s = fmt::format("{:.6g}", v + 0.0);  // + 0.0 turns -0 into 0
  const size_t e = s.find('e');
  if (e == std::string::npos) return s;
  std::string exponent = s.substr(e + 2);
  exponent.erase(0, std::min(exponent.find_first_not_of('0'), exponent.size() - 1));
  return s.substr(0, e) + (s[e + 1] == '-' ? "e-" : "e") + exponent;
}

bool starts_char(char ch) { return (static_cast<unsigned char>(ch) & 0xC0) != 0x80; }
size_t utf8_length(const std::string& text) {
  return static_cast<size_t>(std::count_if(text.begin(), text.end(), starts_char));
}

// "10" with the exponent in superscript digits: 10⁻⁶.
std::string power_of_ten(int exponent) {
  static constexpr std::array<const char*, 10> kDigits = {"\u2070", "\u00b9", "\u00b2", "\u00b3",
                                                          "\u2074", "\u2075", "\u2076", "\u2077",
                                                          "\u2078", "\u2079"};
  std::string out = exponent < 0 ? "10\u207b" : "10";
  for (char digit : std::to_string(std::abs(exponent)))
    out += kDigits[static_cast<size_t>(digit - '0')];
  return out;
}

// Text cut to at most `max_chars` UTF-8 characters, the last an ellipsis when it was longer.
std::string shorten(const std::string& text, size_t max_chars) {
  if (utf8_length(text) <= max_chars) return text;
  size_t i = 0;
  for (size_t chars = 0; i < text.size(); ++i)
    if (starts_char(text[i]) && ++chars == max_chars) break;
  return text.substr(0, i) + "\u2026";
}

// ---- Ticks ----------------------------------------------------------------------------------

// A 1-2-5 step: mantissa (1, 2 or 5) times 10^exponent. Its multiples are computed as
// i * mantissa / 10^-exponent, which is exact enough that 3 steps of 0.1 give 0.3.
struct Step {
  double mantissa;
  int exponent;
  double operator()(int64_t i) const {
    const double scale = std::pow(10.0, std::abs(exponent));
    return exponent >= 0 ? static_cast<double>(i) * mantissa * scale
                         : static_cast<double>(i) * mantissa / scale;
  }
  double size() const { return (*this)(1); }
};

// Gives a range too narrow to divide some room, so that a constant series still gets an axis:
// 10% either side of its value, or [0, 1] for zeros (counts and percentages that are all 0).
std::pair<double, double> widen(double lo, double hi) {
  const double magnitude = std::max(std::abs(lo), std::abs(hi));
  if (magnitude == 0) return {0, 1};
  if (hi - lo > 1e-9 * magnitude) return {lo, hi};
  return {lo - 0.1 * magnitude, hi + 0.1 * magnitude};
}

// The 1-2-5 step nearest (on a log scale) to dividing [lo, hi] into target_count intervals.
Step nice_step(double lo, double hi, int target_count) {
  const double n = std::max(target_count, 1);
  const double raw = hi / n - lo / n;  // no overflow for ranges near the largest double
  int exponent = static_cast<int>(std::floor(std::log10(raw)));
  const double ratio = raw / std::pow(10.0, exponent);
  // The thresholds are the geometric means of neighbouring steps: sqrt(1*2), sqrt(2*5), ...
  double mantissa = ratio < std::sqrt(2.0) ? 1 : ratio < std::sqrt(10.0) ? 2 : 5;
  if (ratio >= std::sqrt(50.0)) mantissa = 1, ++exponent;
  return {mantissa, exponent};
}

// The multiples of `step` from the first-th to the last-th.
std::vector<double> multiples(Step step, int64_t first, int64_t last) {
  std::vector<double> ticks;
  for (int64_t i = first; i <= last; ++i) ticks.push_back(step(i));
  return ticks;
}

constexpr double kSlack = 1e-9;  // in units of a step: 0.6 / 0.2 is 2.9999999999999996

void check_finite(double lo, double hi, const char* what) {
  if (!std::isfinite(lo) || !std::isfinite(hi))
    throw Error(fmt::format("{}: the range [{}, {}] is not finite", what, lo, hi));
}

// ---- Axes and frames ------------------------------------------------------------------------

// A value axis: its domain [lo, hi] (their log10 on a log axis) and the values of its ticks.
struct Axis {
  double lo, hi;
  bool log;
  std::vector<double> ticks;
  double fraction(double v) const { return ((log ? std::log10(v) : v) - lo) / (hi - lo); }
  // Decades are written plainly ("0.01", "1000") when all of them can be, else all as powers.
  std::string label(double t) const {
    const bool plain = !log || (ticks.front() >= 1e-3 && ticks.back() <= 1e4);
    return plain ? tick_label(t) : power_of_ten(static_cast<int>(std::lround(std::log10(t))));
  }
};

// An axis whose domain runs from its first tick to its last, covering [lo, hi].
Axis covering_axis(double lo, double hi, bool log, int target_count) {
  std::vector<double> ticks =
      log ? decade_ticks(lo, hi, target_count) : nice_ticks(lo, hi, target_count);
  const double first = ticks.front(), last = ticks.back();
  return log ? Axis{std::log10(first), std::log10(last), true, std::move(ticks)}
             : Axis{first, last, false, std::move(ticks)};
}

// An axis whose domain is exactly [lo, hi], with the nice ticks that fall inside it.
Axis inside_axis(double lo, double hi, int target_count) {
  std::tie(lo, hi) = widen(lo, hi);
  const Step step = nice_step(lo, hi, target_count);
  const auto first = static_cast<int64_t>(std::ceil(lo / step.size() - kSlack));
  const auto last = static_cast<int64_t>(std::floor(hi / step.size() + kSlack));
  return {lo, hi, false, multiples(step, first, last)};
}

// Where a chart plots: the plot rectangle in SVG pixels and the axes that map data into it.
struct Frame {
  double left, top, width, height;
  Axis x, y;
  double right() const { return left + width; }
  double bottom() const { return top + height; }
  double px(double v) const { return left + width * x.fraction(v); }
  double py(double v) const { return bottom() - height * y.fraction(v); }
};

// Places the plot in a width x height chart, leaving room on the left for the y tick labels
// and label, on the right for half the last x tick label, and `bottom` pixels below.
Frame layout(double width, double height, Axis x, Axis y, const std::string& y_label,
             double bottom) {
  size_t widest = 0;
  for (double t : y.ticks) widest = std::max(widest, utf8_length(y.label(t)));
  const double left = (y_label.empty() ? 8 : 26) + 6 + kCharWidth * static_cast<double>(widest);
  const double right =
      x.ticks.empty()
          ? 12
          : 8 + kCharWidth * static_cast<double>(utf8_length(x.label(x.ticks.back()))) / 2;
  constexpr double top = 10;
  return {left, top, width - left - right, height - top - bottom, std::move(x), std::move(y)};
}

// Vertical grid lines at the x ticks, their labels below, and the x label under them.
void draw_x_axis(std::string& out, const Frame& f, const std::string& label) {
  std::string grid, labels;
  for (double t : f.x.ticks) {
    put(grid, "M{} {}V{}", num(f.px(t)), num(f.top), num(f.bottom()));
    put(labels, "<text x=\"{}\" y=\"{}\">{}</text>", num(f.px(t)), num(f.bottom() + 15),
        f.x.label(t));
  }
  put(out, "<path d=\"{}\" stroke=\"#e4e4e4\" shape-rendering=\"crispEdges\"/>", grid);
  put(out, "<g class=\"x-ticks\" fill=\"#555\" text-anchor=\"middle\">{}</g>", labels);
  if (!label.empty())
    put(out, "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>", num(f.left + f.width / 2),
        num(f.bottom() + 32), escape(label));
}

// Horizontal grid lines at the y ticks, their labels to the left, and the y label on its side.
void draw_y_axis(std::string& out, const Frame& f, const std::string& label) {
  std::string grid, labels;
  for (double t : f.y.ticks) {
    put(grid, "M{} {}H{}", num(f.left), num(f.py(t)), num(f.right()));
    put(labels, "<text x=\"{}\" y=\"{}\">{}</text>", num(f.left - 6), num(f.py(t) + 4),
        f.y.label(t));
  }
  put(out, "<path d=\"{}\" stroke=\"#e4e4e4\" shape-rendering=\"crispEdges\"/>", grid);
  put(out, "<g class=\"y-ticks\" fill=\"#555\" text-anchor=\"end\">{}</g>", labels);
  if (!label.empty())
    put(out, "<text transform=\"rotate(-90)\" x=\"{}\" y=\"14\" text-anchor=\"middle\">{}</text>",
        num(-(f.top + f.height / 2)), escape(label));
}

// The left and bottom axis lines, drawn over the grid.
void draw_axis_lines(std::string& out, const Frame& f) {
  put(out, "<path d=\"M{} {}V{}H{}\" fill=\"none\" stroke=\"#888\"/>", num(f.left), num(f.top),
      num(f.bottom()), num(f.right()));
}

// ---- Figures and legends --------------------------------------------------------------------

// A legend entry: the name and the inline CSS of its marker (a short line or a dot).
struct Key {
  std::string name, marker;
};
Key line_key(const std::string& name, size_t i) {
  return {name, fmt::format("width:20px;border-top:3px {} {}", dash(i).css, colour(i))};
}
Key dot_key(const std::string& name, size_t i) {
  return {name, fmt::format("width:10px;height:10px;border-radius:50%;border:1px solid #222;"
                            "background:{}",
                            colour(i))};
}

void open_chart(std::string& out, const std::string& title, double width, double height) {
  out += "<figure class=\"chart\">";
  if (!title.empty()) put(out, "<figcaption>{}</figcaption>", escape(title));
  put(out,
      "<svg viewBox=\"0 0 {0} {1}\" width=\"{0}\" height=\"{1}\" role=\"img\" "
      "aria-label=\"{2}\" font-size=\"11\">",
      num(width), num(height), escape(title));
}

void close_chart(std::string& out, const std::vector<Key>& keys) {
  out += "</svg>";
  if (!keys.empty()) {
    out += "<div class=\"legend\">";
    for (const Key& key : keys)
      put(out, "<span><i style=\"{}\"></i>{}</span>", key.marker, escape(key.name));
    out += "</div>";
  }
  out += "</figure>\n";
}

void draw_no_data(std::string& out, double width, double height) {
  put(out,
      "<rect x=\"0.5\" y=\"0.5\" width=\"{}\" height=\"{}\" fill=\"#fafafa\" stroke=\"#ddd\"/>"
      "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" fill=\"#888\" font-size=\"14\">no data"
      "</text>",
      num(width - 1), num(height - 1), num(width / 2), num(height / 2));
}

// ---- Line charts ----------------------------------------------------------------------------

// Whether a point can be drawn: finite, and positive on a log axis.
bool drawable(double x, double y, bool log_y) {
  return std::isfinite(x) && std::isfinite(y) && (!log_y || y > 0);
}
double x_at(const Series& s, size_t i) { return s.x.empty() ? static_cast<double>(i) : s.x[i]; }

struct Range {
  double lo = std::numeric_limits<double>::infinity();
  double hi = -std::numeric_limits<double>::infinity();
  void add(double v) { lo = std::min(lo, v), hi = std::max(hi, v); }
  bool empty() const { return lo > hi; }
};

// The SVG path of a series: one subpath per run of drawable points, so that a skipped value
// leaves a gap; a lone point becomes a dot (a small circle that the stroke fills).
std::string series_path(const Frame& f, const Series& s, bool log_y) {
  std::string d;
  size_t run = 0;
  const auto end_run = [&] {
    if (run == 1) d += "m-1.5 0a1.5 1.5 0 1 0 3 0a1.5 1.5 0 1 0-3 0";
    run = 0;
  };
  for (size_t i = 0; i < s.y.size(); ++i) {
    if (!drawable(x_at(s, i), s.y[i], log_y)) {
      end_run();
      continue;
    }
    put(d, "{}{} {}", run++ == 0 ? "M" : " ", num(f.px(x_at(s, i))), num(f.py(s.y[i])));
  }
  end_run();
  return d;
}

void render(std::string& out, const LineChart& chart, bool small) {
  Range xs, ys;
  for (const Series& s : chart.series) {
    if (!s.x.empty() && s.x.size() != s.y.size())
      throw Error(fmt::format("report: chart '{}', series '{}': {} x values but {} y values",
                              chart.title, s.name, s.x.size(), s.y.size()));
    for (size_t i = 0; i < s.y.size(); ++i)
      if (drawable(x_at(s, i), s.y[i], chart.log_y)) xs.add(x_at(s, i)), ys.add(s.y[i]);
  }
  const double width = small ? 360 : 640, height = small ? 230 : 340;
  open_chart(out, chart.title, width, height);
  if (xs.empty()) {
    draw_no_data(out, width, height);
  } else {
    const int ticks = small ? 4 : 6;
    const Frame f = layout(width, height, inside_axis(xs.lo, xs.hi, ticks + 1),
                           covering_axis(ys.lo, ys.hi, chart.log_y, ticks), chart.y_label,
                           chart.x_label.empty() ? 24 : 40);
    draw_x_axis(out, f, chart.x_label);
    draw_y_axis(out, f, chart.y_label);
    draw_axis_lines(out, f);
    out +=
        "<g fill=\"none\" stroke-width=\"2\" stroke-linejoin=\"round\" stroke-linecap=\"round\">";
    for (size_t k = 0; k < chart.series.size(); ++k) {
      const std::string d = series_path(f, chart.series[k], chart.log_y);
      if (!d.empty())
        put(out, "<path class=\"series\" d=\"{}\" stroke=\"{}\" stroke-dasharray=\"{}\"/>", d,
            colour(k), dash(k).svg);
    }
    out += "</g>";
  }
  std::vector<Key> keys;
  if (chart.series.size() > 1)
    for (size_t k = 0; k < chart.series.size(); ++k)
      keys.push_back(line_key(chart.series[k].name, k));
  close_chart(out, keys);
}

// ---- Bar charts -----------------------------------------------------------------------------

// The frame of a chart with one slot per label along x, and whether the labels under it are
// turned (they are when they would not fit side by side; the plot then gives up their height).
std::pair<Frame, bool> labelled_frame(double width, double height,
                                      const std::vector<std::string>& labels, Axis y,
                                      const std::string& y_label) {
  const auto n = static_cast<double>(labels.size());
  Frame f = layout(width, height, Axis{0, n, false, {}}, std::move(y), y_label, 24);
  size_t longest = 0;
  for (const auto& label : labels) longest = std::max(longest, utf8_length(label));
  longest = std::min(longest, kMaxBarLabel);
  const bool turned = kCharWidth * static_cast<double>(longest) > 0.95 * f.width / n;
  if (turned) f.height -= 0.65 * kCharWidth * static_cast<double>(longest);  // sin 40 deg
  return {f, turned};
}

// The bar labels under the plot, turned when they would not fit side by side (then only every
// few labels when the bars are too narrow even for turned text).
void draw_bar_labels(std::string& out, const Frame& f, const std::vector<std::string>& labels,
                     bool turned) {
  const double slot = f.width / static_cast<double>(labels.size());
  const size_t every = turned ? static_cast<size_t>(std::ceil(13 / slot)) : 1;
  put(out, "<g fill=\"#555\" text-anchor=\"{}\">", turned ? "end" : "middle");
  for (size_t i = 0; i < labels.size(); i += every) {
    const double x = f.px(static_cast<double>(i) + 0.5), y = f.bottom() + 15;
    const std::string text = escape(shorten(labels[i], kMaxBarLabel));
    if (turned)
      put(out, "<text transform=\"translate({} {}) rotate(-40)\">{}</text>", num(x + 4), num(y - 4),
          text);
    else
      put(out, "<text x=\"{}\" y=\"{}\">{}</text>", num(x), num(y), text);
  }
  out += "</g>";
}

void render(std::string& out, const BarChart& chart, bool small) {
  if (chart.labels.size() != chart.values.size())
    throw Error(fmt::format("report: bar chart '{}': {} labels but {} values", chart.title,
                            chart.labels.size(), chart.values.size()));
  Range ys;
  for (double v : chart.values)
    if (drawable(0, v, chart.log_y)) ys.add(v);
  const double width = small ? 360 : 640, height = small ? 230 : 340;
  open_chart(out, chart.title, width, height);
  if (ys.empty()) {
    draw_no_data(out, width, height);
  } else {
    // Bars rise from zero, or on a log axis from below the lowest bar, which would otherwise
    // have no height when it sits on a decade.
    ys.add(chart.log_y ? ys.lo * 0.99 : 0);
    const auto n = static_cast<double>(chart.values.size());
    const auto [f, turned] = labelled_frame(width, height, chart.labels,
                                            covering_axis(ys.lo, ys.hi, chart.log_y, small ? 4 : 6),
                                            chart.y_label);
    draw_y_axis(out, f, chart.y_label);
    draw_axis_lines(out, f);
    const double base = chart.log_y ? f.bottom() : f.py(0), bar = 0.7 * f.width / n;
    put(out, "<g fill=\"{}\">", colour(0));
    for (size_t i = 0; i < chart.values.size(); ++i) {
      const double v = chart.values[i];
      if (!drawable(0, v, chart.log_y)) continue;
      const double top = f.py(v);
      put(out,
          "<rect class=\"bar\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\"><title>{}: {:.4g}"
          "</title></rect>",
          num(f.px(static_cast<double>(i) + 0.5) - bar / 2), num(std::min(top, base)), num(bar),
          num(std::abs(base - top)), escape(chart.labels[i]), v);
    }
    out += "</g>";
    draw_bar_labels(out, f, chart.labels, turned);
  }
  close_chart(out, {});
}

// ---- Point charts ---------------------------------------------------------------------------

// Mean and sample std of the drawable values (std 0 for fewer than two).
std::pair<double, double> mean_and_std(const std::vector<double>& values) {
  double sum = 0, n = 0;
  for (double v : values)
    if (std::isfinite(v)) sum += v, ++n;
  const double mean = sum / n;
  double squares = 0;
  for (double v : values)
    if (std::isfinite(v)) squares += (v - mean) * (v - mean);
  return {mean, n >= 2 ? std::sqrt(squares / (n - 1)) : 0.0};
}

void render(std::string& out, const PointChart& chart, bool small) {
  if (chart.labels.size() != chart.values.size())
    throw Error(fmt::format("report: point chart '{}': {} labels but {} value lists", chart.title,
                            chart.labels.size(), chart.values.size()));
  Range ys;
  for (const auto& column : chart.values)
    for (double v : column)
      if (std::isfinite(v)) ys.add(v);
  const double width = small ? 360 : 640, height = small ? 230 : 340;
  open_chart(out, chart.title, width, height);
  if (ys.empty()) {
    draw_no_data(out, width, height);
    close_chart(out, {});
    return;
  }
  std::vector<std::pair<double, double>> stats;
  for (const auto& column : chart.values) {
    stats.push_back(mean_and_std(column));
    const auto [mean, std] = stats.back();
    if (std::isfinite(mean)) ys.add(mean - std), ys.add(mean + std);
  }
  const auto n = static_cast<double>(chart.labels.size());
  const auto [f, turned] = labelled_frame(width, height, chart.labels,
                                          covering_axis(ys.lo, ys.hi, false, small ? 4 : 6),
                                          chart.y_label);
  draw_y_axis(out, f, chart.y_label);
  draw_axis_lines(out, f);
  const double slot = f.width / n;
  for (size_t i = 0; i < chart.labels.size(); ++i) {
    const double centre = f.px(static_cast<double>(i) + 0.5);
    const auto [mean, std] = stats[i];
    put(out, "<g class=\"points\" stroke=\"{}\" fill=\"{}\">", colour(0), colour(0));
    // The values side by side within a third of the slot, so that equal ones stay visible.
    const auto& column = chart.values[i];
    const double spread = std::min(slot / 3, 4.0 * static_cast<double>(column.size()));
    for (size_t k = 0; k < column.size(); ++k) {
      if (!std::isfinite(column[k])) continue;
      const double offset =
          column.size() < 2 ? 0 : spread * (static_cast<double>(k) / (column.size() - 1) - 0.5);
      put(out, "<circle cx=\"{}\" cy=\"{}\" r=\"2.5\" fill-opacity=\"0.45\"><title>{}: {:.4g}"
          "</title></circle>",
          num(centre + offset), num(f.py(column[k])), escape(chart.labels[i]), column[k]);
    }
    if (std::isfinite(mean)) {
      const double half = std::min(slot / 4, 14.0);
      put(out, "<path class=\"mean\" d=\"M{} {}H{}\" stroke-width=\"2.5\"><title>{}: {:.4g} +- "
          "{:.2g}</title></path>",
          num(centre - half), num(f.py(mean)), num(centre + half), escape(chart.labels[i]), mean,
          std);
      if (std > 0)
        put(out, "<path class=\"spread\" d=\"M{0} {1}V{2}M{3} {1}H{4}M{3} {2}H{4}\"/>",
            num(centre), num(f.py(mean - std)), num(f.py(mean + std)), num(centre - half / 2),
            num(centre + half / 2));
    }
    out += "</g>";
  }
  draw_bar_labels(out, f, chart.labels, turned);
  close_chart(out, {});
}

// ---- Decision boundaries --------------------------------------------------------------------

void check(const DecisionBoundary& db) {
  const auto fail = [&](const std::string& what) {
    throw Error(fmt::format("report: decision boundary '{}': {}", db.title, what));
  };
  if (db.resolution < 0) fail(fmt::format("resolution {} is negative", db.resolution));
  const auto cells = static_cast<size_t>(db.resolution * db.resolution);
  if (db.cls.size() != cells)
    fail(fmt::format("cls has {} values; resolution {} needs {}", db.cls.size(), db.resolution,
                     cells));
  if (!db.confidence.empty() && db.confidence.size() != cells)
    fail(fmt::format("confidence has {} values; resolution {} needs 0 or {}", db.confidence.size(),
                     db.resolution, cells));
  if (db.num_classes < 1) fail(fmt::format("num_classes is {}", db.num_classes));
  if (!(db.x_min < db.x_max) || !(db.y_min < db.y_max))
    fail(fmt::format("the box [{}, {}] x [{}, {}] is empty", db.x_min, db.x_max, db.y_min,
                     db.y_max));
  for (size_t i = 0; i < cells; ++i)
    if (db.cls[i] < 0 || db.cls[i] >= db.num_classes)
      fail(fmt::format("cell {} has class {}, outside 0..{}", i, db.cls[i], db.num_classes - 1));
  for (size_t i = 0; i < db.points.size(); ++i)
    if (db.points[i].label < 0 || db.points[i].label >= db.num_classes)
      fail(fmt::format("point {} has label {}, outside 0..{}", i, db.points[i].label,
                       db.num_classes - 1));
}

// Confidence in a few shades, so that neighbouring cells of one class merge into one rect.
constexpr int kShades = 5;
int shade(const DecisionBoundary& db, size_t cell) {
  if (db.confidence.empty()) return kShades / 2;
  const float c = db.confidence[cell];
  return std::isfinite(c) ? std::clamp(static_cast<int>(c * kShades), 0, kShades - 1) : 0;
}

// The cells as one rect per run of equal (class, shade) cells in a row, grouped by fill.
// Neighbouring rects share their rounded edges exactly, so no seam shows between them.
void draw_cells(std::string& out, const Frame& f, const DecisionBoundary& db) {
  const int64_t n = db.resolution;
  const auto edge_x = [&](int64_t c) { return round1(f.left + f.width * c / n); };
  const auto edge_y = [&](int64_t r) { return round1(f.bottom() - f.height * r / n); };
  const auto key = [&](int64_t r, int64_t c) {
    const auto cell = static_cast<size_t>(r * n + c);
    return std::pair(db.cls[cell], shade(db, cell));
  };
  std::map<std::pair<int, int>, std::string> groups;  // (class, shade) -> its rects
  for (int64_t r = 0; r < n; ++r)
    for (int64_t c0 = 0, c1 = 1; c0 < n; c0 = c1++) {
      while (c1 < n && key(r, c1) == key(r, c0)) ++c1;
      put(groups[key(r, c0)], "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\"/>",
          num(edge_x(c0)), num(edge_y(r + 1)), num(edge_x(c1) - edge_x(c0)),
          num(edge_y(r) - edge_y(r + 1)));
    }
  out += "<g class=\"cells\" shape-rendering=\"crispEdges\">";
  for (const auto& [k, rects] : groups)
    put(out, "<g fill=\"{}\" fill-opacity=\"{:.2f}\">{}</g>", colour(k.first),
        0.12 + 0.11 * k.second, rects);
  out += "</g>";
}

// The points inside the box, one group per class, drawn in full colour with a thin outline.
void draw_points(std::string& out, const Frame& f, const DecisionBoundary& db) {
  const char* radius = db.points.size() > 400 ? "2.2" : "3";
  std::vector<std::string> by_class(static_cast<size_t>(db.num_classes));
  for (const Point& p : db.points)
    if (p.x >= db.x_min && p.x <= db.x_max && p.y >= db.y_min && p.y <= db.y_max)
      put(by_class[static_cast<size_t>(p.label)], "<circle cx=\"{}\" cy=\"{}\" r=\"{}\"/>",
          num(f.px(p.x)), num(f.py(p.y)), radius);
  for (size_t k = 0; k < by_class.size(); ++k)
    if (!by_class[k].empty())
      put(out, "<g class=\"points\" fill=\"{}\" stroke=\"#222\" stroke-width=\"0.6\">{}</g>",
          colour(k), by_class[k]);
}

void render(std::string& out, const DecisionBoundary& db, bool small) {
  check(db);
  const double size = small ? 320 : 440, bottom = 24;
  Frame f = layout(size, size, inside_axis(db.x_min, db.x_max, 5),
                   inside_axis(db.y_min, db.y_max, 5), "", bottom);
  f.width = f.height = std::min(f.width, f.height);
  open_chart(out, db.title, f.right() + 12, f.bottom() + bottom);
  if (db.resolution == 0 && db.points.empty()) {
    draw_no_data(out, f.right() + 12, f.bottom() + bottom);
  } else {
    draw_x_axis(out, f, "");
    draw_y_axis(out, f, "");
    draw_cells(out, f, db);
    put(out, "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"#888\"/>",
        num(f.left), num(f.top), num(f.width), num(f.height));
    draw_points(out, f, db);
  }
  std::vector<Key> keys;
  for (int k = 0; k < db.num_classes; ++k)
    keys.push_back(dot_key(fmt::format("class {}", k), static_cast<size_t>(k)));
  if (!db.confidence.empty())
    keys.push_back({"darker: more confident",
                    "width:28px;height:10px;border:1px solid #ccc;"
                    "background:linear-gradient(90deg,#f4f4f4,#8a8a8a)"});
  close_chart(out, keys);
}

// ---- Heat maps ------------------------------------------------------------------------------

constexpr const char* kMaskedFill = "#e6e6e6";
constexpr std::array<int, 3> kHeatDark = {8, 48, 107};  // the colour of 1; 0 is white

// White to kHeatDark in a straight line of RGB, the value clamped to [0, 1].
std::string heat_colour(double v) {
  v = std::clamp(v, 0.0, 1.0);
  const auto channel = [&](int dark) { return static_cast<int>(std::lround(255 + (dark - 255) * v)); };
  return fmt::format("#{:02x}{:02x}{:02x}", channel(kHeatDark[0]), channel(kHeatDark[1]),
                     channel(kHeatDark[2]));
}

// Every how many cells a label fits (labels need about 12 pixels of height each).
size_t label_every(double cell) { return static_cast<size_t>(std::ceil(12 / cell)); }

void render(std::string& out, const HeatMap& chart, bool small) {
  const size_t rows = chart.row_labels.size(), cols = chart.column_labels.size();
  if (chart.values.size() != rows * cols)
    throw Error(fmt::format("report: heat map '{}': {} values for {} rows x {} columns",
                            chart.title, chart.values.size(), rows, cols));
  constexpr size_t kMaxLabel = 6;
  size_t widest_row = 0, widest_column = 0;
  for (const auto& l : chart.row_labels) widest_row = std::max(widest_row, utf8_length(l));
  for (const auto& l : chart.column_labels)
    widest_column = std::max(widest_column, utf8_length(l));
  widest_row = std::min(widest_row, kMaxLabel);
  widest_column = std::min(widest_column, kMaxLabel);
  const double room = small ? 280 : 440;
  const double cell = round1(std::min(22.0, room / static_cast<double>(std::max<size_t>({rows, cols, 1}))));
  const double left = 26 + kCharWidth * static_cast<double>(widest_row) + 6, top = 8;
  // Column labels stand upright while they fit the cells between two of them.
  const bool turned = kCharWidth * static_cast<double>(widest_column) >
                      0.9 * cell * static_cast<double>(label_every(cell));
  const double label_height = turned ? kCharWidth * static_cast<double>(widest_column) + 4 : 12;
  const double width = left + cell * static_cast<double>(cols) + 12;
  const double height = top + cell * static_cast<double>(rows) + label_height + 30;
  open_chart(out, chart.title, width, height);
  if (rows == 0 || cols == 0) {
    draw_no_data(out, width, height);
    close_chart(out, {});
    return;
  }
  const double plot_w = cell * static_cast<double>(cols), plot_h = cell * static_cast<double>(rows);
  put(out, "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{}\"/>", num(left), num(top),
      num(plot_w), num(plot_h), kMaskedFill);
  out += "<g class=\"cells\" shape-rendering=\"crispEdges\">";
  for (size_t r = 0; r < rows; ++r)
    for (size_t c = 0; c < cols; ++c) {
      const double v = chart.values[r * cols + c];
      if (std::isnan(v)) continue;
      put(out,
          "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{}\"><title>{} {} {}, {} {} {}: "
          "{:.3f}</title></rect>",
          num(left + cell * static_cast<double>(c)), num(top + cell * static_cast<double>(r)),
          num(cell), num(cell), heat_colour(v), escape(chart.row_title), r,
          escape(chart.row_labels[r]), escape(chart.column_title), c,
          escape(chart.column_labels[c]), v);
    }
  out += "</g>";
  put(out, "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"#888\"/>",
      num(left), num(top), num(plot_w), num(plot_h));
  out += "<g class=\"row-labels\" fill=\"#555\" text-anchor=\"end\">";
  for (size_t r = 0; r < rows; r += label_every(cell))
    put(out, "<text x=\"{}\" y=\"{}\">{}</text>", num(left - 4),
        num(top + cell * (static_cast<double>(r) + 0.5) + 4),
        escape(shorten(chart.row_labels[r], kMaxLabel)));
  out += "</g>";
  put(out, "<g class=\"column-labels\" fill=\"#555\" text-anchor=\"{}\">", turned ? "end" : "middle");
  const double label_top = top + plot_h + 4;
  for (size_t c = 0; c < cols; c += label_every(cell)) {
    const double x = left + cell * (static_cast<double>(c) + 0.5);
    const std::string text = escape(shorten(chart.column_labels[c], kMaxLabel));
    if (turned)
      put(out, "<text transform=\"translate({} {}) rotate(-90)\">{}</text>", num(x + 4), num(label_top),
          text);
    else
      put(out, "<text x=\"{}\" y=\"{}\">{}</text>", num(x), num(label_top + 10), text);
  }
  out += "</g>";
  if (!chart.column_title.empty())
    put(out, "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>", num(left + plot_w / 2),
        num(label_top + label_height + 14), escape(chart.column_title));
  if (!chart.row_title.empty())
    put(out, "<text transform=\"rotate(-90)\" x=\"{}\" y=\"14\" text-anchor=\"middle\">{}</text>",
        num(-(top + plot_h / 2)), escape(chart.row_title));
  close_chart(out, {{"0 to 1", fmt::format("width:40px;height:10px;border:1px solid #ccc;"
                                            "background:linear-gradient(90deg,#fff,{})",
                                            heat_colour(1))},
                    {"none (masked)", fmt::format("width:10px;height:10px;background:{}",
                                                  kMaskedFill)}});
}

// ---- Tables and JSON ------------------------------------------------------------------------

void render(std::string& out, const Table& table) {
  for (size_t i = 0; i < table.rows.size(); ++i)
    if (!table.header.empty() && table.rows[i].size() != table.header.size())
      throw Error(fmt::format("report: table '{}': row {} has {} cells, the header has {}",
                              table.title, i, table.rows[i].size(), table.header.size()));
  // One row of cells; the text columns after the first are marked for left alignment.
  const auto put_row = [&](const std::vector<std::string>& cells, const char* tag) {
    out += "<tr>";
    for (size_t c = 0; c < cells.size(); ++c)
      put(out, "<{0}{1}>{2}</{0}>", tag, c > 0 && c < table.text_columns ? " class=\"text\"" : "",
          escape(cells[c]));
    out += "</tr>";
  };
  out += "<div class=\"table\"><table>";
  if (!table.title.empty()) put(out, "<caption>{}</caption>", escape(table.title));
  if (!table.header.empty()) {
    out += "<thead>";
    put_row(table.header, "th");
    out += "</thead>";
  }
  out += "<tbody>";
  for (const auto& row : table.rows) put_row(row, "td");
  out += "</tbody></table></div>\n";
}

// The page's only styling. It holds no '<' or '&', so the page stays well-formed XML.
constexpr const char* kStyle = R"(
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;color:#222;
background:#fff;max-width:1120px;margin:24px auto;padding:0 20px}
h1{font-size:1.6em;margin:0 0 .8em}
h2{font-size:1.2em;margin:1.8em 0 .6em;padding-bottom:.2em;border-bottom:1px solid #ddd}
figure{margin:0 0 20px}
figcaption,caption,summary{font-weight:600;margin:0 0 4px;text-align:left}
svg{display:block;max-width:100%;height:auto;font-family:inherit}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(330px,1fr));gap:8px 24px;
align-items:start}
.legend{display:flex;flex-wrap:wrap;gap:4px 16px;font-size:12px;margin-top:4px}
.legend i{display:inline-block;vertical-align:middle;margin-right:6px}
.table{overflow-x:auto;margin:0 0 20px}
table{border-collapse:collapse;font-variant-numeric:tabular-nums}
th,td{padding:4px 12px;border-bottom:1px solid #e5e5e5;text-align:left}
th{border-bottom:2px solid #ccc}
td+td,th+th{text-align:right}
td.text,th.text{text-align:left;min-width:8em}
details{margin:0 0 20px}
summary{cursor:pointer}
pre{background:#f6f8fa;padding:10px;overflow:auto;font-size:12px;max-height:480px}
)";

}  // namespace

std::string escape(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (char ch : text) {
    switch (ch) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      case '\t':
      case '\n':
      case '\r': out += ch; break;
      default:
        if (static_cast<unsigned char>(ch) >= 0x20) out += ch;  // XML forbids other controls
    }
  }
  return out;
}

std::vector<double> nice_ticks(double lo, double hi, int target_count) {
  check_finite(lo, hi, "nice_ticks");
  if (lo > hi) std::swap(lo, hi);
  std::tie(lo, hi) = widen(lo, hi);
  const Step step = nice_step(lo, hi, target_count);
  auto first = static_cast<int64_t>(std::floor(lo / step.size() + kSlack));
  auto last = static_cast<int64_t>(std::ceil(hi / step.size() - kSlack));
  if (step(first) > lo) --first;  // the slack must not break the promise to cover [lo, hi]
  if (step(last) < hi) ++last;
  return multiples(step, first, last);
}

std::vector<double> decade_ticks(double lo, double hi, int target_count) {
  check_finite(lo, hi, "decade_ticks");
  if (lo > hi) std::swap(lo, hi);
  if (!(lo > 0))
    throw Error(fmt::format("decade_ticks: the range [{}, {}] is not positive", lo, hi));
  auto first = static_cast<int>(std::floor(std::log10(lo) + kSlack));
  auto last = static_cast<int>(std::ceil(std::log10(hi) - kSlack));
  if (first == last) --first, ++last;
  const int target = std::max(target_count, 1);
  const int every = std::max(1, (last - first + target - 1) / target);
  first -= ((first % every) + every) % every;  // start on a multiple: 1e-12, 1e-9, ..., not 1e-11
  std::vector<double> ticks;
  for (int k = first;; k += every) {
    ticks.push_back(Step{1, k}(1));
    if (k >= last) return ticks;
  }
}

Document::Document(std::string title) : title_(std::move(title)) {}

void Document::heading(const std::string& text) { put(body_, "<h2>{}</h2>\n", escape(text)); }
void Document::paragraph(const std::string& text) { put(body_, "<p>{}</p>\n", escape(text)); }
void Document::add(const LineChart& chart) { render(body_, chart, in_grid_); }
void Document::add(const BarChart& chart) { render(body_, chart, in_grid_); }
void Document::add(const PointChart& chart) { render(body_, chart, in_grid_); }
void Document::add(const DecisionBoundary& chart) { render(body_, chart, in_grid_); }
void Document::add(const HeatMap& chart) { render(body_, chart, in_grid_); }
void Document::add(const Table& table) { render(body_, table); }

void Document::add_json(const std::string& title, const nlohmann::json& value) {
  put(body_, "<details><summary>{}</summary><pre>{}</pre></details>\n", escape(title),
      escape(value.dump(2, ' ', false, nlohmann::json::error_handler_t::replace)));
}

void Document::begin_grid() {
  if (in_grid_) throw Error("report: begin_grid() while a grid is open");
  body_ += "<div class=\"grid\">\n";
  in_grid_ = true;
}

void Document::end_grid() {
  if (!in_grid_) throw Error("report: end_grid() without begin_grid()");
  body_ += "</div>\n";
  in_grid_ = false;
}

std::string Document::html() const {
  return fmt::format(
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>\n"
      "<title>{0}</title>\n<style>{1}</style>\n</head>\n<body>\n<h1>{0}</h1>\n{2}{3}"
      "</body>\n</html>\n",
      escape(title_), kStyle, body_, in_grid_ ? "</div>\n" : "");
}

void Document::write(const std::string& path) const { write_file_atomically(path, html()); }

}  // namespace actlab::report
