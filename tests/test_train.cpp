// The trainer end to end: heads per task kind, determinism, the XOR claims, divergence named
// by step and module, early stopping, schedules, statistics, and the run directory.
#include <catch2/catch.hpp>
#include <unistd.h>

#include <fmt/format.h>

#include <filesystem>
#include <fstream>

#include "actlab/actlab.hpp"
#include "actlab/io/run.hpp"
#include "actlab/train/config.hpp"
#include "actlab/train/train.hpp"
#include "html_check.hpp"

using namespace actlab;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

Config small(const std::string& task, json model = {{"hidden", {8}}}, json train = json::object()) {
  json doc = {{"task", {{"name", task}, {"n_train", 64}, {"n_test", 32}}}, {"model", model}};
  train["epochs"] = train.value("epochs", 2);
  doc["train"] = train;
  return parse_config(doc);
}

Config from_file(const std::string& name, const std::vector<std::string>& sets = {}) {
  return load_config(std::string(ACTLAB_CONFIG_DIR) + "/" + name, sets);
}

std::string read(const fs::path& p) {
  std::ifstream in(p);
  return {std::istreambuf_iterator<char>(in), {}};
}

struct TempDir {
  fs::path path = fs::temp_directory_path() / ("actlab_train_" + std::to_string(::getpid()));
  ~TempDir() { fs::remove_all(path); }
};

}  // namespace

TEST_CASE("the output head follows the task kind", "[train]") {
  Trainer binary(small("xor"));
  CHECK(binary.predict(binary.dataset().x_test).size(1) == 1);
  Trainer multiclass(small("spirals", {{"hidden", {8}}}));
  CHECK(multiclass.predict(multiclass.dataset().x_test).size(1) == 2);  // spirals: 2 arms
  Trainer regression(small("sine"));
  CHECK(regression.predict(regression.dataset().x_test).size(1) == 1);
  CHECK_FALSE(regression.run().history.back().test_accuracy.has_value());
  Config two_logits = small("xor");
  two_logits.loss.name = "cross_entropy";
  Trainer softmax_head(two_logits);
  CHECK(softmax_head.predict(softmax_head.dataset().x_test).size(1) == 2);
  CHECK(softmax_head.run().history.back().test_accuracy.has_value());
}

TEST_CASE("the same config and seed give identical runs", "[train][determinism]") {
  const Config config = small("moons", {{"hidden", {16, 16}}, {"dropout", 0.1}}, {{"epochs", 3}, {"eval_every", 2}});
  Trainer a(config);
  Trainer b(config);
  const TrainResult ra = a.run();
  const TrainResult rb = b.run();
  REQUIRE(ra.history.size() == rb.history.size());
  for (size_t i = 0; i < ra.history.size(); ++i) {
    CHECK(ra.history[i].test_loss == rb.history[i].test_loss);
    CHECK(ra.history[i].train_loss == rb.history[i].train_loss);
  }
  const auto pa = a.model().parameters();
  const auto pb = b.model().parameters();
  for (size_t i = 0; i < pa.size(); ++i) CHECK(pa[i].to_vector() == pb[i].to_vector());
  Config other = config;
  other.train.seed = 7;
  CHECK(Trainer(other).run().history.back().test_loss != ra.history.back().test_loss);
}

TEST_CASE("XOR: ReLU reaches 100% while a linear-only net stays at or below 75%", "[train][xor]") {
  const TrainResult relu = Trainer(from_file("xor_mlp_relu.json")).run();
  CHECK(relu.history.back().test_accuracy.value() == 1.0);
  const TrainResult linear = Trainer(from_file("xor_mlp_identity.json")).run();
  CHECK(linear.history.back().test_accuracy.value() <= 0.75);
  CHECK(linear.history.back().train_accuracy.value() <= 0.75);
}

TEST_CASE("a run that diverges stops at the step and names the module", "[train][errors]") {
  const Config config = from_file("xor_mlp_relu.json", {"optimizer.name=sgd", "optimizer.lr=1e3",
                                                         "model.activation=identity"});
  const TrainResult r = Trainer(config).run();
  REQUIRE(r.diverged);
  CHECK(r.steps > 1);
  CHECK_THAT(r.failure, Catch::Matchers::StartsWith(fmt::format("step {}: the run diverged to NaN/Inf; "
                                                                "the first non-finite value came from",
                                                                r.steps)));
}

TEST_CASE("a run broken by its last update is reported as diverged", "[train][errors]") {
  // One huge Adam step: the step's own loss was finite, the weights after it are not.
  const Config config = parse_config({{"task", {{"name", "xor"}, {"n_train", 32}, {"n_test", 32}}},
                                      {"model", {{"hidden", {16, 16, 16, 16, 16, 16, 16, 16}}}},
                                      {"optimizer", {{"name", "adam"}, {"lr", 1e6}}},
                                      {"train", {{"epochs", 1}, {"batch_size", 32}, {"target", 0.5}}}});
  const TrainResult r = Trainer(config).run();
  CHECK(r.diverged);
  CHECK_FALSE(r.steps_to_target.has_value());
  CHECK_THAT(r.failure, Catch::Matchers::StartsWith("step 1: the run diverged to NaN/Inf"));
}

TEST_CASE("training stops early at the target", "[train]") {
  const Config config = from_file("xor_mlp_relu.json", {"train.target=0.9", "train.eval_every=5"});
  const TrainResult r = Trainer(config).run();
  REQUIRE(r.steps_to_target.has_value());
  CHECK(r.steps == *r.steps_to_target);
  CHECK(r.history.back().test_accuracy.value() >= 0.9);
  CHECK(r.steps < Trainer(config).total_steps());
}

TEST_CASE("schedules: cosine decays to zero, step multiplies by gamma", "[train]") {
  Config cosine = small("xor", {{"hidden", {4}}}, {{"epochs", 20}, {"eval_every", 1}, {"schedule", "cosine"}});
  const TrainResult c = Trainer(cosine).run();
  CHECK(c.history.front().lr == Approx(1e-3).epsilon(0.01));
  CHECK(c.history.back().lr < 1e-4);
  Config step = small("xor", {{"hidden", {4}}},
                      {{"epochs", 4}, {"eval_every", 1}, {"schedule", "step"}, {"step_size", 2}, {"gamma", 0.5}});
  const TrainResult s = Trainer(step).run();
  CHECK(s.history.front().lr == Approx(1e-3));
  CHECK(s.history.back().lr == Approx(5e-4));
}

TEST_CASE("activation statistics and gradient norms per layer", "[train][diagnostics]") {
  Trainer relu(small("xor", {{"hidden", {8, 8}}}));
  const EvalRecord last = relu.run().history.back();
  REQUIRE(last.layers.size() == 2);
  CHECK(last.layers[0].name == "layer 1");
  CHECK(last.layers[1].activation == "relu");
  for (const LayerStats& s : last.layers) {
    CHECK(s.zero_fraction > 0.0);  // ReLUs output exact zeros
    CHECK(s.dead_fraction >= 0.0);
    CHECK(s.dead_fraction <= 1.0);
  }
  CHECK(last.grad_norms.size() == 3);
  CHECK(last.grad_norms[0].name == "0.weight");
  CHECK(last.grad_norms[0].norm > 0.0);
  // Sigmoid outputs are never exactly zero; a 10x larger init saturates many of them.
  Trainer sigmoid(small("xor", {{"hidden", {8}}, {"activation", "sigmoid"},
                                {"init", {{"scheme", "normal"}, {"std", 10.0}}}}));
  const LayerStats s = sigmoid.run().history.back().layers.at(0);
  CHECK(s.zero_fraction == 0.0);
  CHECK(s.saturated_fraction > 0.3);
  Trainer gated(small("teacher", {{"kind", "ffn"}, {"block", "gated"}, {"d_model", 8}, {"d_ff", 8}}));
  CHECK(gated.run().history.back().layers.at(1).name == "block 2");
}

TEST_CASE("train_run writes a complete run directory and a self-contained report", "[train][report]") {
  TempDir dir;
  const Config config = from_file("spirals_mlp_gelu.json", {"train.epochs=3", "train.eval_every=20"});
  const RunSummary run = train_run(config, dir.path.string());
  for (const char* file : {"config.json", "metrics.csv", "metrics.jsonl", "checkpoint.bin", "report.html"})
    CHECK(fs::exists(dir.path / file));
  CHECK(json::parse(read(dir.path / "config.json")) == config.resolved);
  const std::string csv = read(dir.path / "metrics.csv");
  CHECK(std::count(csv.begin(), csv.end(), '\n') == static_cast<long>(run.result.history.size() + 1));
  CHECK(csv.starts_with("step,epoch,lr,train_loss,test_loss,train_accuracy,test_accuracy,steps_per_second\n"));
  CHECK(run.metrics["final"]["test_accuracy"] == run.result.history.back().test_accuracy.value());

  Trainer fresh(config);
  load_checkpoint((dir.path / "checkpoint.bin").string(), fresh.model(), &fresh.optimizer());
  CHECK(fresh.evaluate(fresh.dataset().x_test, fresh.dataset().y_test).first ==
        Approx(run.result.history.back().test_loss).epsilon(1e-6));

  const std::string page = read(dir.path / "report.html");
  html_check::require_self_contained(page);
  const html_check::Parsed parsed = html_check::parse_ok(page);
  const auto titles = parsed.texts("figcaption");
  for (const char* want : {"Loss", "Accuracy", "Decision boundary (test points)", "Dead units (%)",
                           "Gradient norm per weight (last step)"}) {
    INFO(want);
    CHECK(std::find(titles.begin(), titles.end(), want) != titles.end());
  }
  CHECK(parsed.find("svg").size() >= 8);
}

TEST_CASE("PReLU slopes get no weight decay in training", "[train]") {
  Config config = small("xor", {{"hidden", {4}}, {"activation", "prelu"}});
  config.optimizer.name = "adamw";
  Trainer trainer(config);
  const auto named = trainer.model().named_parameters();
  for (size_t i = 0; i < named.size(); ++i) {
    INFO(named[i].first);
    CHECK(trainer.optimizer().decays(i) == (named[i].first != "1.weight"));
  }
}
