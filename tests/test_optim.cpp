// The optimisers against PyTorch's trajectories (tests/reference/optimizers.json), gradient
// clipping, zero_grad, skipped parameters, state handles for checkpoints, and the error texts.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <memory>

#include "actlab/actlab.hpp"
#include "reference_data.hpp"

using namespace actlab;
using nlohmann::json;

namespace {

// Tolerance against PyTorch: rel 1e-5 plus abs 1e-6, about 20 times the worst difference
// observed (5e-7 relative, 2.4e-7 absolute, on the momentum and AdamW cases). Both run float32,
// but our float hyperparameters differ from PyTorch's doubles in the last bit (0.9f vs 0.9, so
// 1 - beta1 differs by 2e-7 relative), the loss's products and sums run in another order
// (OpenBLAS vs PyTorch's kernels), and five steps compound these ~1e-7 differences.
constexpr double kRtol = 1e-5;
constexpr double kAtol = 1e-6;

const json& reference_data() {
  static const json data = reference::load("optimizers.json");
  return data;
}

// The fixed regression problem of make_reference.py: loss = mse(X W^T + b, Y).
struct Problem {
  Tensor W;  // [3, 4]
  Tensor b;  // [3]
  Tensor X;  // [5, 4]
  Tensor Y;  // [5, 3]

  Tensor loss() const { return mse_loss(matmul(X, transpose(W, 0, 1)) + b, Y); }
  std::vector<Tensor> params() const { return {W, b}; }
};

Problem make_problem() {
  const json& r = reference_data();
  const auto shape = [&](const char* key) { return r[key].get<std::vector<int64_t>>(); };
  const auto values = [&](const char* key) { return reference::numbers(r[key]); };
  return {Tensor::from_vector(values("W0"), shape("W_shape"), true),
          Tensor::from_vector(values("b0"), {static_cast<int64_t>(r["b0"].size())}, true),
          Tensor::from_vector(values("X"), shape("X_shape")),
          Tensor::from_vector(values("Y"), shape("Y_shape"))};
}

// The optimiser a case's "resolved" hyperparameters (every value PyTorch used) describe.
std::unique_ptr<optim::Optimizer> make_optimizer(const json& c, std::vector<Tensor> params) {
  const std::string name = c["config"]["name"];
  const json& h = c["resolved"];
  const float lr = h["lr"];
  const float wd = h["weight_decay"];
  if (name == "sgd")
    return std::make_unique<optim::SGD>(std::move(params), lr, h["momentum"].get<float>(), wd,
                                        h["nesterov"].get<bool>());
  const float beta1 = h["betas"][0];
  const float beta2 = h["betas"][1];
  const float eps = h["eps"];
  if (name == "adam") return std::make_unique<optim::Adam>(std::move(params), lr, beta1, beta2, eps, wd);
  return std::make_unique<optim::AdamW>(std::move(params), lr, beta1, beta2, eps, wd);
}

// Runs the reference loop (zero_grad, loss, backward, step) and checks the losses and the
// final W and b against the case.
void check_trajectory(const json& c, Problem& problem, optim::Optimizer& opt) {
  std::vector<float> losses;
  for (size_t s = 0; s < c["losses"].size(); ++s) {
    opt.zero_grad();
    Tensor loss = problem.loss();
    loss.backward();
    losses.push_back(loss.item());
    opt.step();
  }
  reference::check_close(losses, reference::numbers(c["losses"]), kRtol, kAtol, "losses");
  reference::check_close(problem.W.to_vector(), reference::numbers(c["W"]), kRtol, kAtol, "W");
  reference::check_close(problem.b.to_vector(), reference::numbers(c["b"]), kRtol, kAtol, "b");
}

std::vector<std::string> names(const std::vector<std::pair<std::string, Tensor>>& state) {
  std::vector<std::string> out;
  for (const auto& [name, t] : state) out.push_back(name);
  return out;
}

}  // namespace

TEST_CASE("optimisers reproduce PyTorch's 5-step trajectories", "[optim][reference]") {
  const json& cases = reference_data()["cases"];
  REQUIRE(cases.size() == 9);
  for (const json& c : cases) {
    INFO(c["config"].dump());
    Problem problem = make_problem();
    auto opt = make_optimizer(c, problem.params());
    CHECK(opt->kind() == c["config"]["name"].get<std::string>());
    check_trajectory(c, problem, *opt);
  }
}

TEST_CASE("optimisers' defaults are PyTorch's", "[optim][reference]") {
  // The cases that name only lr ran with torch's defaults; ours must give the same steps.
  for (const json& c : reference_data()["cases"]) {
    if (c["config"].size() != 2) continue;
    const std::string name = c["config"]["name"];
    const float lr = c["config"]["lr"];
    INFO(name);
    Problem problem = make_problem();
    std::unique_ptr<optim::Optimizer> opt;
    if (name == "sgd") opt = std::make_unique<optim::SGD>(problem.params(), lr);
    if (name == "adam") opt = std::make_unique<optim::Adam>(problem.params(), lr);
    if (name == "adamw") opt = std::make_unique<optim::AdamW>(problem.params(), lr);
    REQUIRE(opt);
    check_trajectory(c, problem, *opt);
  }
  Problem problem = make_problem();
  CHECK(optim::Adam(problem.params()).lr() == 1e-3f);
  CHECK(optim::AdamW(problem.params()).lr() == 1e-3f);
}

TEST_CASE("Adam and AdamW: one step by hand, with an eps large enough to see", "[optim]") {
  // p = 1, g = 0.2, lr = 0.1, betas (0.9, 0.999), eps = 0.5, t = 1: m = 0.02, v = 4e-5,
  // step size lr / (1 - 0.9) = 1, denom = sqrt(v) / sqrt(1 - 0.999) + eps = 0.2 + 0.5.
  // (eps under the square root, or before the bias correction, would give another number.)
  const auto one_step = [](auto make) {
    Tensor p = Tensor::from_vector({1}, {1}, true);
    auto opt = make(std::vector<Tensor>{p});
    p.set_grad(Tensor::from_vector({0.2f}, {1}));
    opt.step();
    return p.item();
  };
  CHECK(one_step([](auto ps) { return optim::Adam(ps, 0.1f, 0.9f, 0.999f, 0.5f); }) ==
        Approx(1 - 0.02 / 0.7).epsilon(1e-6));
  // Coupled L2, weight_decay 0.5: g = 0.2 + 0.5 * 1 = 0.7, m = 0.07, denom = 0.7 + 0.5.
  CHECK(one_step([](auto ps) { return optim::Adam(ps, 0.1f, 0.9f, 0.999f, 0.5f, 0.5f); }) ==
        Approx(1 - 0.07 / 1.2).epsilon(1e-6));
  // Decoupled: p = 1 * (1 - 0.1 * 0.5) first, then the plain Adam step.
  CHECK(one_step([](auto ps) { return optim::AdamW(ps, 0.1f, 0.9f, 0.999f, 0.5f, 0.5f); }) ==
        Approx(0.95 - 0.02 / 0.7).epsilon(1e-6));
}

TEST_CASE("clip_grad_norm matches torch.nn.utils.clip_grad_norm_", "[optim][reference]") {
  const json& clip = reference_data()["clip"];
  Problem problem = make_problem();
  problem.loss().backward();
  reference::check_close(problem.W.grad().to_vector(), reference::numbers(clip["grads_before"]["W"]),
                         kRtol, kAtol, "W.grad before");
  const float total = optim::clip_grad_norm(problem.params(), clip["max_norm"].get<float>());
  reference::check_close({total}, {reference::number(clip["total_norm"])}, kRtol, kAtol, "total");
  reference::check_close(problem.W.grad().to_vector(), reference::numbers(clip["grads_after"]["W"]),
                         kRtol, kAtol, "W.grad after");
  reference::check_close(problem.b.grad().to_vector(), reference::numbers(clip["grads_after"]["b"]),
                         kRtol, kAtol, "b.grad after");
}

TEST_CASE("clip_grad_norm leaves small gradients alone and skips missing ones", "[optim]") {
  Tensor a = Tensor::zeros({2}).set_requires_grad(true);
  Tensor b = Tensor::zeros({1}).set_requires_grad(true);
  Tensor none = Tensor::zeros({3}).set_requires_grad(true);
  a.set_grad(Tensor::from_vector({3, 0}, {2}));
  b.set_grad(Tensor::from_vector({4}, {1}));
  CHECK(optim::clip_grad_norm({a, b, none}, 6.f) == Approx(5.f));  // |(3, 0, 4)| = 5
  CHECK(a.grad().to_vector() == std::vector<float>{3, 0});
  // At max_norm = total the factor max_norm / (total + 1e-6) is just below 1: PyTorch scales.
  CHECK(optim::clip_grad_norm({a, b, none}, 5.f) == Approx(5.f));
  CHECK(a.grad().to_vector()[0] < 3.f);
  CHECK(optim::clip_grad_norm({a, b, none}, 1.f) == Approx(5.f));
  CHECK(a.grad().to_vector()[0] == Approx(0.6f));
  CHECK(b.grad().to_vector()[0] == Approx(0.8f));
  CHECK_FALSE(none.grad().defined());
  CHECK(optim::clip_grad_norm({none}, 1.f) == 0.f);
  CHECK_THROWS_WITH(optim::clip_grad_norm({a}, -1.f),
                    "clip_grad_norm: max_norm must be >= 0, got -1");
}

TEST_CASE("zero_grad sets gradients to undefined, so the next backward starts afresh",
          "[optim]") {
  Problem problem = make_problem();
  optim::SGD opt(problem.params(), 0.1f);
  problem.loss().backward();
  const std::vector<float> once = problem.W.grad().to_vector();
  problem.loss().backward();  // accumulates: twice the gradient
  CHECK(problem.W.grad().to_vector()[0] == Approx(2 * once[0]));
  opt.zero_grad();
  CHECK_FALSE(problem.W.grad().defined());
  CHECK_FALSE(problem.b.grad().defined());
  problem.loss().backward();
  CHECK(problem.W.grad().to_vector() == once);
}

TEST_CASE("step skips parameters without a gradient, and leaves their state alone", "[optim]") {
  for (const std::string kind : {"sgd", "adam", "adamw"}) {
    INFO(kind);
    Tensor used = Tensor::from_vector({1, 2}, {2}, true);
    Tensor unused = Tensor::from_vector({3, 4, 5}, {3}, true);
    std::unique_ptr<optim::Optimizer> opt;
    if (kind == "sgd") opt = std::make_unique<optim::SGD>(std::vector{used, unused}, 0.1f, 0.9f);
    if (kind == "adam") opt = std::make_unique<optim::Adam>(std::vector{used, unused}, 0.1f);
    if (kind == "adamw") opt = std::make_unique<optim::AdamW>(std::vector{used, unused}, 0.1f);
    sum(used * used).backward();
    opt->step();
    opt->step();
    CHECK(unused.to_vector() == std::vector<float>{3, 4, 5});
    CHECK(used.to_vector()[0] < 1.f);
    for (const auto& [name, state] : opt->named_state()) {
      INFO(name);
      const bool of_unused = name.rfind("1.", 0) == 0;
      bool all_zero = true;
      for (float v : state.to_vector()) all_zero = all_zero && v == 0.f;
      CHECK(all_zero == of_unused);
    }
  }
}

TEST_CASE("named_state: PyTorch's names, handles a checkpoint can restore", "[optim]") {
  Problem problem = make_problem();
  CHECK(names(optim::SGD(problem.params(), 0.1f).named_state()).empty());
  CHECK(names(optim::SGD(problem.params(), 0.1f, 0.9f).named_state()) ==
        std::vector<std::string>{"0.momentum_buffer", "1.momentum_buffer"});
  CHECK(names(optim::AdamW(problem.params()).named_state()) ==
        std::vector<std::string>{"0.step", "0.exp_avg", "0.exp_avg_sq", "1.step", "1.exp_avg",
                                 "1.exp_avg_sq"});
  const auto adam_state = optim::Adam(problem.params()).named_state();
  CHECK(adam_state[0].second.shape() == Shape{1});
  CHECK(adam_state[1].second.shape() == Shape{3, 4});

  // Train 2 steps, then hand the parameters and the state to a fresh optimiser: 3 more steps
  // of each must agree to the bit.
  for (const std::string kind : {"sgd", "adam"}) {
    INFO(kind);
    const auto make = [&](const Problem& p) -> std::unique_ptr<optim::Optimizer> {
      if (kind == "sgd") return std::make_unique<optim::SGD>(p.params(), 0.05f, 0.9f, 0.f, true);
      return std::make_unique<optim::Adam>(p.params(), 0.01f, 0.8f, 0.99f, 1e-6f, 0.1f);
    };
    const auto train = [](Problem& p, optim::Optimizer& opt, int steps) {
      for (int s = 0; s < steps; ++s) {
        opt.zero_grad();
        p.loss().backward();
        opt.step();
      }
    };
    Problem original = make_problem();
    auto opt = make(original);
    train(original, *opt, 2);
    Problem restored = make_problem();
    restored.W.copy_(original.W);
    restored.b.copy_(original.b);
    auto fresh = make(restored);
    const auto from = opt->named_state();
    auto into = fresh->named_state();
    REQUIRE(names(from) == names(into));
    for (size_t i = 0; i < from.size(); ++i) into[i].second.copy_(from[i].second);
    train(original, *opt, 3);
    train(restored, *fresh, 3);
    CHECK(restored.W.to_vector() == original.W.to_vector());
    CHECK(restored.b.to_vector() == original.b.to_vector());
  }
}

TEST_CASE("lr and set_lr, kind", "[optim]") {
  Tensor w = Tensor::from_vector({1, -1}, {2}, true);
  optim::SGD opt({w}, 0.5f);
  CHECK(opt.lr() == 0.5f);
  CHECK(opt.kind() == "sgd");
  opt.set_lr(0.f);
  sum(w * w).backward();
  opt.step();
  CHECK(w.to_vector() == std::vector<float>{1, -1});
  opt.set_lr(0.25f);
  opt.step();  // w -= 0.25 * 2 w
  CHECK(w.to_vector() == std::vector<float>{0.5f, -0.5f});
  CHECK_THROWS_WITH(opt.set_lr(-1.f), "SGD: lr must be >= 0, got -1");
  CHECK(opt.lr() == 0.25f);
}

TEST_CASE("step writes through mutable_data: a graph that saved a parameter refuses backward",
          "[optim][autograd]") {
  Tensor w = Tensor::from_vector({1, 2}, {2}, true);
  optim::Adam opt({w}, 0.1f);
  sum(w * w).backward();
  Tensor stale = sum(w * w);  // saves w
  const uint64_t version = w.version();
  opt.step();
  CHECK(w.version() > version);
  CHECK_THROWS_AS(stale.backward(), Error);
}

TEST_CASE("invalid hyperparameters give an actlab::Error naming the optimiser, field and value",
          "[optim][errors]") {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const std::vector<Tensor> ps = {Tensor::zeros({2}).set_requires_grad(true)};
  CHECK_THROWS_WITH(optim::SGD(ps, -0.1f), "SGD: lr must be >= 0, got -0.1");
  CHECK_THROWS_WITH(optim::SGD(ps, nan), "SGD: lr must be >= 0, got nan");
  CHECK_THROWS_WITH(optim::SGD(ps, 0.1f, -0.5f), "SGD: momentum must be >= 0, got -0.5");
  CHECK_THROWS_WITH(optim::SGD(ps, 0.1f, 0.f, -1e-4f),
                    "SGD: weight_decay must be >= 0, got -0.0001");
  CHECK_THROWS_WITH(optim::SGD(ps, 0.1f, 0.f, 0.f, true),
                    "SGD: momentum must be > 0 with nesterov, got 0");
  CHECK_THROWS_WITH(optim::Adam(ps, 1e-3f, 1.f), "Adam: beta1 must be in [0, 1), got 1");
  CHECK_THROWS_WITH(optim::Adam(ps, 1e-3f, nan), "Adam: beta1 must be in [0, 1), got nan");
  CHECK_THROWS_WITH(optim::Adam(ps, 1e-3f, 0.9f, -0.1f), "Adam: beta2 must be in [0, 1), got -0.1");
  CHECK_THROWS_WITH(optim::Adam(ps, 1e-3f, 0.9f, 0.999f, -1e-8f),
                    "Adam: eps must be >= 0, got -1e-08");
  CHECK_THROWS_WITH(optim::Adam(ps, 1e-3f, 0.9f, 0.999f, 1e-8f, -1.f),
                    "Adam: weight_decay must be >= 0, got -1");
  CHECK_THROWS_WITH(optim::AdamW(ps, 1e-3f, 0.9f, 0.999f, 1e-8f, -0.01f),
                    "AdamW: weight_decay must be >= 0, got -0.01");
  CHECK_THROWS_WITH(optim::AdamW(ps, -1e-3f), "AdamW: lr must be >= 0, got -0.001");
  CHECK_THROWS_WITH(optim::Adam({}), "Adam: got an empty parameter list");
  CHECK_THROWS_WITH(optim::SGD({Tensor()}, 0.1f), "SGD: parameter 0 is an undefined tensor");
  CHECK_THROWS_WITH(optim::SGD({ps[0], ps[0] * 2.f}, 0.1f),
                    "SGD: parameter 1 of shape [2] is not a leaf tensor (the result of an op); "
                    "optimise leaves, as PyTorch requires");
  CHECK_THROWS_AS(optim::AdamW(ps, 1e-3f, 0.9f, 1.f), Error);
}

TEST_CASE("a parameter excluded from weight decay only follows its gradient", "[optim]") {
  for (const char* kind : {"sgd", "adamw"}) {
    INFO(kind);
    Tensor decayed = Tensor::from_vector({1.f}, {1}, true);
    Tensor exempt = Tensor::from_vector({1.f}, {1}, true);
    std::unique_ptr<optim::Optimizer> opt;
    if (std::string(kind) == "sgd")
      opt = std::make_unique<optim::SGD>(std::vector<Tensor>{decayed, exempt}, 0.1f, 0.f, 0.5f);
    else
      opt = std::make_unique<optim::AdamW>(std::vector<Tensor>{decayed, exempt}, 0.1f, 0.9f,
                                           0.999f, 1e-8f, 0.5f);
    opt->exclude_from_weight_decay(exempt);
    decayed.set_grad(Tensor::zeros({1}));
    exempt.set_grad(Tensor::zeros({1}));
    opt->step();
    CHECK(decayed.item() == Approx(0.95f));  // 1 - lr * wd * 1
    CHECK(exempt.item() == 1.f);
  }
  optim::SGD sgd({Tensor::ones({2}).set_requires_grad(true)}, 0.1f);
  CHECK_THROWS_WITH(sgd.exclude_from_weight_decay(Tensor::ones({3})),
                    "SGD: exclude_from_weight_decay: the tensor of shape [3] is not one of the "
                    "parameters");
}
