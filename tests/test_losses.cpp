// The losses: closed-form values, PyTorch's values and gradients (tests/reference/losses.json),
// gradcheck, extreme logits, one recorded node each, and the exact error messages.
#include <catch2/catch.hpp>

#include <cmath>
#include <functional>
#include <limits>

#include "actlab/actlab.hpp"
#include "reference_data.hpp"
#include "tensor_literal.hpp"

using namespace actlab;

namespace {

// The loss a reference case names, applied to its input (requiring grad) and its target.
Tensor reference_loss(const nlohmann::json& c, const Tensor& input) {
  const std::string name = c["name"];
  if (name == "mse_loss") return mse_loss(input, T(reference::numbers(c["target"]), input.shape()));
  if (name == "binary_cross_entropy_with_logits")
    return binary_cross_entropy_with_logits(input, T(reference::numbers(c["target"]), input.shape()));
  if (name == "cross_entropy")
    return cross_entropy(input, c["target"].get<std::vector<int64_t>>(),
                         c["params"]["label_smoothing"].get<float>(),
                         c["params"]["ignore_index"].get<int64_t>());
  throw std::runtime_error("unknown loss in losses.json: " + name);
}

void check_finite(const std::vector<float>& values) {
  for (float v : values) CHECK(std::isfinite(v));
}

}  // namespace

TEST_CASE("losses: closed-form values", "[loss]") {
  // ((1-0)^2 + (2-4)^2 + (3-3)^2 + (-1-1)^2) / 4 = 9 / 4
  CHECK(mse_loss(T({1, 2, 3, -1}, {2, 2}), T({0, 4, 3, 1}, {2, 2})).item() == Approx(2.25));
  // Equal logits: softmax is uniform, loss log C whatever the target and the smoothing.
  for (float eps : {0.f, 0.2f, 1.f})
    CHECK(cross_entropy(Tensor::full({3, 5}, 0.7f), {0, 4, 2}, eps).item() ==
          Approx(std::log(5.0)));
  // Logits [0, log 3]: softmax [1/4, 3/4]; eps = 0.5 gives q = [3/4, 1/4] for target 0.
  const float log3 = std::log(3.f);
  CHECK(cross_entropy(T({0, log3}, {1, 2}), {1}).item() == Approx(-std::log(0.75)));
  CHECK(cross_entropy(T({0, log3}, {1, 2}), {0}, 0.5f).item() ==
        Approx(-0.75 * std::log(0.25) - 0.25 * std::log(0.75)));
  // At x = 0 the loss is log 2 for every target.
  CHECK(binary_cross_entropy_with_logits(Tensor::zeros({3}), T({0, 0.5f, 1}, {3})).item() ==
        Approx(std::log(2.0)));
}

TEST_CASE("losses: values and gradients match PyTorch", "[loss][reference]") {
  // Tolerance: rel 1e-5 plus abs 1e-7. Both sides are float32 and sum in different orders
  // (ours in double, PyTorch's in float with its own blocking), so the last bits differ:
  // observed worst 1.1e-7 relative on the values, and 1.6e-6 relative (3e-8 absolute) on
  // gradient elements near 1e-2, where softmax - q cancels. The extreme cases stay as exact,
  // since x - max cancels the 1000s exactly.
  const nlohmann::json ref = reference::load("losses.json");
  REQUIRE(ref["cases"].size() == 10);
  for (const auto& c : ref["cases"]) {
    const std::string label = c["name"].get<std::string>() + " " + c["params"].dump();
    INFO(label);
    const auto shape = c.contains("shape") ? c["shape"] : c["logits_shape"];
    Tensor input = T(reference::numbers(c["input"]), shape.get<std::vector<int64_t>>(), true);
    Tensor loss = reference_loss(c, input);
    loss.backward();
    reference::check_close({loss.item()}, {reference::number(c["output"])}, 1e-5, 1e-7,
                           label + ": value");
    reference::check_close(input.grad().to_vector(), reference::numbers(c["grad_input"]), 1e-5,
                           1e-7, label + ": gradient");
  }
}

TEST_CASE("losses: gradcheck", "[loss][gradcheck]") {
  using Fn = std::function<Tensor(const std::vector<Tensor>&)>;
  Generator gen(11);
  const auto uniform = [&](Shape s, float lo, float hi, bool requires_grad = true) {
    return Tensor::uniform(s, lo, hi, gen).set_requires_grad(requires_grad);
  };
  SECTION("mse_loss, both inputs") {
    const Fn fn = [](auto& x) { return mse_loss(x[0], x[1]); };
    CHECK(gradcheck(fn, {uniform({3, 4}, -2, 2), uniform({3, 4}, -2, 2)}));
  }
  SECTION("binary_cross_entropy_with_logits: logits, and targets too") {
    const Fn fn = [](auto& x) { return binary_cross_entropy_with_logits(x[0], x[1]); };
    const Tensor targets = uniform({2, 5}, 0, 1);
    CHECK(gradcheck(fn, {uniform({2, 5}, -4, 4), targets}));
    CHECK(gradcheck(fn, {uniform({2, 5}, -4, 4), targets.detach()}));
  }
  SECTION("cross_entropy, with and without label smoothing") {
    const std::vector<int64_t> targets = {0, 3, 1, 3, 2};
    for (float eps : {0.f, 0.1f, 0.3f, 1.f}) {
      INFO("label_smoothing " << eps);
      const Fn fn = [&](auto& x) { return cross_entropy(x[0], targets, eps); };
      GradcheckResult r = gradcheck(fn, {uniform({5, 4}, -3, 3)});
      INFO(r.message);
      CHECK(r.ok);
    }
  }
  SECTION("cross_entropy with ignored rows (their gradient is 0)") {
    const std::vector<int64_t> targets = {0, kIgnoreIndex, 1, kIgnoreIndex, 2};
    for (float eps : {0.f, 0.1f}) {
      INFO("label_smoothing " << eps);
      const Fn fn = [&](auto& x) { return cross_entropy(x[0], targets, eps); };
      GradcheckResult r = gradcheck(fn, {uniform({5, 4}, -3, 3)});
      INFO(r.message);
      CHECK(r.ok);
    }
  }
}

TEST_CASE("losses: cross_entropy's ignored rows: the mean over the others", "[loss]") {
  // Rows 1 and 3 ignored: the loss is the mean over rows 0, 2 and 4 alone, whatever the
  // ignored rows hold; ignore_index may also name a real class, as in PyTorch.
  Tensor x = T({0, 1, 2, 9, -9, 9, 3, 1, 0, -5, 5, 5, 1, 1, 1}, {5, 3}, true);
  const Tensor kept = T({0, 1, 2, 3, 1, 0, 1, 1, 1}, {3, 3});
  Tensor loss = cross_entropy(x, {2, kIgnoreIndex, 0, kIgnoreIndex, 1});
  CHECK(loss.item() == Approx(cross_entropy(kept, {2, 0, 1}).item()));
  loss.backward();
  const std::vector<float> g = x.grad().to_vector();
  for (int64_t j = 0; j < 3; ++j) {
    CHECK(g[static_cast<size_t>(3 + j)] == 0.f);
    CHECK(g[static_cast<size_t>(9 + j)] == 0.f);
  }
  CHECK(cross_entropy(kept, {2, 0, 1}, 0.f, 0).item() ==
        Approx(cross_entropy(T({0, 1, 2, 1, 1, 1}, {2, 3}), {2, 1}).item()));
}

TEST_CASE("losses: extreme logits give finite values and gradients", "[loss][extremes]") {
  const float big = 1e4f;
  SECTION("cross_entropy at +-1e4 and +-1000") {
    for (float eps : {0.f, 0.1f, 1.f}) {
      INFO("label_smoothing " << eps);
      Tensor x = T({big, -big, 0, -1000, 1000, 1000, big, -big, -big}, {3, 3}, true);
      Tensor loss = cross_entropy(x, {0, 2, 1}, eps);
      loss.backward();
      CHECK(std::isfinite(loss.item()));
      check_finite(x.grad().to_vector());
    }
    // Right with certainty: loss 0; wrong by 2e4: loss 2e4 (its gradient -1 and +1, over N = 2).
    Tensor x = T({big, -big, big, -big}, {2, 2}, true);
    Tensor loss = cross_entropy(x, {0, 1});
    loss.backward();
    CHECK(loss.item() == Approx(1e4));
    CHECK(x.grad().to_vector() == std::vector<float>{0, 0, 0.5f, -0.5f});
  }
  SECTION("binary_cross_entropy_with_logits at +-50, +-100, +-1e4") {
    Tensor x = T({-big, -100, -50, 50, 100, big}, {6}, true);
    Tensor loss = binary_cross_entropy_with_logits(x, T({1, 0, 0.3f, 1, 0, 0}, {6}));
    loss.backward();
    // Terms: 1e4, e^-100, 15 + log1p(e^-50), log1p(e^-50), 100, 1e4 (sums of x(1-t) or -x t).
    CHECK(loss.item() == Approx((1e4 + 15 + 100 + 1e4) / 6).epsilon(1e-6));
    check_finite(x.grad().to_vector());
    const auto g = x.grad().to_vector();
    CHECK(g[0] == Approx(-1.f / 6));  // sigmoid(-1e4) - 1
    CHECK(g[5] == Approx(1.f / 6));   // sigmoid(1e4) - 0
  }
}

TEST_CASE("losses: each is one recorded node, and none under NoGradGuard", "[loss][autograd]") {
  Tensor x = T({0.5f, -1, 2, 0.25f}, {2, 2}, true);
  Tensor t = T({0, 1, 1, 0}, {2, 2});
  const std::vector<std::pair<std::string, std::function<Tensor()>>> losses = {
      {"mse_loss", [&] { return mse_loss(x, t); }},
      {"cross_entropy", [&] { return cross_entropy(x, {1, 0}, 0.1f); }},
      {"binary_cross_entropy_with_logits", [&] { return binary_cross_entropy_with_logits(x, t); }},
  };
  for (const auto& [name, loss] : losses) {
    INFO(name);
    const int64_t before = autograd::live_nodes();
    Tensor out = loss();
    CHECK(out.dim() == 0);
    CHECK(autograd::live_nodes() == before + 1);
    CHECK(out.grad_fn()->name() == name);
    NoGradGuard no_grad;
    CHECK_FALSE(loss().requires_grad());
  }
}

TEST_CASE("losses: bad input gives an actlab::Error naming the op, the value and the shapes",
          "[loss][errors]") {
  const Tensor logits = Tensor::zeros({3, 5});
  CHECK_THROWS_WITH(cross_entropy(logits, {0, 1, 7}),
                    "cross_entropy: target 7 at row 2 is out of range for 5 classes "
                    "(logits of shape [3, 5])");
  CHECK_THROWS_WITH(cross_entropy(logits, {-1, 1, 2}),
                    "cross_entropy: target -1 at row 0 is out of range for 5 classes "
                    "(logits of shape [3, 5])");
  CHECK_THROWS_WITH(cross_entropy(logits, {kIgnoreIndex, kIgnoreIndex, kIgnoreIndex}),
                    "cross_entropy: every one of the 3 targets is ignore_index (-100): no rows "
                    "to average");
  CHECK_THROWS_WITH(cross_entropy(logits, {0, 1}),
                    "cross_entropy: 2 targets for logits of shape [3, 5]: expected one per row (3)");
  CHECK_THROWS_WITH(cross_entropy(Tensor::zeros({5}), {0}),
                    "cross_entropy: logits must be 2-D [N, C], got shape [5]");
  CHECK_THROWS_WITH(cross_entropy(logits, {0, 1, 2}, 1.5f),
                    "cross_entropy: label_smoothing must be in [0, 1], got 1.5");
  CHECK_THROWS_WITH(cross_entropy(logits, {0, 1, 2}, -0.1f),
                    "cross_entropy: label_smoothing must be in [0, 1], got -0.1");
  CHECK_THROWS_WITH(cross_entropy(logits, {0, 1, 2}, std::numeric_limits<float>::quiet_NaN()),
                    "cross_entropy: label_smoothing must be in [0, 1], got nan");
  CHECK_THROWS_WITH(cross_entropy(Tensor::zeros({0, 5}), {}),
                    "cross_entropy: logits of shape [0, 5] have no rows to average");
  CHECK_THROWS_WITH(mse_loss(Tensor::zeros({2, 3}), Tensor::zeros({3, 2})),
                    "mse_loss: pred of shape [2, 3] and target of shape [3, 2] must have the "
                    "same shape");
  CHECK_THROWS_WITH(mse_loss(Tensor::zeros({2, 3}), Tensor::zeros({3})),
                    "mse_loss: pred of shape [2, 3] and target of shape [3] must have the same "
                    "shape");
  CHECK_THROWS_WITH(mse_loss(Tensor::zeros({0}), Tensor::zeros({0})),
                    "mse_loss: pred of shape [0] has no elements to average");
  CHECK_THROWS_WITH(binary_cross_entropy_with_logits(Tensor::zeros({4}), Tensor::zeros({4, 1})),
                    "binary_cross_entropy_with_logits: logits of shape [4] and targets of shape "
                    "[4, 1] must have the same shape");
  CHECK_THROWS_AS(cross_entropy(logits, {0, 1, 5}), Error);
}
