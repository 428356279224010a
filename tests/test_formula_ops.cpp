// Formulas as ops and activations: every built-in written as a formula matches the built-in,
// learned parameters gradcheck and train, fused() is one op with autograd whose bits do not
// depend on the thread count, and `actlab activations --formula` prints and exits as promised.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "actlab/train/config.hpp"
#include "actlab/ops/formula.hpp"
#include "actlab/core/gradcheck.hpp"
#include "actlab/nn/activation.hpp"
#include "actlab/nn/ffn.hpp"
#include "actlab/nn/formula.hpp"
#include "actlab/ops/ops.hpp"
#include "actlab/core/threads.hpp"
#include "actlab/train/train.hpp"
#include "cli_runner.hpp"

using namespace actlab;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

// x in [-8, 8] off the kinks (no integers), and far out on both sides.
std::vector<float> test_points() {
  std::vector<float> x;
  for (int k = -320; k < 320; ++k) x.push_back(0.0125f + static_cast<float>(k) * 0.025f);
  for (float far : {-100.f, -30.f, 30.f, 100.f}) x.push_back(far);
  return x;
}

struct ValuesAndGrads {
  std::vector<float> y, dx;
};

ValuesAndGrads run(nn::Module& m, const std::vector<float>& points) {
  Tensor x = Tensor::from_vector(points, {static_cast<int64_t>(points.size())}, true);
  const Tensor y = m(x);
  sum(y).backward();
  return {y.to_vector(), x.grad().to_vector()};
}

void check_close(const std::vector<float>& got, const std::vector<float>& expected,
                 const std::vector<float>& x) {
  for (size_t i = 0; i < got.size(); ++i) {
    INFO("x = " << x[i] << ": " << got[i] << " vs " << expected[i]);
    CHECK(std::abs(got[i] - expected[i]) <= 2e-6f + 2e-5f * std::abs(expected[i]));
  }
}

Tensor leaf(Shape shape, float value) {
  Tensor t = Tensor::full(std::move(shape), value);
  t.set_requires_grad(true);
  return t;
}

}  // namespace

TEST_CASE("every built-in activation written as a formula matches it, values and gradients", "[formula][builtins]") {
  const std::vector<std::pair<json, std::string>> cases = {
      {"identity", "x"},
      {"relu", "relu(x)"},
      {"leaky_relu", "where(x > 0, x, 0.01 * x)"},
      {{{"name", "leaky_relu"}, {"negative_slope", 0.2}}, "max(x, 0.2 * x)"},
      {"elu", "where(x > 0, x, expm1(x))"},
      {"selu", "1.0507009873554805 * where(x > 0, x, 1.6732632423543772 * expm1(x))"},
      {{{"name", "celu"}, {"alpha", 2.0}}, "where(x > 0, x, 2 * expm1(x / 2))"},
      {"gelu", "0.5 * x * erfc(-x / sqrt(2))"},
      {"gelu", "gelu(x)"},
      {"gelu_tanh", "0.5 * x * (1 + tanh(sqrt(2 / pi) * (x + 0.044715 * x^3)))"},
      {"silu", "x * sigmoid(x)"},
      {"swish", "silu(x)"},
      {"mish", "x * tanh(softplus(x))"},
      {"softplus", "softplus(x)"},
      {{{"name", "softplus"}, {"beta", 2.0}}, "softplus(2 * x) / 2"},
      {"sigmoid", "sigmoid(x)"},
      {"tanh", "tanh(x)"},
      {"hardswish", "x * min(max(x + 3, 0), 6) / 6"},
      {{{"name", "prelu"}, {"init", 0.25}}, "where(x > 0, x, a * x)"},
  };
  const std::vector<float> x = test_points();
  for (const auto& [builtin, text] : cases) {
    INFO(builtin.dump() << " as " << text);
    json spec = {{"formula", text}};
    if (text.find("a * x") != std::string::npos) spec.update({{"a", 0.25}, {"learn", {"a"}}});
    const auto expected_module = nn::make_activation(builtin);
    const auto formula_module = nn::make_activation(spec);
    const ValuesAndGrads expected = run(*expected_module, x);
    const ValuesAndGrads got = run(*formula_module, x);
    check_close(got.y, expected.y, x);
    check_close(got.dx, expected.dx, x);
  }
}

TEST_CASE("formula: learned parameters gradcheck, one shared or one per channel", "[formula][params]") {
  Generator gen(3);
  const Formula f("x * sigmoid(beta * x) + gamma * relu(x)", {{"beta", 1.0, true}, {"gamma", 0.1, true}});
  const Tensor x = Tensor::randn({4, 3, 2}, gen).detach();
  Tensor xs = x;
  xs.set_requires_grad(true);
  for (int64_t values : {1, 3}) {
    INFO(values << " values per parameter");
    Tensor beta = leaf({values}, 1.3f);
    Tensor gamma = leaf({values}, -0.4f);
    const GradcheckResult r = gradcheck(
        [&](const std::vector<Tensor>& in) { return f(in[0], {in[1], in[2]}); }, {xs, beta, gamma});
    INFO(r.message);
    CHECK(r.ok);
  }
}

TEST_CASE("a learned formula parameter trains in a config", "[formula][params][train]") {
  const json doc = {
      {"task", {{"name", "spirals"}, {"n_train", 128}, {"n_test", 64}}},
      {"model", {{"hidden", {16}}, {"activation", {{"formula", "x * sigmoid(beta * x)"}, {"beta", 1.0}, {"learn", {"beta"}}, {"num_parameters", 16}}}}},
      {"optimizer", {{"name", "adam"}, {"lr", 0.01}}},
      {"train", {{"epochs", 5}, {"batch_size", 32}, {"eval_every", 1}}}};
  Trainer trainer(parse_config(doc));
  const TrainResult result = trainer.run();
  CHECK(result.history.back().train_loss < result.history.front().train_loss);
  int found = 0;
  for (const auto& [name, p] : trainer.model().named_parameters()) {
    if (name.find("beta") == std::string::npos) continue;
    ++found;
    CHECK(p.numel() == 16);
    const std::vector<float> beta = p.to_vector();
    CHECK(std::any_of(beta.begin(), beta.end(), [](float b) { return b != 1.f; }));
  }
  CHECK(found == 1);
}

TEST_CASE("formula specs: bad fields are reported at their path", "[formula][errors][config]") {
  const auto error_at = [](const json& spec) {
    try {
      nn::make_activation(spec);
    } catch (const FieldError& e) {
      return e.dotted_path() + ": " + e.reason();
    }
    return std::string("(no error)");
  };
  CHECK(error_at({{"formula", 3}}) == "activation.formula: expected a formula (a string), found 3");
  CHECK(error_at({{"formula", "x * beta"}, {"beta", "big"}}) ==
        "activation.beta: expected a number (a parameter of the formula), found \"big\"");
  CHECK(error_at({{"formula", "x * beta"}, {"beta", 1}, {"learn", {"bta"}}}) ==
        "activation.learn: \"bta\" is not a parameter of the formula; known: beta; did you mean \"beta\"?");
  CHECK(error_at({{"formula", "x * beta"}, {"beta", 1}, {"num_parameters", 4}}) ==
        "activation.num_parameters: applies to learned parameters, and \"learn\" names none");
  CHECK(error_at({{"formula", "x +"}}) ==
        "activation.formula: formula \"x +\", column 4: expected a number, a name or \"(\", found the end\n"
        "  x +\n"
        "     ^");
}

TEST_CASE("register_formula: a named formula works as an activation, with overridable defaults", "[formula][registry]") {
  nn::register_formula("test_swish_beta", "x * sigmoid(beta * x)", {{"beta", 1.0}, {"learn", {"beta"}}});
  const auto m = nn::make_activation("test_swish_beta");
  CHECK(m->describe() == "Formula(x * sigmoid(beta * x), beta=1 learned)");
  CHECK(m->parameters().size() == 1);
  const auto sharper = nn::make_activation({{"name", "test_swish_beta"}, {"beta", 2.0}});
  Tensor x = Tensor::from_vector({1.f}, {1});
  CHECK((*sharper)(x).item() == Approx(1 / (1 + std::exp(-2.0))));
  CHECK(nn::activation_info("test_swish_beta").formula == "x * sigmoid(beta * x)");
  CHECK_THROWS_WITH(nn::register_formula("test_swish_beta", "x"),
                    "register_activation: \"test_swish_beta\" is already registered");
}

TEST_CASE("register_formula: a named formula without learned parameters is a gate", "[formula][registry][gated]") {
  nn::register_formula("test_gate_swish", "x * sigmoid(x)");
  Generator gen_formula(8), gen_builtin(8);
  nn::GatedFeedForward by_formula(4, 6, "test_gate_swish", false, gen_formula);
  nn::GatedFeedForward swiglu(4, 6, "swiglu", false, gen_builtin);
  Generator gen(9);
  const Tensor x = Tensor::randn({3, 4}, gen);
  const std::vector<float> a = by_formula(x).to_vector(), b = swiglu(x).to_vector();
  for (size_t i = 0; i < a.size(); ++i) CHECK(a[i] == Approx(b[i]).margin(1e-6));
  std::vector<Tensor> inputs{x.detach().set_requires_grad(true)};
  for (Tensor& p : by_formula.parameters()) inputs.push_back(p);
  const GradcheckResult r =
      gradcheck([&](const std::vector<Tensor>& in) { return by_formula(in[0]); }, inputs);
  INFO(r.message);
  CHECK(r.ok);
  // In a config: the gate of a gated FFN model, which trains.
  Trainer trainer(parse_config({{"task", "xor"},
                                {"model", {{"kind", "ffn"}, {"block", "gated"}, {"activation", "test_gate_swish"}}},
                                {"train", {{"epochs", 2}}}}));
  CHECK_FALSE(trainer.run().diverged);
  // A learned parameter has no place in a gate kernel: such a formula is no gate.
  nn::register_formula("test_gate_learned", "x * sigmoid(beta * x)", {{"beta", 1.0}, {"learn", {"beta"}}});
  const std::vector<std::string> gates = nn::gate_activation_names();
  CHECK(std::find(gates.begin(), gates.end(), "test_gate_swish") != gates.end());
  CHECK(std::find(gates.begin(), gates.end(), "test_gate_learned") == gates.end());
}

TEST_CASE("fused: a multi-input formula as one op, matching the ops it replaces", "[formula][fused]") {
  Generator gen(5);
  Tensor x = Tensor::randn({6, 5}, gen);
  Tensor w = Tensor::randn({6, 5}, gen);
  x.set_requires_grad(true);
  w.set_requires_grad(true);
  const Tensor y = fused("gelu(x) * w", {x, w});
  const Tensor reference = gelu(x) * w;
  const std::vector<float> a = y.to_vector(), b = reference.to_vector();
  for (size_t i = 0; i < a.size(); ++i) CHECK(a[i] == Approx(b[i]).margin(1e-6));
  const GradcheckResult r = gradcheck(
      [](const std::vector<Tensor>& in) { return fused("gelu(x) * w", {in[0], in[1]}); }, {x, w});
  INFO(r.message);
  CHECK(r.ok);
  // One value, one per channel, and an input used twice.
  Tensor s = leaf({1}, 0.5f);
  Tensor c = Tensor::from_vector({1, 2, 3, 4, 5}, {5}, true);
  const GradcheckResult broadcast = gradcheck(
      [](const std::vector<Tensor>& in) { return fused("tanh(x * s) + c * x", {in[0], in[1], in[2]}); },
      {x, s, c});
  INFO(broadcast.message);
  CHECK(broadcast.ok);
  Tensor a2 = Tensor::from_vector({1.f, -2.f}, {2}, true);
  sum(fused("x * w", {a2, a2})).backward();
  CHECK(a2.grad().to_vector() == std::vector<float>{2.f, -4.f});
  CHECK_THROWS_WITH(fused("x * w", {x, Tensor::zeros({4})}),
                    "formula \"x * w\": input 2 (w) of shape [4] does not fit [6, 5]: expected "
                    "that shape, 1 value, or one per channel (dim 1)");
  CHECK_THROWS_WITH(fused("x * w", {x}), "formula \"x * w\": expected 2 inputs (x, w), found 1");
}

TEST_CASE("fused under a sum takes its gradient as one value: the same bits as in full", "[formula][fused][uniform]") {
  Generator gen(9);
  const Tensor x0 = Tensor::randn({40, 3}, gen);
  const Tensor w = Tensor::randn({40, 3}, gen);
  // sum() hands the fused op one value for its whole gradient; the row sums below hand it a
  // tensor of ones. Multiplying by 1 is exact, so the gradients must be the same bits.
  const auto grads = [&](bool uniform) {
    Tensor x = x0.detach();
    x.set_requires_grad(true);
    Tensor beta = leaf({1}, 1.5f);
    Tensor per_channel = leaf({3}, 0.25f);
    const Tensor y = fused("gelu(x) * w + x * sigmoid(beta * x) * c", {x, w, beta, per_channel});
    (uniform ? sum(y) : sum(sum(y, 1))).backward();
    std::vector<float> all = x.grad().to_vector();
    for (const Tensor& t : {beta.grad(), per_channel.grad()}) {
      const std::vector<float> v = t.to_vector();
      all.insert(all.end(), v.begin(), v.end());
    }
    return all;
  };
  const std::vector<float> uniform = grads(true), full = grads(false);
  REQUIRE(uniform.size() == full.size());
  CHECK(std::memcmp(uniform.data(), full.data(), uniform.size() * sizeof(float)) == 0);
}

TEST_CASE("fused: the same bits at 1 and 2 threads, parameter sums included", "[formula][fused][threads]") {
  Generator gen(7);
  const int64_t n = int64_t{1} << 18;  // large enough to be split
  const Tensor x0 = Tensor::randn({n / 64, 64}, gen);
  const Tensor w0 = Tensor::randn({n / 64, 64}, gen);
  const auto run_at = [&](int threads) {
    set_num_threads(threads);
    Tensor x = x0.detach();
    Tensor w = w0.detach();
    Tensor beta = leaf({1}, 1.2f);
    Tensor per_channel = leaf({64}, 0.3f);
    x.set_requires_grad(true);
    w.set_requires_grad(true);
    const Tensor y = fused("gelu(x) * w + x * sigmoid(beta * x) * c", {x, w, beta, per_channel});
    sum(y * w0).backward();
    std::vector<float> all = y.to_vector();
    for (const Tensor& t : {x.grad(), w.grad(), beta.grad(), per_channel.grad()}) {
      const std::vector<float> v = t.to_vector();
      all.insert(all.end(), v.begin(), v.end());
    }
    return all;
  };
  const int before = num_threads();
  const std::vector<float> one = run_at(1), two = run_at(2);
  set_num_threads(before);
  CHECK(std::memcmp(one.data(), two.data(), one.size() * sizeof(float)) == 0);
}

TEST_CASE("fused: outputs too large for the caches, streamed to memory, hold the same bits", "[formula][fused][streamed]") {
  // 2^22 + 5 floats: past the 16 MiB from which a program's outputs bypass the caches, with a
  // tail shorter than a vector. Elementwise values do not depend on the length, so the
  // large tensors' first elements must be the bits of the same elements computed alone.
  const int64_t large = (int64_t{1} << 22) + 5, small = 1000;
  Generator gen(3);
  const std::vector<float> x0 = Tensor::randn({large}, gen).to_vector();
  const std::vector<float> w0 = Tensor::randn({large}, gen).to_vector();
  // gelu(x) * w computes its derivative in the forward; x * w - x leaves it to the backward.
  for (const char* formula : {"gelu(x) * w", "x * w - x"}) {
    INFO(formula);
    const auto run_over = [&](int64_t n, int64_t from) {
      const auto part = [&](const std::vector<float>& v) {
        return Tensor::from_vector(std::vector<float>(v.begin() + from, v.begin() + from + n), {n});
      };
      Tensor x = part(x0);
      x.set_requires_grad(true);
      const Tensor w = part(w0);
      const Tensor y = fused(formula, {x, w});
      sum(y).backward();
      return std::pair{y.to_vector(), x.grad().to_vector()};
    };
    const auto [y_large, dx_large] = run_over(large, 0);
    for (int64_t from : {int64_t{0}, large - small}) {
      const auto [y_small, dx_small] = run_over(small, from);
      CHECK(std::memcmp(y_small.data(), y_large.data() + from, small * sizeof(float)) == 0);
      CHECK(std::memcmp(dx_small.data(), dx_large.data() + from, small * sizeof(float)) == 0);
    }
  }
}

TEST_CASE("actlab activations --formula prints the derivative and facts, errors exit 2", "[formula][cli]") {
  const cli_runner::Result ok = cli_runner::actlab("activations --formula \"x * sigmoid(x)\"");
  CHECK(ok.status == 0);
  CHECK(ok.out.find("f'(x) = sigmoid(x) + x * sigmoid(x) * (1 - sigmoid(x))") != std::string::npos);
  CHECK(ok.out.find("f(0) = 0, f'(0) = 0.5") != std::string::npos);
  const cli_runner::Result bad = cli_runner::actlab("activations --formula \"x * sigmod(x)\"");
  CHECK(bad.status == 2);
  CHECK(bad.out.empty());
  CHECK(bad.err.find("unknown function \"sigmod\"") != std::string::npos);
  const cli_runner::Result nan = cli_runner::actlab("activations --formula \"sqrt(x)\"");
  CHECK(nan.status == 2);
  CHECK(nan.err.find("gives NaN for x in [-10000, -0.0001]") != std::string::npos);
}

TEST_CASE("an inline formula is a gated FFN's gate in configs, to the bits of the same formula by name", "[formula][gated][config]") {
  nn::register_formula("test_inline_gate_swish", "x * sigmoid(x)");
  const auto trained = [](const json& model) {
    Trainer trainer(parse_config({{"task", {{"name", "spirals"}, {"n_train", 64}, {"n_test", 32}}},
                                  {"model", model},
                                  {"train", {{"epochs", 2}, {"batch_size", 16}}}}));
    const TrainResult r = trainer.run();
    return std::make_pair(r.history.back().test_loss, trainer.model().named_parameters().size());
  };
  const json inline_gate = {{"formula", "x * sigmoid(x)"}};
  for (const json& model :
       {json{{"kind", "ffn"}, {"block", "gated"}, {"d_model", 8}, {"d_ff", 12}, {"blocks", 2}},
        json{{"kind", "sequential"},
             {"layers", {{{"type", "linear"}, {"out", 8}},
                         {{"type", "gated_ffn"}, {"d_ff", 12}, {"activation", "swiglu"}}}}}}) {
    INFO(model.dump());
    json named_model = model, inline_model = model;
    const bool sequential = model["kind"] == "sequential";
    (sequential ? named_model["layers"][1] : named_model)["activation"] = "test_inline_gate_swish";
    (sequential ? inline_model["layers"][1] : inline_model)["activation"] = inline_gate;
    const auto named = trained(named_model);
    const auto by_formula = trained(inline_model);
    CHECK(by_formula.first == named.first);  // the same ops on the same weights: the same bits
    CHECK(by_formula.second == named.second);
  }
  // The decoder's gated block takes one too.
  Trainer decoder(parse_config(
      {{"task", {{"name", "reverse"}, {"n_train", 64}, {"n_test", 32}}},
       {"model", {{"kind", "decoder"}, {"d_model", 8}, {"n_heads", 2}, {"n_layers", 1}, {"d_ff", 12},
                  {"block", "gated"}, {"activation", inline_gate}}},
       {"train", {{"epochs", 1}, {"batch_size", 16}}}}));
  CHECK_FALSE(decoder.run().diverged);
}

TEST_CASE("a gate's learned formula parameter gradchecks, trains, and is reported", "[formula][gated][params]") {
  Generator gen(4);
  nn::GatedFeedForward block(3, 5,
                             nn::make_activation({{"formula", "x * sigmoid(beta * x)"}, {"beta", 1.5},
                                                  {"learn", {"beta"}}, {"num_parameters", 5}}),
                             false, gen);
  std::vector<std::string> names;
  for (const auto& [name, p] : block.named_parameters()) names.push_back(name);
  CHECK(names == std::vector<std::string>{"gate.weight", "act.beta", "up.weight", "down.weight"});
  std::vector<Tensor> inputs{Tensor::randn({2, 3}, gen).detach().set_requires_grad(true)};
  for (Tensor& p : block.parameters()) inputs.push_back(p);
  const GradcheckResult r =
      gradcheck([&](const std::vector<Tensor>& in) { return block(in[0]); }, inputs);
  INFO(r.message);
  CHECK(r.ok);

  Trainer trainer(parse_config(
      {{"task", {{"name", "spirals"}, {"n_train", 128}, {"n_test", 64}}},
       {"model", {{"kind", "ffn"}, {"block", "gated"}, {"d_model", 8}, {"d_ff", 12}, {"blocks", 1},
                  {"activation", {{"formula", "x * sigmoid(beta * x)"}, {"beta", 1.0}, {"learn", {"beta"}}}}}},
       {"optimizer", {{"name", "adamw"}, {"lr", 0.01}, {"weight_decay", 0.5}}},
       {"train", {{"epochs", 3}, {"batch_size", 16}}}}));
  const TrainResult result = trainer.run();
  REQUIRE(result.activation_parameters.size() == 1);
  const auto& [name, beta] = result.activation_parameters[0];
  CHECK(name == "blocks.0.act.beta");
  REQUIRE(beta.size() == 1);
  CHECK(beta[0] != 1.f);  // it trained
  for (const auto& [n, p] : trainer.model().named_parameters())
    if (n == name) CHECK(p.to_vector() == beta);  // the values the run ended with
  // The gate's beta is the activation's own: no weight decay (0.5 here would pull it far down).
  CHECK(beta[0] > 0.9f);
  CHECK_THAT(trainer.model().describe(),
             Catch::Contains(fmt::format("Formula(x * sigmoid(beta * x), beta={:.4g} learned)", beta[0])));
}

TEST_CASE("a formula's learned parameters describe themselves as they stand", "[formula][params]") {
  nn::FormulaActivation one(Formula("x * sigmoid(beta * x)", {{"beta", 1.0, true}}));
  CHECK(one.describe() == "Formula(x * sigmoid(beta * x), beta=1 learned)");
  nn::FormulaActivation per_channel(Formula("x * sigmoid(beta * x) + c", {{"beta", 1.0, true}, {"c", 0.5}}), 4);
  Tensor beta = per_channel.parameters()[0];
  float* b = beta.mutable_data();
  b[0] = 0.5f, b[1] = 1.25f, b[2] = 2.f, b[3] = 0.25f;
  CHECK(per_channel.describe() == "Formula(x * sigmoid(beta * x) + c, beta=1 learned (mean of 4, 0.25 to 2), c=0.5)");
}

TEST_CASE("gate formulas: bad values are config errors at their path", "[formula][gated][errors]") {
  const auto error_for = [](const json& activation) {
    try {
      parse_config({{"task", "xor"}, {"model", {{"kind", "ffn"}, {"block", "gated"}, {"activation", activation}}}});
    } catch (const FieldError& e) {
      return config_error_message(e);
    }
    return std::string("no error");
  };
  CHECK(error_for({{"formula", "x * sigmoid(beta * x)"}, {"beta", "a"}}) ==
        "config error at /model/activation/beta: expected a number (a parameter of the formula), found \"a\"");
  CHECK(error_for({{"formula", "sqrt(x)"}}).starts_with(
        "config error at /model/activation/formula: formula \"sqrt(x)\" gives NaN for x in [-10000,"));
  CHECK(error_for({{"name", "tanh"}}) ==
        "config error at /model/activation: expected a gated FFN kind (reglu, geglu, swiglu, glu), a "
        "gate activation's name or a formula object, found {\"name\":\"tanh\"}");
  CHECK(error_for({{"formula", "x * sigmoid(beta * x)"}, {"beta", 1}, {"learn", {"beta"}}, {"num_parameters", 5}}) ==
        "config error at /model/activation/num_parameters: expected 1 or the width of every layer it follows (256), found 5");
}

TEST_CASE("train --json and the run report give a formula's learned values as the run ended", "[formula][params][cli]") {
  cli_runner::TempDir dir;
  fs::create_directories(dir.path);
  const fs::path config = dir.path / "swish_beta.json";
  std::ofstream(config) << json{{"task", {{"name", "spirals"}, {"n_train", 128}, {"n_test", 64}}},
                                {"model", {{"hidden", {8}},
                                           {"activation", {{"formula", "x * sigmoid(beta * x)"}, {"beta", 1.0}, {"learn", {"beta"}}}}}},
                                {"optimizer", {{"name", "adam"}, {"lr", 0.05}}},
                                {"train", {{"epochs", 4}, {"batch_size", 16}}}}.dump();
  const fs::path run = dir.path / "run";
  const cli_runner::Result r = cli_runner::actlab("train " + config.string() + " --out " + run.string() + " --json");
  INFO(r.err);
  REQUIRE(r.status == 0);
  const json beta = json::parse(r.out)["activation_parameters"]["1.beta"];
  REQUIRE(beta.size() == 1);
  CHECK(beta[0].get<float>() != 1.f);
  std::ifstream report(run / "report.html");
  const std::string page{std::istreambuf_iterator<char>(report), {}};
  CHECK_THAT(page, Catch::Contains(fmt::format("beta={:.4g} learned", beta[0].get<float>())));
}
