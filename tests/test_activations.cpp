// The functional activations of ops.hpp and gated_activation: values and gradients against
// PyTorch's (tests/reference/activations.json and blocks.json), gradcheck of each (one line
// per op in the table), the kinks and extremes where implementations differ, the seed's
// softmax temperatures, and the exact error messages.
#include <catch2/catch.hpp>

#include <cmath>
#include <functional>
#include <map>
#include <numbers>
#include <string>
#include <vector>

#include "actlab/actlab.hpp"
#include "op_cases.hpp"
#include "reference_data.hpp"
#include "tensor_literal.hpp"

using namespace actlab;
using json = nlohmann::json;

namespace {

// A tensor of reference values.
Tensor from_json(const json& values, const json& shape, bool requires_grad = false) {
  return T(reference::numbers(values), shape.get<std::vector<int64_t>>(), requires_grad);
}

// A comparison passes when |got - want| <= abs + rel * |want| (so 0 and -0 are equal).
struct Tolerance {
  double rel;
  double abs;
};

void check_close(const Tensor& got, const json& want, Tolerance tol, const std::string& what) {
  reference::check_close(got.to_vector(), reference::numbers(want), tol.rel, tol.abs, what);
}

// The op a reference case names, with its parameters.
Tensor apply_case(const json& c, const Tensor& x, const Tensor& weight) {
  const std::string name = c["name"];
  const json& p = c["params"];
  if (name == "relu") return relu(x);
  if (name == "leaky_relu") return leaky_relu(x, p["negative_slope"]);
  if (name == "prelu") return prelu(x, weight);
  if (name == "elu") return elu(x, p["alpha"]);
  if (name == "selu") return selu(x);
  if (name == "celu") return celu(x, p["alpha"]);
  if (name == "gelu") return gelu(x);
  if (name == "gelu_tanh") return gelu_tanh(x);
  if (name == "silu") return silu(x);
  if (name == "mish") return mish(x);
  if (name == "softplus") return softplus(x, p["beta"], p["threshold"]);
  if (name == "sigmoid") return sigmoid(x);
  if (name == "tanh") return tanh(x);
  if (name == "hardswish") return hardswish(x);
  if (name == "log_sigmoid") return log_sigmoid(x);
  if (name == "softmax") return softmax(x, p["dim"], p["temperature"]);
  if (name == "log_softmax") return log_softmax(x, p["dim"], p["temperature"]);
  FAIL("no op for reference case " << name);
  return {};
}

// PyTorch and actlab each round every operation to about an ulp (6e-8 relative), through at
// most four dependent operations, so values agree to ~3e-7 relative: rel 1e-5 leaves a wide
// margin while a wrong constant or formula shows up at 1e-3 or more. abs 1e-7 (an ulp at 1)
// covers results near 0 that come out of a difference (e.g. 1 - sigmoid) and the subnormal
// results at x = -100. Two ops need more, each because PyTorch's float result is the less
// accurate one:
Tolerance tolerance_for(const std::string& name) {
  // PyTorch computes 0.5 x (1 + erf(x / sqrt 2)), which cancels for x < -2: at x = -2.91 its
  // value is 3.3e-5 off the exact one, ours (from erfc) 5e-7 (checked in "GELU's left tail").
  if (name == "gelu") return {1e-4, 1e-7};
  // The largest entry of a row is -log(sum of exponentials), the log of a number near 1: both
  // lose relative accuracy there (absolute error ~1e-7 on values like -3e-4).
  if (name == "log_softmax") return {1e-5, 1e-6};
  return {1e-5, 1e-7};
}

}  // namespace

TEST_CASE("activations match PyTorch's values and gradients on every reference case",
          "[activations][reference]") {
  const json data = reference::load("activations.json");
  int cases = 0;
  for (const json& c : data["cases"]) {
    const std::string name = c["name"];
    const std::string label = name + " " + c["params"].dump() + " on shape " + c["shape"].dump();
    const Tolerance tol = tolerance_for(name);
    Tensor x = from_json(c["input"], c["shape"], true);
    Tensor w;
    if (c.contains("weight")) w = from_json(c["weight"], json::array({c["weight"].size()}), true);
    const Tensor y = apply_case(c, x, w);
    check_close(y, c["output"], tol, label + ": output");
    sum(y * from_json(c["proj"], c["shape"])).backward();
    check_close(x.grad(), c["grad_input"], tol, label + ": input gradient");
    if (w.defined()) check_close(w.grad(), c["grad_weight"], tol, label + ": weight gradient");
    ++cases;
  }
  CHECK(cases == static_cast<int>(data["cases"].size()));
  CHECK(cases == 90);  // every case of the file, none skipped
}

TEST_CASE("an activation's backward writes dx over a gradient nothing else holds", "[activations]") {
  Tensor x = T({-1.f, 0.5f, 2.f}, {3}, true);
  Tensor out = Tensor::zeros({3});
  const float* handed = nullptr;
  // An op of our own hands leaky_relu's output a gradient that only the tape holds.
  record("hand over", out, {leaky_relu(x, 0.25f)}, [&handed](const Tensor&, GradSink& sink) {
    Tensor g = T({1.f, 2.f, 3.f}, {3});
    handed = g.data();
    sink.add(0, std::move(g));
  });
  sum(out).backward();
  CHECK(x.grad().data() == handed);
  CHECK(x.grad().to_vector() == std::vector<float>{0.25f, 2.f, 3.f});
}

TEST_CASE("activations that compute their derivative in the forward: the same values without grad, dx over g", "[activations][saved_derivative]") {
  const std::vector<std::pair<std::string, std::function<Tensor(const Tensor&)>>> ops = {
      {"gelu", [](const Tensor& t) { return gelu(t); }},
      {"gelu_tanh", [](const Tensor& t) { return gelu_tanh(t); }},
      {"mish", [](const Tensor& t) { return mish(t); }},
      {"softplus", [](const Tensor& t) { return softplus(t); }},
      {"log_sigmoid", [](const Tensor& t) { return log_sigmoid(t); }}};
  Generator gen(7);
  const Tensor x0 = Tensor::randn({4, 33}, gen).detach();
  for (const auto& [name, op] : ops) {
    INFO(name);
    Tensor x = x0.detach().set_requires_grad(true);
    Tensor y = op(x);
    Tensor plain;
    {
      NoGradGuard no_grad;
      plain = op(x0);
    }
    CHECK(y.to_vector() == plain.to_vector());  // one loop for y and f', or y alone: same y
    // dx over a gradient nothing else holds, as every activation's backward writes it.
    Tensor out = Tensor::zeros(y.shape());
    const float* handed = nullptr;
    record("hand over", out, {y}, [&handed, &x0](const Tensor&, GradSink& sink) {
      Tensor g = Tensor::full(x0.shape(), 0.5f);
      handed = g.data();
      sink.add(0, std::move(g));
    });
    sum(out).backward();
    CHECK(x.grad().data() == handed);
  }
}

TEST_CASE("GELU's left tail is accurate where 1 + erf would cancel", "[activations]") {
  // x Phi(x) and Phi(x) + x phi(x) at 30 digits (mpmath).
  const std::vector<float> x = {-3.f, -4.f, -5.f, -6.f, -8.f};
  const std::vector<double> value = {-0.00404969409489, -0.000126684967332, -1.4332578594e-6,
                                     -5.91952587023e-9, -4.97676845942e-15};
  const std::vector<double> slope = {-0.0119456472042, -0.000503649661226, -7.14694600179e-6,
                                     -3.54687094539e-8, -3.97960726109e-14};
  Tensor xt = T(x, {5}, true);
  const Tensor y = gelu(xt);
  sum(y).backward();
  for (size_t k = 0; k < x.size(); ++k) {
    INFO("x = " << x[k]);
    // 4e-6: erfc's relative error grows with x^2 (the rounding of x^2 in e^(-x^2)).
    CHECK(y.to_vector()[k] == Approx(value[k]).epsilon(4e-6).margin(0));
    CHECK(xt.grad().to_vector()[k] == Approx(slope[k]).epsilon(4e-6).margin(0));
  }
}

// ---- gradcheck ------------------------------------------------------------------------------

namespace {

using op_cases::Fn;
using op_cases::make_inputs;
using op_cases::OpCase;

Fn gated(const char* activation) {
  return [activation](const std::vector<Tensor>& x) {
    return gated_activation(x[0], x[1], activation);
  };
}

// Adding an activation to the gradcheck suite is one line here.
const std::vector<OpCase> kActivations = {
    {"relu", {{3, 5}}, [](auto& x) { return relu(x[0]); }, {0.f}},
    {"leaky_relu", {{3, 5}}, [](auto& x) { return leaky_relu(x[0]); }, {0.f}},
    {"leaky_relu 0.2", {{3, 5}}, [](auto& x) { return leaky_relu(x[0], 0.2f); }, {0.f}},
    {"prelu shared weight", {{3, 5}, {1}}, [](auto& x) { return prelu(x[0], x[1]); }, {0.f}},
    {"prelu per channel", {{3, 4}, {4}}, [](auto& x) { return prelu(x[0], x[1]); }, {0.f}},
    {"prelu per channel 3-d", {{2, 3, 4}, {3}}, [](auto& x) { return prelu(x[0], x[1]); }, {0.f}},
    {"elu", {{3, 5}}, [](auto& x) { return elu(x[0]); }, {0.f}},
    {"elu 0.5", {{3, 5}}, [](auto& x) { return elu(x[0], 0.5f); }, {0.f}},
    {"selu", {{3, 5}}, [](auto& x) { return selu(x[0]); }, {0.f}},
    {"celu 2", {{3, 5}}, [](auto& x) { return celu(x[0], 2.f); }, {0.f}},
    {"gelu", {{3, 5}}, [](auto& x) { return gelu(x[0]); }, {}, -4.f, 4.f},
    {"gelu_tanh", {{3, 5}}, [](auto& x) { return gelu_tanh(x[0]); }, {}, -4.f, 4.f},
    {"silu", {{3, 5}}, [](auto& x) { return silu(x[0]); }, {}, -4.f, 4.f},
    {"mish", {{3, 5}}, [](auto& x) { return mish(x[0]); }, {}, -4.f, 4.f},
    {"softplus", {{3, 5}}, [](auto& x) { return softplus(x[0]); }, {}, -4.f, 4.f},
    {"softplus beta 2 threshold 1",
     {{3, 5}},
     [](auto& x) { return softplus(x[0], 2.f, 1.f); },
     {0.5f}},
    {"sigmoid", {{3, 5}}, [](auto& x) { return sigmoid(x[0]); }, {}, -4.f, 4.f},
    {"tanh", {{3, 5}}, [](auto& x) { return tanh(x[0]); }},
    {"hardswish", {{3, 5}}, [](auto& x) { return hardswish(x[0]); }, {-3.f, 3.f}, -4.f, 4.f},
    {"log_sigmoid", {{3, 5}}, [](auto& x) { return log_sigmoid(x[0]); }, {}, -4.f, 4.f},
    {"softmax", {{3, 5}}, [](auto& x) { return softmax(x[0]); }},
    {"softmax dim 0 T 0.5", {{3, 5}}, [](auto& x) { return softmax(x[0], 0, 0.5f); }},
    {"softmax dim 1 of 3-d T 2", {{2, 3, 4}}, [](auto& x) { return softmax(x[0], 1, 2.f); }},
    {"log_softmax", {{3, 5}}, [](auto& x) { return log_softmax(x[0]); }},
    {"log_softmax dim 0 T 2", {{3, 5}}, [](auto& x) { return log_softmax(x[0], 0, 2.f); }},
    {"log_softmax dim 1 T 0.5", {{3, 5}}, [](auto& x) { return log_softmax(x[0], 1, 0.5f); }},
    {"gated sigmoid (GLU)", {{3, 4}, {3, 4}}, gated("sigmoid")},
    {"gated relu (ReGLU)", {{3, 4}, {3, 4}}, gated("relu"), {0.f}},
    {"gated gelu (GeGLU)", {{3, 4}, {3, 4}}, gated("gelu")},
    {"gated gelu_tanh", {{3, 4}, {3, 4}}, gated("gelu_tanh")},
    {"gated silu (SwiGLU)", {{3, 4}, {3, 4}}, gated("silu")},
    // gate and up one tensor: both gradients land in one buffer.
    {"gated gelu, gate = up", {{3, 4}},
     [](auto& x) { return gated_activation(x[0], x[0], "gelu"); }},
};

}  // namespace

TEST_CASE("gradcheck passes on every activation", "[activations][gradcheck]") {
  for (const OpCase& op : kActivations) {
    for (uint64_t seed : {1, 2}) {
      INFO(op.name << " (seed " << seed << ")");
      const GradcheckResult r = gradcheck(op.fn, make_inputs(op, seed));
      INFO(r.message);
      CHECK(r.ok);
    }
  }
}

TEST_CASE("each activation records one node", "[activations][autograd]") {
  for (const OpCase& op : kActivations) {
    INFO(op.name);
    const std::vector<Tensor> xs = make_inputs(op, 3);
    const int64_t before = autograd::live_nodes();
    const Tensor y = op.fn(xs);
    CHECK(autograd::live_nodes() - before == 1);
  }
}

// ---- kinks and extremes ---------------------------------------------------------------------

namespace {

// d sum(fn(x)) / dx at the given points.
std::vector<float> slopes(const std::function<Tensor(const Tensor&)>& fn, std::vector<float> at) {
  Tensor x = T(at, {static_cast<int64_t>(at.size())}, true);
  sum(fn(x)).backward();
  return x.grad().to_vector();
}

}  // namespace

TEST_CASE("derivatives at the kinks follow PyTorch", "[activations][kinks]") {
  CHECK(slopes([](auto& x) { return relu(x); }, {-1e-6f, 0.f, 1e-6f}) ==
        std::vector<float>{0.f, 0.f, 1.f});
  CHECK(slopes([](auto& x) { return leaky_relu(x); }, {0.f, 1e-6f}) ==
        std::vector<float>{0.01f, 1.f});
  CHECK(slopes([](auto& x) { return leaky_relu(x, 0.2f); }, {0.f}) == std::vector<float>{0.2f});
  CHECK(slopes([](auto& x) { return elu(x); }, {0.f}) == std::vector<float>{1.f});
  CHECK(slopes([](auto& x) { return elu(x, 0.5f); }, {0.f, 1e-6f}) ==
        std::vector<float>{0.5f, 1.f});
  CHECK(slopes([](auto& x) { return celu(x, 2.f); }, {0.f}) == std::vector<float>{1.f});
  CHECK(slopes([](auto& x) { return selu(x); }, {0.f, 1e-6f})[0] ==
        Approx(1.6732632423543772 * 1.0507009873554805));
  CHECK(slopes([](auto& x) { return selu(x); }, {1e-6f})[0] == Approx(1.0507009873554805));
  // hardswish: the documented pieces, 0 for x <= -3, x / 3 + 1/2 between, 1 for x >= 3, so
  // both knees take the outer piece's slope (as current PyTorch; 1.13 gave -0.5 and 1.5).
  CHECK(slopes([](auto& x) { return hardswish(x); },
               {-3.001f, -3.f, -2.999f, 0.f, 2.999f, 3.f, 3.001f}) ==
        std::vector<float>{0.f, 0.f, -2.999f / 3.f + 0.5f, 0.5f, 2.999f / 3.f + 0.5f, 1.f, 1.f});
  // softplus is the identity only strictly above its threshold (beta x > threshold).
  Tensor at_threshold = T({1.f, 1.001f}, {2}, true);
  const Tensor sp = softplus(at_threshold, 1.f, 1.f);
  sum(sp).backward();
  CHECK(sp.to_vector()[0] == Approx(std::log1p(std::exp(1.0))));
  CHECK(sp.to_vector()[1] == 1.001f);
  CHECK(at_threshold.grad().to_vector()[0] == Approx(1.0 / (1.0 + std::exp(-1.0))));
  CHECK(at_threshold.grad().to_vector()[1] == 1.f);
}

TEST_CASE("prelu at 0: the input's slope is the weight, the weight's is 0",
          "[activations][kinks]") {
  Tensor x = T({0.f, 0.f, -1.f, 2.f}, {2, 2}, true);
  Tensor w = T({0.25f, 0.5f}, {2}, true);
  sum(prelu(x, w)).backward();
  CHECK(x.grad().to_vector() == std::vector<float>{0.25f, 0.5f, 0.25f, 1.f});
  CHECK(w.grad().to_vector() == std::vector<float>{-1.f, 0.f});
}

TEST_CASE("no NaN or Inf at |x| = 100, 1e4 or for logits of +-1000", "[activations][extremes]") {
  const std::vector<float> edges = {-1e4f, -1000.f, -100.f, -0.f, 0.f, 100.f, 1000.f, 1e4f};
  const std::vector<std::pair<const char*, std::function<Tensor(const Tensor&)>>> ops = {
      {"relu", [](auto& x) { return relu(x); }},
      {"leaky_relu", [](auto& x) { return leaky_relu(x); }},
      {"prelu", [](auto& x) { return prelu(x, Tensor::full({1}, 0.25f)); }},
      {"elu", [](auto& x) { return elu(x); }},
      {"selu", [](auto& x) { return selu(x); }},
      {"celu", [](auto& x) { return celu(x, 0.5f); }},
      {"gelu", [](auto& x) { return gelu(x); }},
      {"gelu_tanh", [](auto& x) { return gelu_tanh(x); }},
      {"silu", [](auto& x) { return silu(x); }},
      {"mish", [](auto& x) { return mish(x); }},
      {"softplus", [](auto& x) { return softplus(x); }},
      {"softplus beta 0.01 threshold 1e6", [](auto& x) { return softplus(x, 0.01f, 1e6f); }},
      {"sigmoid", [](auto& x) { return sigmoid(x); }},
      {"tanh", [](auto& x) { return tanh(x); }},
      {"hardswish", [](auto& x) { return hardswish(x); }},
      {"log_sigmoid", [](auto& x) { return log_sigmoid(x); }},
      {"softmax", [](auto& x) { return softmax(x); }},
      {"log_softmax T 0.5", [](auto& x) { return log_softmax(x, -1, 0.5f); }},
      {"gated silu", [](auto& x) { return gated_activation(x, x, "silu"); }},
      {"gated gelu", [](auto& x) { return gated_activation(x, x.detach(), "gelu"); }},
  };
  for (const auto& [name, fn] : ops) {
    INFO(name);
    Tensor x = T(edges, {static_cast<int64_t>(edges.size())}, true);
    const Tensor y = fn(x);
    sum(y).backward();
    for (float v : y.to_vector()) CHECK(std::isfinite(v));
    for (float v : x.grad().to_vector()) CHECK(std::isfinite(v));
  }
}

TEST_CASE("the stable forms give the limits at the extremes", "[activations][extremes]") {
  const Tensor x = T({-1e4f, 1e4f}, {2});
  CHECK(sigmoid(x).to_vector() == std::vector<float>{0.f, 1.f});
  CHECK(softplus(x).to_vector() == std::vector<float>{0.f, 1e4f});
  CHECK(log_sigmoid(x).to_vector() == std::vector<float>{-1e4f, 0.f});
  CHECK(tanh(x).to_vector() == std::vector<float>{-1.f, 1.f});
  CHECK(gelu(x).to_vector() == std::vector<float>{0.f, 1e4f});
  CHECK(gelu_tanh(x).to_vector() == std::vector<float>{0.f, 1e4f});
  CHECK(silu(x).to_vector() == std::vector<float>{0.f, 1e4f});
  CHECK(mish(x).to_vector() == std::vector<float>{0.f, 1e4f});
  CHECK(elu(x).to_vector() == std::vector<float>{-1.f, 1e4f});
  {  // GELU where x^2 overflows float32: its value and slope stay finite (x Phi(x) = x, 0)
    Tensor huge = T({-1e30f, 1e30f}, {2}, true);
    const Tensor y = gelu(huge);
    sum(y).backward();
    CHECK(y.to_vector() == std::vector<float>{0.f, 1e30f});
    CHECK(huge.grad().to_vector() == std::vector<float>{0.f, 1.f});
  }
  // sigmoid keeps its relative accuracy into the subnormals: sigmoid(-100) = 3.72e-44.
  CHECK(sigmoid(T({-100.f}, {1})).item() == Approx(3.720076e-44).epsilon(0.05).margin(0));
  // Rows with logits of +-1000: the row maximum is subtracted first.
  const Tensor logits = T({1000.f, -1000.f, 0.f, -1000.f, -1000.f, -1000.f}, {2, 3});
  CHECK(softmax(logits).to_vector() ==
        std::vector<float>{1.f, 0.f, 0.f, 1.f / 3.f, 1.f / 3.f, 1.f / 3.f});
  const std::vector<float> ls = log_softmax(logits).to_vector();
  CHECK(std::vector<float>(ls.begin(), ls.begin() + 3) ==
        std::vector<float>{0.f, -2000.f, -1000.f});
  for (int k = 3; k < 6; ++k) CHECK(ls[k] == Approx(-std::log(3.0)));
}

// ---- softmax along dims and temperatures ----------------------------------------------------

TEST_CASE("softmax of the seed's logits 2, 1, 0.1 at T = 0.5, 1, 2", "[activations][softmax]") {
  // Exact values (double precision); the seed prints T = 0.5 as [0.88, 0.10, 0.02], loosely
  // rounded: the true first value is 0.8638.
  const Tensor logits = T({2.f, 1.f, 0.1f}, {3});
  const std::vector<std::pair<float, std::vector<double>>> expected = {
      {0.5f, {0.863777, 0.116900, 0.019323}},
      {1.f, {0.659001, 0.242433, 0.098566}},
      {2.f, {0.501688, 0.304289, 0.194023}}};
  float previous_top = 1.f;
  for (const auto& [t, want] : expected) {
    INFO("T = " << t);
    const std::vector<float> p = softmax(logits, -1, t).to_vector();
    for (int k = 0; k < 3; ++k) CHECK(p[k] == Approx(want[k]).margin(1e-6));
    CHECK(p[0] + p[1] + p[2] == Approx(1.f).margin(1e-6));
    CHECK(p[0] < previous_top);  // a higher temperature is softer
    previous_top = p[0];
  }
  CHECK(softmax(logits, -1, 0.5f).to_vector()[0] == Approx(0.8638).margin(5e-5));
}

TEST_CASE("a temperature near zero gives the argmax, not NaN", "[activations][softmax]") {
  // 1 / 1e-39 overflows float32; (x - max) / T does not.
  Tensor logits = T({2.f, 1.f, 0.1f}, {3}, true);
  const Tensor p = softmax(logits, -1, 1e-39f);
  CHECK(p.to_vector() == std::vector<float>{1.f, 0.f, 0.f});
  sum(p * T({1.f, 2.f, 3.f}, {3})).backward();
  for (float g : logits.grad().to_vector()) CHECK(g == 0.f);
  const std::vector<float> lp = log_softmax(T({2.f, 1.f}, {2}), -1, 1e-39f).to_vector();
  CHECK(lp[0] == 0.f);
  CHECK(std::isinf(lp[1]));
}

TEST_CASE("softmax over dim 0 is softmax over rows of the transpose", "[activations][softmax]") {
  Generator gen(7);
  const Tensor x = Tensor::randn({3, 4, 5}, gen);
  for (int64_t dim : {0, 1, -1}) {
    INFO("dim " << dim);
    const std::vector<float> direct = softmax(x, dim, 0.7f).to_vector();
    const std::vector<float> moved =
        transpose(softmax(transpose(x, dim, -1), -1, 0.7f), dim, -1).to_vector();
    for (size_t k = 0; k < direct.size(); ++k) CHECK(direct[k] == Approx(moved[k]).epsilon(1e-6));
    const std::vector<float> log_direct = log_softmax(x, dim, 0.7f).to_vector();
    for (size_t k = 0; k < direct.size(); ++k)
      CHECK(log_direct[k] == Approx(std::log(direct[k])).epsilon(1e-5).margin(1e-6));
  }
}

// ---- the fused gate -------------------------------------------------------------------------

namespace {

struct HandActivation {
  const char* name;
  double (*value)(double);
  double (*slope)(double);
};

double hand_sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }
double hand_phi(double x) { return 0.5 * std::erfc(-x / std::sqrt(2.0)); }
double hand_tanh_inner(double x) {
  return std::sqrt(2.0 / std::numbers::pi) * (x + 0.044715 * x * x * x);
}

const HandActivation kHandActivations[] = {
    {"sigmoid", hand_sigmoid, [](double x) { return hand_sigmoid(x) * (1.0 - hand_sigmoid(x)); }},
    {"relu", [](double x) { return x > 0 ? x : 0.0; }, [](double x) { return x > 0 ? 1.0 : 0.0; }},
    {"gelu", [](double x) { return x * hand_phi(x); },
     [](double x) {
       return hand_phi(x) + x * std::exp(-0.5 * x * x) / std::sqrt(2.0 * std::numbers::pi);
     }},
    {"gelu_tanh", [](double x) { return 0.5 * x * (1.0 + std::tanh(hand_tanh_inner(x))); },
     [](double x) {
       const double t = std::tanh(hand_tanh_inner(x));
       return 0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * std::sqrt(2.0 / std::numbers::pi) *
                                    (1.0 + 3.0 * 0.044715 * x * x);
     }},
    {"silu", [](double x) { return x * hand_sigmoid(x); },
     [](double x) { return hand_sigmoid(x) * (1.0 + x * (1.0 - hand_sigmoid(x))); }},
};

}  // namespace

TEST_CASE("gated_activation: act(gate) * up and both gradients, by hand", "[activations][gated]") {
  const std::vector<float> gate = {-2.f, -0.5f, 0.f, 0.5f, 1.5f, 3.f};
  const std::vector<float> up = {1.5f, -2.f, 4.f, 0.25f, 3.f, -1.f};
  const std::vector<float> proj = {0.3f, -1.f, 0.7f, 2.f, -0.4f, 1.f};
  for (const HandActivation& act : kHandActivations) {
    INFO(act.name);
    Tensor g = T(gate, {2, 3}, true);
    Tensor u = T(up, {2, 3}, true);
    const Tensor out = gated_activation(g, u, act.name);
    sum(out * T(proj, {2, 3})).backward();
    for (size_t k = 0; k < gate.size(); ++k) {
      INFO("element " << k);
      CHECK(out.to_vector()[k] == Approx(act.value(gate[k]) * up[k]).epsilon(1e-5).margin(1e-7));
      CHECK(g.grad().to_vector()[k] ==
            Approx(proj[k] * up[k] * act.slope(gate[k])).epsilon(1e-5).margin(1e-7));
      CHECK(u.grad().to_vector()[k] ==
            Approx(proj[k] * act.value(gate[k])).epsilon(1e-5).margin(1e-7));
    }
  }
}

TEST_CASE("gated_activation: one gradient wanted, accumulation, swish alias",
          "[activations][gated]") {
  Tensor g = T({-1.f, 0.5f, 2.f}, {3}, true);
  const Tensor u = T({2.f, -1.f, 3.f}, {3});  // needs no gradient
  sum(gated_activation(g, u, "swish")).backward();
  sum(gated_activation(g, u, "silu")).backward();  // accumulates onto the first
  const Tensor once = [&] {
    Tensor g2 = T({-1.f, 0.5f, 2.f}, {3}, true);
    sum(silu(g2) * u).backward();
    return g2.grad();
  }();
  for (int k = 0; k < 3; ++k) CHECK(g.grad().to_vector()[k] == Approx(2.f * once.to_vector()[k]));
}

TEST_CASE("gated FFN blocks with the fused gate match PyTorch (blocks.json)",
          "[activations][gated][reference]") {
  const json data = reference::load("blocks.json");
  int checked = 0;
  for (const json& c : data["cases"]) {
    if (c["kind"] != "gated") continue;
    const std::string act = c["activation"];
    INFO(c["variant"].get<std::string>() << " (gate activation " << act << ")");
    Tensor x = from_json(c["x"], c["x_shape"], true);
    std::map<std::string, Tensor> w;  // [out, in] each
    for (const char* name : {"gate.weight", "up.weight", "down.weight"})
      w[name] = from_json(c["params"][name], c["param_shapes"][name], true);
    const auto linear_no_bias = [](const Tensor& in, const Tensor& weight) {
      return matmul(in, transpose(weight, 0, 1));
    };
    const Tensor hidden = gated_activation(linear_no_bias(x, w["gate.weight"]),
                                           linear_no_bias(x, w["up.weight"]), act);
    const Tensor out = linear_no_bias(hidden, w["down.weight"]);
    // Sums of 6-10 products in another order than PyTorch's: a few ulp of the largest term.
    const Tolerance tol{1e-4, 1e-6};
    check_close(out, c["output"], tol, "output");
    sum(out * from_json(c["proj"], json(out.shape().vec()))).backward();
    check_close(x.grad(), c["grads"]["x"], tol, "x gradient");
    for (auto& [name, t] : w) check_close(t.grad(), c["grads"][name], tol, name + " gradient");
    ++checked;
  }
  CHECK(checked == 4);
}

// ---- errors ---------------------------------------------------------------------------------

TEST_CASE("bad arguments throw Errors that name the op and the shapes", "[activations][errors]") {
  const Tensor x = Tensor::zeros({2, 3});
  CHECK_THROWS_AS(softmax(x, -1, 0.f), Error);
  CHECK_THROWS_WITH(softmax(x, -1, 0.f), "softmax: temperature must be > 0, got 0");
  CHECK_THROWS_WITH(log_softmax(x, -1, -1.5f), "log_softmax: temperature must be > 0, got -1.5");
  CHECK_THROWS_WITH(softmax(x, -1, std::nanf("")), "softmax: temperature must be > 0, got nan");
  CHECK_THROWS_WITH(softmax(x, 2), "softmax: dim 2 is out of range for shape [2, 3]");
  CHECK_THROWS_WITH(log_softmax(x, -3), "log_softmax: dim -3 is out of range for shape [2, 3]");
  CHECK_THROWS_WITH(prelu(Tensor::zeros({2, 4}), Tensor::zeros({3})),
                    "prelu: weight of shape [3] does not fit input of shape [2, 4]: expected 1 "
                    "value or one per channel (dim 1 of the input)");
  CHECK_THROWS_WITH(prelu(Tensor::zeros({5}), Tensor::zeros({5})),
                    "prelu: weight of shape [5] does not fit input of shape [5]: expected 1 "
                    "value or one per channel (dim 1 of the input)");
  CHECK_THROWS_WITH(prelu(Tensor::zeros({2, 4}), Tensor::zeros({2, 2})),
                    "prelu: weight of shape [2, 2] does not fit input of shape [2, 4]: expected "
                    "1 value or one per channel (dim 1 of the input)");
  CHECK_THROWS_WITH(celu(x, 0.f), "celu: alpha must not be 0 (CELU divides by it)");
  CHECK_THROWS_WITH(softplus(x, 0.f), "softplus: beta must not be 0 (softplus divides by it)");
  CHECK_THROWS_WITH(gated_activation(x, Tensor::zeros({2, 4}), "silu"),
                    "gated_activation: gate of shape [2, 3] and up of shape [2, 4] must have the "
                    "same shape");
  CHECK_THROWS_WITH(gated_activation(x, x, "tanh"),
                    "gated_activation: unknown activation \"tanh\"; expected one of relu, "
                    "gelu, gelu_tanh, silu, swish, sigmoid");
}

TEST_CASE("softmax of a 0-dim tensor is 1, and empty tensors pass through", "[activations]") {
  CHECK(softmax(Tensor::scalar(3.f)).item() == 1.f);
  CHECK(log_softmax(Tensor::scalar(3.f)).item() == 0.f);
  CHECK(softmax(Tensor::zeros({0, 3})).numel() == 0);
  CHECK(relu(Tensor::zeros({0})).numel() == 0);
  CHECK(prelu(Tensor::zeros({0, 3}), Tensor::ones({3})).numel() == 0);
}
