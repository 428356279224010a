// Writing a training run's folder (the only code that knows its file names): config, metrics,
// checkpoint, and the report that report/run_report.cpp draws.
#include "actlab/io/run.hpp"

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <algorithm>
#include <bit>
#include <chrono>
#include <cmath>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>

#include "actlab/io/safetensors.hpp"
#include "actlab/detail/fields.hpp"
#include "actlab/io/serialize.hpp"
#include "actlab/report/run_report.hpp"

namespace actlab {
namespace {

namespace fs = std::filesystem;

nlohmann::json optional_json(const std::optional<double>& v) {
  return v ? nlohmann::json(*v) : nlohmann::json(nullptr);
}

std::string csv_cell(const std::optional<double>& v) { return v ? fmt::format("{}", *v) : ""; }

std::string metrics_csv(const TrainResult& result) {
  std::string out =
      "step,epoch,lr,train_loss,test_loss,train_accuracy,test_accuracy,steps_per_second\n";
  for (const EvalRecord& r : result.history)
    out += fmt::format("{},{},{},{},{},{},{},{}\n", r.step, r.epoch, r.lr, r.train_loss,
                       r.test_loss, csv_cell(r.train_accuracy), csv_cell(r.test_accuracy),
                       r.steps_per_second);
  return out;
}

std::string metrics_jsonl(const TrainResult& result) {
  std::string out;
  for (const EvalRecord& r : result.history) out += to_json(r).dump() + "\n";
  return out;
}

}  // namespace

std::string default_run_dir(const std::string& config_path) {
  const std::time_t now = std::time(nullptr);
  return fmt::format("runs/{}-{:%Y%m%d-%H%M%S}", fs::path(config_path).stem().string(),
                     fmt::localtime(now));
}

nlohmann::json to_json(const LayerStats& s) {
  return {{"name", s.name},
          {"activation", s.activation},
          {"mean", s.mean},
          {"std", s.std},
          {"zero_fraction", s.zero_fraction},
          {"dead_fraction", s.dead_fraction},
          {"saturated_fraction", s.saturated_fraction}};
}

nlohmann::json to_json(const EvalRecord& r) {
  nlohmann::json layers = nlohmann::json::array();
  for (const LayerStats& s : r.layers) layers.push_back(to_json(s));
  nlohmann::json grads = nlohmann::json::object();
  for (const GradNorm& g : r.grad_norms) grads[g.name] = g.norm;
  return {{"step", r.step},
          {"epoch", r.epoch},
          {"lr", r.lr},
          {"train_loss", r.train_loss},
          {"test_loss", r.test_loss},
          {"train_accuracy", optional_json(r.train_accuracy)},
          {"test_accuracy", optional_json(r.test_accuracy)},
          {"steps_per_second", r.steps_per_second},
          {"layers", layers},
          {"grad_norms", grads}};
}

nlohmann::json summary_json(const TrainResult& result, const std::string& dir) {
  nlohmann::json out = {{"run_dir", dir},
                        {"steps", result.steps},
                        {"seconds", result.seconds},
                        {"parameters", result.parameter_count},
                        {"diverged", result.diverged},
                        {"steps_to_target", result.steps_to_target
                                                ? nlohmann::json(*result.steps_to_target)
                                                : nlohmann::json(nullptr)}};
  if (result.diverged) out["failure"] = result.failure;
  if (result.stopped) out["stopped"] = true;
  if (!result.history.empty()) {
    const EvalRecord& last = result.history.back();
    out["final"] = {{"step", last.step},
                    {"train_loss", last.train_loss},
                    {"test_loss", last.test_loss},
                    {"train_accuracy", optional_json(last.train_accuracy)},
                    {"test_accuracy", optional_json(last.test_accuracy)},
                    {"steps_per_second", last.steps_per_second}};
  }
  for (const auto& [name, values] : result.activation_parameters)
    out["activation_parameters"][name] = values;
  return out;
}

namespace {

constexpr const char* kConfigFile = "config.json";
constexpr const char* kCheckpointFile = "checkpoint.bin";
constexpr const char* kWeightsFile = "model.safetensors";
constexpr const char* kMetricsCsvFile = "metrics.csv";
constexpr const char* kMetricsJsonlFile = "metrics.jsonl";
constexpr const char* kReportFile = "report.html";
// The version of the "progress" object in checkpoints' meta, for what reads it to check.
constexpr int kProgressVersion = 1;

std::string file_in(const std::string& dir, const char* name) {
  return (fs::path(dir) / name).string();
}

nlohmann::json to_json(const Generator::State& s) {
  // The Box-Muller spare as its bits: exact, and never a NaN that JSON cannot hold.
  return {{"state", s.state},
          {"inc", s.inc},
          {"spare", s.has_spare ? nlohmann::json(std::bit_cast<uint64_t>(s.spare))
                                : nlohmann::json(nullptr)}};
}

Generator::State generator_from_json(const nlohmann::json& doc) {
  Generator::State s;
  s.state = doc.at("state").get<uint64_t>();
  s.inc = doc.at("inc").get<uint64_t>();
  const nlohmann::json& spare = doc.at("spare");
  s.has_spare = !spare.is_null();
  if (s.has_spare) s.spare = std::bit_cast<double>(spare.get<uint64_t>());
  return s;
}

// JSON writes NaN as null.
double number_from_json(const nlohmann::json& doc) {
  return doc.is_null() ? NAN : doc.get<double>();
}

std::optional<double> optional_from_json(const nlohmann::json& doc) {
  return doc.is_null() ? std::nullopt : std::optional<double>(doc.get<double>());
}

// A record as metrics.jsonl holds it, but with the gradient norms as a list, in model order.
nlohmann::json record_json(const EvalRecord& r) {
  nlohmann::json doc = to_json(r);
  nlohmann::json grads = nlohmann::json::array();
  for (const GradNorm& g : r.grad_norms) grads.push_back({{"name", g.name}, {"norm", g.norm}});
  doc["grad_norms"] = std::move(grads);
  return doc;
}

EvalRecord record_from_json(const nlohmann::json& doc) {
  EvalRecord r;
  r.step = doc.at("step").get<int64_t>();
  r.epoch = doc.at("epoch").get<int64_t>();
  r.lr = number_from_json(doc.at("lr"));
  r.train_loss = number_from_json(doc.at("train_loss"));
  r.test_loss = number_from_json(doc.at("test_loss"));
  r.train_accuracy = optional_from_json(doc.at("train_accuracy"));
  r.test_accuracy = optional_from_json(doc.at("test_accuracy"));
  r.steps_per_second = number_from_json(doc.at("steps_per_second"));
  for (const nlohmann::json& layer : doc.at("layers"))
    r.layers.push_back({layer.at("name").get<std::string>(),
                        layer.at("activation").get<std::string>(),
                        number_from_json(layer.at("mean")), number_from_json(layer.at("std")),
                        number_from_json(layer.at("zero_fraction")),
                        number_from_json(layer.at("dead_fraction")),
                        number_from_json(layer.at("saturated_fraction"))});
  for (const nlohmann::json& g : doc.at("grad_norms"))
    r.grad_norms.push_back({g.at("name").get<std::string>(), number_from_json(g.at("norm"))});
  return r;
}

// The progress without its history (an empty list): where the run stands.
nlohmann::json position_json(const TrainProgress& p) {
  nlohmann::json generators = nlohmann::json::array();
  for (const auto& [name, state] : p.model_generators) {
    nlohmann::json g = to_json(state);
    g["name"] = name;
    generators.push_back(std::move(g));
  }
  return {{"version", kProgressVersion},
          {"step", p.step},
          {"epoch", p.epoch},
          {"finished", p.finished},
          {"steps_to_target",
           p.steps_to_target ? nlohmann::json(*p.steps_to_target) : nlohmann::json(nullptr)},
          {"batch_generator", to_json(p.batch_generator)},
          {"batches",
           {{"order", p.batches.order},
            {"cursor", p.batches.cursor},
            {"in_epoch", p.batches.in_epoch}}},
          {"model_generators", std::move(generators)},
          {"history", nlohmann::json::array()}};
}

// Trains (or, given `from`, resumes) in `dir`: a checkpoint at every good evaluation, then the
// metrics and the report of the whole run.
RunSummary run_in_dir(Trainer& trainer, const std::string& dir, const TrainCallbacks& callbacks,
                      const TrainProgress* from) {
  const std::string checkpoint = file_in(dir, kCheckpointFile);
  // The records saved so far, as JSON: each is converted once, not at every checkpoint, which
  // would cost a run that evaluates at every step time quadratic in its length.
  nlohmann::json history = nlohmann::json::array();
  TrainCallbacks hooked = callbacks;
  hooked.on_good_state = [&](int64_t step) {
    const TrainProgress& progress = trainer.progress();
    for (size_t i = history.size(); i < progress.history.size(); ++i)
      history.push_back(record_json(progress.history[i]));
    nlohmann::json meta = {{"step", step},
                           {"config", trainer.config().resolved},
                           {"progress", position_json(progress)}};
    meta["progress"]["history"] = std::move(history);
    save_checkpoint(checkpoint, trainer.model(), &trainer.optimizer(), meta);
    save_safetensors(file_in(dir, kWeightsFile), trainer.model());
    history = std::move(meta["progress"]["history"]);
    if (callbacks.on_good_state) callbacks.on_good_state(step);
  };
  RunSummary summary{from ? trainer.resume(*from, hooked) : trainer.run(hooked), dir, {}, {}};
  summary.metrics = summary_json(summary.result, dir);
  write_file_atomically(file_in(dir, kMetricsCsvFile), metrics_csv(summary.result));
  write_file_atomically(file_in(dir, kMetricsJsonlFile), metrics_jsonl(summary.result));
  write_run_report(file_in(dir, kReportFile), trainer, summary.result);
  return summary;
}

// The file's bytes, or nothing when it cannot be read.
std::optional<std::string> read_if_readable(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream bytes;
  bytes << in.rdbuf();
  if (in.bad()) return std::nullopt;
  return bytes.str();
}

// Rewrites those of a finished run's metrics and report that are missing or damaged: the
// metrics unless they are exactly what the history gives, the report when it is not a whole
// page (a write cut short by a full disk leaves none). Returns the names of the files written.
std::vector<std::string> repair_finished_run(Trainer& trainer, const std::string& dir,
                                             const TrainResult& result) {
  std::vector<std::string> rewritten;
  const auto repair = [&](const char* name, const std::string& bytes) {
    if (read_if_readable(file_in(dir, name)) == bytes) return;
    write_file_atomically(file_in(dir, name), bytes);
    rewritten.push_back(name);
  };
  repair(kMetricsCsvFile, metrics_csv(result));
  repair(kMetricsJsonlFile, metrics_jsonl(result));
  const std::optional<std::string> report = read_if_readable(file_in(dir, kReportFile));
  if (!report || !report->ends_with("</html>\n")) {
    write_run_report(file_in(dir, kReportFile), trainer, result);
    rewritten.push_back(kReportFile);
  }
  return rewritten;
}

// The first difference between two configs, e.g. "/optimizer/lr is 0.001 in the checkpoint
// but 0.01 in config.json" (where = {"in the checkpoint", "in config.json"}).
std::string first_difference(const nlohmann::json& saved, const nlohmann::json& current,
                             const std::pair<const char*, const char*>& where) {
  const nlohmann::json patch = nlohmann::json::diff(saved, current);
  const std::string path = patch.at(0).at("path").get<std::string>();
  const auto value_at = [&path](const nlohmann::json& doc) {
    const nlohmann::json::json_pointer pointer(path);
    return doc.contains(pointer) ? detail::found_text(doc.at(pointer)) : std::string("nothing");
  };
  return fmt::format("{} is {} {} but {} {}", path.empty() ? "/" : path, value_at(saved),
                     where.first, value_at(current), where.second);
}

const std::vector<std::string> kRunFiles = {kConfigFile,       kCheckpointFile,
                                            kWeightsFile,      kMetricsCsvFile,
                                            kMetricsJsonlFile, kReportFile};

// The names in a directory but its lock file and the temp files of killed writes of run files.
std::vector<std::string> entries_of(const std::string& dir) {
  remove_temp_files(dir, kRunFiles);
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    std::string name = entry.path().filename().string();
    if (name != kLockFile) names.push_back(std::move(name));
  }
  if (ec) throw RunDirError(fmt::format("{}: cannot list it: {}", dir, ec.message()));
  std::sort(names.begin(), names.end());
  return names;
}

bool holds(const std::vector<std::string>& names, const char* name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

// "not empty (it holds notes.txt and 2 more)".
std::string not_empty(const std::vector<std::string>& names) {
  const std::string first = detail::quoted_excerpt(names.front());
  if (names.size() == 1) return fmt::format("not empty (it holds {})", first);
  return fmt::format("not empty (it holds {} and {} more)", first, names.size() - 1);
}

// The config a run directory holds, as written; nothing when it has none or it is not JSON.
std::optional<nlohmann::json> saved_config(const std::string& dir) {
  const std::optional<std::string> text = read_if_readable(file_in(dir, kConfigFile));
  if (!text) return std::nullopt;
  nlohmann::json doc = nlohmann::json::parse(*text, nullptr, false);
  if (doc.is_discarded()) return std::nullopt;
  return doc;
}

}  // namespace

nlohmann::json to_json(const TrainProgress& p) {
  nlohmann::json doc = position_json(p);
  for (const EvalRecord& r : p.history) doc["history"].push_back(record_json(r));
  return doc;
}

TrainProgress progress_from_json(const nlohmann::json& doc) {
  const int version = doc.at("version").get<int>();
  if (version != kProgressVersion)
    throw Error(fmt::format("progress version {} is not supported (this build reads version {})",
                            version, kProgressVersion));
  TrainProgress p;
  p.step = doc.at("step").get<int64_t>();
  p.epoch = doc.at("epoch").get<int64_t>();
  p.finished = doc.at("finished").get<bool>();
  const nlohmann::json& target = doc.at("steps_to_target");
  if (!target.is_null()) p.steps_to_target = target.get<int64_t>();
  p.batch_generator = generator_from_json(doc.at("batch_generator"));
  const nlohmann::json& batches = doc.at("batches");
  p.batches = {batches.at("order").get<std::vector<int64_t>>(),
               batches.at("cursor").get<int64_t>(), batches.at("in_epoch").get<bool>()};
  for (const nlohmann::json& g : doc.at("model_generators"))
    p.model_generators.emplace_back(g.at("name").get<std::string>(), generator_from_json(g));
  for (const nlohmann::json& r : doc.at("history")) p.history.push_back(record_from_json(r));
  return p;
}

nlohmann::json to_json(const TrainResult& r) {
  nlohmann::json history = nlohmann::json::array();
  for (const EvalRecord& record : r.history) history.push_back(record_json(record));
  return {{"history", std::move(history)},
          {"steps", r.steps},
          {"steps_to_target",
           r.steps_to_target ? nlohmann::json(*r.steps_to_target) : nlohmann::json(nullptr)},
          {"diverged", r.diverged},
          {"stopped", r.stopped},
          {"failure", r.failure},
          {"parameter_count", r.parameter_count},
          {"seconds", r.seconds},
          {"activation_parameters", r.activation_parameters}};
}

TrainResult train_result_from_json(const nlohmann::json& doc) {
  TrainResult r;
  for (const nlohmann::json& record : doc.at("history")) r.history.push_back(record_from_json(record));
  r.steps = doc.at("steps").get<int64_t>();
  const nlohmann::json& target = doc.at("steps_to_target");
  if (!target.is_null()) r.steps_to_target = target.get<int64_t>();
  r.diverged = doc.at("diverged").get<bool>();
  r.stopped = doc.at("stopped").get<bool>();
  r.failure = doc.at("failure").get<std::string>();
  r.parameter_count = doc.at("parameter_count").get<int64_t>();
  r.seconds = number_from_json(doc.at("seconds"));
  r.activation_parameters = doc.at("activation_parameters")
                                .get<std::vector<std::pair<std::string, std::vector<float>>>>();
  return r;
}

RunSummary train_run(const Config& config, const std::string& dir,
                     const TrainCallbacks& callbacks) {
  Trainer trainer(config);
  return train_run(trainer, dir, callbacks);
}

RunSummary train_run(Trainer& trainer, const std::string& dir, const TrainCallbacks& callbacks) {
  fs::create_directories(dir);
  write_file_atomically(file_in(dir, kConfigFile), trainer.config().resolved.dump(2) + "\n");
  return run_in_dir(trainer, dir, callbacks, nullptr);
}

std::string weights_path(const std::string& dir) { return file_in(dir, kWeightsFile); }

void check_run_dir(const std::string& dir) {
  std::error_code ec;
  const fs::file_status status = fs::status(dir, ec);
  if (!fs::is_directory(status)) {
    const bool missing = status.type() == fs::file_type::not_found;
    throw RunDirError(fmt::format("{}: not a run directory{}", dir,
                                  missing ? ""
                                  : ec    ? " (" + ec.message() + ")"
                                          : " (it is not a directory)"));
  }
  const auto require = [&dir](const char* name, const char* why) {
    std::error_code file_ec;
    if (!fs::is_regular_file(file_in(dir, name), file_ec))
      throw RunDirError(fmt::format("{}: missing {} ({})", dir, name, why));
  };
  require(kConfigFile, "not a run directory written by actlab train?");
  require(kCheckpointFile, "the run saved no checkpoint: it stopped before its first evaluation");
}

Config run_config(const std::string& dir) {
  check_run_dir(dir);
  return load_config(file_in(dir, kConfigFile));
}

SavedRun open_run(const std::string& dir) {
  Config config = run_config(dir);
  const std::string checkpoint = file_in(dir, kCheckpointFile);
  const TensorFile file = read_tensor_file(checkpoint);
  if (!file.meta.contains("progress"))
    throw CheckpointError(checkpoint, "holds no training progress (an older actlab saved it), "
                                      "so the run cannot be resumed");
  const nlohmann::json saved_config = file.meta.value("config", nlohmann::json());
  if (saved_config != config.resolved)
    throw CheckpointError(checkpoint, fmt::format("saved with a different config than {}: {}; "
                                                  "put the config back to resume",
                                                  kConfigFile,
                                                  first_difference(saved_config, config.resolved,
                                                                   {"in the checkpoint",
                                                                    "in config.json"})));
  SavedRun run{dir, std::make_unique<Trainer>(std::move(config)), {}};
  load_checkpoint(file, checkpoint, run.trainer->model(), &run.trainer->optimizer());
  try {
    run.progress = progress_from_json(file.meta.at("progress"));
    run.trainer->check_progress(run.progress);
  } catch (const std::exception& e) {
    throw CheckpointError(checkpoint, fmt::format("bad training progress: {}", e.what()));
  }
  return run;
}

RunSummary resume_run(SavedRun& run, const TrainCallbacks& callbacks) {
  if (run.progress.finished) {
    RunSummary summary{run.trainer->resume(run.progress, callbacks), run.dir, {}, {}};
    summary.metrics = summary_json(summary.result, run.dir);
    summary.rewritten = repair_finished_run(*run.trainer, run.dir, summary.result);
    return summary;
  }
  RunSummary summary = run_in_dir(*run.trainer, run.dir, callbacks, &run.progress);
  remove_temp_files(run.dir, kRunFiles);
  return summary;
}

ClaimedRunDir claim_run_dir(const std::string& dir, const Config& config, bool force) {
  ClaimedRunDir claimed{lock_output_dir(dir), false};
  const std::vector<std::string> names = entries_of(dir);
  if (names.empty()) return claimed;
  if (force) {
    for (const std::string& name : kRunFiles) {
      std::error_code ec;
      fs::remove(file_in(dir, name.c_str()), ec);
      if (ec) throw RunDirError(fmt::format("{}: cannot remove {}: {}", dir, name, ec.message()));
    }
    return claimed;
  }
  const std::optional<nlohmann::json> saved = saved_config(dir);
  if (saved == config.resolved) {
    claimed.holds_this_run = holds(names, kCheckpointFile);
    return claimed;
  }
  const std::string what =
      saved ? fmt::format("holds a run of another config ({})",
                          first_difference(*saved, config.resolved, {"there", "here"}))
            : not_empty(names);
  throw RunDirError(fmt::format("{}: {}; choose another --out, or --force to replace actlab's "
                                "files in it",
                                dir, what));
}

DirLock claim_output_dir(const std::string& dir, bool force) {
  DirLock lock = lock_output_dir(dir);
  const std::vector<std::string> names = entries_of(dir);
  if (holds(names, kConfigFile) || holds(names, kCheckpointFile))
    throw RunDirError(fmt::format("{}: holds a training run, whose {} this would replace; "
                                  "choose another --out",
                                  dir, kReportFile));
  if (!names.empty() && !force)
    throw RunDirError(fmt::format("{}: {}; choose another --out, or --force to replace "
                                  "actlab's files in it",
                                  dir, not_empty(names)));
  return lock;
}

}  // namespace actlab
