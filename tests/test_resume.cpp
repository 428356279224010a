// Resuming a run: train N steps, stop, resume for the rest gives the same bits as one
// uninterrupted run (parameters, optimiser state, metrics); every part of the saved progress is
// needed for that; a finished run is not trained again; progress survives its JSON form exactly.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include "actlab/actlab.hpp"
#include "actlab/io/run.hpp"
#include "actlab/io/serialize.hpp"
#include "actlab/train/config.hpp"
#include "actlab/train/train.hpp"
#include "cli_runner.hpp"

using namespace actlab;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

// 60 rows in batches of 8: 8 steps an epoch (the last batch holds 4), 3 epochs = 24 steps,
// evaluated every 4. Step 12 is the middle of the run and of epoch 2.
constexpr int64_t kStop = 12;
constexpr int64_t kTotal = 24;

Config tiny(json model, json optimizer = json::object(), json train = json::object(),
            const std::string& task = "spirals") {
  train.update({{"epochs", 3}, {"batch_size", 8}, {"eval_every", 4}, {"seed", 5}});
  return parse_config({{"task", {{"name", task}, {"n_train", 60}, {"n_test", 40}, {"seed", 3}}},
                       {"model", model},
                       {"optimizer", optimizer},
                       {"train", train}});
}

struct Case {
  const char* name;
  Config config;
};

// Dropout (in an MLP, in residual FFN blocks and in a decoder) draws from the model's
// generators; Adam and SGD keep step counts and momentum; the cosine schedule depends on the
// step.
std::vector<Case> cases() {
  return {{"mlp, dropout, adam", tiny({{"hidden", {16, 16}}, {"dropout", 0.2}})},
          {"ffn, dropout, adamw, step schedule",
           tiny({{"kind", "ffn"}, {"d_model", 8}, {"d_ff", 16}, {"blocks", 2}, {"dropout", 0.1}},
                {{"name", "adamw"}}, {{"schedule", "step"}, {"step_size", 1}})},
          {"mlp, sgd nesterov, cosine, clipping",
           tiny({{"hidden", {16}}, {"activation", "gelu"}},
                {{"name", "sgd"}, {"lr", 0.1}, {"momentum", 0.9}, {"nesterov", true}},
                {{"schedule", "cosine"}, {"clip_grad_norm", 0.5}})},
          {"decoder (gated, learned positions), dropout, adamw, on modadd's token sequences",
           tiny({{"kind", "decoder"}, {"d_model", 16}, {"n_heads", 2}, {"d_ff", 32},
                 {"activation", "swiglu"}, {"positions", "learned"}, {"dropout", 0.1}},
                {{"name", "adamw"}}, {}, "modadd")}};
}

TrainCallbacks stop_at(int64_t stop) {
  TrainCallbacks callbacks;
  callbacks.should_stop = [stop](int64_t step) { return step == stop; };
  return callbacks;
}

bool same_bits(const Tensor& a, const Tensor& b) {
  return a.shape() == b.shape() &&
         std::memcmp(a.data(), b.data(), static_cast<size_t>(a.numel()) * sizeof(float)) == 0;
}

// Every parameter and every optimiser state tensor of two checkpoints, bit for bit.
void check_same_tensors(const std::string& expected_path, const std::string& actual_path) {
  const TensorFile expected = read_tensor_file(expected_path);
  const TensorFile actual = read_tensor_file(actual_path);
  REQUIRE(expected.tensors.size() == actual.tensors.size());
  for (size_t i = 0; i < expected.tensors.size(); ++i) {
    INFO(expected.tensors[i].first);
    CHECK(expected.tensors[i].first == actual.tensors[i].first);
    CHECK(same_bits(expected.tensors[i].second, actual.tensors[i].second));
  }
}

bool same_parameters(nn::Module& model, const std::string& checkpoint) {
  const TensorFile file = read_tensor_file(checkpoint);
  for (const auto& [name, p] : model.named_parameters()) {
    const auto stored = std::find_if(file.tensors.begin(), file.tensors.end(),
                                     [&](const auto& e) { return e.first == "model." + name; });
    if (stored == file.tensors.end() || !same_bits(p, stored->second)) return false;
  }
  return true;
}

// The history without its timings.
json untimed(const std::vector<EvalRecord>& history) {
  json out = json::array();
  for (const EvalRecord& r : history) {
    json record = to_json(r);
    record.erase("steps_per_second");
    out.push_back(std::move(record));
  }
  return out;
}

// metrics.csv without its last column (steps_per_second).
std::vector<std::string> untimed_csv(const fs::path& path) {
  std::vector<std::string> rows;
  std::istringstream in(cli_runner::slurp(path));
  for (std::string line; std::getline(in, line);) rows.push_back(line.substr(0, line.rfind(',')));
  return rows;
}

std::vector<json> untimed_jsonl(const fs::path& path) {
  std::vector<json> rows;
  std::istringstream in(cli_runner::slurp(path));
  for (std::string line; std::getline(in, line);) {
    json row = json::parse(line);
    row.erase("steps_per_second");
    rows.push_back(std::move(row));
  }
  return rows;
}

}  // namespace

TEST_CASE("train N, stop, resume: the same bits as one uninterrupted run", "[resume]") {
  cli_runner::TempDir dir;
  for (const Case& c : cases()) {
    INFO(c.name);
    fs::remove_all(dir.path);
    const fs::path full = dir.path / "full", part = dir.path / "part";
    const RunSummary uninterrupted = train_run(c.config, full.string());
    REQUIRE(uninterrupted.result.steps == kTotal);

    const RunSummary first = train_run(c.config, part.string(), stop_at(kStop));
    CHECK(first.result.stopped);
    CHECK(first.result.steps == kStop);
    CHECK(first.result.history.back().step == kStop);
    CHECK(first.metrics.at("stopped") == true);
    CHECK(untimed_csv(part / "metrics.csv").size() == 1 + kStop / 4);  // header + 3 rows

    SavedRun saved = open_run(part.string());
    CHECK(saved.progress.step == kStop);
    CHECK(saved.progress.epoch == 2);
    CHECK(saved.progress.batches.cursor == 32);  // 4 batches of epoch 2 handed out
    CHECK_FALSE(saved.progress.finished);
    const RunSummary resumed = resume_run(saved);
    CHECK_FALSE(resumed.result.stopped);
    CHECK(resumed.result.steps == kTotal);

    check_same_tensors((full / "checkpoint.bin").string(), (part / "checkpoint.bin").string());
    CHECK(untimed(resumed.result.history) == untimed(uninterrupted.result.history));
    CHECK(resumed.result.history.size() == kTotal / 4);
    CHECK(untimed_csv(part / "metrics.csv") == untimed_csv(full / "metrics.csv"));
    CHECK(untimed_jsonl(part / "metrics.jsonl") == untimed_jsonl(full / "metrics.jsonl"));
    CHECK(resumed.metrics.at("final").at("test_loss") ==
          uninterrupted.metrics.at("final").at("test_loss"));
  }
}

TEST_CASE("every part of the saved progress is needed to continue the run exactly", "[resume]") {
  cli_runner::TempDir dir;
  const Config config = cases().front().config;  // dropout and Adam
  const std::string full = (dir.path / "full").string(), part = (dir.path / "part").string();
  train_run(config, full);
  train_run(config, part, stop_at(kStop));
  const std::string full_checkpoint = full + "/checkpoint.bin";
  // Resumes in memory (nothing written) after `change` alters what was loaded.
  const auto resumed_matches = [&](const std::function<void(SavedRun&)>& change) {
    SavedRun saved = open_run(part);
    change(saved);
    saved.trainer->resume(saved.progress);
    return same_parameters(saved.trainer->model(), full_checkpoint);
  };
  CHECK(resumed_matches([](SavedRun&) {}));
  CHECK_FALSE(resumed_matches([](SavedRun& s) {  // the next epoch's permutation
    s.progress.batch_generator = Generator(99).state();
  }));
  CHECK_FALSE(resumed_matches([](SavedRun& s) {  // the rest of this epoch's batches
    std::swap(s.progress.batches.order[40], s.progress.batches.order[59]);
  }));
  CHECK_FALSE(resumed_matches([](SavedRun& s) {  // dropout's masks
    REQUIRE(s.progress.model_generators.size() == 2);
    s.progress.model_generators[1].second = Generator(7).state();
  }));
  CHECK_FALSE(resumed_matches([](SavedRun& s) {  // Adam's bias correction
    for (auto& [name, state] : s.trainer->optimizer().named_state())
      if (name == "0.step") state.copy_(Tensor::full({1}, 1.f));
  }));
}

TEST_CASE("a finished run is not trained again, whether it ran to the end or to its target",
          "[resume]") {
  cli_runner::TempDir dir;
  const std::vector<std::pair<Config, int64_t>> runs = {
      {cases().front().config, kTotal},
      // Any accuracy reaches a target of 0: the run ends at its first evaluation.
      {tiny({{"hidden", {16}}}, json::object(), {{"target", 0.0}}), 4}};
  for (const auto& [config, steps] : runs) {
    fs::remove_all(dir.path);
    const RunSummary trained = train_run(config, dir.path.string());
    CHECK(trained.result.steps == steps);
    const std::string checkpoint = cli_runner::slurp(dir.path / "checkpoint.bin");
    const std::string csv = cli_runner::slurp(dir.path / "metrics.csv");
    SavedRun saved = open_run(dir.path.string());
    CHECK(saved.progress.finished);
    const RunSummary again = resume_run(saved);
    CHECK(again.result.steps == trained.result.steps);
    CHECK(again.result.steps_to_target == trained.result.steps_to_target);
    CHECK(untimed(again.result.history) == untimed(trained.result.history));
    CHECK(cli_runner::slurp(dir.path / "checkpoint.bin") == checkpoint);
    CHECK(cli_runner::slurp(dir.path / "metrics.csv") == csv);
  }
}

TEST_CASE("training progress survives its JSON form exactly", "[resume]") {
  TrainProgress p;
  p.step = 12;
  p.epoch = 2;
  p.finished = false;
  p.steps_to_target = 8;
  Generator gen(3);
  gen.normal();  // leaves a Box-Muller spare behind
  p.batch_generator = gen.state();
  REQUIRE(p.batch_generator.has_spare);
  p.batches = {{2, 0, 1}, 1, true};
  p.model_generators = {{"1.generator", Generator(4, 9).state()}};
  EvalRecord r;
  r.step = 12;
  r.epoch = 2;
  r.lr = 0.1;
  r.train_loss = 1.0 / 3.0;
  r.test_loss = std::nextafter(2.0, 3.0);
  r.test_accuracy = 0.7;
  r.layers = {{"layer 1", "relu", 0.25, 1e-300, 0.5, 0.0, NAN}};
  // Out of name order: the list keeps the model's order ("10" sorts before "2").
  r.grad_norms = {{"2.weight", 1.5}, {"10.weight", 2.5}};
  p.history = {r};

  const TrainProgress q = progress_from_json(json::parse(to_json(p).dump()));
  CHECK(q.step == 12);
  CHECK(q.epoch == 2);
  CHECK(q.steps_to_target == 8);
  CHECK(std::memcmp(&q.batch_generator.spare, &p.batch_generator.spare, sizeof(double)) == 0);
  CHECK(q.batch_generator.state == p.batch_generator.state);
  CHECK(q.batch_generator.inc == p.batch_generator.inc);
  CHECK(q.batches.order == p.batches.order);
  CHECK(q.batches.cursor == 1);
  CHECK(q.batches.in_epoch);
  REQUIRE(q.model_generators.size() == 1);
  CHECK(q.model_generators[0].first == "1.generator");
  CHECK(q.model_generators[0].second.inc == p.model_generators[0].second.inc);
  CHECK_FALSE(q.model_generators[0].second.has_spare);
  REQUIRE(q.history.size() == 1);
  const EvalRecord& s = q.history[0];
  CHECK(s.train_loss == r.train_loss);
  CHECK(s.test_loss == r.test_loss);
  CHECK(s.test_accuracy == r.test_accuracy);
  CHECK_FALSE(s.train_accuracy.has_value());
  CHECK(s.layers[0].std == 1e-300);
  CHECK(std::isnan(s.layers[0].saturated_fraction));  // JSON's null
  REQUIRE(s.grad_norms.size() == 2);
  CHECK(s.grad_norms[0].name == "2.weight");
  CHECK(s.grad_norms[1].norm == 2.5);

  json newer = to_json(p);
  newer["version"] = 2;
  CHECK_THROWS_WITH(progress_from_json(newer),
                    "progress version 2 is not supported (this build reads version 1)");
}
