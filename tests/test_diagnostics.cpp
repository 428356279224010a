// Diagnostics: ECE and temperature scaling on hand-made logits, the findings' rules on
// hand-made numbers, each configs/diagnose_*.json flagging what it was built to break (and the
// healthy one nothing), run directories, and the report.
#include <catch2/catch.hpp>
#include <unistd.h>

#include <fmt/format.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "actlab/io/run.hpp"
#include "actlab/lab/diagnostics.hpp"
#include "html_check.hpp"

using namespace actlab;
namespace fs = std::filesystem;

namespace {

// Examples at a few confidences, with exactly that fraction right: for each probability p of
// class 1, 20 examples of logit scale * log(p / (1 - p)), round(20 p) of them labelled 1.
struct Binary {
  Tensor logits;
  std::vector<int64_t> labels;
};
Binary calibrated_binary(double scale) {
  std::vector<float> z;
  Binary b;
  for (double p : {0.55, 0.65, 0.75, 0.85, 0.95})
    for (int i = 0; i < 20; ++i) {
      z.push_back(static_cast<float>(scale * std::log(p / (1 - p))));
      b.labels.push_back(i < std::lround(20 * p) ? 1 : 0);
    }
  b.logits = Tensor::from_vector(z, {static_cast<int64_t>(z.size()), 1});
  return b;
}

// Three classes: rows of logit scale * log(p) for two distributions p, 10 rows each with the
// labels in exactly p's proportions.
Binary calibrated_three_classes(double scale) {
  std::vector<float> z;
  Binary b;
  for (const std::vector<double>& p : {std::vector<double>{0.5, 0.3, 0.2}, std::vector<double>{0.1, 0.2, 0.7}})
    for (int64_t c = 0, row = 0; c < 3; ++c)
      for (long k = 0; k < std::lround(10 * p[static_cast<size_t>(c)]); ++k, ++row) {
        for (double pc : p) z.push_back(static_cast<float>(scale * std::log(pc)));
        b.labels.push_back(c);
      }
  b.logits = Tensor::from_vector(z, {static_cast<int64_t>(b.labels.size()), 3});
  return b;
}

Diagnosis config_diagnosis(const std::string& name) {
  return diagnose_config(load_config(std::string(ACTLAB_CONFIG_DIR) + "/" + name));
}

// The finding at `layer` whose message holds `keyword`, or nullptr.
const Finding* finding(const Diagnosis& d, const std::string& layer, const std::string& keyword) {
  for (const Finding& f : d.findings)
    if (f.layer == layer && f.message.find(keyword) != std::string::npos) return &f;
  return nullptr;
}

int warnings(const Diagnosis& d) {
  return static_cast<int>(std::count_if(d.findings.begin(), d.findings.end(),
                                        [](const Finding& f) { return f.severity == "warning"; }));
}

std::string all_findings(const Diagnosis& d) { return to_json(d)["findings"].dump(1); }

// Numbers of a healthy two-layer classifier, which the rules must leave alone.
Diagnosis healthy_numbers() {
  Diagnosis d;
  for (int i = 1; i <= 2; ++i) {
    LayerDiagnosis l;
    l.stats.name = fmt::format("layer {}", i);
    l.stats.activation = "relu";
    l.stats.std = 1.0;
    l.stats.zero_fraction = 0.5;
    l.stats.dead_fraction = 0.05;
    l.grad_norm = 0.1;
    d.layers.push_back(l);
  }
  d.grad_norms = {{"0.weight", 0.1}, {"2.weight", 0.2}, {"4.weight", 0.3}};
  d.grad_ratio = 0.1 / 0.3;
  d.output_std = 3, d.output_scale = 2;
  ConfidenceStats calibrated;
  calibrated.accuracy = 0.9, calibrated.mean_confidence = 0.91, calibrated.ece = 0.01;
  d.calibration = Calibration{calibrated, calibrated};
  d.calibration->after.temperature = 1.1;
  return d;
}

struct TempDir {
  fs::path path = fs::temp_directory_path() / ("actlab_diagnostics_" + std::to_string(::getpid()));
  TempDir() { fs::remove_all(path); }
  ~TempDir() { fs::remove_all(path); }
};

std::string read(const fs::path& p) {
  std::ifstream in(p);
  return {std::istreambuf_iterator<char>(in), {}};
}

}  // namespace

// ---- calibration ---------------------------------------------------------------------------

TEST_CASE("ECE of a perfectly calibrated classifier is 0 and its NLL is its entropy", "[diagnostics][calibration]") {
  // float32 logits round p by ~1e-7, hence the tolerances.
  const Binary b = calibrated_binary(1);
  const ConfidenceStats s = confidence_stats(b.logits, b.labels);
  CHECK(s.ece < 1e-6);
  CHECK(s.accuracy == Approx(0.75));
  CHECK(s.mean_confidence == Approx(0.75));
  CHECK(s.nll == Approx(s.mean_entropy).epsilon(1e-6));  // calibrated: cross-entropy = entropy
  CHECK(s.confident_wrong_rate == Approx(0.01));          // one wrong example at p = 0.95
  CHECK(s.bins.size() == 10);
  CHECK(s.bins[5].count == 20);  // p = 0.55 lies in (0.5, 0.6]
  CHECK(s.bins[5].accuracy == Approx(0.55));
  CHECK(s.bins[0].count == 0);

  const Binary three = calibrated_three_classes(1);
  const ConfidenceStats m = confidence_stats(three.logits, three.labels);
  CHECK(m.ece < 1e-6);
  CHECK(m.accuracy == Approx(0.6));
  CHECK(m.nll == Approx(m.mean_entropy).epsilon(1e-6));
}

TEST_CASE("ECE of logits scaled by 3 is large, and temperature scaling finds T = 3", "[diagnostics][calibration]") {
  const Binary b = calibrated_binary(3);
  const ConfidenceStats s = confidence_stats(b.logits, b.labels);
  // Every example is predicted class 1 at sigmoid(3 logit(p)) while p of them are right.
  double expected = 0;
  for (double p : {0.55, 0.65, 0.75, 0.85, 0.95})
    expected += (1 / (1 + std::pow((1 - p) / p, 3)) - p) / 5;
  CHECK(s.ece == Approx(expected).epsilon(1e-5));
  CHECK(s.ece > 0.1);
  CHECK(s.mean_confidence > s.accuracy);
  // Softening by T = 3 restores the calibrated probabilities, the NLL's exact minimum.
  const double t = fit_temperature(b.logits, b.labels);
  CHECK(t == Approx(3).epsilon(1e-3));
  const ConfidenceStats after = confidence_stats(b.logits, b.labels, t);
  CHECK(after.ece < 1e-3);
  CHECK(after.nll < s.nll);

  const Binary three = calibrated_three_classes(3);
  CHECK(fit_temperature(three.logits, three.labels) == Approx(3).epsilon(1e-3));
  const Binary soft = calibrated_three_classes(0.5);
  CHECK(fit_temperature(soft.logits, soft.labels) == Approx(0.5).epsilon(1e-3));
}

TEST_CASE("a single binary logit z reads as the two logits 0 and z", "[diagnostics][calibration]") {
  const Binary b = calibrated_binary(2);
  std::vector<float> pairs;
  for (float z : b.logits.to_vector()) pairs.insert(pairs.end(), {0.f, z});
  const Tensor two = Tensor::from_vector(pairs, {b.logits.size(0), 2});
  const ConfidenceStats one = confidence_stats(b.logits, b.labels, 1.7);
  const ConfidenceStats wide = confidence_stats(two, b.labels, 1.7);
  CHECK(one.ece == Approx(wide.ece));
  CHECK(one.nll == Approx(wide.nll));
  CHECK(one.mean_entropy == Approx(wide.mean_entropy));
}

TEST_CASE("temperature search ends at the bounds when the NLL keeps falling", "[diagnostics][calibration]") {
  // Right on every example: sharper is always better, down to the smallest T.
  const Tensor right = Tensor::from_vector({2.f, -2.f, 3.f}, {3, 1});
  CHECK(fit_temperature(right, {1, 0, 1}) == Approx(kMinTemperature).epsilon(1e-3));
  // Wrong on every example: flatter is always better, up to the largest T.
  CHECK(fit_temperature(right, {0, 1, 0}) == Approx(kMaxTemperature).epsilon(1e-3));
}

TEST_CASE("calibration refuses mismatched labels and temperatures", "[diagnostics][calibration][errors]") {
  const Tensor logits = Tensor::from_vector({1.f, 2.f, 3.f, 4.f}, {2, 2});
  CHECK_THROWS_WITH(confidence_stats(logits, {0}), "calibration: 1 labels for logits [2, 2]");
  CHECK_THROWS_WITH(confidence_stats(logits, {0, 2}),
                    "calibration: label 2 of row 1 is not a class in [0, 2)");
  CHECK_THROWS_WITH(confidence_stats(logits, {0, 1}, 0), "calibration: the temperature must be > 0, got 0");
  CHECK_THROWS_WITH(confidence_stats(Tensor::from_vector({1.f}, {1}), {0}),
                    "calibration: logits must be [N, C], got [1]");
}

// ---- the rules -----------------------------------------------------------------------------

TEST_CASE("the rules leave healthy numbers alone and flag each problem at its layer", "[diagnostics][findings]") {
  CHECK(find_issues(healthy_numbers()).empty());

  Diagnosis saturated = healthy_numbers();
  saturated.layers[1].stats.activation = "tanh";
  saturated.layers[1].stats.saturated_fraction = thresholds::kSaturatedWarning;
  const std::vector<Finding> s = find_issues(saturated);
  REQUIRE(s.size() == 1);
  CHECK(s[0].severity == "warning");
  CHECK(s[0].layer == "layer 2");
  CHECK(s[0].message.find("saturated") != std::string::npos);
  CHECK(s[0].advice.front().starts_with("use ReLU/GELU in the hidden layers"));

  Diagnosis some_dead = healthy_numbers();
  some_dead.layers[0].stats.dead_fraction = 0.3;
  REQUIRE(find_issues(some_dead).size() == 1);
  CHECK(find_issues(some_dead)[0].severity == "info");

  Diagnosis exploding = healthy_numbers();
  exploding.grad_ratio = 2 * thresholds::kExplodingRatio;
  exploding.layers[0].stats.std = 2 * thresholds::kExplodingStd;
  const std::vector<Finding> e = find_issues(exploding);
  REQUIRE(e.size() == 2);
  CHECK(e[0].message == "layer 1: exploding activations (std 200)");
  CHECK(e[1].message.starts_with("exploding gradients: ||dL/dW|| of the first weight (0.weight)"));
}

TEST_CASE("calibration findings: overconfident, underconfident, and none for constant outputs", "[diagnostics][findings]") {
  Diagnosis over = healthy_numbers();
  over.calibration->before = {1, 0.7, 0.95, 0.1, 0.2, 1.5, 0.25, {}};
  over.calibration->after = {2.5, 0.7, 0.72, 0.5, 0.0, 0.6, 0.03, {}};
  const std::vector<Finding> o = find_issues(over);
  REQUIRE(o.size() == 1);
  CHECK(o[0].severity == "warning");
  CHECK(o[0].layer == "output");
  CHECK(o[0].message.starts_with("overconfident: test ECE 0.250 (mean confidence 95% vs accuracy 70%)"));
  CHECK(o[0].advice[2] == "temperature scaling at inference: softmax(logits / 2.50) (Guo et al. 2017)");

  Diagnosis few_wrong = over;
  few_wrong.calibration->before.confident_wrong_rate = 0.01;
  CHECK(find_issues(few_wrong).at(0).severity == "info");

  Diagnosis under = healthy_numbers();
  under.calibration->before = {1, 0.9, 0.7, 0.6, 0.0, 0.4, 0.2, {}};
  under.calibration->after = {0.5, 0.9, 0.88, 0.3, 0.0, 0.3, 0.02, {}};
  REQUIRE(find_issues(under).size() == 1);
  CHECK(find_issues(under)[0].message.starts_with("underconfident"));
  CHECK(find_issues(under)[0].severity == "info");

  Diagnosis constant = over;
  constant.output_std = 0;
  const std::vector<Finding> c = find_issues(constant);
  REQUIRE(c.size() == 1);
  CHECK(c[0].message.starts_with("outputs all the same value"));
}

// ---- configs built to fail -----------------------------------------------------------------

TEST_CASE("diagnose: biases at -5 leave every ReLU dead and the outputs constant", "[diagnostics][configs]") {
  const Diagnosis d = config_diagnosis("diagnose_dead_relu.json");
  INFO(all_findings(d));
  for (const char* layer : {"layer 1", "layer 2"}) {
    const Finding* dead = finding(d, layer, "dead relu units");
    REQUIRE(dead != nullptr);
    CHECK(dead->severity == "warning");
    CHECK(dead->advice.front().starts_with("try leaky_relu"));
  }
  CHECK(d.layers.at(1).stats.dead_fraction == 1.0);
  CHECK(finding(d, "output", "outputs all the same value") != nullptr);
  CHECK(d.output_std == 0.0);
}

TEST_CASE("diagnose: a learning rate too high explodes the activations and diverges", "[diagnostics][configs]") {
  const Diagnosis d = config_diagnosis("diagnose_lr_too_high.json");
  INFO(all_findings(d));
  const Finding* diverged = finding(d, "training", "the run diverged to NaN/Inf");
  REQUIRE(diverged != nullptr);
  CHECK(diverged->advice.front().starts_with("reduce the learning rate"));
  CHECK(d.steps < 30 * 8);  // the last good state, before the divergence
  CHECK(std::isfinite(d.test_loss));
  const Finding* exploding = finding(d, "layer 1", "exploding activations");
  REQUIRE(exploding != nullptr);
  CHECK(exploding->advice.front() == "reduce the learning rate (optimizer.lr)");
}

TEST_CASE("diagnose: 20 sigmoid layers make the first layer's gradient vanish", "[diagnostics][configs]") {
  const Diagnosis d = config_diagnosis("diagnose_sigmoid_deep.json");
  INFO(all_findings(d));
  REQUIRE(d.layers.size() == 20);
  const Finding* vanishing = finding(d, "layer 1", "vanishing gradients");
  REQUIRE(vanishing != nullptr);
  CHECK(vanishing->advice.front().starts_with("use ReLU/GELU in the hidden layers"));
  CHECK(d.grad_ratio.value() < 1e-6);
  CHECK(d.layers.front().grad_norm < 1e-6 * d.layers.back().grad_norm);
}

TEST_CASE("diagnose: a wide net trained long on a small noisy split is overconfident", "[diagnostics][configs]") {
  const Diagnosis d = config_diagnosis("diagnose_overconfident.json");
  INFO(all_findings(d));
  const Finding* over = finding(d, "output", "overconfident");
  REQUIRE(over != nullptr);
  CHECK(over->severity == "warning");
  REQUIRE(d.calibration.has_value());
  CHECK(d.calibration->before.ece > 0.15);
  CHECK(d.calibration->after.temperature > 1.5);
  CHECK(d.calibration->after.ece < d.calibration->before.ece / 3);
  CHECK(d.calibration->before.confident_wrong_rate > 0.1);
}

TEST_CASE("diagnose: the healthy config gets no warning", "[diagnostics][configs]") {
  const Diagnosis d = config_diagnosis("diagnose_healthy.json");
  INFO(all_findings(d));
  CHECK(warnings(d) == 0);
  CHECK(d.test_accuracy.value() > 0.95);
  CHECK(d.calibration->before.ece < thresholds::kEceWarning);
}

TEST_CASE("no ready config that trains well raises a false alarm", "[diagnostics][configs]") {
  // The thresholds' calibration set: every one of these learns its task.
  for (const char* name : {"blobs_mlp_silu.json", "checkerboard_mlp_relu.json", "circles_mlp_tanh.json",
                           "moons_mlp_gelu.json", "parity_mlp_relu.json", "sine_mlp_tanh.json",
                           "spirals_mlp_gelu.json", "teacher_ffn_swiglu.json", "xor_mlp_relu.json"}) {
    const Diagnosis d = diagnose_config(load_config(std::string(ACTLAB_CONFIG_DIR) + "/" + name), 150);
    INFO(name << ": " << all_findings(d));
    CHECK(warnings(d) == 0);
  }
}

TEST_CASE("diagnose trains at most the steps asked, in whole epochs", "[diagnostics]") {
  const Config config = load_config(std::string(ACTLAB_CONFIG_DIR) + "/diagnose_healthy.json");
  CHECK(diagnose_config(config, 20).steps == 24);  // 512 examples in batches of 64: 8 a epoch
  CHECK(diagnose_config(config, 1).steps == 8);
  CHECK_THROWS_WITH(diagnose_config(config, 0), "diagnose: steps must be >= 1, got 0");
}

// ---- run directories and the report --------------------------------------------------------

TEST_CASE("diagnose_run analyses the checkpoint of a run directory", "[diagnostics][run]") {
  TempDir dir;
  const Config config = load_config(std::string(ACTLAB_CONFIG_DIR) + "/diagnose_healthy.json",
                                    {"train.epochs=3", "train.eval_every=8"});
  const RunSummary run = train_run(config, dir.path.string());
  const Diagnosis d = diagnose_run(dir.path.string());
  CHECK(d.steps == 24);
  CHECK(d.test_loss == Approx(run.result.history.back().test_loss).epsilon(1e-6));
  CHECK(d.layers.size() == 2);
  CHECK(d.model == "mlp [32, 32] gelu");

  fs::remove(dir.path / "checkpoint.bin");
  CHECK_THROWS_AS(diagnose_run(dir.path.string()), RunDirError);
  CHECK_THROWS_WITH(diagnose_run(dir.path.string()),
                    Catch::Matchers::Contains("missing checkpoint.bin"));
  fs::remove(dir.path / "config.json");
  CHECK_THROWS_WITH(diagnose_run(dir.path.string()), Catch::Matchers::Contains("missing config.json"));
  CHECK_THROWS_WITH(diagnose_run((dir.path / "nowhere").string()),
                    Catch::Matchers::EndsWith("nowhere: not a run directory"));
}

TEST_CASE("the diagnosis report is well-formed, self-contained and shows calibration", "[diagnostics][report]") {
  TempDir dir;
  fs::create_directories(dir.path);
  const Diagnosis d = config_diagnosis("diagnose_dead_relu.json");
  const fs::path page_path = dir.path / "report.html";
  write_diagnosis_report(page_path.string(), d);
  const std::string page = read(page_path);
  html_check::require_self_contained(page);
  const html_check::Parsed parsed = html_check::parse_ok(page);
  std::vector<std::string> titles = parsed.texts("figcaption");
  for (const std::string& table : parsed.texts("caption")) titles.push_back(table);
  for (const char* want : {"Reliability diagram", "Dead units (%)", "Findings and what to try",
                           "Confidence at each temperature", "Gradient norm per weight (one training batch)"}) {
    INFO(want);
    CHECK(std::find(titles.begin(), titles.end(), want) != titles.end());
  }
  CHECK(html_check::contains(page, "layer 2: 100% dead relu units"));
}
