// Self-contained HTML reports: headings, text, tables, JSON blocks and inline SVG charts (line,
// bar, point, decision boundary) in one file that needs no network and no JavaScript to read.
//
// The page is well-formed XML after its <!DOCTYPE html> line, so tests can parse it. Charts use
// the Okabe-Ito palette (distinct for colour-blind readers), 1-2-5 ticks (decades on log axes),
// and leave out NaN/Inf values (a gap in a line) and, on log axes, values <= 0.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace actlab::report {

// One curve. An empty x means 0, 1, 2, ...; otherwise x and y have the same length.
struct Series {
  std::string name;
  std::vector<double> x, y;
};

// Curves over a shared x axis; a legend appears when there are two or more.
struct LineChart {
  std::string title, x_label, y_label;
  bool log_y = false;
  std::vector<Series> series;
};

// One bar per label, rising from zero (from the bottom of the axis when log_y).
struct BarChart {
  std::string title, y_label;
  bool log_y = false;
  std::vector<std::string> labels;
  std::vector<double> values;
};

// One column per label holding a group's values (e.g. one per seed): each value a dot, their
// mean a short line, with whiskers at mean +- sample std (n >= 2), on an axis fitted to the
// data rather than drawn from zero, so that 0.94 and 0.96 look apart.
struct PointChart {
  std::string title, y_label;
  std::vector<std::string> labels;
  std::vector<std::vector<double>> values;  // one list per label; NaN/Inf are left out
};

struct Point {
  double x, y;
  int label;
};

// The decision boundary of a 2-D classifier over the box [x_min, x_max] x [y_min, y_max], cut
// into resolution x resolution cells, with the data points on top, coloured by label.
struct DecisionBoundary {
  std::string title;
  int64_t resolution = 0;
  double x_min = 0, x_max = 1, y_min = 0, y_max = 1;
  std::vector<int> cls;           // the predicted class per cell, row-major, row 0 at y_min
  std::vector<float> confidence;  // empty, or per cell a value in [0, 1]: surer is darker
  int num_classes = 2;
  std::vector<Point> points;  // points outside the box are left out
};

// A matrix of values in [0, 1] (e.g. attention weights) as cells shaded from white (0) to dark
// blue (1), row 0 at the top, each labelled along the left and the top (every few labels when
// the cells are too small for all). NaN cells are not drawn: they show the grey background, for
// entries that do not exist (the causal mask's upper triangle).
struct HeatMap {
  std::string title;
  std::string row_title, column_title;  // e.g. "query", "key"
  std::vector<std::string> row_labels, column_labels;
  std::vector<double> values;  // row_labels.size() x column_labels.size(), row-major
};

struct Table {
  std::string title;
  std::vector<std::string> header;  // may be empty; otherwise every row has as many cells
  std::vector<std::vector<std::string>> rows;
  // The leading columns that hold text (names, formulas, advice) are aligned left; the others
  // hold numbers and are aligned right, so that their digits line up.
  size_t text_columns = 1;
};

// A report page, built top to bottom. Charts added between begin_grid() and end_grid() are
// drawn smaller, side by side (small multiples, e.g. one chart per layer).
class Document {
 public:
  explicit Document(std::string title);

  void heading(const std::string& text);
  void paragraph(const std::string& text);
  // Each chart throws Error when its data are inconsistent (lengths, classes out of range).
  void add(const LineChart& chart);
  void add(const BarChart& chart);
  void add(const PointChart& chart);
  void add(const DecisionBoundary& chart);
  void add(const HeatMap& chart);
  void add(const Table& table);
  void add_json(const std::string& title, const nlohmann::json& value);  // folded by default

  void begin_grid();  // throws Error if a grid is already open
  void end_grid();    // throws Error if none is open

  std::string html() const;                   // closes a grid left open
  void write(const std::string& path) const;  // atomically; throws Error naming the path

 private:
  std::string title_;
  std::string body_;
  bool in_grid_ = false;
};

// Text made safe for HTML/XML content and quoted attributes: & < > " ' become entities, and
// control characters that XML forbids are dropped.
std::string escape(const std::string& text);

// Axis ticks at the multiples of a 1-2-5 step (1, 2 or 5 times a power of ten) chosen to give
// about target_count intervals and covering [lo, hi]: the first tick is <= lo, the last >= hi.
// A range of zero width is widened around its value, or to [0, 1] when the value is 0 (an
// all-zero chart is drawn on its floor, not in the middle of a -1..1 axis). Throws Error for non-finite bounds.
std::vector<double> nice_ticks(double lo, double hi, int target_count);

// Log-axis ticks: powers of ten covering [lo, hi] (0 < lo <= hi), every k-th decade when the
// range spans more than about target_count decades. Throws Error unless 0 < lo and both finite.
std::vector<double> decade_ticks(double lo, double hi, int target_count);

}  // namespace actlab::report
