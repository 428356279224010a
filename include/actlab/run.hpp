// A training run on disk: the resolved config, metrics (CSV and JSON lines), the last good
// checkpoint and a self-contained report.html, all written atomically into one folder.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "actlab/config.hpp"
#include "actlab/train.hpp"

namespace actlab {

namespace report {
class Document;
}

// runs/<config file's stem>-<YYYYmmdd-HHMMSS>
std::string default_run_dir(const std::string& config_path);

struct RunSummary {
  TrainResult result;
  std::string dir;
  nlohmann::json metrics;  // what `actlab train --json` prints
};

// Trains `config` and writes the run directory `dir` (created if missing): config.json,
// metrics.csv, metrics.jsonl, checkpoint.bin (saved at every evaluation whose loss is finite,
// so a run that diverges keeps its last good state) and report.html.
RunSummary train_run(const Config& config, const std::string& dir,
                     const TrainCallbacks& callbacks = {});

// The run's report.html: loss and accuracy curves, the decision boundary of 2-D classifiers
// over the test points, and per-layer activation statistics and gradient norms.
void write_run_report(const std::string& path, Trainer& trainer, const TrainResult& result);

// Per-layer activation statistics under `heading` (bar charts side by side, and a table), then
// the gradient norm of each weight in a log-scale chart titled `grad_title`; parts with no
// data are left out.
void add_layer_statistics(report::Document& doc, const std::string& heading,
                          const std::vector<LayerStats>& layers,
                          const std::vector<GradNorm>& grad_norms, const std::string& grad_title);

// One layer's activation statistics as a JSON object.
nlohmann::json to_json(const LayerStats& stats);
// One evaluation as a JSON object (the lines of metrics.jsonl).
nlohmann::json to_json(const EvalRecord& record);
// The final metrics of a run (`actlab train --json`).
nlohmann::json summary_json(const TrainResult& result, const std::string& dir);

}  // namespace actlab
