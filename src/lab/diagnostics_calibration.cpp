// A classifier's confidence and calibration: the expected calibration error over equal-width
// bins and temperature scaling fit by NLL (Guo et al. 2017, "On Calibration of Modern Neural
// Networks"), in double precision over the logits.
#include "actlab/lab/diagnostics.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace actlab {
namespace {

// Logits as rows of doubles, a binary classifier's single logit z widened to [0, z] so that one
// softmax serves both heads: softmax([0, z]) = [1 - sigmoid(z), sigmoid(z)].
struct LogitRows {
  int64_t n = 0, classes = 0;
  std::vector<double> z;  // [n, classes]
};

LogitRows logit_rows(const Tensor& logits, const std::vector<int64_t>& labels) {
  if (logits.dim() != 2)
    throw Error(fmt::format("calibration: logits must be [N, C], got {}", logits.shape().str()));
  const int64_t n = logits.size(0), cols = logits.size(1);
  if (static_cast<int64_t>(labels.size()) != n || n == 0)
    throw Error(
        fmt::format("calibration: {} labels for logits {}", labels.size(), logits.shape().str()));
  LogitRows rows{n, cols == 1 ? 2 : cols, {}};
  rows.z.reserve(static_cast<size_t>(n * rows.classes));
  const float* v = logits.data();
  for (int64_t i = 0; i < n; ++i) {
    if (labels[static_cast<size_t>(i)] < 0 || labels[static_cast<size_t>(i)] >= rows.classes)
      throw Error(fmt::format("calibration: label {} of row {} is not a class in [0, {})",
                              labels[static_cast<size_t>(i)], i, rows.classes));
    if (cols == 1) rows.z.push_back(0.0);
    for (int64_t c = 0; c < cols; ++c) rows.z.push_back(v[i * cols + c]);
  }
  return rows;
}

// log softmax(z / T) of one row, max subtracted first.
void log_softmax_row(const double* z, int64_t classes, double temperature, double* out) {
  const double top = *std::max_element(z, z + classes) / temperature;
  double total = 0;
  for (int64_t c = 0; c < classes; ++c) total += std::exp(z[c] / temperature - top);
  const double log_total = top + std::log(total);
  for (int64_t c = 0; c < classes; ++c) out[c] = z[c] / temperature - log_total;
}

// Bins (lo, hi] of equal width; a confidence of exactly 0 joins the first.
size_t bin_of(double confidence) {
  const double scaled = std::ceil(confidence * kCalibrationBins) - 1;
  return static_cast<size_t>(std::clamp(scaled, 0.0, kCalibrationBins - 1.0));
}

ConfidenceStats stats_of_rows(const LogitRows& rows, const std::vector<int64_t>& labels,
                              double temperature) {
  ConfidenceStats s;
  s.temperature = temperature;
  s.bins.resize(kCalibrationBins);
  for (size_t b = 0; b < s.bins.size(); ++b)
    s.bins[b] = {static_cast<double>(b) / kCalibrationBins,
                 static_cast<double>(b + 1) / kCalibrationBins, 0, 0, 0};
  std::vector<double> logp(static_cast<size_t>(rows.classes));
  for (int64_t i = 0; i < rows.n; ++i) {
    log_softmax_row(rows.z.data() + i * rows.classes, rows.classes, temperature, logp.data());
    const auto best = std::max_element(logp.begin(), logp.end());
    const double confidence = std::exp(*best);
    const bool correct = best - logp.begin() == labels[static_cast<size_t>(i)];
    double entropy = 0;
    for (double lp : logp) entropy -= std::exp(lp) * lp;
    s.accuracy += correct;
    s.mean_confidence += confidence;
    s.mean_entropy += entropy;
    s.confident_wrong_rate += confidence > kConfidentProbability && !correct;
    s.nll -= logp[static_cast<size_t>(labels[static_cast<size_t>(i)])];
    ReliabilityBin& bin = s.bins[bin_of(confidence)];
    ++bin.count;
    bin.confidence += confidence;
    bin.accuracy += correct;
  }
  const double n = static_cast<double>(rows.n);
  for (double* mean :
       {&s.accuracy, &s.mean_confidence, &s.mean_entropy, &s.confident_wrong_rate, &s.nll})
    *mean /= n;
  for (ReliabilityBin& bin : s.bins) {
    if (bin.count == 0) continue;
    bin.confidence /= static_cast<double>(bin.count);
    bin.accuracy /= static_cast<double>(bin.count);
    s.ece += static_cast<double>(bin.count) / n * std::abs(bin.accuracy - bin.confidence);
  }
  return s;
}

}  // namespace

ConfidenceStats confidence_stats(const Tensor& logits, const std::vector<int64_t>& labels,
                                 double temperature) {
  if (!(temperature > 0))
    throw Error(fmt::format("calibration: the temperature must be > 0, got {}", temperature));
  return stats_of_rows(logit_rows(logits, labels), labels, temperature);
}

double fit_temperature(const Tensor& logits, const std::vector<int64_t>& labels) {
  const LogitRows rows = logit_rows(logits, labels);
  const auto nll = [&](double log_t) { return stats_of_rows(rows, labels, std::exp(log_t)).nll; };
  // Golden-section search: each step keeps the part of [a, b] that holds the minimum and reuses
  // one of the two inner points.
  const double ratio = (std::sqrt(5.0) - 1) / 2;
  double a = std::log(kMinTemperature), b = std::log(kMaxTemperature);
  double c = b - ratio * (b - a), d = a + ratio * (b - a);
  double fc = nll(c), fd = nll(d);
  while (b - a > 1e-5) {
    if (fc <= fd) {
      b = d, d = c, fd = fc;
      c = b - ratio * (b - a), fc = nll(c);
    } else {
      a = c, c = d, fc = fd;
      d = a + ratio * (b - a), fd = nll(d);
    }
  }
  return std::exp((a + b) / 2);
}

}  // namespace actlab
