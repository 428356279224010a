// gradcheck over every core op (one line each in the table), and gradcheck itself: it must
// fail on wrong, missing and overwriting gradients, and report the worst element.
#include <catch2/catch.hpp>

#include <functional>

#include "actlab/actlab.hpp"
#include "op_cases.hpp"

using namespace actlab;
using Catch::Matchers::Contains;

namespace {

using op_cases::Fn;
using op_cases::OpCase;

std::vector<Tensor> make_inputs(const std::vector<Shape>& shapes, float lo, float hi,
                                uint64_t seed) {
  return op_cases::uniform_inputs(shapes, lo, hi, seed);
}

// Adding an op to the gradcheck suite is one line here.
const std::vector<OpCase> kOps = {
    {"add", {{3, 4}, {3, 4}}, [](auto& x) { return x[0] + x[1]; }},
    {"add row", {{3, 4}, {4}}, [](auto& x) { return x[0] + x[1]; }},
    {"add column", {{3, 4}, {3, 1}}, [](auto& x) { return x[0] + x[1]; }},
    {"add both broadcast", {{3, 1}, {1, 4}}, [](auto& x) { return x[0] + x[1]; }},
    {"sub", {{2, 5}, {2, 5}}, [](auto& x) { return x[0] - x[1]; }},
    {"sub row", {{2, 5}, {5}}, [](auto& x) { return x[0] - x[1]; }},
    {"mul", {{3, 4}, {3, 4}}, [](auto& x) { return x[0] * x[1]; }},
    {"mul column", {{3, 4}, {3, 1}}, [](auto& x) { return x[0] * x[1]; }},
    {"mul 0-dim", {{3, 4}, {}}, [](auto& x) { return x[0] * x[1]; }},
    {"div", {{3, 4}, {3, 4}}, [](auto& x) { return x[0] / x[1]; }, {}, 0.5f, 2.f},
    {"div row", {{3, 4}, {4}}, [](auto& x) { return x[0] / x[1]; }, {}, 0.5f, 2.f},
    {"neg", {{5}}, [](auto& x) { return -x[0]; }},
    {"scalar ops", {{2, 3}}, [](auto& x) { return (2.f - x[0] * 3.f + 1.f) / 4.f; }},
    {"scalar over tensor", {{2, 3}}, [](auto& x) { return 2.f / x[0]; }, {}, 0.5f, 2.f},
    {"exp", {{2, 3}}, [](auto& x) { return exp(x[0]); }},
    {"log", {{2, 3}}, [](auto& x) { return log(x[0]); }, {}, 0.5f, 3.f},
    {"square", {{2, 3}}, [](auto& x) { return square(x[0]); }},
    {"sqrt", {{2, 3}}, [](auto& x) { return sqrt(x[0]); }, {}, 0.5f, 3.f},
    {"reciprocal", {{2, 3}}, [](auto& x) { return reciprocal(x[0]); }, {}, 0.5f, 3.f},
    {"sum", {{3, 4}}, [](auto& x) { return sum(x[0]); }},
    {"sum dim 0", {{3, 4}}, [](auto& x) { return sum(x[0], 0); }},
    {"sum dim 1 keepdim", {{3, 4}}, [](auto& x) { return sum(x[0], 1, true); }},
    {"sum middle dim", {{2, 3, 4}}, [](auto& x) { return sum(x[0], 1); }},
    {"mean", {{3, 4}}, [](auto& x) { return mean(x[0]); }},
    {"mean dim -1", {{3, 4}}, [](auto& x) { return mean(x[0], -1); }},
    {"reshape", {{3, 4}}, [](auto& x) { return reshape(x[0], {2, -1}) * 2.f; }},
    {"transpose", {{3, 4}}, [](auto& x) { return transpose(x[0], 0, 1); }},
    {"transpose 3-d", {{2, 3, 4}}, [](auto& x) { return transpose(x[0], 0, 2); }},
    {"matmul", {{3, 4}, {4, 5}}, [](auto& x) { return matmul(x[0], x[1]); }},
    {"matmul square", {{6, 6}, {6, 6}}, [](auto& x) { return matmul(x[0], x[1]); }},
    {"input used twice", {{3, 3}}, [](auto& x) { return matmul(x[0], x[0]) + x[0] * x[0]; }},
    {"deep composition", {{4, 3}, {3, 3}, {3}},
     [](auto& x) { return mean(exp(matmul(x[0], x[1]) + x[2]) / (1.f + square(x[0])), 1); },
     {}, -1.f, 1.f},
};

}  // namespace

TEST_CASE("gradcheck passes on every core op", "[gradcheck]") {
  for (const OpCase& op : kOps) {
    for (uint64_t seed : {1, 2}) {
      INFO(op.name << " (seed " << seed << ")");
      GradcheckResult r = gradcheck(op.fn, op_cases::make_inputs(op, seed));
      INFO(r.message);
      CHECK(r.ok);
    }
  }
}

namespace {
// An op that doubles its input, with a configurable (possibly broken) backward.
enum class Bug { none, wrong_factor, overwrites, zero };
Tensor doubled(const Tensor& x, Bug bug) {
  Tensor y = x.detach() * 2.f;
  record("doubled", y, {x}, [bug](const Tensor& g, GradSink& sink) {
    const float* gv = g.data();
    GradSink::Target t = sink.target(0);
    const float factor = bug == Bug::wrong_factor ? 2.1f : bug == Bug::zero ? 0.f : 2.f;
    if (bug == Bug::overwrites) t.accumulate = false;
    t.write(g.numel(), [&](int64_t k) { return factor * gv[k]; });
  });
  return y;
}
}  // namespace

TEST_CASE("gradcheck fails on a wrong gradient and names the worst element", "[gradcheck]") {
  auto xs = make_inputs({{4}}, -1, 1, 3);
  CHECK(gradcheck([](auto& x) { return doubled(x[0], Bug::none); }, xs));
  GradcheckResult r = gradcheck([](auto& x) { return doubled(x[0], Bug::wrong_factor); }, xs);
  CHECK_FALSE(r.ok);
  CHECK(r.input == 0);
  CHECK(r.index >= 0);
  CHECK(r.analytic == Approx(r.numeric * 1.05).epsilon(1e-3));
  CHECK_THAT(r.message, Contains("worst element: input 0 index"));
}

TEST_CASE("gradcheck fails on an op that overwrites instead of accumulating", "[gradcheck]") {
  GradcheckResult r = gradcheck([](auto& x) { return doubled(x[0], Bug::overwrites); },
                                make_inputs({{4}}, -1, 1, 4));
  CHECK_FALSE(r.ok);
  CHECK_THAT(r.message, Contains("accumulating backward"));
}

TEST_CASE("gradcheck fails when every gradient is zero but the function varies", "[gradcheck]") {
  GradcheckResult r = gradcheck([](auto& x) { return doubled(x[0], Bug::zero); },
                                make_inputs({{4}}, -1, 1, 5));
  CHECK_FALSE(r.ok);
  CHECK_THAT(r.message, Contains("every analytic gradient is zero"));
  // An op whose backward was never recorded: its output does not require grad.
  r = gradcheck([](auto& x) { return x[0].detach() * 2.f; }, make_inputs({{3}}, -1, 1, 6));
  CHECK_FALSE(r.ok);
}

TEST_CASE("gradcheck refuses to pass vacuously", "[gradcheck]") {
  auto constant = [](auto& x) { return x[0] * 0.f; };
  CHECK_FALSE(gradcheck(constant, make_inputs({{3}}, -1, 1, 7)));
  GradcheckOptions allow;
  allow.allow_all_zero = true;
  CHECK(gradcheck(constant, make_inputs({{3}}, -1, 1, 7), allow));
  CHECK_FALSE(gradcheck([](auto& x) { return x[0] * 2.f; }, {Tensor::ones({2})}));
}
