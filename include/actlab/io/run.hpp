// A training run on disk: the resolved config, metrics (CSV and JSON lines), the last good
// checkpoint and a self-contained report.html, all written atomically into one folder.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "actlab/io/lock.hpp"
#include "actlab/train/config.hpp"
#include "actlab/train/train.hpp"

namespace actlab {

// runs/<config file's stem>-<YYYYmmdd-HHMMSS>
std::string default_run_dir(const std::string& config_path);

struct RunSummary {
  TrainResult result;
  std::string dir;
  nlohmann::json metrics;  // what `actlab train --json` prints
  std::vector<std::string> rewritten;  // files resume_run repaired in a finished run
};

// Trains `config` and writes the run directory `dir` (created if missing): config.json,
// metrics.csv, metrics.jsonl, checkpoint.bin (saved at every evaluation whose loss is finite,
// so a run that diverges keeps its last good state) with model.safetensors beside it, and
// report.html. The checkpoint's meta
// holds {"step", "config" (resolved), "progress" (to_json of Trainer::progress())}, so
// resume_run can continue the run from it; a run that callbacks.should_stop ends is written
// as it stands.
RunSummary train_run(const Config& config, const std::string& dir,
                     const TrainCallbacks& callbacks = {});
// The same with a trainer already made from the config (e.g. to check a step against its
// total_steps() first).
RunSummary train_run(Trainer& trainer, const std::string& dir,
                     const TrainCallbacks& callbacks = {});

// The run's model.safetensors: the weights of its last checkpoint, written with it, under the
// names of the equivalent torch.nn module's state_dict() (io/safetensors.hpp).
std::string weights_path(const std::string& dir);

// Throws RunDirError unless `dir` is a directory holding config.json and checkpoint.bin, as
// train_run writes them: "runs/x: missing checkpoint.bin (the run saved no checkpoint: ...)".
void check_run_dir(const std::string& dir);

// A directory that `actlab train CONFIG --out DIR` may write into, locked for as long as this
// lives.
struct ClaimedRunDir {
  DirLock lock;
  bool holds_this_run = false;  // DIR holds a checkpointed run of this very config: resume it
};

// Creates and locks DIR (lock_output_dir) for a run of `config`, and removes the temp files
// that killed writes left there. With `force`, actlab's run files in DIR (config.json,
// checkpoint.bin, metrics.csv, metrics.jsonl, report.html) are removed, so the run starts
// afresh, and nothing else is touched. Without it, DIR must be empty (but for its lock file) or
// hold a run of this very config (config.json equal to config.resolved); else throws
// RunDirError naming what DIR holds: "runs/x: holds a run of another config (/optimizer/lr is
// 0.001 there but 0.01 here); ...".
ClaimedRunDir claim_run_dir(const std::string& dir, const Config& config, bool force);

// Creates and locks DIR (lock_output_dir) for a command that writes its own files into it
// (compare's summaries, a report.html). Throws RunDirError when DIR holds a training run,
// whose report.html it would replace, or holds anything else and `force` is false.
DirLock claim_output_dir(const std::string& dir, bool force);

// The config of the run in `dir` (its config.json), checked: what open_run would build, to be
// looked at first (its memory estimate). Throws as open_run does for a missing or bad file.
Config run_config(const std::string& dir);

// A run directory opened to continue it: a trainer made from its config.json, holding the
// model's parameters and the optimiser's state of its checkpoint.bin, and where the run stood.
struct SavedRun {
  std::string dir;
  std::unique_ptr<Trainer> trainer;
  TrainProgress progress;
};

// Reads and checks a run directory and writes nothing. Throws RunDirError (check_run_dir),
// FieldError for a bad config.json, and Error naming the checkpoint when it is damaged, holds
// no progress (saved by an older actlab) or was saved with another config than config.json.
SavedRun open_run(const std::string& dir);

// Continues a saved run to its end (or until callbacks.should_stop), saving checkpoints as
// train_run does, and rewrites metrics.csv, metrics.jsonl and report.html to cover the whole
// run: they match an uninterrupted run's except in timings (steps_per_second, seconds).
// Temp files that a killed write left in the folder are removed once it has run. A finished
// run is not trained again; of its metrics.csv, metrics.jsonl and report.html, those missing
// or damaged (not what the checkpoint's history gives; a report cut short) are rewritten from
// the checkpoint, and RunSummary::rewritten names them.
RunSummary resume_run(SavedRun& run, const TrainCallbacks& callbacks = {});

// Where a run stands, as checkpoints keep it (every number exact: generator states as
// integers, doubles as JSON's shortest round trip), and back. progress_from_json throws
// nlohmann::json exceptions or Error on a malformed document.
nlohmann::json to_json(const TrainProgress& progress);
TrainProgress progress_from_json(const nlohmann::json& doc);

// A whole result, every number exact (as checkpoints keep progress), and back: how a shard of a
// sweep hands its runs to the merge. train_result_from_json throws nlohmann::json exceptions on a
// malformed document.
nlohmann::json to_json(const TrainResult& result);
TrainResult train_result_from_json(const nlohmann::json& doc);

// One layer's activation statistics as a JSON object.
nlohmann::json to_json(const LayerStats& stats);
// One evaluation as a JSON object (the lines of metrics.jsonl).
nlohmann::json to_json(const EvalRecord& record);
// The final metrics of a run (`actlab train --json`).
nlohmann::json summary_json(const TrainResult& result, const std::string& dir);

}  // namespace actlab
