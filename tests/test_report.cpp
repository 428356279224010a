// HTML reports: every page parses as XML (a small checker below, itself tested on broken pages),
// holds no external reference or script, escapes text, and draws the charts it promises: ticks,
// legends, gaps for NaN, "no data", merged decision-boundary cells, small multiples, atomic writes.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <regex>
#include <sstream>

#include "actlab/core/tensor.hpp"
#include "actlab/report/report.hpp"
#include "html_check.hpp"

using namespace actlab;
using namespace actlab::report;
using namespace html_check;

namespace {

// ---- Pages to check -------------------------------------------------------------------------

const std::string kNasty = "<b>\"Tom\" & 'Jerry'</b>";

LineChart three_curves() {
  LineChart chart{"Loss by activation", "step", "loss", false, {}};
  for (int k = 0; k < 3; ++k) {
    Series s{"act " + std::to_string(k), {}, {}};
    for (int i = 0; i <= 100; ++i) {
      s.x.push_back(10.0 * i);
      s.y.push_back((k + 1) * std::exp(-0.03 * i) + 0.05);
    }
    chart.series.push_back(s);
  }
  return chart;
}

// Calls f(x, y) at the centre of each cell of a resolution x resolution grid over [-1, 1]^2,
// in DecisionBoundary's order: row-major, row 0 at y = -1.
template <class F>
void for_each_cell(int64_t resolution, F f) {
  for (int64_t r = 0; r < resolution; ++r)
    for (int64_t c = 0; c < resolution; ++c)
      f(-1 + 2 * (c + 0.5) / resolution, -1 + 2 * (r + 0.5) / resolution);
}

// A boundary over [-1, 1]^2 whose cell at (x, y) holds class cls_at(x, y).
template <class F>
DecisionBoundary boundary(int64_t resolution, int num_classes, F cls_at) {
  DecisionBoundary db;
  db.title = "boundary";
  db.resolution = resolution;
  db.x_min = db.y_min = -1;
  db.x_max = db.y_max = 1;
  db.num_classes = num_classes;
  for_each_cell(resolution, [&](double x, double y) { db.cls.push_back(cls_at(x, y)); });
  return db;
}

// A disc of class 1 in class 0, surer away from its rim, with points on two rings.
DecisionBoundary circle_boundary(int64_t resolution) {
  DecisionBoundary db =
      boundary(resolution, 2, [](double x, double y) { return x * x + y * y < 0.4 ? 1 : 0; });
  for_each_cell(resolution, [&](double x, double y) {
    db.confidence.push_back(static_cast<float>(std::min(1.0, 3 * std::abs(x * x + y * y - 0.4))));
  });
  for (int i = 0; i < 300; ++i) {
    const double a = 0.37 * i, radius = (i % 2) ? 0.4 : 0.85;
    db.points.push_back({radius * std::cos(a), radius * std::sin(a), i % 2});
  }
  return db;
}

Document every_kind() {
  Document doc("every kind");
  doc.heading("Curves");
  doc.paragraph("Three curves, a log chart, bars, a boundary, a table and JSON.");
  doc.add(three_curves());
  LineChart log_chart{"Gradient norm", "layer", "norm", true, {{"sigmoid", {}, {1, 0.1, 0.01}}}};
  doc.add(log_chart);
  doc.add(BarChart{"Dead units", "%", false, {"layer 1", "layer 2"}, {12.5, 40}});
  doc.add(circle_boundary(40));
  doc.add(Table{"Summary", {"activation", "accuracy"}, {{"relu", "0.99"}, {"tanh", "0.97"}}});
  doc.add_json("Config", {{"lr", 0.01}, {"model", {{"activation", "gelu"}}}});
  doc.begin_grid();
  for (int layer = 1; layer <= 3; ++layer)
    doc.add(BarChart{"layer " + std::to_string(layer), "", false, {"mean", "std"}, {0.1, 0.9}});
  doc.end_grid();
  return doc;
}

// The texts of the y tick labels of the chart with index `chart` in the page.
std::vector<std::string> y_tick_labels(const Parsed& p, size_t chart = 0) {
  const int group = p.find("g", "y-ticks").at(chart);
  std::vector<std::string> labels;
  for (int t : p.children(group, "text")) labels.push_back(p.elements[static_cast<size_t>(t)].text);
  return labels;
}

size_t subpaths(const std::string& d) {
  return static_cast<size_t>(std::count(d.begin(), d.end(), 'M'));
}

}  // namespace

TEST_CASE("the well-formedness checker rejects broken pages", "[report]") {
  const std::string head = "<!DOCTYPE html>\n";
  CHECK(parse(head + "<html><p a=\"1\" b='2'>x &amp; y &#39;</p><br/><!-- <no> --></html>")
            .error.empty());
  for (const char* bad : {"<html><p></html>", "<html></p></html>", "<html><p a=1></p></html>",
                          "<html><p a=\"1\"b=\"2\"></p></html>", "<html>a & b</html>",
                          "<html><p a=\"<\"></p></html>", "<html>&nbsp;</html>", "<html>",
                          "<html></html><html></html>", "<html><p a=\"1\" a=\"2\"/></html>"}) {
    INFO(bad);
    CHECK_FALSE(parse(head + bad).error.empty());
  }
  CHECK_FALSE(parse("<html></html>").error.empty());  // no doctype
}

TEST_CASE("nice_ticks gives 1-2-5 steps that cover the range", "[report]") {
  CHECK(nice_ticks(0, 1, 5) == std::vector<double>{0, 0.2, 0.4, 0.6, 0.8, 1});
  CHECK(nice_ticks(0.13, 0.87, 5) == std::vector<double>{0, 0.2, 0.4, 0.6, 0.8, 1});
  CHECK(nice_ticks(0, 0.3, 3) == std::vector<double>{0, 0.1, 0.2, 0.3});  // 0.1 * 3 prints as 0.3
  CHECK(nice_ticks(-3, 97, 5) == std::vector<double>{-20, 0, 20, 40, 60, 80, 100});
  CHECK(nice_ticks(1, 1e4, 4) == std::vector<double>{0, 2000, 4000, 6000, 8000, 10000});
  CHECK(nice_ticks(0.6, 1.4, 4) == std::vector<double>{0.6, 0.8, 1, 1.2, 1.4});
  CHECK(nice_ticks(97, -3, 5) == nice_ticks(-3, 97, 5));

  // Properties over many ranges and scales: one 1-2-5 step, covering, about as many as asked.
  for (double scale : {1e-7, 1e-3, 1.0, 37.0, 1e6})
    for (double lo : {-5.3, -1.0, 0.0, 0.25, 3.0})
      for (double width : {0.01, 0.7, 1.0, 9.0, 130.0})
        for (int target : {3, 5, 8}) {
          const double a = lo * scale, b = (lo + width) * scale;
          const std::vector<double> t = nice_ticks(a, b, target);
          INFO(a << " .. " << b << " target " << target);
          REQUIRE(t.size() >= 2);
          CHECK(t.front() <= a);
          CHECK(t.back() >= b);
          const double step = t[1] - t[0];
          const double mantissa = step / std::pow(10.0, std::floor(std::log10(step) + 1e-9));
          CHECK((std::abs(mantissa - 1) < 1e-6 || std::abs(mantissa - 2) < 1e-6 ||
                 std::abs(mantissa - 5) < 1e-6));
          for (size_t i = 1; i < t.size(); ++i) CHECK(t[i] - t[i - 1] == Approx(step));
          const double intervals = static_cast<double>(t.size() - 1);
          CHECK(intervals >= target / 2.5);
          CHECK(intervals <= target * 2.5 + 2);
        }
}

TEST_CASE("nice_ticks widens an empty range and rejects non-finite bounds", "[report]") {
  // Zeros sit on the floor of a 0..1 axis, not in the middle of -1..1.
  CHECK(nice_ticks(0, 0, 5) == std::vector<double>{0, 0.2, 0.4, 0.6, 0.8, 1});
  for (double v : {2.0, -1e-8, 5e9}) {
    const std::vector<double> t = nice_ticks(v, v, 5);
    INFO(v);
    REQUIRE(t.size() >= 2);
    CHECK(t.front() < v);
    CHECK(t.back() > v);
  }
  CHECK_THROWS_AS(nice_ticks(0, std::numeric_limits<double>::infinity(), 5), Error);
  CHECK_THROWS_AS(nice_ticks(std::nan(""), 1, 5), Error);
}

TEST_CASE("decade_ticks gives powers of ten covering the range", "[report]") {
  const std::vector<double> t = decade_ticks(0.003, 42, 8);
  REQUIRE(t.size() == 6);
  for (size_t i = 0; i < t.size(); ++i) CHECK(t[i] == Approx(std::pow(10.0, -3 + int(i))));

  const std::vector<double> wide = decade_ticks(1e-12, 1, 5);  // every third decade
  CHECK(wide.size() <= 6);
  CHECK(wide.front() <= 1e-12);
  CHECK(wide.back() >= 1);
  for (double v : wide) CHECK(std::log10(v) == Approx(std::round(std::log10(v))).margin(1e-9));

  CHECK(decade_ticks(1, 1, 5) == std::vector<double>{0.1, 1, 10});  // widened around one value
  CHECK_THROWS_AS(decade_ticks(0, 1, 5), Error);
  CHECK_THROWS_AS(decade_ticks(-1, 1, 5), Error);
}

TEST_CASE("escape turns markup characters into entities", "[report]") {
  CHECK(escape(kNasty) == "&lt;b&gt;&quot;Tom&quot; &amp; &#39;Jerry&#39;&lt;/b&gt;");
  CHECK(escape("plain text, \u00e9t\u00e9") == "plain text, \u00e9t\u00e9");
  CHECK(escape(std::string("a\x01"
                           "b\tc\n",
                           6)) == "ab\tc\n");  // XML forbids \x01
}

TEST_CASE("a document with every element kind is well-formed and self-contained", "[report]") {
  const std::string page = every_kind().html();
  const Parsed p = parse_ok(page);
  require_self_contained(page);

  // Two line charts, one bar chart, a boundary and three bar charts in the grid.
  CHECK(p.find("svg").size() == 7);
  CHECK(p.texts("figcaption") == std::vector<std::string>{"Loss by activation", "Gradient norm",
                                                          "Dead units", "boundary", "layer 1",
                                                          "layer 2", "layer 3"});
  CHECK(p.texts("title").front() == "every kind");
  CHECK(p.texts("h1") == std::vector<std::string>{"every kind"});
  CHECK(p.texts("h2") == std::vector<std::string>{"Curves"});
  CHECK(p.find("path", "series").size() == 4);  // three curves and one log curve
  CHECK(p.find("rect", "bar").size() == 2 + 3 * 2);
  CHECK(p.find("caption").size() == 1);
  CHECK(p.find("td").size() == 4);
  CHECK(p.find("details").size() == 1);
  CHECK(contains(p.texts("pre").at(0), "\"activation\": \"gelu\""));

  // Legends: one entry per curve for several curves, none for one, one per class (and the
  // shading) for the boundary.
  const std::vector<int> legends = p.find("div", "legend");
  REQUIRE(legends.size() == 2);
  CHECK(p.children(legends[0], "span").size() == 3);
  CHECK(p.elements[static_cast<size_t>(p.children(legends[0], "span")[1])].text == "act 1");
  CHECK(p.children(legends[1], "span").size() == 3);

  // Each curve is one unbroken path.
  for (int path : p.find("path", "series"))
    CHECK(subpaths(p.elements[static_cast<size_t>(path)].attrs.at("d")) == 1);

  // Curves use different colours.
  const auto paths = p.find("path", "series");
  CHECK(p.elements[static_cast<size_t>(paths[0])].attrs.at("stroke") !=
        p.elements[static_cast<size_t>(paths[1])].attrs.at("stroke"));
}

TEST_CASE("titles and text with markup characters are escaped", "[report]") {
  Document doc(kNasty);
  doc.heading(kNasty);
  doc.paragraph(kNasty);
  LineChart chart{kNasty, kNasty, kNasty, false, {{kNasty, {}, {1, 2}}, {"b", {}, {2, 1}}}};
  doc.add(chart);
  doc.add(BarChart{kNasty, kNasty, false, {kNasty}, {1}});
  doc.add(Table{kNasty, {kNasty}, {{kNasty}}});
  doc.add_json(kNasty, {{"key", kNasty}});
  const std::string page = doc.html();

  CHECK_FALSE(contains(page, kNasty));
  CHECK_FALSE(contains(page, "<b>"));
  const Parsed p = parse_ok(page);
  CHECK(p.texts("title").front() == kNasty);  // the page's; each bar's tooltip is one too
  for (const char* tag : {"h1", "h2", "p", "caption", "th", "td", "summary"}) {
    INFO(tag);
    CHECK(p.texts(tag) == std::vector<std::string>{kNasty});
  }
  CHECK(p.texts("figcaption") == std::vector<std::string>{kNasty, kNasty});
  CHECK(p.elements[static_cast<size_t>(p.find("span").at(0))].text == kNasty);  // legend
  CHECK(p.elements[static_cast<size_t>(p.find("svg").at(0))].attrs.at("aria-label") == kNasty);
  CHECK(contains(p.texts("pre").at(0), "\\\"Tom\\\" & 'Jerry'"));  // JSON-quoted, then escaped
}

TEST_CASE("text columns of a table are aligned left, number columns right", "[report]") {
  Document doc("aligned");
  doc.add(Table{"", {"name", "advice", "value"}, {{"relu", "hidden layers", "1"}}, 2});
  const Parsed page = parse_ok(doc.html());
  // The first column is aligned left by the page's style already; the second is marked.
  CHECK(page.texts("th", "text") == std::vector<std::string>{"advice"});
  CHECK(page.texts("td", "text") == std::vector<std::string>{"hidden layers"});
  CHECK(page.find("td").size() == 3);
}

TEST_CASE("a log axis has decade ticks and leaves out values that are not positive", "[report]") {
  Document doc("log");
  doc.add(LineChart{
      "norms", "layer", "norm", true, {{"sigmoid", {}, {1, 0.1, 0, -1, 1e-3, 1e-4, 1e-5}}}});
  doc.add(LineChart{"losses", "", "", true, {{"a", {}, {0.02, 3, 70}}}});
  const Parsed p = parse_ok(doc.html());
  // Powers of ten, written as such when some decade would need an exponent...
  CHECK(y_tick_labels(p, 0) == std::vector<std::string>{"10\u207b\u2075", "10\u207b\u2074",
                                                        "10\u207b\u00b3", "10\u207b\u00b2",
                                                        "10\u207b\u00b9", "10\u2070"});
  // ... and plainly when none does.
  CHECK(y_tick_labels(p, 1) == std::vector<std::string>{"0.01", "0.1", "1", "10", "100"});
  // 0 and -1 break the curve into two pieces.
  CHECK(subpaths(p.elements[static_cast<size_t>(p.find("path", "series").at(0))].attrs.at("d")) ==
        2);
}

TEST_CASE("bars rise from zero, or on a log axis from below the lowest bar", "[report]") {
  Document doc("bars");
  doc.add(BarChart{"signed", "", false, {"a", "b"}, {-2, 3}});
  doc.add(BarChart{"log", "", true, {"a", "b", "c", "d"}, {1, 30, 0, 2000}});
  const Parsed p = parse_ok(doc.html());
  const std::vector<int> bars = p.find("rect", "bar");
  REQUIRE(bars.size() == 2 + 3);  // 0 has no place on a log axis
  const auto attr = [&](int bar, const char* name) {
    return std::stod(p.elements[static_cast<size_t>(bar)].attrs.at(name));
  };
  // The negative bar hangs below the positive one's base: both meet at zero.
  CHECK(attr(bars[0], "y") == Approx(attr(bars[1], "y") + attr(bars[1], "height")).margin(0.11));
  for (int bar : bars) CHECK(attr(bar, "height") > 1);  // the bar of 1 too, on a decade
  CHECK(y_tick_labels(p, 1).front() == "0.1");
}

TEST_CASE("point charts fit their axis to the values and show each one and the spread",
          "[report]") {
  Document doc("points");
  doc.add(PointChart{"final accuracy", "accuracy", {"GELU", "ReLU", "one run"},
                     {{0.94, 0.95, 0.96}, {0.955, 0.96, 0.965}, {0.945}}});
  doc.add(BarChart{"all zero", "% dead", false, {"a", "b"}, {0, 0}});
  const Parsed p = parse_ok(doc.html());
  // The axis covers 0.94..0.97 or so, not 0..1: differences of 0.01 are visible.
  const std::vector<std::string> ticks = y_tick_labels(p, 0);
  REQUIRE(ticks.size() >= 3);
  CHECK(std::stod(ticks.front()) >= 0.92);
  CHECK(std::stod(ticks.back()) <= 0.98);
  // Every value is a dot; every group a mean; groups of two or more runs a spread.
  CHECK(p.find("circle").size() == 7);
  const std::vector<int> means = p.find("path", "mean");
  REQUIRE(means.size() == 3);
  CHECK(p.find("path", "spread").size() == 2);
  const std::vector<int> gelu_title = p.children(means[0], "title");
  REQUIRE(gelu_title.size() == 1);
  CHECK(p.elements[static_cast<size_t>(gelu_title[0])].text == "GELU: 0.95 +- 0.01");
  // ReLU's mean lies above GELU's: SVG's y grows downwards.
  const auto mean_y = [&](int i) {
    const std::string d = p.elements[static_cast<size_t>(means[static_cast<size_t>(i)])].attrs.at("d");
    return std::stod(d.substr(d.find(' ') + 1));
  };
  CHECK(mean_y(1) < mean_y(0));
  // An all-zero chart's axis runs from 0 up.
  CHECK(y_tick_labels(p, 1).front() == "0");
}

TEST_CASE("a linear axis has nice tick labels without float noise", "[report]") {
  Document doc("linear");
  doc.add(LineChart{"accuracy", "", "", false, {{"a", {0, 1, 2, 3}, {0.31, 0.52, 0.77, 0.9}}}});
  const Parsed p = parse_ok(doc.html());
  CHECK(y_tick_labels(p) ==
        std::vector<std::string>{"0.3", "0.4", "0.5", "0.6", "0.7", "0.8", "0.9"});
}

TEST_CASE("NaN and Inf values leave gaps and never reach the page", "[report]") {
  const double nan = std::nan(""), inf = std::numeric_limits<double>::infinity();
  Document doc("gaps");
  doc.add(LineChart{
      "loss",
      "step",
      "loss",
      false,
      {{"diverging", {}, {1, 0.5, nan, 0.4, 0.3, inf, 0.2}}, {"bad x", {0, nan, 2}, {1, 1, 1}}}});
  doc.add(BarChart{"bars", "", false, {"a", "b", "c"}, {1, nan, -inf}});
  doc.add(LineChart{"log", "", "", true, {{"s", {}, {1, nan, 0.1, -inf, 0.01}}}});
  const std::string page = doc.html();
  const Parsed p = parse_ok(page);
  const std::regex non_finite("\\b(nan|inf|infinity)\\b", std::regex::icase);
  CHECK_FALSE(std::regex_search(page, non_finite));

  const std::vector<int> paths = p.find("path", "series");
  REQUIRE(paths.size() == 3);
  // {1, 0.5} {0.4, 0.3} {0.2}: three pieces, the last a lone point drawn as a dot.
  const std::string& d = p.elements[static_cast<size_t>(paths[0])].attrs.at("d");
  CHECK(subpaths(d) == 3);
  CHECK(d.ends_with("a1.5 1.5 0 1 0-3 0"));
  CHECK(subpaths(p.elements[static_cast<size_t>(paths[1])].attrs.at("d")) == 2);
  CHECK(subpaths(p.elements[static_cast<size_t>(paths[2])].attrs.at("d")) == 3);
  CHECK(p.find("rect", "bar").size() == 1);
}

TEST_CASE("charts without data say so", "[report]") {
  const double nan = std::nan("");
  Document doc("empty");
  doc.add(LineChart{"no series", "", "", false, {}});
  doc.add(LineChart{"empty series", "", "", false, {{"a", {}, {}}, {"b", {}, {}}}});
  doc.add(LineChart{"all NaN", "", "", false, {{"a", {}, {nan, nan}}}});
  doc.add(LineChart{"log of negatives", "", "", true, {{"a", {}, {0, -1}}}});
  doc.add(BarChart{"no bars", "", false, {}, {}});
  doc.add(BarChart{"log bars", "", true, {"a"}, {0}});
  DecisionBoundary db;
  db.title = "no cells";
  doc.add(db);
  const std::string page = doc.html();
  const Parsed p = parse_ok(page);
  require_self_contained(page);
  CHECK(p.find("svg").size() == 7);
  const std::vector<std::string> texts = p.texts("text");
  CHECK(std::count(texts.begin(), texts.end(), "no data") == 7);
  CHECK(p.find("path", "series").empty());
  // The legend still names the series that had nothing to draw.
  CHECK(p.children(p.find("div", "legend").at(0), "span").size() == 2);
}

TEST_CASE("decision boundary cells merge into few rects and row 0 lies at y_min", "[report]") {
  SECTION("a blocky 200 x 200 grid") {
    DecisionBoundary db =
        boundary(200, 4, [](double x, double y) { return (x < 0 ? 0 : 1) + (y < 0 ? 0 : 2); });
    db.points = {{-0.5, -0.5, 0}, {0.5, 0.5, 3}, {2, 0, 1}, {0, std::nan(""), 1}};
    Document doc("blocky");
    doc.add(db);
    const std::string page = doc.html();
    const Parsed p = parse_ok(page);
    const int cells = p.find("g", "cells").at(0);
    size_t rects = 0;
    for (int group : p.children(cells, "g")) rects += p.children(group, "rect").size();
    CHECK(rects == 2 * 200);              // two runs per row, against 40000 cells
    CHECK(p.find("circle").size() == 2);  // outside the box or NaN: left out
    CHECK(page.size() < 40'000);
  }
  SECTION("a round boundary shaded by confidence") {
    Document doc("round");
    doc.add(circle_boundary(200));
    const std::string page = doc.html();
    const Parsed p = parse_ok(page);
    CHECK(p.find("rect").size() < 4'000);
    CHECK(p.find("circle").size() == 300);
    CHECK(page.size() < 300'000);
  }
  SECTION("row 0 is drawn at the bottom") {
    DecisionBoundary db = boundary(2, 2, [](double, double y) { return y < 0 ? 0 : 1; });
    Document doc("rows");
    doc.add(db);
    const Parsed p = parse_ok(doc.html());
    const int cells = p.find("g", "cells").at(0);
    const std::vector<int> groups = p.children(cells, "g");  // class 0, then class 1
    REQUIRE(groups.size() == 2);
    const auto top_of = [&](int group) {
      return std::stod(
          p.elements[static_cast<size_t>(p.children(group, "rect").at(0))].attrs.at("y"));
    };
    CHECK(top_of(groups[0]) > top_of(groups[1]));  // class 0 (y < 0) lies lower on the page
  }
}

TEST_CASE("inconsistent chart data throws Error naming the chart", "[report]") {
  using Catch::Matchers::Contains;
  Document doc("bad");
  CHECK_THROWS_WITH(doc.add(LineChart{"curves", "", "", false, {{"s", {1, 2}, {1}}}}),
                    Contains("curves") && Contains("'s'"));
  CHECK_THROWS_WITH(doc.add(BarChart{"bars", "", false, {"a"}, {1, 2}}), Contains("bars"));
  CHECK_THROWS_WITH(doc.add(Table{"table", {"a", "b"}, {{"1"}}}), Contains("table"));
  DecisionBoundary db = boundary(3, 2, [](double, double) { return 0; });
  db.cls.pop_back();
  CHECK_THROWS_WITH(doc.add(db), Contains("boundary") && Contains("needs 9"));
  db = boundary(3, 2, [](double, double) { return 2; });
  CHECK_THROWS_WITH(doc.add(db), Contains("class 2"));
  db = boundary(3, 2, [](double, double) { return 1; });
  db.points = {{0, 0, -1}};
  CHECK_THROWS_WITH(doc.add(db), Contains("label -1"));
  db.points.clear();
  db.confidence = {0.5};
  CHECK_THROWS_AS(doc.add(db), Error);
  db.confidence.clear();
  db.x_max = db.x_min;
  CHECK_THROWS_AS(doc.add(db), Error);
  // Nothing half-drawn was left behind.
  CHECK(parse_ok(doc.html()).find("svg").empty());
}

TEST_CASE("grids hold small multiples and must be balanced", "[report]") {
  Document doc("grid");
  doc.begin_grid();
  for (int layer = 0; layer < 4; ++layer) doc.add(three_curves());
  CHECK_THROWS_AS(doc.begin_grid(), Error);
  doc.end_grid();
  CHECK_THROWS_AS(doc.end_grid(), Error);
  doc.add(three_curves());
  const Parsed p = parse_ok(doc.html());
  const int grid = p.find("div", "grid").at(0);
  const std::vector<int> figures = p.children(grid, "figure");
  REQUIRE(figures.size() == 4);
  const std::vector<int> svgs = p.find("svg");
  REQUIRE(svgs.size() == 5);
  const auto width = [&](int svg) {
    return std::stod(p.elements[static_cast<size_t>(svg)].attrs.at("width"));
  };
  CHECK(width(svgs[0]) < width(svgs[4]));  // small multiples are drawn smaller

  Document open("left open");
  open.begin_grid();
  open.add(three_curves());
  CHECK(parse_ok(open.html()).find("div", "grid").size() == 1);
}

TEST_CASE("long bar labels are turned and shortened", "[report]") {
  std::vector<std::string> labels;
  std::vector<double> values;
  for (int i = 0; i < 12; ++i) {
    labels.push_back("a rather long label number " + std::to_string(i));
    values.push_back(i);
  }
  Document doc("labels");
  doc.add(BarChart{"long", "", false, labels, values});
  const Parsed p = parse_ok(doc.html());
  size_t turned = 0;
  for (int t : p.find("text")) {
    const Element& e = p.elements[static_cast<size_t>(t)];
    if (e.attrs.count("transform") && contains(e.attrs.at("transform"), "rotate(-40)")) {
      ++turned;
      CHECK(e.text.ends_with("\u2026"));
      CHECK(e.text.size() < labels[0].size());
    }
  }
  CHECK(turned == 12);
}

TEST_CASE("write() replaces the file atomically and names the path when it cannot", "[report]") {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / ("actlab_report_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const std::string path = (dir / "report.html").string();
  const Document doc = every_kind();
  Document("old").write(path);
  doc.write(path);
  std::ifstream in(path);
  std::stringstream content;
  content << in.rdbuf();
  CHECK(content.str() == doc.html());
  CHECK(std::distance(fs::directory_iterator(dir), fs::directory_iterator()) == 1);  // no temp
  fs::remove_all(dir);

  const std::string bad = (dir / "missing" / "report.html").string();
  CHECK_THROWS_AS(doc.write(bad), Error);
  CHECK_THROWS_WITH(doc.write(bad), Catch::Matchers::Contains(bad));
}
