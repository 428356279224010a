// linear_collapse: deep linear nets equal their collapsed layer to float32 round-off, and a
// net without activations trains no better than a linear classifier; its JSON and report.
#include <catch2/catch.hpp>

#include "actlab/lab/collapse.hpp"
#include "html_check.hpp"

using namespace actlab;

TEST_CASE("a deep linear net equals its collapsed layer up to float32 round-off", "[collapse]") {
  const CollapseResult r = linear_collapse(collapse_depths(16), 32, 0);
  REQUIRE(r.depths.size() == 4);
  for (const CollapseDepth& d : r.depths) {
    INFO("depth " << d.depth);
    // Round-off grows with depth but stays near 1e-6 relative; 1e-4 leaves room for another
    // BLAS's summation order, while a wrong W' or b' would be off by O(1).
    CHECK(d.relative < 1e-4);
    CHECK(d.relative == Approx(d.max_abs_diff / d.max_abs_output));
    // Weights N(0, 1/width) and biases N(0, 1) keep the output of order one at every depth, so
    // the comparison is not vacuous.
    CHECK(d.max_abs_output > 1);
  }
}

TEST_CASE("without an activation the trained net is a linear classifier", "[collapse][train]") {
  const CollapseResult r = linear_collapse({2}, 8, 0);
  REQUIRE(r.training.size() == 4);
  for (const CollapseTraining& t : r.training) {
    INFO(t.task << " " << t.activation);
    // No line beats 75% on xor (three of its four blobs), nor separates circles.
    if (t.activation == "identity") CHECK(t.test_accuracy <= 0.75);
    if (t.activation == "relu") CHECK(t.test_accuracy >= 0.95);
  }
  CHECK(r.training[0].task == "xor");
  CHECK(r.training[2].task == "circles");
}

TEST_CASE("collapse depths are powers of two up to the deepest", "[collapse]") {
  CHECK(collapse_depths(16) == std::vector<int>{2, 4, 8, 16});
  CHECK(collapse_depths(10) == std::vector<int>{2, 4, 8, 10});
  CHECK(collapse_depths(2) == std::vector<int>{2});
  CHECK_THROWS_AS(collapse_depths(1), FieldError);
}

TEST_CASE("linear_collapse names a bad depth or width", "[collapse][errors]") {
  try {
    linear_collapse({4, 0}, 8, 0);
    FAIL("no error");
  } catch (const FieldError& e) {
    CHECK(e.dotted_path() == "depth");
    CHECK(e.reason() == "expected an integer in [1, 1024], found 0");
  }
  try {
    linear_collapse({2}, 0, 0);
    FAIL("no error");
  } catch (const FieldError& e) {
    CHECK(e.dotted_path() == "width");
  }
}

TEST_CASE("the collapse report is self-contained: a table per depth and accuracy bars",
          "[collapse][report]") {
  const CollapseResult r = linear_collapse({2, 4}, 8, 1);
  const nlohmann::json j = to_json(r);
  CHECK(j["depths"].size() == 2);
  CHECK(j["depths"][1]["depth"] == 4);
  CHECK(j["training"][1]["activation"] == "relu");
  CHECK(j == to_json(linear_collapse({2, 4}, 8, 1)));  // the same seed, the same numbers

  const std::string page = collapse_report(r).html();
  const html_check::Parsed p = html_check::parse_ok(page);
  html_check::require_self_contained(page);
  CHECK(p.find("rect", "bar").size() == 4);
  CHECK(p.find("tr").size() == 1 + 2);   // header and one row per depth
  CHECK(p.find("details").size() == 1);  // the numbers as JSON
}
