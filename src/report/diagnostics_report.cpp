// The diagnosis report: a self-contained report.html with the findings and their advice, the
// per-layer statistics, gradient norms, a decoder's attention heads, and the reliability
// diagram before and after temperature scaling.
#include "actlab/lab/diagnostics.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cmath>

#include "actlab/report/attention_report.hpp"
#include "actlab/report/report.hpp"
#include "actlab/report/run_report.hpp"

namespace actlab {
namespace {

void add_findings(report::Document& doc, const std::vector<Finding>& findings) {
  doc.heading("Findings");
  if (findings.empty()) {
    doc.paragraph("No findings: no number below crosses a threshold of actlab/lab/diagnostics.hpp.");
    return;
  }
  report::Table table{"Findings and what to try", {"severity", "layer", "finding", "advice"}, {}};
  for (const Finding& f : findings)
    table.rows.push_back(
        {f.severity, f.layer, f.message, fmt::format("{}", fmt::join(f.advice, "; "))});
  doc.add(table);
}

// Accuracy against mean confidence per bin; an empty bin leaves a gap in the line.
report::Series reliability(const ConfidenceStats& s, const std::string& name) {
  report::Series series{name, {}, {}};
  for (const ReliabilityBin& b : s.bins) {
    series.x.push_back(b.count > 0 ? b.confidence : (b.lo + b.hi) / 2);
    series.y.push_back(b.count > 0 ? b.accuracy : NAN);
  }
  return series;
}

std::vector<std::string> stats_row(const ConfidenceStats& s, const std::string& name) {
  return {name,
          fmt::format("{:.3g}", s.temperature),
          fmt::format("{:.1f}%", 100 * s.accuracy),
          fmt::format("{:.1f}%", 100 * s.mean_confidence),
          fmt::format("{:.3f}", s.mean_entropy),
          fmt::format("{:.1f}%", 100 * s.confident_wrong_rate),
          fmt::format("{:.4f}", s.nll),
          fmt::format("{:.4f}", s.ece)};
}

void add_calibration(report::Document& doc, const Calibration& c) {
  doc.heading("Confidence and calibration (test split)");
  doc.paragraph(fmt::format(
      "Expected calibration error over {} equal-width confidence bins, and temperature scaling: "
      "the T that minimises the test NLL (Guo et al. 2017). T is fit on the split it is measured "
      "on, so the numbers after scaling are slightly optimistic.",
      kCalibrationBins));
  report::LineChart chart{
      "Reliability diagram", "confidence (mean max probability in the bin)", "accuracy", false, {}};
  chart.series = {reliability(c.before, "T = 1"),
                  reliability(c.after, fmt::format("T = {:.2f}", c.after.temperature)),
                  {"perfect calibration", {0, 1}, {0, 1}}};
  doc.add(chart);
  doc.add(report::Table{"Confidence at each temperature",
                        {"", "T", "accuracy", "mean max prob", "mean entropy (nats)",
                         "confident (> 90%) but wrong", "NLL", "ECE"},
                        {stats_row(c.before, "before"), stats_row(c.after, "after scaling")}});
}

}  // namespace

void write_diagnosis_report(const std::string& path, const Diagnosis& d) {
  report::Document doc(fmt::format("actlab diagnose: {} / {}", d.task, d.model));
  doc.paragraph(fmt::format(
      "Task {} ({}), model {}, analysed after {} training steps: test loss {:.4g}{}.",
      d.task, data::to_string(d.kind), d.model, d.steps, d.test_loss,
      d.test_accuracy ? fmt::format(", test accuracy {:.1f}%", 100 * *d.test_accuracy) : ""));
  add_findings(doc, d.findings);
  std::vector<LayerStats> layers;
  for (const LayerDiagnosis& l : d.layers) layers.push_back(l.stats);
  add_layer_statistics(doc, "Activations per layer (test split)", layers, d.grad_norms,
                       "Gradient norm per weight (one training batch)");
  add_attention_head_stats(doc, d.attention);
  if (d.calibration) add_calibration(doc, *d.calibration);
  doc.add_json("Diagnosis", to_json(d));
  doc.write(path);
}

}  // namespace actlab
