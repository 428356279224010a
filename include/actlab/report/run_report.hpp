// The report.html of a training run, and the per-layer statistics that the diagnose report
// shares with it.
#pragma once

#include <string>
#include <vector>

#include "actlab/report/report.hpp"
#include "actlab/train/train.hpp"

namespace actlab {

// The run's report.html: loss and accuracy curves, the decision boundary of 2-D classifiers
// over the test points, and per-layer activation statistics and gradient norms.
void write_run_report(const std::string& path, Trainer& trainer, const TrainResult& result);

// Per-layer activation statistics under `heading` (bar charts side by side, and a table), then
// the gradient norm of each weight in a log-scale chart titled `grad_title`; parts with no
// data are left out.
void add_layer_statistics(report::Document& doc, const std::string& heading,
                          const std::vector<LayerStats>& layers,
                          const std::vector<GradNorm>& grad_norms, const std::string& grad_title);

}  // namespace actlab
