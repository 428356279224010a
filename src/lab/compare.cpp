// Sweeps: checking and expanding the grid, training the cells on threads, summarising groups,
// and writing summary.csv, summary.json and report.html.
#include "actlab/lab/compare.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <exception>
#include <filesystem>
#include <mutex>
#include <numeric>
#include <set>
#include <thread>

#include "actlab/core/memory.hpp"
#include "actlab/core/threads.hpp"
#include "actlab/detail/fields.hpp"
#include "actlab/io/serialize.hpp"
#include "actlab/report/report.hpp"
#include "actlab/train/data.hpp"

namespace actlab {
namespace {

using nlohmann::json;

constexpr const char* kSeedAxis = "train.seed";

std::string label_of(const json& value) {
  return value.is_string() ? value.get<std::string>() : value.dump();
}

GridAxis parse_axis(const std::string& path, const json& values, const json& labels) {
  const detail::FieldPath where{"grid", path};
  if (!values.is_array() || values.empty())
    throw FieldError(where, fmt::format("expected a non-empty list of values, found {}",
                                        detail::found_text(values)));
  GridAxis axis{path, {values.begin(), values.end()}, {}};
  if (labels.is_null()) {
    for (const json& v : values) axis.labels.push_back(label_of(v));
    return axis;
  }
  const bool fits = labels.is_array() && labels.size() == values.size() &&
                    std::all_of(labels.begin(), labels.end(), [](const json& l) { return l.is_string(); });
  if (!fits)
    throw FieldError({"labels", path}, fmt::format("expected {} strings, one per value of the "
                                                   "grid, found {}",
                                                   values.size(), detail::found_text(labels)));
  for (const json& l : labels) axis.labels.push_back(l.get<std::string>());
  for (size_t i = 0; i < axis.labels.size(); ++i)
    for (size_t j = 0; j < i; ++j)
      if (axis.labels[i] == axis.labels[j])
        throw FieldError({"labels", path, std::to_string(i)},
                         fmt::format("label \"{}\" is given twice; each value needs its own",
                                     axis.labels[i]));
  return axis;
}

// A cell's config error, placed where the user can fix it: under the grid axis whose value
// caused it, or under base.
FieldError locate(const FieldError& e, const Sweep& sweep, const std::vector<size_t>& index) {
  const std::string where = e.dotted_path();
  for (size_t a = 0; a < sweep.grid.size(); ++a) {
    const GridAxis& axis = sweep.grid[a];
    if (where == axis.path || where.starts_with(axis.path + "."))
      return FieldError({"grid", axis.path, std::to_string(index[a])},
                        fmt::format("{} (as {})", e.reason(), where.empty() ? "the config" : where));
  }
  return e.within("base");
}

double mean_of(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return v.empty() ? 0 : s / static_cast<double>(v.size());
}

Stat stat_of(const std::vector<double>& v) {
  Stat s{mean_of(v), 0, static_cast<int64_t>(v.size())};
  if (v.size() > 1) {
    double sq = 0;
    for (double x : v) sq += (x - s.mean) * (x - s.mean);
    s.std = std::sqrt(sq / static_cast<double>(v.size() - 1));  // sample std over seeds
  }
  return s;
}

// The metric a sweep's groups are compared on: test accuracy for classification; test loss
// for regression and for sequence tasks (nats per token: how language models are compared,
// and what moves when accuracy per character barely does).
bool by_accuracy(const Config& config) {
  return data::resolved_task_kind(config.task) != data::TaskKind::regression &&
         !data::is_sequence_task(config.task.at("name"));
}

double final_metric(const TrainResult& r, bool accuracy) {
  const EvalRecord& last = r.history.back();
  return accuracy ? last.test_accuracy.value_or(NAN) : last.test_loss;
}

// Each learned activation parameter over the runs that finished (diverged runs keep none).
std::vector<LearnedParameter> summarise_learned(const std::vector<const TrainResult*>& runs) {
  std::vector<LearnedParameter> learned;
  std::map<std::string, std::vector<double>> run_means;
  for (const TrainResult* r : runs)
    for (const auto& [name, values] : r->activation_parameters) {
      auto it = std::find_if(learned.begin(), learned.end(),
                             [&](const LearnedParameter& p) { return p.name == name; });
      if (it == learned.end()) {
        learned.push_back({name, {}, values.front(), values.front(), static_cast<int64_t>(values.size())});
        it = learned.end() - 1;
      }
      const auto [lo, hi] = std::minmax_element(values.begin(), values.end());
      it->min = std::min<double>(it->min, *lo);
      it->max = std::max<double>(it->max, *hi);
      run_means[name].push_back(mean_of(std::vector<double>(values.begin(), values.end())));
    }
  for (LearnedParameter& p : learned) p.mean = stat_of(run_means[p.name]);
  return learned;
}

GroupSummary summarise(const std::string& group, const std::vector<std::string>& labels,
                       const std::vector<const TrainResult*>& runs, bool accuracy) {
  GroupSummary g;
  g.group = group;
  g.labels = labels;
  g.runs = static_cast<int64_t>(runs.size());
  std::vector<double> metric, reach, ms, dead, ratio;
  size_t curve_length = SIZE_MAX;
  for (const TrainResult* r : runs) {
    g.parameters = r->parameter_count;
    if (r->diverged || r->history.empty()) {
      ++g.diverged;
      continue;
    }
    metric.push_back(final_metric(*r, accuracy));
    if (r->steps_to_target) reach.push_back(static_cast<double>(*r->steps_to_target));
    std::vector<double> step_ms;  // training only: evaluations are timed apart
    for (const EvalRecord& e : r->history)
      if (e.steps_per_second > 0) step_ms.push_back(1000.0 / e.steps_per_second);
    ms.push_back(mean_of(step_ms));
    const EvalRecord& last = r->history.back();
    if (!last.layers.empty()) {
      std::vector<double> per_layer;
      for (const LayerStats& s : last.layers) per_layer.push_back(100 * s.dead_fraction);
      dead.push_back(mean_of(per_layer));
    }
    if (last.grad_norms.size() >= 2 && last.grad_norms.back().norm > 0)
      ratio.push_back(last.grad_norms.front().norm / last.grad_norms.back().norm);
    curve_length = std::min(curve_length, r->history.size());
  }
  g.final_metric = stat_of(metric);
  g.final_values = metric;
  g.steps_to_target = stat_of(reach);
  g.ms_per_step = stat_of(ms);
  g.dead_percent = stat_of(dead);
  g.learned = summarise_learned(runs);
  // Seed-to-seed spread of gradient-norm ratios is log-normal-like: summarise in log space.
  for (double& r : ratio) r = std::log10(r);
  const Stat log_ratio = stat_of(ratio);
  g.grad_ratio = {std::pow(10.0, log_ratio.mean), log_ratio.std, log_ratio.count};
  if (metric.empty()) return g;
  for (size_t i = 0; i < curve_length; ++i) {
    std::vector<double> at;
    for (const TrainResult* r : runs)
      if (!r->diverged && !r->history.empty()) {
        g.curve_steps.resize(i + 1, static_cast<double>(r->history[i].step));
        at.push_back(accuracy ? r->history[i].test_accuracy.value_or(NAN) : r->history[i].test_loss);
      }
    g.curve_values.push_back(mean_of(at));
  }
  return g;
}

}  // namespace

std::string ratio_text(const Stat& ratio) {
  if (ratio.count == 0) return "-";
  if (ratio.count == 1) return fmt::format("{:.3g}", ratio.mean);
  return fmt::format("{:.3g} x/ {:.2g}", ratio.mean, std::pow(10.0, ratio.std));
}

namespace {

json stat_json(const Stat& s) { return {{"mean", s.mean}, {"std", s.std}, {"runs", s.count}}; }

// Runs f(i) for i in [0, n) on `jobs` threads; the first exception is rethrown after all join.
void parallel_for(size_t n, int jobs, const std::function<void(size_t)>& f) {
  std::atomic<size_t> next{0};
  std::exception_ptr failure;
  std::mutex failure_lock;
  const auto worker = [&] {
    for (size_t i; (i = next++) < n;) {
      try {
        f(i);
      } catch (...) {
        std::lock_guard<std::mutex> lock(failure_lock);
        if (!failure) failure = std::current_exception();
      }
    }
  };
  std::vector<std::thread> threads;
  for (int t = 1; t < jobs; ++t) threads.emplace_back(worker);
  worker();
  for (std::thread& t : threads) t.join();
  if (failure) std::rethrow_exception(failure);
}

}  // namespace

Sweep parse_sweep(const json& doc) {
  if (!doc.is_object())
    throw FieldError({}, fmt::format("expected a sweep object {{\"base\": ..., \"grid\": ...}}, "
                                     "found {}",
                                     detail::found_text(doc)));
  detail::reject_unknown_fields(doc, {"base", "grid", "labels"}, {}, "a sweep");
  if (!doc.contains("base") || !doc["base"].is_object())
    throw FieldError({"base"}, "expected the base config (an object)");
  if (!doc.contains("grid") || !doc["grid"].is_object() || doc["grid"].empty())
    throw FieldError({"grid"}, "expected an object of dotted paths to lists of values");
  const json labels = doc.value("labels", json::object());
  if (!labels.is_object()) throw FieldError({"labels"}, "expected an object of lists of strings");
  for (const auto& [path, l] : labels.items())
    if (!doc["grid"].contains(path))
      throw FieldError({"labels", path}, "labels for a path that is not in the grid");
  Sweep sweep{doc["base"], {}};
  int64_t cells = 1;
  for (const auto& [path, values] : doc["grid"].items()) {
    sweep.grid.push_back(parse_axis(path, values, labels.value(path, json())));
    cells *= static_cast<int64_t>(sweep.grid.back().values.size());
    if (cells > kMaxSweepCells)
      throw FieldError({"grid"}, fmt::format("the grid has more than {} cells", kMaxSweepCells));
  }
  // Checks every cell's config now, before any training. Groups are compared on one metric
  // (test accuracy, or test loss for regression and sequence tasks), so classification tasks
  // and the others do not mix.
  const std::vector<SweepCell> expanded = expand(sweep);
  for (const SweepCell& cell : expanded)
    if (by_accuracy(cell.config) != by_accuracy(expanded.front().config))
      throw FieldError({"grid"}, "a sweep compares classification tasks (by test accuracy) or "
                                 "regression and sequence tasks (by test loss), not both; "
                                 "sweep them separately");
  return sweep;
}

Sweep load_sweep(const std::string& path) {
  return parse_sweep(read_json_file(path, "sweep file"));
}

std::vector<SweepCell> expand(const Sweep& sweep) {
  std::vector<SweepCell> cells;
  std::vector<size_t> index(sweep.grid.size(), 0);
  for (;;) {
    json doc = sweep.base;
    SweepCell cell;
    std::vector<std::string> group;
    for (size_t a = 0; a < sweep.grid.size(); ++a) {
      const GridAxis& axis = sweep.grid[a];
      set_field(doc, axis.path, axis.values[index[a]]);
      cell.labels.push_back(axis.labels[index[a]]);
      if (axis.path != kSeedAxis) group.push_back(axis.labels[index[a]]);
    }
    cell.group = fmt::format("{}", fmt::join(group, " / "));
    try {
      cell.config = parse_config(doc);
    } catch (const FieldError& e) {
      throw locate(e, sweep, index);
    }
    cells.push_back(std::move(cell));
    size_t a = sweep.grid.size();  // advance the last axis fastest, like an odometer
    while (a > 0 && ++index[a - 1] == sweep.grid[a - 1].values.size()) index[--a] = 0;
    if (a == 0) return cells;
  }
}

std::vector<TrainResult> train_cells(const std::vector<SweepCell>& cells,
                                     const std::vector<size_t>& which, int jobs,
                                     const std::function<void(size_t, size_t)>& progress) {
  std::vector<TrainResult> runs(which.size());
  // Every cell trains on one thread (matrix products and loops alike), so its numbers are the
  // same for any --jobs. OpenMP keeps the count per thread: each job thread sets its own, and
  // this thread's, which runs jobs too, is put back afterwards.
  const int threads = num_threads();
  std::atomic<size_t> done{0};
  std::mutex progress_lock;
  try {
    parallel_for(which.size(), std::max(jobs, 1), [&](size_t i) {
      set_num_threads(1);
      runs[i] = Trainer(cells.at(which[i]).config).run();
      // The cell's buffers go back to the OS rather than stay in this thread's cache, where the
      // next cell's other sizes could not reuse them: cells that run one after another on a
      // thread then do not add up, and estimate_sweep_memory holds.
      memory::clear_cache();
      const size_t finished = ++done;
      if (progress) {
        std::lock_guard<std::mutex> lock(progress_lock);
        progress(finished, which.size());
      }
    });
  } catch (...) {
    set_num_threads(threads);
    throw;
  }
  set_num_threads(threads);
  return runs;
}

CompareResult summarise_sweep(const Sweep& sweep, std::vector<SweepCell> cells,
                              std::vector<TrainResult> runs) {
  CompareResult result;
  for (const GridAxis& axis : sweep.grid) result.axes.push_back(axis.path);
  result.cells = std::move(cells);
  result.runs = std::move(runs);
  const bool accuracy = by_accuracy(result.cells.front().config);
  result.metric = accuracy ? "test_accuracy" : "test_loss";
  std::vector<std::string> order;
  std::map<std::string, std::vector<const TrainResult*>> members;
  std::map<std::string, std::vector<std::string>> labels;
  for (size_t i = 0; i < result.cells.size(); ++i) {
    const SweepCell& cell = result.cells[i];
    if (!members.count(cell.group)) order.push_back(cell.group);
    members[cell.group].push_back(&result.runs[i]);
    std::vector<std::string> group_labels;
    for (size_t a = 0; a < result.axes.size(); ++a)
      if (result.axes[a] != kSeedAxis) group_labels.push_back(cell.labels[a]);
    labels[cell.group] = group_labels;
  }
  for (const std::string& g : order) result.groups.push_back(summarise(g, labels[g], members[g], accuracy));
  return result;
}

CompareResult run_compare(const Sweep& sweep, int jobs,
                          const std::function<void(size_t, size_t)>& progress) {
  std::vector<SweepCell> cells = expand(sweep);
  std::vector<size_t> all(cells.size());
  std::iota(all.begin(), all.end(), size_t{0});
  std::vector<TrainResult> runs = train_cells(cells, all, jobs, progress);
  return summarise_sweep(sweep, std::move(cells), std::move(runs));
}

MemoryEstimate estimate_sweep_memory(const Sweep& sweep, int jobs) {
  std::vector<MemoryEstimate> cells;
  for (const SweepCell& cell : expand(sweep))
    cells.push_back(estimate_memory(cell.config, /*checkpoints=*/false));
  return estimate_concurrent(cells, jobs);
}

namespace {

json learned_json(const std::vector<LearnedParameter>& learned) {
  json out = json::array();
  for (const LearnedParameter& p : learned)
    out.push_back({{"name", p.name}, {"mean", stat_json(p.mean)}, {"min", p.min}, {"max", p.max},
                   {"values_per_run", p.values}});
  return out;
}

}  // namespace

json summary_json(const CompareResult& r) {
  json groups = json::array();
  for (const GroupSummary& g : r.groups)
    groups.push_back({{"group", g.group},
                      {"labels", g.labels},
                      {"runs", g.runs},
                      {"diverged", g.diverged},
                      {r.metric, stat_json(g.final_metric)},
                      {"steps_to_target", stat_json(g.steps_to_target)},
                      {"ms_per_step", stat_json(g.ms_per_step)},
                      {"dead_percent", stat_json(g.dead_percent)},
                      {"grad_norm_ratio_first_last",
                       {{"geometric_mean", g.grad_ratio.mean},
                        {"log10_std", g.grad_ratio.std},
                        {"runs", g.grad_ratio.count}}},
                      {"parameters", g.parameters},
                      {"learned", learned_json(g.learned)}});
  return {{"axes", r.axes}, {"metric", r.metric}, {"cells", r.cells.size()}, {"groups", groups}};
}

std::string summary_csv(const CompareResult& r) {
  std::vector<std::string> axes;
  for (const std::string& a : r.axes)
    if (a != kSeedAxis) axes.push_back(a);
  std::string out = fmt::format(
      "{},runs,diverged,{}_mean,{}_std,steps_to_target_mean,reached,ms_per_step,dead_percent,"
      "grad_norm_ratio,parameters\n",
      fmt::join(axes, ","), r.metric, r.metric);
  for (const GroupSummary& g : r.groups)
    out += fmt::format("{},{},{},{},{},{},{},{},{},{},{}\n", fmt::join(g.labels, ","), g.runs,
                       g.diverged, g.final_metric.mean, g.final_metric.std,
                       g.steps_to_target.count ? fmt::format("{}", g.steps_to_target.mean) : "",
                       g.steps_to_target.count, g.ms_per_step.mean, g.dead_percent.mean,
                       g.grad_ratio.mean, g.parameters);
  return out;
}

std::string learned_text(const std::vector<LearnedParameter>& learned) {
  std::vector<std::string> parts;
  for (const LearnedParameter& p : learned) {
    std::string text = fmt::format("{} {:.3g}", p.name, p.mean.mean);
    if (p.mean.count > 1) text += fmt::format(" +- {:.2g}", p.mean.std);
    if (p.values > 1) text += fmt::format(" ({} values, {:.3g} to {:.3g})", p.values, p.min, p.max);
    parts.push_back(std::move(text));
  }
  return parts.empty() ? "-" : fmt::format("{}", fmt::join(parts, "; "));
}

bool has_learned_parameters(const CompareResult& r) {
  return std::any_of(r.groups.begin(), r.groups.end(),
                     [](const GroupSummary& g) { return !g.learned.empty(); });
}

namespace {

// The non-seed axis with the fewest values splits the curves into charts (e.g. one chart per
// task, one curve per activation); with a single axis, one chart holds every group.
int split_axis(const CompareResult& r) {
  int best = -1;
  size_t fewest = SIZE_MAX;
  std::vector<std::set<std::string>> distinct(r.axes.size());
  for (const GroupSummary& g : r.groups)
    for (size_t a = 0, k = 0; a < r.axes.size(); ++a)
      if (r.axes[a] != kSeedAxis) distinct[a].insert(g.labels[k++]);
  int non_seed = 0;
  for (size_t a = 0; a < r.axes.size(); ++a)
    if (r.axes[a] != kSeedAxis) {
      ++non_seed;
      if (distinct[a].size() < fewest) fewest = distinct[a].size(), best = static_cast<int>(a);
    }
  return non_seed >= 2 ? best : -1;
}

}  // namespace

void write_compare_outputs(const std::string& dir, const CompareResult& r) {
  namespace fs = std::filesystem;
  fs::create_directories(dir);
  write_file_atomically((fs::path(dir) / "summary.json").string(), summary_json(r).dump(2) + "\n");
  write_file_atomically((fs::path(dir) / "summary.csv").string(), summary_csv(r));

  report::Document doc("actlab compare");
  doc.paragraph(fmt::format("{} runs over the grid {}; groups differ in everything but the seed.",
                            r.cells.size(), fmt::join(r.axes, " x ")));
  const bool accuracy = r.metric == "test_accuracy";
  const int split = split_axis(r);
  // Position of the split axis among the group labels (which skip the seed axis).
  int split_label = -1;
  for (int a = 0, k = 0; a < static_cast<int>(r.axes.size()); ++a)
    if (r.axes[a] != kSeedAxis) {
      if (a == split) split_label = k;
      ++k;
    }
  std::vector<std::string> panels;
  for (const GroupSummary& g : r.groups) {
    const std::string panel = split_label >= 0 ? g.labels[split_label] : "";
    if (std::find(panels.begin(), panels.end(), panel) == panels.end()) panels.push_back(panel);
  }
  doc.begin_grid();
  for (const std::string& panel : panels) {
    report::LineChart chart{panel.empty() ? r.metric : panel + ": " + r.metric, "step",
                            accuracy ? "test accuracy" : "test loss", !accuracy, {}};
    report::PointChart finals{
        (panel.empty() ? "final " + r.metric : panel + ": final " + r.metric) +
            " (each run, mean +- std)",
        r.metric, {}, {}};
    for (const GroupSummary& g : r.groups) {
      if (split_label >= 0 && g.labels[split_label] != panel) continue;
      std::vector<std::string> rest;
      for (int k = 0; k < static_cast<int>(g.labels.size()); ++k)
        if (k != split_label) rest.push_back(g.labels[k]);
      const std::string name = fmt::format("{}", fmt::join(rest, " / "));
      chart.series.push_back({name, g.curve_steps, g.curve_values});
      finals.labels.push_back(name);
      finals.values.push_back(g.final_values);
    }
    doc.add(chart);
    doc.add(finals);
  }
  doc.end_grid();
  report::Table table{"Summary (mean +- std over seeds)", {}, {}};
  for (const std::string& a : r.axes)
    if (a != kSeedAxis) table.header.push_back(a);
  for (const char* h : {"runs", "final metric", "steps to target", "ms/step", "% dead",
                        "grad ratio first/last", "parameters"})
    table.header.push_back(h);
  const bool any_learned = has_learned_parameters(r);
  if (any_learned) table.header.push_back("learned activation parameters");
  for (const GroupSummary& g : r.groups) {
    std::vector<std::string> row = g.labels;
    row.push_back(fmt::format("{}{}", g.runs, g.diverged ? fmt::format(" ({} diverged)", g.diverged) : ""));
    row.push_back(fmt::format("{:.4f} +- {:.4f}", g.final_metric.mean, g.final_metric.std));
    row.push_back(g.steps_to_target.count ? fmt::format("{:.0f} ({} runs)", g.steps_to_target.mean,
                                                        g.steps_to_target.count)
                                          : "-");
    row.push_back(fmt::format("{:.3f}", g.ms_per_step.mean));
    row.push_back(fmt::format("{:.1f}", g.dead_percent.mean));
    row.push_back(ratio_text(g.grad_ratio));
    row.push_back(fmt::format("{}", g.parameters));
    if (any_learned) row.push_back(learned_text(g.learned));
    table.rows.push_back(std::move(row));
  }
  doc.add(table);
  doc.write((fs::path(dir) / "report.html").string());
}

}  // namespace actlab
