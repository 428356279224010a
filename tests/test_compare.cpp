// Sweeps: checking and expanding grids, errors placed where they can be fixed, jobs that do not
// change results, group statistics, and the files a comparison writes.
#include <catch2/catch.hpp>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "actlab/io/run.hpp"
#include "actlab/lab/compare.hpp"
#include "html_check.hpp"

using namespace actlab;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

json small_sweep() {
  return {{"base",
           {{"task", {{"name", "xor"}, {"n_train", 64}, {"n_test", 32}}},
            {"model", {{"hidden", {8}}}},
            {"train", {{"epochs", 3}, {"eval_every", 2}, {"target", 0.5}, {"stop_at_target", false}}}}},
          {"grid", {{"model.activation", {"relu", "tanh"}}, {"train.seed", {1, 2, 3}}}},
          {"labels", {{"model.activation", {"ReLU", "Tanh"}}}}};
}

std::string sweep_error_for(const json& doc) {
  try {
    parse_sweep(doc);
  } catch (const FieldError& e) {
    return config_error_message(e);
  }
  return "no error";
}

}  // namespace

TEST_CASE("a sweep expands to every cell, the last axis fastest", "[compare]") {
  const std::vector<SweepCell> cells = expand(parse_sweep(small_sweep()));
  REQUIRE(cells.size() == 6);
  CHECK(cells[0].labels == std::vector<std::string>{"ReLU", "1"});
  CHECK(cells[1].labels == std::vector<std::string>{"ReLU", "2"});
  CHECK(cells[3].labels == std::vector<std::string>{"Tanh", "1"});
  CHECK(cells[3].config.model.activation == "tanh");
  CHECK(cells[4].config.train.seed == 2);
  CHECK(cells[0].group == "ReLU");  // the seed is not part of the group
}

TEST_CASE("sweep errors point at the grid value or the base field", "[compare][errors]") {
  json bad_value = small_sweep();
  bad_value["grid"]["model.activation"] = {"relu", "relu6"};
  bad_value["labels"].erase("model.activation");
  CHECK(sweep_error_for(bad_value).starts_with(
      "config error at /grid/model.activation/1: unknown activation \"relu6\""));
  json bad_base = small_sweep();
  bad_base["base"]["train"]["epochs"] = 0;
  CHECK(sweep_error_for(bad_base) ==
        "config error at /base/train/epochs: expected an integer in [1, 100000], found 0");
  json empty_axis = small_sweep();
  empty_axis["grid"]["train.seed"] = json::array();
  CHECK(sweep_error_for(empty_axis) ==
        "config error at /grid/train.seed: expected a non-empty list of values, found []");
  json bad_labels = small_sweep();
  bad_labels["labels"]["model.activation"] = {"only one"};
  CHECK(sweep_error_for(bad_labels) ==
        "config error at /labels/model.activation: expected 2 strings, one per value of the "
        "grid, found [\"only one\"]");
  CHECK(sweep_error_for({{"base", small_sweep()["base"]}}) ==
        "config error at /grid: expected an object of dotted paths to lists of values");
  CHECK(sweep_error_for({{"base", json::object()}, {"grid", {{"a", {1}}}}, {"grd", 1}}).starts_with(
      "config error at /grd: unknown field \"grd\" for a sweep"));
  json twice = small_sweep();
  twice["labels"]["model.activation"] = {"act", "act"};
  CHECK(sweep_error_for(twice) == "config error at /labels/model.activation/1: label \"act\" is given "
                            "twice; each value needs its own");
  json mixed = small_sweep();
  mixed["grid"]["task.name"] = {"xor", "sine"};
  CHECK(sweep_error_for(mixed) == "config error at /grid: a sweep compares classification tasks (by "
                            "test accuracy) or regression and sequence tasks (by test loss), not "
                            "both; sweep them separately");
  json huge = small_sweep();
  huge["grid"]["train.seed"] = json::array();
  for (int i = 0; i < 6000; ++i) huge["grid"]["train.seed"].push_back(i);
  CHECK(sweep_error_for(huge) == "config error at /grid: the grid has more than 10000 cells");
}

TEST_CASE("compare gives the same numbers with any number of jobs", "[compare]") {
  const Sweep sweep = parse_sweep(small_sweep());
  const CompareResult serial = run_compare(sweep, 1);
  const CompareResult parallel = run_compare(sweep, 3);
  REQUIRE(serial.runs.size() == parallel.runs.size());
  for (size_t i = 0; i < serial.runs.size(); ++i) {
    INFO("cell " << i);
    REQUIRE(serial.runs[i].history.size() == parallel.runs[i].history.size());
    for (size_t k = 0; k < serial.runs[i].history.size(); ++k)
      CHECK(serial.runs[i].history[k].test_loss == parallel.runs[i].history[k].test_loss);
  }
}

TEST_CASE("groups summarise their seeds: mean, sample std, targets, parameters", "[compare]") {
  const CompareResult r = run_compare(parse_sweep(small_sweep()), 2);
  REQUIRE(r.groups.size() == 2);
  CHECK(r.metric == "test_accuracy");
  const GroupSummary& relu = r.groups[0];
  CHECK(relu.group == "ReLU");
  CHECK(relu.runs == 3);
  std::vector<double> finals;
  for (size_t i = 0; i < 3; ++i) finals.push_back(r.runs[i].history.back().test_accuracy.value());
  const double mean = (finals[0] + finals[1] + finals[2]) / 3;
  double sq = 0;
  for (double f : finals) sq += (f - mean) * (f - mean);
  CHECK(relu.final_metric.mean == Approx(mean));
  CHECK(relu.final_metric.std == Approx(std::sqrt(sq / 2)));
  CHECK(relu.parameters == 2 * 8 + 8 + 8 + 1);
  CHECK(relu.curve_values.size() == r.runs[0].history.size());
  CHECK(relu.steps_to_target.count <= 3);
  CHECK(relu.ms_per_step.mean > 0);
  // The gradient-norm ratio is summarised by its geometric mean over seeds.
  double log_sum = 0;
  for (size_t i = 0; i < 3; ++i) {
    const auto& norms = r.runs[i].history.back().grad_norms;
    log_sum += std::log10(norms.front().norm / norms.back().norm);
  }
  CHECK(relu.grad_ratio.mean == Approx(std::pow(10.0, log_sum / 3)));
}

TEST_CASE("compare writes summary.csv, summary.json and a self-contained report", "[compare]") {
  const fs::path dir = fs::temp_directory_path() / ("actlab_compare_" + std::to_string(::getpid()));
  const CompareResult r = run_compare(parse_sweep(small_sweep()), 2);
  write_compare_outputs(dir.string(), r);
  std::ifstream csv(dir / "summary.csv");
  std::string header;
  std::getline(csv, header);
  CHECK(header == "model.activation,runs,diverged,test_accuracy_mean,test_accuracy_std,"
                  "steps_to_target_mean,reached,ms_per_step,dead_percent,grad_norm_ratio,"
                  "parameters");
  std::ifstream summary(dir / "summary.json");
  CHECK(json::parse(summary)["groups"].size() == 2);
  std::ifstream html(dir / "report.html");
  const std::string page{std::istreambuf_iterator<char>(html), {}};
  html_check::require_self_contained(page);
  const auto parsed = html_check::parse_ok(page);
  CHECK(parsed.find("svg").size() == 2);  // one curve chart, one bar chart
  fs::remove_all(dir);
}

TEST_CASE("the default comparison is a valid sweep of 54 runs", "[compare]") {
  const Sweep sweep = load_sweep(std::string(ACTLAB_CONFIG_DIR) + "/compare_default.json");
  CHECK(expand(sweep).size() == 54);
}

TEST_CASE("compare reports each group's learned activation parameters", "[compare][formula]") {
  const json swish_beta = {{"formula", "x * sigmoid(beta * x)"}, {"beta", 1.0}, {"learn", {"beta"}},
                           {"num_parameters", 8}};
  json doc = small_sweep();
  doc["base"]["optimizer"] = {{"name", "adam"}, {"lr", 0.05}};
  doc["grid"] = {{"model.activation", {"relu", swish_beta}}, {"train.seed", {1, 2}}};
  doc.erase("labels");
  const CompareResult r = run_compare(parse_sweep(doc), 2);
  REQUIRE(r.groups.size() == 2);
  CHECK(r.groups[0].learned.empty());
  REQUIRE(r.groups[1].learned.size() == 1);
  const LearnedParameter& beta = r.groups[1].learned[0];
  CHECK(beta.name == "1.beta");
  CHECK(beta.values == 8);
  // Recomputed from the two runs' own values: each run's mean, then their mean and spread.
  std::vector<double> run_means;
  double lo = INFINITY, hi = -INFINITY;
  for (size_t cell = 2; cell < 4; ++cell) {
    REQUIRE(r.runs[cell].activation_parameters.size() == 1);
    const std::vector<float>& v = r.runs[cell].activation_parameters[0].second;
    double s = 0;
    for (float b : v) s += b, lo = std::min<double>(lo, b), hi = std::max<double>(hi, b);
    run_means.push_back(s / 8);
  }
  CHECK(beta.mean.mean == Approx((run_means[0] + run_means[1]) / 2).epsilon(1e-12));
  CHECK(beta.mean.std == Approx(std::abs(run_means[0] - run_means[1]) / std::sqrt(2.0)).epsilon(1e-9));
  CHECK(beta.min == lo);
  CHECK(beta.max == hi);
  CHECK(hi > lo);  // the slopes trained apart
  CHECK(learned_text(r.groups[1].learned) ==
        fmt::format("1.beta {:.3g} +- {:.2g} (8 values, {:.3g} to {:.3g})", beta.mean.mean,
                    beta.mean.std, lo, hi));
  CHECK(learned_text(r.groups[0].learned) == "-");
  const json summary = summary_json(r);
  CHECK(summary["groups"][0]["learned"] == json::array());
  CHECK(summary["groups"][1]["learned"][0]["name"] == "1.beta");
  CHECK(summary["groups"][1]["learned"][0]["values_per_run"] == 8);
  // A shard hands its runs over as JSON: the learned values come through it unchanged.
  CHECK(train_result_from_json(json::parse(to_json(r.runs[2]).dump())).activation_parameters ==
        r.runs[2].activation_parameters);
}
