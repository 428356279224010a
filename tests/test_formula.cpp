// Formulas: the parser's errors (each kind, its exact message), the symbolic derivative
// against finite differences, kink conventions, the text of derivatives, and the refusal of
// formulas that are not finite.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "actlab/ops/formula.hpp"
#include "actlab/nn/activation.hpp"
#include "actlab/nn/formula.hpp"
#include "actlab/ops/ops.hpp"
#include "kernels/activations.hpp"
#include "kernels/fastmath.hpp"
#include "ops/formula_graph.hpp"

using namespace actlab;

namespace {

std::string error_of(const std::string& text, std::vector<FormulaParameter> params = {}) {
  try {
    Formula f(text, std::move(params));
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

// Central difference in double precision, step scaled to x.
double numeric_derivative(const Formula& f, double x) {
  const double h = 1e-6 * std::max(1.0, std::abs(x));
  return (f.value(x + h) - f.value(x - h)) / (2 * h);
}

}  // namespace

TEST_CASE("formula parse errors show the formula with a caret under the column", "[formula][errors]") {
  CHECK(error_of("x * * 2") ==
        "formula \"x * * 2\", column 5: expected a number, a name or \"(\", found \"*\"\n"
        "  x * * 2\n"
        "      ^");
  CHECK(error_of("(x + 1") ==
        "formula \"(x + 1\", column 7: expected \")\" to close the \"(\" at column 1, found the end\n"
        "  (x + 1\n"
        "        ^");
  CHECK(error_of("x + 1)") ==
        "formula \"x + 1)\", column 6: unmatched \")\"\n  x + 1)\n       ^");
  CHECK(error_of("x 2") ==
        "formula \"x 2\", column 3: expected an operator or the end, found \"2\"\n  x 2\n    ^");
  CHECK(error_of("x $ 2") ==
        "formula \"x $ 2\", column 3: expected an operator or the end, found \"$\"\n  x $ 2\n    ^");
  CHECK(error_of("") == "formula \"\", column 1: the formula is empty\n  \n  ^");
  CHECK(error_of("exp + x") ==
        "formula \"exp + x\", column 1: exp is a function: expected \"(\" after it\n  exp + x\n  ^");
  CHECK(error_of("max(x, 1") ==
        "formula \"max(x, 1\", column 9: expected \",\" or \")\" in the call of max, found the end\n"
        "  max(x, 1\n"
        "          ^");
}

TEST_CASE("formula: unknown names get a did-you-mean, wrong argument counts are named", "[formula][errors]") {
  CHECK(error_of("x * sigmod(x)") ==
        "formula \"x * sigmod(x)\", column 5: unknown function \"sigmod\"; known: exp, expm1, log, "
        "log1p, sqrt, abs, tanh, sigmoid, softplus, erf, erfc, relu, gelu, silu, min, max, where; "
        "did you mean \"sigmoid\"?\n"
        "  x * sigmod(x)\n"
        "      ^");
  CHECK(error_of("x * sigmoid(bta * x)", {{"beta", 1.0}}) ==
        "formula \"x * sigmoid(bta * x)\", column 13: unknown name \"bta\"; known: x, beta, pi, e; "
        "did you mean \"beta\"?\n"
        "  x * sigmoid(bta * x)\n"
        "              ^");
  CHECK(error_of("y + 1") ==
        "formula \"y + 1\", column 1: unknown name \"y\"; known: x, pi, e; did you mean \"x\"?\n"
        "  y + 1\n  ^");
  CHECK(error_of("max(x)") ==
        "formula \"max(x)\", column 1: max takes 2 arguments, found 1\n  max(x)\n  ^");
  CHECK(error_of("2 * where(x > 0, x)") ==
        "formula \"2 * where(x > 0, x)\", column 5: where takes 3 arguments, found 2\n"
        "  2 * where(x > 0, x)\n"
        "      ^");
  CHECK(error_of("exp(x, 2)") ==
        "formula \"exp(x, 2)\", column 1: exp takes 1 argument, found 2\n  exp(x, 2)\n  ^");
}

TEST_CASE("a formula without x is refused", "[formula][errors]") {
  CHECK(error_of("2 * beta", {{"beta", 1.0}}) ==
        "formula \"2 * beta\" does not use x: an activation is a function of x");
  CHECK(error_of("x * 0") == "formula \"x * 0\" does not use x: an activation is a function of x");
}

TEST_CASE("formula grammar: precedence, associativity, constants", "[formula]") {
  const auto at = [](const std::string& text, double x) { return Formula(text).value(x); };
  CHECK(at("-x^2", 3) == -9);
  CHECK(at("2^-x", 1) == 0.5);
  CHECK(at("x^3^2", 2) == 512);  // right-associative: 2^(3^2)
  CHECK(at("x - 1 - 1", 5) == 3);
  CHECK(at("x / 2 / 2", 8) == 2);
  CHECK(at("1 + 2 * x", 3) == 7);
  CHECK(at("(x > 1) + (x <= 1) * 10", 2) == 1);
  CHECK(at("(x == 2) + (x != 2) * 10", 2) == 1);
  CHECK(at("x * pi + e", 1) == Approx(M_PI + M_E));
  CHECK(at("x * 1.5e1 + .5", 1) == 15.5);
  CHECK(at("where(x >= 0, x, -x)", -3) == 3);
}

TEST_CASE("symbolic derivatives match finite differences for 39 formulas", "[formula][derivative]") {
  const std::vector<std::string> formulas = {
      "x",
      "x^2",
      "x^3 - 2 * x",
      "x^-2 + 1",
      "1 / (1 + x^2)",
      "exp(x)",
      "exp(-x^2 / 2)",
      "expm1(x)",
      "log(1 + x^2)",
      "log1p(x^2)",
      "sqrt(x^2 + 1)",
      "(x + sqrt(x^2 + 4)) / 2",  // squareplus
      "abs(x)",
      "tanh(x)",
      "tanh(2 * x) * x",
      "sigmoid(x)",
      "x * sigmoid(x)",
      "x * sigmoid(1.702 * x)",
      "softplus(x)",
      "x * tanh(softplus(x))",
      "erf(x)",
      "erfc(x)",
      "0.5 * x * erfc(-x / sqrt(2))",
      "0.5 * x * (1 + tanh(sqrt(2 / pi) * (x + 0.044715 * x^3)))",
      "gelu(x)",
      "silu(x)",
      "relu(x)",
      "relu(x)^2",
      "min(x, 1)",
      "max(x, 0.1 * x)",
      "where(x > 0, x, expm1(x))",
      "1.0507 * where(x > 0, x, 1.6733 * expm1(x))",
      "x * min(max(x + 3, 0), 6) / 6",
      "x / (1 + abs(x))",
      "exp(x * log(2))",
      "2^x",
      "(x^2 + 1)^0.5",
      "(x^2 + 1)^1.5",
      "x * exp(-abs(x))",
  };
  const std::vector<double> points = {-4.3, -2.2, -1.1, -0.37, 0.29, 0.8, 1.7, 3.6};
  int checked = 0;
  for (const std::string& text : formulas) {
    INFO(text);
    const Formula f(text);
    for (double x : points) {
      INFO("x = " << x);
      const double numeric = numeric_derivative(f, x);
      CHECK(std::abs(f.derivative(x) - numeric) <= 1e-6 * (1 + std::abs(numeric)));
    }
    ++checked;
  }
  CHECK(checked >= 30);
}

TEST_CASE("learned parameters: df/dp matches finite differences", "[formula][derivative]") {
  const Formula f("x * sigmoid(beta * x) + gamma * x^2",
                  {{"beta", 1.3, true}, {"gamma", -0.2, true}});
  CHECK(f.learned() == std::vector<std::string>{"beta", "gamma"});
  for (double x : {-2.0, -0.5, 0.7, 2.5}) {
    const double h = 1e-6;
    const Formula beta_up("x * sigmoid(beta * x) + gamma * x^2", {{"beta", 1.3 + h}, {"gamma", -0.2}});
    const Formula beta_down("x * sigmoid(beta * x) + gamma * x^2", {{"beta", 1.3 - h}, {"gamma", -0.2}});
    CHECK(f.parameter_derivative(0, x) ==
          Approx((beta_up.value(x) - beta_down.value(x)) / (2 * h)).epsilon(1e-6));
    CHECK(f.parameter_derivative(1, x) == Approx(x * x).epsilon(1e-12));
  }
}

TEST_CASE("kinks follow PyTorch's conventions", "[formula][kinks]") {
  CHECK(Formula("relu(x)").derivative(0) == 0);
  CHECK(Formula("abs(x)").derivative(0) == 0);
  CHECK(Formula("max(x, 0)").derivative(0) == 0.5);    // torch.maximum: half to each side on a tie
  CHECK(Formula("min(x, 0)").derivative(0) == 0.5);
  CHECK(Formula("max(x, 2 * x)").derivative(0) == 1.5);  // (1 + 2) / 2
  CHECK(Formula("where(x > 0, x, 0)").derivative(0) == 0);   // the branch selected: 0
  CHECK(Formula("where(x >= 0, x, 0)").derivative(0) == 1);  // the branch selected: x
  CHECK(Formula("where(x > 0, x, 0.2 * x)").derivative(0) == Approx(0.2));
  CHECK(Formula("relu(x - 1)").derivative(1) == 0);
  // Away from the kinks the one-sided slopes.
  CHECK(Formula("abs(x)").derivative(-1e-9) == -1);
  CHECK(Formula("max(x, 0)").derivative(1e-9) == 1);
  // And the float kernel agrees at the kinks.
  Tensor x = Tensor::from_vector({0.f}, {1}, true);
  for (const auto& [text, expected] : std::vector<std::pair<std::string, float>>{
           {"relu(x)", 0.f}, {"abs(x)", 0.f}, {"max(x, 0)", 0.5f}, {"where(x >= 0, x, 0)", 1.f}}) {
    INFO(text);
    x.zero_grad();
    sum(Formula(text)(x)).backward();
    CHECK(x.grad().item() == expected);
  }
}

TEST_CASE("derivatives are simplified, constants folded, as text", "[formula][derivative]") {
  CHECK(Formula("x^2").derivative_text() == "2 * x");
  // Like terms meet and constant factors fold: x^3 by the product rule is x^2 + 2 x x.
  CHECK(Formula("x^3").derivative_text() == "3 * x * x");
  CHECK(Formula("x - x + 2 * sigmoid(x)").derivative_text() == "2 * sigmoid(x) * (1 - sigmoid(x))");
  CHECK(Formula("0.5 * x * tanh(x)").derivative_text() ==
        "0.5 * tanh(x) + 0.5 * x * (1 - tanh(x) * tanh(x))");
  CHECK(Formula("3 * x + 2").derivative_text() == "3");
  CHECK(Formula("x * sigmoid(x)").derivative_text() ==
        "sigmoid(x) + x * sigmoid(x) * (1 - sigmoid(x))");
  CHECK(Formula("relu(x)").derivative_text() == "step(x)");
  CHECK(Formula("x * sigmoid(beta * x)", {{"beta", 2.0}}).derivative_text() ==
        "sigmoid(2 * x) + 2 * x * sigmoid(2 * x) * (1 - sigmoid(2 * x))");
  CHECK(Formula("x * sigmoid(beta * x)", {{"beta", 2.0, true}}).derivative_text() ==
        "sigmoid(beta * x) + x * sigmoid(beta * x) * (1 - sigmoid(beta * x)) * beta");
  // where() passes each branch's derivative, and multiplies in the branch it selects only.
  CHECK(Formula("where(x > 0, x, expm1(x))").derivative_text() == "where(x > 0, 1, exp(x))");
  CHECK(Formula("where(x > 0, x, 0.5 * x)").derivative_text() == "where(x > 0, 1, 0.5)");
  // gelu' = Phi + x phi, in the parts a program shares with gelu itself.
  CHECK(Formula("gelu(x)").derivative_text() == "Phi(x) + 0.398942 * x * exp(-x^2 / 2)");
}

TEST_CASE("an add of a product that nothing else reads runs as one muladd", "[formula][program]") {
  using kernels::ExprOp;
  using kernels::ExprLayout;
  formula::Graph g;
  const formula::NodeId x = g.input(0);
  const formula::NodeId w = g.input(1);
  const formula::NodeId product = g.make(ExprOp::mul, x, w);
  const formula::NodeId root = g.make(ExprOp::add, product, x);  // x * w + x
  const auto program_for = [&](std::vector<formula::NodeId> outputs) {
    return formula::compile(g, outputs, {ExprLayout::elementwise, ExprLayout::elementwise},
                            std::vector<kernels::ExprReduce>(outputs.size(), kernels::ExprReduce::none));
  };
  const kernels::ExprProgram fused = program_for({root});
  REQUIRE(fused.block_code.size() == 1);
  CHECK(fused.block_code[0].op == ExprOp::muladd);
  // When x * w is an output too, it keeps its instruction and the add stays an add.
  const kernels::ExprProgram kept = program_for({root, product});
  REQUIRE(kept.block_code.size() == 2);
  CHECK(kept.block_code[0].op == ExprOp::mul);
  CHECK(kept.block_code[1].op == ExprOp::add);
  // Products exact in float32, so that one rounding or two give the same.
  const std::vector<float> xs{-3.f, -0.5f, 0.f, 1.25f, 7.f}, ws{2.f, -4.f, 9.f, 0.5f, -1.f};
  std::vector<float> y(xs.size());
  kernels::run_expr_program(fused, 5, 1, 1, {xs.data(), ws.data()}, {{y.data()}});
  for (size_t i = 0; i < xs.size(); ++i) CHECK(y[i] == xs[i] * ws[i] + xs[i]);
}

TEST_CASE("a program with gelu and its derivative computes e^(-x^2/2) and Phi once", "[formula][derivative][program]") {
  using kernels::ExprOp;
  using kernels::ExprLayout;
  formula::Graph g;
  const formula::NodeId x = g.input(0);
  const formula::NodeId y = g.make(ExprOp::gelu, x);
  const formula::NodeId dy = g.gradient(y, {0})[0];
  const kernels::ExprProgram p = formula::compile(g, {y, dy}, {ExprLayout::elementwise},
                                                  {kernels::ExprReduce::none, kernels::ExprReduce::none});
  const auto count = [&](ExprOp op) {
    return std::count_if(p.block_code.begin(), p.block_code.end(),
                         [&](const kernels::ExprInstruction& in) { return in.op == op || in.inner == op; });
  };
  CHECK(count(ExprOp::gaussian) == 1);
  CHECK(count(ExprOp::normal_cdf_given) == 1);
  CHECK(count(ExprOp::gelu) == 0);
  CHECK(count(ExprOp::normal_cdf) == 0);
  // Against the built-in's value and derivative, over both tails and through zero.
  std::vector<float> points;
  for (int k = -400; k <= 400; ++k) points.push_back(static_cast<float>(k) * 0.05f);
  const auto n = static_cast<int64_t>(points.size());
  std::vector<float> value(points.size()), slope(points.size());
  kernels::run_expr_program(p, n, 1, 1, {points.data()}, {{value.data()}, {slope.data()}});
  for (size_t i = 0; i < points.size(); ++i) {
    INFO("x = " << points[i]);
    CHECK(value[i] == kernels::Gelu{}(points[i]));
    CHECK(std::abs(slope[i] - kernels::Gelu{}.derivative(points[i])) <= 2.5e-7f * (1 + std::abs(slope[i])));
  }
}

TEST_CASE("a formula that is not finite from -1e4 to 1e4 is refused, naming where", "[formula][nan]") {
  const auto check_error = [](const std::string& text) {
    try {
      Formula(text).check();
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("(no error)");
  };
  CHECK(check_error("sqrt(x)") ==
        "formula \"sqrt(x)\" gives NaN for x in [-10000, -0.0001]; an activation must be finite "
        "on [-1e4, 1e4]");
  CHECK(check_error("exp(x)") ==
        "formula \"exp(x)\" gives inf for x in [91.2011, 10000]; an activation must be finite on "
        "[-1e4, 1e4]");
  CHECK(check_error("sqrt(abs(x))") ==
        "formula \"sqrt(abs(x))\": its derivative gives NaN at x = 0; it must be finite on "
        "[-1e4, 1e4]");
  // The textbook sigmoid overflows in float32: e^-x is inf below x = -88, and its derivative
  // e^-x / (1 + e^-x)^2 is inf / inf there. sigmoid(x) is the stable form.
  CHECK(check_error("1 / (1 + exp(-x))") ==
        "formula \"1 / (1 + exp(-x))\": its derivative gives NaN for x in [-10000, -91.2011]; it "
        "must be finite on [-1e4, 1e4]");
  CHECK(check_error("x * sigmoid(x)") == "(no error)");
  CHECK(check_error("relu(x)") == "(no error)");
  // From a config spec: at activation.formula; from register_formula: an Error.
  try {
    nn::make_activation({{"formula", "log(x)"}});
    FAIL("expected an error");
  } catch (const FieldError& e) {
    CHECK(e.dotted_path() == "activation.formula");
    CHECK(e.reason() ==
          "formula \"log(x)\" gives NaN for x in [-10000, 0]; an activation must be finite on "
          "[-1e4, 1e4]");
  }
  CHECK_THROWS_WITH(nn::register_formula("bad_sqrt", "sqrt(x)"),
                    "register_formula: \"bad_sqrt\": at activation.formula: formula \"sqrt(x)\" "
                    "gives NaN for x in [-10000, -0.0001]; an activation must be finite on "
                    "[-1e4, 1e4]");
}

TEST_CASE("fastmath::log is within 3 ulp of double-precision log", "[formula][fastmath]") {
  double worst = 0;
  for (float x = 1e-30f; x < 1e30f; x *= 1.0137f) {
    const double exact = std::log(static_cast<double>(x));
    const float got = fastmath::log(x);
    const double ulp = std::max(std::abs(std::nextafter(static_cast<float>(exact), 0.f) - static_cast<float>(exact)),
                                std::numeric_limits<float>::denorm_min());
    worst = std::max(worst, std::abs(got - exact) / ulp);
  }
  CHECK(worst <= 3);
  CHECK(std::isnan(fastmath::log(-1.f)));
  CHECK(fastmath::log(0.f) == -std::numeric_limits<float>::infinity());
  CHECK(fastmath::log(1.f) == 0.f);
}
