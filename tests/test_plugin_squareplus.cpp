// The example plugin's activation (examples/plugin/squareplus.hpp): values and slopes against
// hand-computed ones, the stable form far below 0, gradcheck on both sides of 0, and its
// registry entry (default b, the range of b). Loading it through `actlab --plugin` is
// tests/plugin/run.cmake.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "actlab/actlab.hpp"
#include "plugin/squareplus.hpp"

using namespace actlab;
using squareplus_example::squareplus;

namespace {

// y and dy/dx at each x.
std::pair<std::vector<float>, std::vector<float>> value_and_slope(std::vector<float> x, float b) {
  const Tensor input = Tensor::from_vector(x, {static_cast<int64_t>(x.size())}, true);
  const Tensor y = squareplus(input, b);
  sum(y).backward();
  return {y.to_vector(), input.grad().to_vector()};
}

}  // namespace

TEST_CASE("squareplus values and slopes match hand-computed ones", "[plugin][squareplus]") {
  // b = 4: sqrt(1.5^2 + 4) = 2.5, so f(1.5) = (1.5 + 2.5) / 2 = 2, f(-1.5) = (-1.5 + 2.5) / 2
  // = 0.5, f(0) = sqrt(4) / 2 = 1; f' = (1 + x / 2.5) / 2: 0.8, 0.2, and 0.5 at 0.
  const auto [y4, dy4] = value_and_slope({-1.5f, 0.f, 1.5f}, 4.f);
  CHECK(y4 == std::vector<float>{0.5f, 1.f, 2.f});
  CHECK_THAT(dy4, Catch::Matchers::Approx(std::vector<float>{0.2f, 0.5f, 0.8f}).epsilon(1e-6));
  // b = 1: sqrt(0.75^2 + 1) = 1.25, so f(0.75) = 1, f(-0.75) = 0.25, f(0) = 0.5.
  const auto [y1, dy1] = value_and_slope({-0.75f, 0.f, 0.75f}, 1.f);
  CHECK(y1 == std::vector<float>{0.25f, 0.5f, 1.f});
  CHECK_THAT(dy1, Catch::Matchers::Approx(std::vector<float>{0.2f, 0.5f, 0.8f}).epsilon(1e-6));
}

TEST_CASE("squareplus keeps its digits far below 0", "[plugin][squareplus]") {
  // At x = -1e4, b = 4: f = b / (2 (s - x)) = 4 / 4e4 = 1e-4 (s = sqrt(1e8 + 4) rounds to 1e4);
  // the textbook (x + s) / 2 cancels to 0 there. f' = b / (2 s (s - x)) = 4 / 4e8 = 1e-8.
  // Far above 0 it is x, slope 1.
  const auto [y, dy] = value_and_slope({-1e4f, 1e4f}, 4.f);
  CHECK(y[0] == Approx(1e-4).epsilon(1e-6));
  CHECK(dy[0] == Approx(1e-8).epsilon(1e-6));
  CHECK(y[1] == 1e4f);
  CHECK(dy[1] == 1.f);
}

TEST_CASE("squareplus passes gradcheck on both sides of 0", "[plugin][squareplus][gradcheck]") {
  Generator gen(5);
  for (const float b : {4.f, 1.f, 0.25f}) {
    INFO("b = " << b);
    const GradcheckResult r =
        gradcheck([b](const std::vector<Tensor>& x) { return squareplus(x[0], b); },
                  {Tensor::uniform({6, 5}, -4.f, 4.f, gen).set_requires_grad(true)});
    INFO(r.message);
    CHECK(r.ok);
  }
}

TEST_CASE("squareplus registers with b, 4 by default and > 0", "[plugin][squareplus][registry]") {
  squareplus_example::register_squareplus();
  CHECK(nn::resolve_activation("squareplus") == nlohmann::json{{"name", "squareplus"}, {"b", 4.0}});
  CHECK(nn::make_activation({{"name", "squareplus"}, {"b", 1}})->describe() == "Squareplus(b=1)");
  CHECK(nn::activation_info("squareplus").formula == "(x + sqrt(x^2 + b)) / 2 (b = 4)");
  try {
    nn::make_activation({{"name", "squareplus"}, {"b", 0}});
    FAIL("b = 0 was accepted");
  } catch (const FieldError& e) {
    CHECK(std::string(e.what()) ==
          "activation.b: in activation \"squareplus\", expected a number > 0, found 0");
  }
}
