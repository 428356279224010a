// Anomaly detection: the op, pass and module named for a NaN/Inf born in forward or backward,
// nothing changed while it is off, the guard's scope, thread locality, and the trainer and
// `actlab train --detect-anomaly` on a config built to diverge.
#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>
#include <limits>
#include <optional>
#include <thread>

#include "actlab/actlab.hpp"
#include "cli_runner.hpp"

using namespace actlab;

namespace {

// The anomaly `f` throws, or nothing when it throws none.
template <class F>
std::optional<Anomaly> anomaly_of(F f) {
  try {
    f();
  } catch (const AnomalyError& e) {
    return e.anomaly();
  }
  return std::nullopt;
}

// The message of the AnomalyError `f` throws ("" when it throws none).
template <class F>
std::string message_of(F f) {
  try {
    f();
  } catch (const AnomalyError& e) {
    return e.what();
  }
  return "";
}

// log(x), a module whose forward makes NaN for x < 0.
class LogLayer : public nn::Module {
 public:
  Tensor forward(const Tensor& x) override { return log(x); }
  std::string describe() const override { return "LogLayer()"; }
};

// log(x) * x, with the log in a registered child "inner": below a Sequential, the log runs in
// "1.inner" and the product in "1".
class Block : public nn::Module {
 public:
  Block() { register_module("inner", &inner); }
  Tensor forward(const Tensor& x) override { return inner(x) * x; }
  std::string describe() const override { return "Block(\n  (inner): LogLayer()\n)"; }
  LogLayer inner;
};

// Sequential: (0) Linear(2, 2) set to the identity, (1) Block.
struct IdentityThenLog {
  nn::Sequential net;
  IdentityThenLog() {
    nn::Linear& linear = net.emplace_back<nn::Linear>(2, 2);
    linear.weight.copy_(Tensor::from_vector({1, 0, 0, 1}, {2, 2}));
    linear.bias.copy_(Tensor::zeros({2}));
    net.emplace_back<Block>();
  }
};

const float kInf = std::numeric_limits<float>::infinity();

}  // namespace

TEST_CASE("anomaly mode names the op whose forward made NaN or Inf", "[anomaly]") {
  const AnomalyModeGuard anomaly_mode;
  const Tensor x = Tensor::from_vector({1, -1}, {2}, true);
  const std::optional<Anomaly> log_of_negative = anomaly_of([&] { log(x); });
  REQUIRE(log_of_negative);
  CHECK(log_of_negative->op == "log");
  CHECK_FALSE(log_of_negative->backward);
  CHECK(log_of_negative->value == "NaN");
  CHECK(log_of_negative->input == -1);
  CHECK(log_of_negative->module_description.empty());
  CHECK(message_of([&] { log(x); }) == "anomaly: op \"log\" (forward) produced NaN");

  const Tensor zero = Tensor::zeros({3});
  CHECK(message_of([&] { div(zero, zero); }) == "anomaly: op \"div\" (forward) produced NaN");
  const Tensor big = Tensor::full({2}, 1e30f);
  CHECK(message_of([&] { big * big; }) == "anomaly: op \"mul\" (forward) produced Inf");
}

TEST_CASE("anomaly mode checks ops that record nothing", "[anomaly]") {
  const AnomalyModeGuard anomaly_mode;
  const Tensor x = Tensor::from_vector({-2}, {1});  // needs no grad
  CHECK(message_of([&] { log(x); }) == "anomaly: op \"log\" (forward) produced NaN");
  const NoGradGuard no_grad;
  CHECK(message_of([&] { sqrt(x); }) == "anomaly: op \"sqrt\" (forward) produced NaN");
}

TEST_CASE("anomaly mode says when an op's input already held NaN/Inf", "[anomaly]") {
  // inf - inf: the Inf came from data no op made, the NaN from the subtraction.
  const AnomalyModeGuard anomaly_mode;
  const Tensor a = Tensor::from_vector({1, kInf}, {2});
  const std::optional<Anomaly> found = anomaly_of([&] { a - a; });
  REQUIRE(found);
  CHECK(found->op == "sub");
  CHECK(found->value == "NaN");
  CHECK(found->input == 0);
  CHECK(message_of([&] { a - a; }) ==
        "anomaly: op \"sub\" (forward) produced NaN from its input 0, which already held NaN/Inf "
        "(data, a parameter, or a value made while anomaly detection was off)");
}

TEST_CASE("anomaly mode names the op whose backward made NaN or Inf", "[anomaly]") {
  // sqrt(0) = 0 is finite, but its derivative 1 / (2 sqrt(0)) is not.
  const AnomalyModeGuard anomaly_mode;
  const Tensor x = Tensor::from_vector({4, 0}, {2}, true);
  const Tensor loss = sum(sqrt(x));
  const std::optional<Anomaly> found = anomaly_of([&] { loss.backward(); });
  REQUIRE(found);
  CHECK(found->op == "sqrt");
  CHECK(found->backward);
  CHECK(found->value == "Inf");
  CHECK(found->input == 0);
  CHECK(std::string(AnomalyError(*found).what()) ==
        "anomaly: op \"sqrt\" (backward) produced Inf in the gradient of its input 0");

  // The gradient of the second input of a product: d(a * b)/db = a = Inf.
  const Tensor a = Tensor::from_vector({kInf}, {1});
  const Tensor b = Tensor::from_vector({1}, {1}, true);
  const AnomalyModeGuard off(false);
  const Tensor product = sum(a * b);  // Inf in forward too: made with anomaly detection off
  const AnomalyModeGuard on;
  const std::optional<Anomaly> in_mul = anomaly_of([&] { product.backward(); });
  REQUIRE(in_mul);
  CHECK(in_mul->op == "mul");
  CHECK(in_mul->input == 1);
}

TEST_CASE("with anomaly mode off nothing throws and every value is the same", "[anomaly]") {
  REQUIRE_FALSE(is_anomaly_enabled());
  const Tensor x = Tensor::from_vector({1, -1}, {2});
  const std::vector<float> logs = log(x).to_vector();
  CHECK(logs[0] == 0.f);
  CHECK(std::isnan(logs[1]));
  const Tensor z = Tensor::from_vector({4, 0}, {2}, true);
  sum(sqrt(z)).backward();
  CHECK(z.grad().to_vector() == std::vector<float>{0.25f, kInf});

  // A finite forward and backward gives bit-identical values and gradients in both modes.
  const auto forward_backward = [](bool anomaly) {
    const AnomalyModeGuard mode(anomaly);
    Generator gen(3);
    nn::MLP net(3, {8, 8}, 2, "gelu", {}, 0.f, gen);
    const Tensor out = net(Tensor::randn({5, 3}, gen));
    cross_entropy(out, {0, 1, 1, 0, 1}).backward();
    std::vector<std::vector<float>> values{out.to_vector()};
    for (const Tensor& p : net.parameters()) values.push_back(p.grad().to_vector());
    return values;
  };
  CHECK(forward_backward(true) == forward_backward(false));
}

TEST_CASE("AnomalyModeGuard restores the previous mode", "[anomaly]") {
  CHECK_FALSE(is_anomaly_enabled());
  {
    const AnomalyModeGuard on;
    CHECK(is_anomaly_enabled());
    {
      const AnomalyModeGuard off(false);
      CHECK_FALSE(is_anomaly_enabled());
    }
    CHECK(is_anomaly_enabled());
  }
  CHECK_FALSE(is_anomaly_enabled());
  set_detect_anomaly(true);
  CHECK(is_anomaly_enabled());
  set_detect_anomaly(false);
  CHECK_FALSE(is_anomaly_enabled());
}

TEST_CASE("an anomaly names the innermost module by its dotted name", "[anomaly][nn]") {
  IdentityThenLog model;
  const Tensor x = Tensor::from_vector({1, -1}, {1, 2});
  const AnomalyModeGuard anomaly_mode;
  const std::optional<Anomaly> found = anomaly_of([&] { model.net(x); });
  REQUIRE(found);
  CHECK(found->op == "log");
  CHECK(found->module == "1.inner");
  CHECK(found->module_description == "LogLayer()");
  CHECK(message_of([&] { model.net(x); }) ==
        "anomaly: op \"log\" (forward) in module 1.inner (LogLayer()) produced NaN");

  // A Linear whose output overflows; a product that overflows in the outermost module, named by
  // its type alone.
  nn::Linear& linear = dynamic_cast<nn::Linear&>(model.net[0]);
  linear.weight.copy_(Tensor::full({2, 2}, 3e38f));
  CHECK(message_of([&] { model.net(Tensor::ones({1, 2})); }) ==
        "anomaly: op \"linear\" (forward) in module 0 (Linear(in=2, out=2, bias=true)) "
        "produced Inf");
  CHECK(message_of([&] { model.net[1](Tensor::full({1, 2}, 3e38f)); }) ==
        "anomaly: op \"mul\" (forward) in Block produced Inf");

  // The stack unwound with the errors: an op outside any module names none.
  CHECK(message_of([&] { log(x); }) == "anomaly: op \"log\" (forward) produced NaN");
}

TEST_CASE("a backward anomaly names the module its op ran forward in", "[anomaly][nn]") {
  class SqrtLayer : public nn::Module {
   public:
    Tensor forward(const Tensor& x) override { return sqrt(x); }
    std::string describe() const override { return "SqrtLayer()"; }
  };
  nn::Sequential net;
  net.emplace_back<nn::Linear>(2, 2);
  net.emplace_back<SqrtLayer>();
  dynamic_cast<nn::Linear&>(net[0]).weight.copy_(Tensor::zeros({2, 2}));
  dynamic_cast<nn::Linear&>(net[0]).bias.copy_(Tensor::zeros({2}));
  const AnomalyModeGuard anomaly_mode;
  const Tensor loss = sum(net(Tensor::ones({1, 2})));  // sqrt(0): finite forward
  CHECK(message_of([&] { loss.backward(); }) ==
        "anomaly: op \"sqrt\" (backward) in module 1 (SqrtLayer()) produced Inf in the gradient "
        "of its input 0");
}

TEST_CASE("anomaly mode is per thread", "[anomaly][threads]") {
  const Tensor negative = Tensor::from_vector({-1}, {1});
  bool other_enabled = true;
  std::string other_message = "not run";
  {
    const AnomalyModeGuard anomaly_mode;
    std::thread other([&] {
      other_enabled = is_anomaly_enabled();
      other_message = message_of([&] { log(negative); });
    });
    other.join();
    CHECK_FALSE(message_of([&] { log(negative); }).empty());
  }
  CHECK_FALSE(other_enabled);
  CHECK(other_message.empty());

  std::thread on_elsewhere([&] {
    const AnomalyModeGuard anomaly_mode;
    other_message = message_of([&] { log(negative); });
  });
  on_elsewhere.join();
  CHECK(other_message == "anomaly: op \"log\" (forward) produced NaN");
  CHECK_FALSE(is_anomaly_enabled());
  CHECK(message_of([&] { log(negative); }).empty());
}

// ---- the trainer and the command line ------------------------------------------------------

namespace {

const std::string kDiverges = std::string(ACTLAB_CONFIG_DIR) + "/diagnose_lr_too_high.json";

// What the config built to diverge gets without and with anomaly detection: the plain check
// names the module after the fact, anomaly detection the op inside it, at the same step.
const std::string kPlainFailure =
    "step 13: the run diverged to NaN/Inf; the first non-finite value came from 2 "
    "(Linear(in=32, out=32, bias=true))";
const std::string kAnomalyFailure =
    "step 13: the run diverged to NaN/Inf; anomaly: op \"linear\" (forward) in module 2 "
    "(Linear(in=32, out=32, bias=true)) produced Inf";

}  // namespace

TEST_CASE("train.detect_anomaly names the op, module and step of a divergence", "[anomaly][train]") {
  const TrainResult plain = Trainer(load_config(kDiverges)).run();
  REQUIRE(plain.diverged);
  CHECK(plain.failure == kPlainFailure);
  const TrainResult checked =
      Trainer(load_config(kDiverges, {"train.detect_anomaly=true"})).run();
  REQUIRE(checked.diverged);
  CHECK(checked.failure == kAnomalyFailure);
  CHECK(checked.steps == plain.steps);
  REQUIRE(checked.history.size() == plain.history.size());
  CHECK(checked.history.back().test_loss == plain.history.back().test_loss);
  CHECK_FALSE(is_anomaly_enabled());  // the trainer's scope ended with the run
}

TEST_CASE("actlab train --detect-anomaly exits 1 naming the op, module and step", "[anomaly][cli]") {
  using cli_runner::actlab;
  namespace fs = std::filesystem;
  cli_runner::TempDir dir;
  const fs::path plain_dir = dir.path / "plain", checked_dir = dir.path / "checked";
  const cli_runner::Result plain = actlab("train " + kDiverges + " --out " + plain_dir.string());
  CHECK(plain.status == 1);
  CHECK(plain.err == "actlab train: " + kPlainFailure + "; the last good checkpoint is kept in " +
                         plain_dir.string() + "\n");
  const cli_runner::Result checked =
      actlab("train " + kDiverges + " --detect-anomaly --out " + checked_dir.string());
  CHECK(checked.status == 1);
  CHECK(checked.err == "actlab train: " + kAnomalyFailure +
                           "; the last good checkpoint is kept in " + checked_dir.string() + "\n");

  // The same last good state: the same step, weights and optimiser state (only the config
  // recorded beside them differs, by train.detect_anomaly).
  const TensorFile a = read_tensor_file((plain_dir / "checkpoint.bin").string());
  const TensorFile b = read_tensor_file((checked_dir / "checkpoint.bin").string());
  CHECK(a.meta["step"] == b.meta["step"]);
  CHECK(b.meta["config"]["train"]["detect_anomaly"] == true);
  REQUIRE(a.tensors.size() == b.tensors.size());
  for (size_t i = 0; i < a.tensors.size(); ++i) {
    CHECK(a.tensors[i].first == b.tensors[i].first);
    CHECK(a.tensors[i].second.to_vector() == b.tensors[i].second.to_vector());
  }
}

TEST_CASE("actlab train --detect-anomaly is --set train.detect_anomaly=true", "[anomaly][cli]") {
  using cli_runner::actlab;
  cli_runner::TempDir dir;
  const cli_runner::Result r = actlab("train " + kDiverges +
                                      " --set train.detect_anomaly=true --json --out " +
                                      dir.path.string());
  CHECK(r.status == 1);
  CHECK(nlohmann::json::parse(r.out)["failure"] == kAnomalyFailure);
  CHECK(nlohmann::json::parse(cli_runner::slurp(dir.path / "config.json"))["train"]
                             ["detect_anomaly"] == true);
}

TEST_CASE("a diverged run resumed with --detect-anomaly names the op that diverged",
          "[anomaly][cli][resume]") {
  using cli_runner::actlab;
  cli_runner::TempDir dir;
  const std::string run = dir.path.string();
  REQUIRE(actlab("train " + kDiverges + " --out " + run).status == 1);
  const std::string config_before = cli_runner::slurp(dir.path / "config.json");
  const cli_runner::Result r = actlab("train --resume " + run + " --detect-anomaly");
  CHECK(r.status == 1);
  CHECK(r.err == "actlab train: " + kAnomalyFailure + "; the last good checkpoint is kept in " +
                     run + "\n");
  CHECK(cli_runner::slurp(dir.path / "config.json") == config_before);  // the config is kept
}
