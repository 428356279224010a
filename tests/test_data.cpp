// Synthetic tasks (shapes, kinds, balance, determinism, geometry, every validation message),
// the field reader and "did you mean" helpers, labels() and the batch iterator.
#include <catch2/catch.hpp>

#include <algorithm>
#include <bit>
#include <cmath>
#include <map>
#include <numbers>
#include <set>

#include "actlab/actlab.hpp"
#include "actlab/detail/fields.hpp"
#include "actlab/detail/suggest.hpp"
#include "task_error.hpp"

using namespace actlab;
using namespace actlab::data;
using nlohmann::json;

namespace {
const std::string kKnownTasks =
    "known: xor, moons, circles, spirals, checkerboard, blobs, sine, teacher, parity, csv, "
    "modadd, reverse, text";

// The tasks of points drawn from a distribution (csv reads a file: tests/test_csv_task.cpp;
// the sequence tasks: tests/test_sequence_tasks.cpp).
std::vector<std::string> synthetic_task_names() {
  std::vector<std::string> names;
  for (const std::string& name : task_names())
    if (name != "csv" && !is_sequence_task(name)) names.push_back(name);
  return names;
}

// Each row of x [N, 2] as a point, paired with its label.
struct Point {
  float a, b, label;
};
std::vector<Point> points(const Tensor& x, const Tensor& y) {
  const auto xs = x.to_vector(), ys = y.to_vector();
  std::vector<Point> out;
  for (size_t i = 0; i < ys.size(); ++i) out.push_back({xs[2 * i], xs[2 * i + 1], ys[i]});
  return out;
}

}  // namespace

// ---- suggest -------------------------------------------------------------------------------

TEST_CASE("edit_distance counts insertions, deletions, substitutions and swaps",
          "[data][suggest]") {
  using detail::edit_distance;
  CHECK(edit_distance("", "") == 0);
  CHECK(edit_distance("", "abc") == 3);
  CHECK(edit_distance("kitten", "sitting") == 3);
  CHECK(edit_distance("ab", "ba") == 1);
  CHECK(edit_distance("sprials", "spirals") == 1);
  // Optimal string alignment edits no substring twice: "ca" -> "abc" takes 3, not 2.
  CHECK(edit_distance("ca", "abc") == 3);
}

TEST_CASE("closest_match suggests near names only, ignoring case", "[data][suggest]") {
  using detail::closest_match;
  const std::vector<std::string> names = task_names();
  CHECK(closest_match("spiral", names) == "spirals");
  CHECK(closest_match("sprials", names) == "spirals");
  CHECK(closest_match("Moons", names) == "moons");
  CHECK(closest_match("xr", names) == "xor");
  CHECK(closest_match("checkerbord", names) == "checkerboard");
  CHECK(closest_match("banana", names).empty());
  CHECK(closest_match("", names).empty());
  CHECK(closest_match("spirals", {}).empty());
  CHECK(closest_match("relu", {"gelu", "elu"}) == "gelu");  // a tie goes to the first
  CHECK(closest_match("elu6", {"gelu", "elu"}) == "elu");   // the nearer wins
}

TEST_CASE("known_names_hint lists the names and adds a suggestion when one is close",
          "[data][suggest]") {
  CHECK(detail::known_names_hint("gelu6", {"relu", "gelu"}) ==
        "known: relu, gelu; did you mean \"gelu\"?");
  CHECK(detail::known_names_hint("zzz", {"relu", "gelu"}) == "known: relu, gelu");
}

// ---- fields --------------------------------------------------------------------------------

TEST_CASE("FieldError keeps its path apart so that callers can re-root it", "[data][fields]") {
  const FieldError e({"task", "a/b~c"}, "bad");
  CHECK(std::string(e.what()) == "task.a/b~c: bad");
  CHECK(e.reason() == "bad");
  CHECK(e.dotted_path() == "task.a/b~c");
  CHECK(e.pointer_path() == "/task/a~1b~0c");
  const FieldError deeper = e.within("base");
  CHECK(std::string(deeper.what()) == "base.task.a/b~c: bad");
  CHECK(deeper.pointer_path() == "/base/task/a~1b~0c");
  CHECK(std::string(FieldError({}, "bad").what()) == "bad");
}

TEST_CASE("read_number checks type, integrality and range", "[data][fields]") {
  using detail::NumberField;
  const NumberField count{.name = "k", .integer = true, .fallback = 3, .lo = 2, .hi = 10};
  const NumberField rate{.name = "r", .fallback = 0.5, .lo = 0, .hi = 1, .lo_open = true};
  const NumberField free{.name = "f", .fallback = 1};
  const NumberField below{.name = "b", .fallback = 1, .hi = 5, .hi_open = true};
  CHECK(detail::expected_text(count) == "an integer in [2, 10]");
  CHECK(detail::expected_text(rate) == "a number in (0, 1]");
  CHECK(detail::expected_text(free) == "a number");
  CHECK(detail::expected_text(below) == "a number < 5");
  auto read = [](const json& spec, const NumberField& f) {
    return detail::read_number(spec, f, {"spec"});
  };
  CHECK(read(json::object(), count) == 3);
  CHECK(read(json::object(), count).is_number_integer());
  CHECK(read(json::object(), rate) == 0.5);
  CHECK(read({{"k", 4}}, count) == 4);
  CHECK(read({{"k", 4.0}}, count) == 4);
  CHECK(read({{"k", 4.0}}, count).is_number_integer());
  CHECK(read({{"r", 1}}, rate) == 1.0);
  CHECK_THROWS_WITH(read({{"k", 4.5}}, count),
                    "spec.k: expected an integer in [2, 10], found 4.5");
  CHECK_THROWS_WITH(read({{"k", 1e30}}, count),
                    "spec.k: expected an integer in [2, 10], found 1e+30");
  CHECK_THROWS_WITH(read({{"k", true}}, count),
                    "spec.k: expected an integer in [2, 10], found true");
  CHECK_THROWS_WITH(read({{"k", nullptr}}, count),
                    "spec.k: expected an integer in [2, 10], found null");
  CHECK_THROWS_WITH(read({{"r", 0}}, rate), "spec.r: expected a number in (0, 1], found 0");
  CHECK_THROWS_WITH(read({{"r", std::nan("")}}, rate),
                    "spec.r: expected a number in (0, 1], found null");
  CHECK_THROWS_WITH(read({{"r", std::string(60, 'x')}}, rate),
                    "spec.r: expected a number in (0, 1], found \"" + std::string(36, 'x') +
                        "...");
  const NumberField seed{.name = "seed", .integer = true, .lo = 0};
  CHECK(read({{"seed", uint64_t{1} << 62}}, seed) == int64_t{1} << 62);
  CHECK_THROWS_WITH(read({{"seed", UINT64_MAX}}, seed),
                    "spec.seed: expected an integer >= 0, found 18446744073709551615");
}

// ---- the task table ------------------------------------------------------------------------

TEST_CASE("the task list, kinds, descriptions and fields", "[data][tasks]") {
  CHECK(task_names() == std::vector<std::string>{"xor", "moons", "circles", "spirals",
                                                 "checkerboard", "blobs", "sine", "teacher",
                                                 "parity", "csv", "modadd", "reverse",
                                                 "text"});
  for (const char* name : {"modadd", "reverse", "text"}) {
    CHECK(is_sequence_task(name));
    CHECK(task_kind(name) == TaskKind::multiclass);
  }
  CHECK_FALSE(is_sequence_task("spirals"));
  CHECK(to_string(TaskKind::binary) == "binary");
  CHECK(to_string(TaskKind::multiclass) == "multiclass");
  CHECK(to_string(TaskKind::regression) == "regression");
  CHECK(task_kind("spirals") == TaskKind::multiclass);
  CHECK(task_kind("teacher") == TaskKind::regression);
  CHECK(task_kind("parity") == TaskKind::binary);
  CHECK_THROWS_WITH(task_kind("csv"),
                    "task_kind: a csv task's kind depends on its file: see resolved_task_kind");
  for (const std::string& name : task_names()) CHECK_FALSE(task_description(name).empty());
  CHECK(task_fields("spirals") == std::vector<std::string>{"name", "n_train", "n_test", "seed",
                                                           "arms", "turns", "noise"});
  CHECK(task_fields("teacher") == std::vector<std::string>{"name", "n_train", "n_test", "seed",
                                                           "dims", "hidden", "outputs", "noise"});
  CHECK_THROWS_WITH(task_kind("spiral"),
                    "unknown task \"spiral\"; " + kKnownTasks + "; did you mean \"spirals\"?");
}

TEST_CASE("task_schema describes each field as JSON Schema", "[data][tasks]") {
  const json schema = task_schema("circles");
  CHECK(schema["type"] == "object");
  CHECK(schema["additionalProperties"] == false);
  CHECK(schema["description"] == task_description("circles"));
  CHECK(schema["properties"]["name"] == json{{"const", "circles"}});
  CHECK(schema["properties"]["n_train"] ==
        json{{"type", "integer"}, {"default", 1000}, {"minimum", 1}, {"maximum", 1000000},
             {"description", "training examples"}});
  CHECK(schema["properties"]["factor"] ==
        json{{"type", "number"}, {"default", 0.5}, {"exclusiveMinimum", 0.0},
             {"exclusiveMaximum", 1.0}, {"description", "inner radius over outer radius"}});
  for (const std::string& name : task_names()) {
    const json properties = task_schema(name)["properties"];
    std::vector<std::string> fields;
    for (const auto& [field, rule] : properties.items()) {
      CHECK((field == "name" || !rule["description"].get<std::string>().empty()));
      fields.push_back(field);
    }
    std::vector<std::string> expected = task_fields(name);
    std::sort(expected.begin(), expected.end());
    CHECK(fields == expected);
  }
}

TEST_CASE("resolve_task fills in every default and accepts a bare name", "[data][tasks]") {
  CHECK(resolve_task({{"name", "circles"}, {"seed", 4}}) ==
        json{{"name", "circles"}, {"n_train", 1000}, {"n_test", 500}, {"seed", 4},
             {"factor", 0.5}, {"noise", 0.1}});
  CHECK(resolve_task("parity") ==
        json{{"name", "parity"}, {"n_train", 1000}, {"n_test", 500}, {"seed", 0}, {"bits", 6}});
  CHECK(make_task({{"name", "moons"}, {"n_train", 8}}).spec == resolve_task({{"name", "moons"},
                                                                             {"n_train", 8}}));
}

TEST_CASE("every task has the shapes, kind and balanced labels it declares", "[data][tasks]") {
  const std::string name = GENERATE(from_range(synthetic_task_names()));
  INFO(name);
  const Dataset d = make_task({{"name", name}, {"n_train", 600}, {"n_test", 300}, {"seed", 3}});
  CHECK(d.name == name);
  CHECK(d.kind == task_kind(name));
  CHECK(d.x_train.shape() == std::vector<int64_t>{600, d.input_dim});
  CHECK(d.x_test.shape() == std::vector<int64_t>{300, d.input_dim});
  for (const Tensor& x : {d.x_train, d.x_test})
    for (float v : x.to_vector()) REQUIRE(std::isfinite(v));
  const std::vector<float> y = d.y_train.to_vector();
  switch (d.kind) {
    case TaskKind::binary: {
      CHECK(d.y_train.shape() == std::vector<int64_t>{600, 1});
      CHECK(d.y_test.shape() == std::vector<int64_t>{300, 1});
      CHECK(d.num_classes == 2);
      CHECK(d.output_dim == 1);
      for (float v : y) REQUIRE((v == 0.f || v == 1.f));
      const double ones = std::count(y.begin(), y.end(), 1.f) / 600.0;
      CHECK(ones >= 0.4);
      CHECK(ones <= 0.6);
      break;
    }
    case TaskKind::multiclass: {
      CHECK(d.y_train.shape() == std::vector<int64_t>{600});
      CHECK(d.y_test.shape() == std::vector<int64_t>{300});
      CHECK(d.num_classes >= 2);
      CHECK(d.output_dim == d.num_classes);
      std::map<int64_t, int64_t> counts;
      for (int64_t label : labels(d.y_train)) ++counts[label];
      REQUIRE(static_cast<int64_t>(counts.size()) == d.num_classes);
      CHECK(counts.begin()->first == 0);
      for (const auto& [label, n] : counts) CHECK(std::abs(n - 600 / d.num_classes) <= 1);
      break;
    }
    case TaskKind::regression:
      CHECK(d.y_train.shape() == std::vector<int64_t>{600, d.output_dim});
      CHECK(d.y_test.shape() == std::vector<int64_t>{300, d.output_dim});
      CHECK(d.num_classes == 0);
      for (float v : y) REQUIRE(std::isfinite(v));
      break;
  }
}

TEST_CASE("tasks are deterministic per seed, and train and test are independent draws",
          "[data][tasks]") {
  const std::string name = GENERATE(from_range(synthetic_task_names()));
  INFO(name);
  const json spec{{"name", name}, {"n_train", 200}, {"n_test", 200}, {"seed", 11}};
  const Dataset a = make_task(spec), b = make_task(spec);
  CHECK(a.x_train.to_vector() == b.x_train.to_vector());
  CHECK(a.y_train.to_vector() == b.y_train.to_vector());
  CHECK(a.x_test.to_vector() == b.x_test.to_vector());
  CHECK(a.y_test.to_vector() == b.y_test.to_vector());
  CHECK(a.x_train.to_vector() != a.x_test.to_vector());

  json reseeded = spec;
  reseeded["seed"] = 12;
  CHECK(make_task(reseeded).x_train.to_vector() != a.x_train.to_vector());

  // Each split has its own stream: a bigger training set leaves the test set as it was.
  json more_training = spec;
  more_training["n_train"] = 300;
  const Dataset c = make_task(more_training);
  CHECK(c.x_test.to_vector() == a.x_test.to_vector());
  CHECK(c.y_test.to_vector() == a.y_test.to_vector());
}

// ---- geometry ------------------------------------------------------------------------------

TEST_CASE("xor: noiseless points sit on the corners, label = sign(x0) != sign(x1)",
          "[data][tasks]") {
  const Dataset d = make_task({{"name", "xor"}, {"noise", 0}, {"n_train", 40}});
  std::set<std::pair<float, float>> corners;
  for (const Point& p : points(d.x_train, d.y_train)) {
    CHECK(std::abs(p.a) == 1.f);
    CHECK(std::abs(p.b) == 1.f);
    CHECK(p.label == ((p.a > 0) != (p.b > 0) ? 1.f : 0.f));
    corners.insert({p.a, p.b});
  }
  CHECK(corners.size() == 4);
  // With the default noise (0.1) no point strays across an axis (that is 10 std away).
  const Dataset noisy = make_task({{"name", "xor"}, {"seed", 2}});
  for (const Point& p : points(noisy.x_train, noisy.y_train))
    REQUIRE(p.label == ((p.a > 0) != (p.b > 0) ? 1.f : 0.f));
}

TEST_CASE("moons: noiseless points lie on sklearn's two half-circles", "[data][tasks]") {
  const Dataset d = make_task({{"name", "moons"}, {"noise", 0}, {"n_train", 200}});
  for (const Point& p : points(d.x_train, d.y_train)) {
    if (p.label == 0.f) {  // upper moon: the unit circle, y >= 0
      CHECK(std::hypot(p.a, p.b) == Approx(1.0).margin(1e-5));
      CHECK(p.b >= -1e-6f);
    } else {  // lower moon: centre (1, 1/2), y <= 1/2
      CHECK(std::hypot(p.a - 1.f, p.b - 0.5f) == Approx(1.0).margin(1e-5));
      CHECK(p.b <= 0.5f + 1e-6f);
    }
  }
}

TEST_CASE("circles: the inner radius is factor times the outer", "[data][tasks]") {
  const double factor = GENERATE(0.5, 0.3);
  const Dataset exact = make_task({{"name", "circles"}, {"noise", 0}, {"factor", factor}});
  for (const Point& p : points(exact.x_train, exact.y_train))
    CHECK(std::hypot(p.a, p.b) == Approx(p.label == 1.f ? factor : 1.0).margin(1e-5));

  const Dataset noisy = make_task({{"name", "circles"}, {"noise", 0.05}, {"factor", factor}});
  double radius[2] = {0, 0}, count[2] = {0, 0};
  for (const Point& p : points(noisy.x_train, noisy.y_train)) {
    radius[static_cast<int>(p.label)] += std::hypot(p.a, p.b);
    count[static_cast<int>(p.label)] += 1;
  }
  const double outer = radius[0] / count[0], inner = radius[1] / count[1];
  CHECK(outer == Approx(1.0).margin(0.02));
  CHECK(inner / outer == Approx(factor).margin(0.02));
}

TEST_CASE("spirals: noiseless points lie on their arm", "[data][tasks]") {
  const int arms = 3;
  const double turns = 1.5;
  const Dataset d = make_task(
      {{"name", "spirals"}, {"arms", arms}, {"turns", turns}, {"noise", 0}, {"n_train", 300}});
  CHECK(d.num_classes == 3);
  for (const Point& p : points(d.x_train, d.y_train)) {
    // The radius s fixes where on arm k the point is: angle 2 pi (k / arms + turns s).
    const double s = std::hypot(p.a, p.b);
    const double angle = 2 * std::numbers::pi * (p.label / arms + turns * s);
    CHECK(s < 1.0);
    CHECK(p.a == Approx(s * std::cos(angle)).margin(1e-4));
    CHECK(p.b == Approx(s * std::sin(angle)).margin(1e-4));
  }
}

TEST_CASE("checkerboard: label = parity of the cell", "[data][tasks]") {
  const int cells = GENERATE(4, 3);
  const Dataset d = make_task({{"name", "checkerboard"}, {"cells", cells}});
  auto cell = [cells](float v) { return static_cast<int>(std::floor((v + 1) / 2 * cells)); };
  for (const Point& p : points(d.x_train, d.y_train)) {
    REQUIRE(p.a >= -1.f);
    REQUIRE(p.a < 1.f);
    REQUIRE(p.b >= -1.f);
    REQUIRE(p.b < 1.f);
    REQUIRE(p.label == static_cast<float>((cell(p.a) + cell(p.b)) % 2));
  }
}

TEST_CASE("blobs: train and test share the centres drawn from the seed", "[data][tasks]") {
  const json spec{{"name", "blobs"}, {"classes", 4}, {"dims", 5}, {"spread", 0}, {"n_test", 8}};
  const Dataset d = make_task(spec);
  CHECK(d.input_dim == 5);
  CHECK(d.num_classes == 4);
  // Without spread every example of class k is centre k, in both splits.
  const auto x_train = d.x_train.to_vector(), x_test = d.x_test.to_vector();
  const auto y_train = labels(d.y_train), y_test = labels(d.y_test);
  for (size_t i = 0; i < y_test.size(); ++i) {
    const auto k = static_cast<size_t>(y_test[i]);
    REQUIRE(y_train[k] == static_cast<int64_t>(k));
    for (size_t j = 0; j < 5; ++j) {
      CHECK(x_test[i * 5 + j] == x_train[k * 5 + j]);
      CHECK(std::abs(x_test[i * 5 + j]) <= 2.f);
    }
  }
  json other_seed = spec;
  other_seed["seed"] = 1;
  CHECK(make_task(other_seed).x_test.to_vector() != x_test);
}

TEST_CASE("sine: without noise y is exactly sin(frequency x), -pi <= x < pi", "[data][tasks]") {
  const float frequency = 3.f;
  const Dataset d = make_task({{"name", "sine"}, {"noise", 0}, {"frequency", frequency}});
  CHECK(d.input_dim == 1);
  CHECK(d.output_dim == 1);
  const auto x = d.x_train.to_vector(), y = d.y_train.to_vector();
  for (size_t i = 0; i < x.size(); ++i) {
    REQUIRE(x[i] >= -std::numbers::pi_v<float>);
    REQUIRE(x[i] < std::numbers::pi_v<float>);
    REQUIRE(y[i] == std::sin(frequency * x[i]));
  }
}

TEST_CASE("teacher: Gaussian inputs, outputs of order one", "[data][tasks]") {
  const Dataset d = make_task(
      {{"name", "teacher"}, {"dims", 3}, {"hidden", 32}, {"outputs", 2}, {"n_train", 2000}});
  CHECK(d.input_dim == 3);
  CHECK(d.output_dim == 2);
  auto moments = [](const std::vector<float>& v) {
    double mean = 0, sq = 0;
    for (float x : v) mean += x;
    mean /= static_cast<double>(v.size());
    for (float x : v) sq += (x - mean) * (x - mean);
    return std::pair{mean, std::sqrt(sq / static_cast<double>(v.size()))};
  };
  const auto [x_mean, x_std] = moments(d.x_train.to_vector());
  CHECK(x_mean == Approx(0).margin(0.05));
  CHECK(x_std == Approx(1).margin(0.05));
  const double y_std = moments(d.y_train.to_vector()).second;
  CHECK(y_std > 0.1);
  CHECK(y_std < 3.0);
}

TEST_CASE("teacher: train and test come from one teacher", "[data][tasks]") {
  // With one input and one hidden unit the noiseless teacher w2 tanh(w1 x + b1) is monotone
  // in x, so the pooled splits sorted by x must be monotone in y; a teacher drawn per split
  // would break that.
  const Dataset d = make_task({{"name", "teacher"}, {"dims", 1}, {"hidden", 1}, {"noise", 0},
                               {"n_train", 100}, {"n_test", 100}, {"seed", 5}});
  std::vector<std::pair<float, float>> xy;
  auto pool = [&xy](const Tensor& x, const Tensor& y) {
    const auto xs = x.to_vector(), ys = y.to_vector();
    for (size_t i = 0; i < xs.size(); ++i) xy.emplace_back(xs[i], ys[i]);
  };
  pool(d.x_train, d.y_train);
  pool(d.x_test, d.y_test);
  std::sort(xy.begin(), xy.end());
  const bool rising = xy.back().second > xy.front().second;
  for (size_t i = 1; i < xy.size(); ++i)
    REQUIRE((rising ? xy[i].second >= xy[i - 1].second : xy[i].second <= xy[i - 1].second));
}

TEST_CASE("parity: +-1 inputs, label = parity of the +1 bits", "[data][tasks]") {
  const int bits = GENERATE(1, 5, 24);
  const Dataset d = make_task({{"name", "parity"}, {"bits", bits}, {"n_train", 300}});
  CHECK(d.input_dim == bits);
  const auto x = d.x_train.to_vector(), y = d.y_train.to_vector();
  for (size_t i = 0; i < y.size(); ++i) {
    int ones = 0;
    for (int b = 0; b < bits; ++b) {
      const float v = x[i * bits + b];
      REQUIRE((v == 1.f || v == -1.f));
      ones += v == 1.f;
    }
    REQUIRE(y[i] == static_cast<float>(ones % 2));
  }
}

// ---- validation messages -------------------------------------------------------------------

TEST_CASE("bad task names say what is known and suggest the closest", "[data][errors]") {
  CHECK(task_error({{"name", "spiral"}}) ==
        "task.name: unknown task \"spiral\"; " + kKnownTasks + "; did you mean \"spirals\"?");
  CHECK(task_error({{"name", "mnist"}}) == "task.name: unknown task \"mnist\"; " + kKnownTasks);
  CHECK(task_error({{"n_train", 10}}) ==
        "task.name: expected a task name, found nothing; " + kKnownTasks);
  CHECK(task_error({{"name", 3}}) == "task.name: expected a task name, found 3; " + kKnownTasks);
  CHECK(task_error(json::array({1, 2})) == "task: expected an object or a task name, found [1,2]");
  CHECK(task_error("sprials") ==
        "task.name: unknown task \"sprials\"; " + kKnownTasks + "; did you mean \"spirals\"?");
}

TEST_CASE("unknown fields are named, with the task's fields and a suggestion",
          "[data][errors]") {
  CHECK(task_error({{"name", "spirals"}, {"arm", 3}}) ==
        "task.arm: unknown field \"arm\" for task \"spirals\"; known: name, n_train, n_test, "
        "seed, arms, turns, noise; did you mean \"arms\"?");
  CHECK(task_error({{"name", "xor"}, {"colour", "red"}}) ==
        "task.colour: unknown field \"colour\" for task \"xor\"; known: name, n_train, n_test, "
        "seed, noise");
  // A field of another task is unknown here.
  CHECK(task_error({{"name", "moons"}, {"factor", 0.5}}) ==
        "task.factor: unknown field \"factor\" for task \"moons\"; known: name, n_train, "
        "n_test, seed, noise");
}

TEST_CASE("bad field values name the field, what was expected and what was found",
          "[data][errors]") {
  const std::vector<std::pair<json, std::string>> cases{
      {{{"name", "xor"}, {"n_train", -5}},
       "task.n_train: expected an integer in [1, 1000000], found -5"},
      {{{"name", "xor"}, {"n_train", 2.5}},
       "task.n_train: expected an integer in [1, 1000000], found 2.5"},
      {{{"name", "xor"}, {"n_test", "100"}},
       "task.n_test: expected an integer in [1, 1000000], found \"100\""},
      {{{"name", "xor"}, {"n_test", 0}},
       "task.n_test: expected an integer in [1, 1000000], found 0"},
      {{{"name", "xor"}, {"seed", -1}}, "task.seed: expected an integer >= 0, found -1"},
      {{{"name", "xor"}, {"seed", true}}, "task.seed: expected an integer >= 0, found true"},
      {{{"name", "moons"}, {"noise", -0.1}}, "task.noise: expected a number >= 0, found -0.1"},
      {{{"name", "circles"}, {"factor", 1}},
       "task.factor: expected a number in (0, 1), found 1"},
      {{{"name", "spirals"}, {"arms", 1}},
       "task.arms: expected an integer in [2, 1024], found 1"},
      {{{"name", "spirals"}, {"turns", 0}}, "task.turns: expected a number > 0, found 0"},
      {{{"name", "checkerboard"}, {"cells", 1}}, "task.cells: expected an integer >= 2, found 1"},
      {{{"name", "blobs"}, {"classes", 1}},
       "task.classes: expected an integer in [2, 1024], found 1"},
      {{{"name", "blobs"}, {"dims", 0}}, "task.dims: expected an integer in [1, 4096], found 0"},
      {{{"name", "blobs"}, {"spread", -1}}, "task.spread: expected a number >= 0, found -1"},
      {{{"name", "sine"}, {"frequency", -2}},
       "task.frequency: expected a number > 0, found -2"},
      {{{"name", "teacher"}, {"hidden", 0}},
       "task.hidden: expected an integer in [1, 4096], found 0"},
      {{{"name", "teacher"}, {"outputs", 1.5}},
       "task.outputs: expected an integer in [1, 4096], found 1.5"},
      {{{"name", "parity"}, {"bits", 0}}, "task.bits: expected an integer in [1, 24], found 0"},
      {{{"name", "parity"}, {"bits", 25}}, "task.bits: expected an integer in [1, 24], found 25"},
  };
  for (const auto& [spec, message] : cases) {
    INFO(spec.dump());
    CHECK(task_error(spec) == message);
  }
}

TEST_CASE("a task error can be re-rooted as a JSON pointer", "[data][errors]") {
  try {
    make_task({{"name", "spirals"}, {"arms", 1}});
    FAIL("no error");
  } catch (const FieldError& e) {
    CHECK(e.pointer_path() == "/task/arms");
    CHECK(e.reason() == "expected an integer in [2, 1024], found 1");
  }
}

// ---- labels and batches --------------------------------------------------------------------

TEST_CASE("labels converts class indices held as floats", "[data][labels]") {
  CHECK(labels(Tensor::from_vector({0, 2, 1}, {3})) == std::vector<int64_t>{0, 2, 1});
  CHECK_THROWS_WITH(labels(Tensor::from_vector({0, 0.5f}, {2})),
                    "labels: y[1] = 0.5 is not a class index");
  CHECK_THROWS_WITH(labels(Tensor::from_vector({-1}, {1})),
                    "labels: y[0] = -1 is not a class index");
  CHECK_THROWS_WITH(labels(Tensor::from_vector({1e30f}, {1})),
                    "labels: y[0] = 1e+30 is not a class index");
}

TEST_CASE("BatchIterator visits every row once per epoch, reshuffled, keeping pairs",
          "[data][batches]") {
  const int64_t n = 10;
  std::vector<float> xs, ys;
  for (int64_t i = 0; i < n; ++i) {
    xs.insert(xs.end(), {static_cast<float>(i), static_cast<float>(-i)});
    ys.push_back(static_cast<float>(10 * i));
  }
  const Tensor x = Tensor::from_vector(xs, {n, 2}), y = Tensor::from_vector(ys, {n});
  Generator gen(7);
  BatchIterator batches(x, y, 4, gen);
  CHECK(batches.batches_per_epoch() == 3);

  auto epoch = [&batches] {
    std::vector<float> order;
    std::vector<int64_t> sizes;
    while (auto batch = batches.next()) {
      sizes.push_back(batch->x.size(0));
      CHECK(batch->x.size(1) == 2);
      CHECK(batch->y.dim() == 1);
      const auto bx = batch->x.to_vector(), by = batch->y.to_vector();
      for (int64_t r = 0; r < batch->x.size(0); ++r) {
        CHECK(bx[2 * r + 1] == -bx[2 * r]);
        CHECK(by[r] == 10 * bx[2 * r]);
        order.push_back(bx[2 * r]);
      }
    }
    CHECK(sizes == std::vector<int64_t>{4, 4, 2});
    std::vector<float> sorted = order;
    std::sort(sorted.begin(), sorted.end());
    CHECK(sorted == std::vector<float>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9});
    return order;
  };
  const auto first = epoch(), second = epoch();
  CHECK(first != second);

  Generator same_seed(7);
  BatchIterator again(x, y, 4, same_seed);
  std::vector<float> replay;
  while (auto batch = again.next())
    for (int64_t r = 0; r < batch->x.size(0); ++r) replay.push_back(batch->x.to_vector()[2 * r]);
  CHECK(replay == first);
}

TEST_CASE("BatchIterator handles batches larger than the data and refuses bad input",
          "[data][batches]") {
  Generator gen(1);
  BatchIterator whole(Tensor::zeros({3, 2}), Tensor::zeros({3, 1}), 64, gen);
  CHECK(whole.batches_per_epoch() == 1);
  auto batch = whole.next();
  REQUIRE(batch);
  CHECK(batch->x.shape() == std::vector<int64_t>{3, 2});
  CHECK(batch->y.shape() == std::vector<int64_t>{3, 1});
  CHECK_FALSE(whole.next());
  CHECK_THROWS_WITH(BatchIterator(Tensor::zeros({3, 2}), Tensor::zeros({4}), 2, gen),
                    "BatchIterator: x [3, 2] and y [4] must hold the same number of rows");
  CHECK_THROWS_WITH(BatchIterator(Tensor::zeros({3, 2}), Tensor::zeros({3}), 0, gen),
                    "BatchIterator: batch_size must be positive, got 0");
}
