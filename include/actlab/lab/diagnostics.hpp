// Diagnosing a model: the numbers behind the seed's "Debugging activation issues" advice
// (per-layer activation statistics, gradient norms, the spread of the outputs, and a
// classifier's confidence and calibration), turned into findings with that advice. It
// analyses a config trained briefly, or the checkpoint of a run directory.
//
// Calibration follows Guo et al. 2017, "On Calibration of Modern Neural Networks": the expected
// calibration error over 10 equal-width confidence bins, and temperature scaling (logits / T,
// one T fit by minimising NLL on held-out data). Here the held-out data are the test split,
// which also measures the result, so the "after" numbers are optimistic by the one fitted
// parameter. The advice on initialisation follows He et al. 2015, "Delving Deep into
// Rectifiers" (ReLU-like layers), and Glorot & Bengio 2010 (Xavier, for tanh and sigmoid).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "actlab/io/run.hpp"  // RunDirError
#include "actlab/lab/attention_maps.hpp"
#include "actlab/train/config.hpp"
#include "actlab/train/train.hpp"

namespace actlab {

// ---- calibration ---------------------------------------------------------------------------

// One equal-width confidence bin (lo, hi] of a reliability diagram.
struct ReliabilityBin {
  double lo = 0, hi = 0;
  int64_t count = 0;
  double confidence = 0;  // mean max probability of the examples in the bin
  double accuracy = 0;    // their fraction predicted right
};

// How sure a classifier is, and how right, at one temperature.
struct ConfidenceStats {
  double temperature = 1;
  double accuracy = 0;
  double mean_confidence = 0;       // mean max probability
  double mean_entropy = 0;          // mean entropy of the predicted distribution, in nats
  double confident_wrong_rate = 0;  // fraction of examples with max probability > 0.9, wrong
  double nll = 0;                   // mean -log p(true class)
  double ece = 0;                   // sum over bins of count/N * |accuracy - confidence|
  std::vector<ReliabilityBin> bins;
};

inline constexpr int kCalibrationBins = 10;
inline constexpr double kConfidentProbability = 0.9;
inline constexpr double kMinTemperature = 0.05, kMaxTemperature = 20;

// The statistics of softmax(logits / T) against the true classes. logits is [N, C] with C >= 2,
// or [N, 1] for a binary classifier's single logit z, read as sigmoid(z) (= softmax [0, z]).
ConfidenceStats confidence_stats(const Tensor& logits, const std::vector<int64_t>& labels,
                                 double temperature = 1);

// The temperature in [kMinTemperature, kMaxTemperature] that minimises the NLL of
// softmax(logits / T): golden-section search over log T (the NLL is convex in 1/T, so it has one
// minimum along log T). A classifier right on every example keeps sharpening: it gets the lower
// end.
double fit_temperature(const Tensor& logits, const std::vector<int64_t>& labels);

// ---- diagnosis -----------------------------------------------------------------------------

struct LayerDiagnosis {
  LayerStats stats;      // over the test split
  double grad_norm = 0;  // of the weights that feed the layer, on a training batch
};

struct Calibration {
  ConfidenceStats before;  // T = 1
  ConfidenceStats after;   // at the fitted temperature
};

// One problem (a "warning") or a remark (an "info"), with what to try.
struct Finding {
  std::string severity;  // "warning" | "info"
  std::string layer;     // "layer 2", "block 1", "gradients", "output", "training"
  std::string message;
  std::vector<std::string> advice;
};

struct Diagnosis {
  std::string task;   // the task's name
  std::string model;  // e.g. "mlp [32, 32] relu"
  data::TaskKind kind = data::TaskKind::binary;
  int64_t steps = 0;    // training steps behind the analysed state
  std::string failure;  // when training diverged: the step and op (the last good state is analysed)
  double test_loss = 0;
  std::optional<double> test_accuracy;
  std::vector<LayerDiagnosis> layers;
  std::vector<GradNorm> grad_norms;  // every weight, input to output, on one training batch
  std::optional<double> grad_ratio;  // first / last of grad_norms, when the last is not zero
  double output_std = 0;             // the largest std across test inputs of any output column
  double output_scale = 0;           // the mean |output|, which output_std is measured against
  std::optional<Calibration> calibration;  // classifiers with logits (not trained with MSE)
  std::vector<HeadStats> attention;        // a decoder's heads over the test split
  std::vector<Finding> findings;
};

// Thresholds of the findings, chosen so that a healthy model gets no warning (info findings
// are remarks, not problems).
namespace thresholds {
inline constexpr double kDeadWarning = 0.5;  // dead units (0 for every test input), warning
inline constexpr double kDeadInfo = 0.2;     // ... and info
// Sigmoid/tanh outputs within 0.01 of an asymptote. The seed's symptom is all of them
// saturated: a trained classifier's last tanh layer often runs half saturated (a confident
// binary code) and still learns well, e.g. configs/circles_mlp_tanh.json at 58%.
inline constexpr double kSaturatedWarning = 0.9;
inline constexpr double kSaturatedInfo = 0.5;
inline constexpr double kExplodingStd = 100;     // an activation std this large is exploding
inline constexpr double kVanishingRatio = 1e-3;  // first/last weight gradient norm below this
inline constexpr double kExplodingRatio = 1e3;   // ... or above this
// Outputs "all the same": their std across inputs below this fraction of max(1, mean |output|).
inline constexpr double kSameOutputs = 1e-3;
// Overconfident: ECE at least kEceWarning, mean confidence above accuracy, and the fitted T at
// least kOverconfidentT (softening the logits calibrates them); a warning when at least
// kConfidentWrongWarning of the predictions are confident (> 90%) but wrong, else an info.
// Not judged when the outputs are all the same (that finding comes first).
inline constexpr double kEceWarning = 0.05;
inline constexpr double kOverconfidentT = 1.5;
inline constexpr double kConfidentWrongWarning = 0.05;
inline constexpr double kUnderconfidentT = 1 / 1.5;  // at ECE >= kEceWarning: an info
// A head collapses when more than this share of its rows (first rows left out) put more than
// kCollapsedRowWeight on one position. A uniform head's rows stay at or below 0.5, a healthy
// content head's vary with the text; one reading a fixed position (the previous token, the
// first) can be a useful positional head, so a collapsed head is an info, and a warning only
// when most heads have collapsed (more than kCollapsedHeadsWarning of them): the entropy
// collapse that Zhai et al. 2023 see before training becomes unstable.
inline constexpr double kCollapsedHead = 0.9;
inline constexpr double kCollapsedHeadsWarning = 0.5;
}  // namespace thresholds

// The findings the numbers of a diagnosis call for, in order: training, layers input to
// output, attention heads, gradients, outputs, calibration.
std::vector<Finding> find_issues(const Diagnosis& d);

// Analyses the trainer's model as it stands: activations over the test split, gradient norms on
// one batch of batch_size training examples (drawn with the config's seed), outputs and
// calibration on the test split.
Diagnosis diagnose_model(Trainer& trainer, int64_t steps);

// Trains the config for min(steps, its own length) steps (rounded up to whole epochs) and
// diagnoses the result. A run that diverges is diagnosed at its last good state (the last
// evaluation with a finite loss, or the initial state), with a finding that names the step.
inline constexpr int64_t kDefaultDiagnoseSteps = 300;
Diagnosis diagnose_config(const Config& config, int64_t steps = kDefaultDiagnoseSteps);

// Loads a run directory's config.json and checkpoint.bin (as `actlab train` writes them) into a
// fresh trainer and diagnoses that state. The checkpoint is checked against config.json as
// open_run checks it for --resume. Throws RunDirError naming a missing file, FieldError for a
// bad config.json, CheckpointError for a damaged checkpoint or one of another config.
Diagnosis diagnose_run(const std::string& run_dir);

// The diagnosis as one JSON document (`actlab diagnose --json`).
nlohmann::json to_json(const Diagnosis& d);

// A self-contained report.html: the findings, per-layer charts, gradient norms, and the
// reliability diagram before and after temperature scaling.
void write_diagnosis_report(const std::string& path, const Diagnosis& d);

}  // namespace actlab
