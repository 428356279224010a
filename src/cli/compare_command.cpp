// `actlab compare SWEEP`: trains every cell of a sweep (--jobs at a time), prints mean +- std
// over seeds per group, and writes summary.csv, summary.json and report.html. Across machines:
// `--list` prints the cells, `--shard K/N` trains one shard, `--merge DIR...` summarises shards.
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>

#include "actlab/io/run.hpp"
#include "actlab/lab/compare.hpp"
#include "actlab/lab/shards.hpp"
#include "cli/commands.hpp"
#include "cli/memory_option.hpp"

namespace actlab::cli {
namespace {

std::string pm(const Stat& s, const char* format) {
  if (s.count == 0) return "-";
  return fmt::format(fmt::runtime(format), s.mean) +
         (s.count > 1 ? fmt::format(fmt::runtime(std::string(" +- ") + format), s.std) : "");
}

void print_table(const CompareResult& r) {
  std::vector<std::string> header;
  for (const std::string& a : r.axes)
    if (a != "train.seed") header.push_back(a);
  for (const char* h : {"runs", "final", "steps to target", "ms/step", "% dead", "grad first/last",
                        "params"})
    header.push_back(h);
  const bool learned = has_learned_parameters(r);
  if (learned) header.push_back("learned");
  std::vector<std::vector<std::string>> rows;
  for (const GroupSummary& g : r.groups) {
    std::vector<std::string> row = g.labels;
    row.push_back(g.diverged ? fmt::format("{} ({} diverged)", g.runs, g.diverged)
                             : fmt::format("{}", g.runs));
    row.push_back(pm(g.final_metric, "{:.4f}"));
    row.push_back(pm(g.steps_to_target, "{:.0f}"));
    row.push_back(pm(g.ms_per_step, "{:.3f}"));
    row.push_back(pm(g.dead_percent, "{:.1f}"));
    row.push_back(ratio_text(g.grad_ratio));
    row.push_back(fmt::format("{}", g.parameters));
    if (learned) row.push_back(learned_text(g.learned));
    rows.push_back(std::move(row));
  }
  std::vector<size_t> width(header.size());
  for (size_t c = 0; c < header.size(); ++c) {
    width[c] = header[c].size();
    for (const auto& row : rows) width[c] = std::max(width[c], row[c].size());
  }
  const auto print_row = [&](const std::vector<std::string>& row) {
    for (size_t c = 0; c < row.size(); ++c) fmt::print("{:<{}}  ", row[c], width[c]);
    fmt::print("\n");
  };
  fmt::print("final = {} (mean +- std over seeds)\n", r.metric);
  print_row(header);
  for (const auto& row : rows) print_row(row);
}

class Compare final : public Command {
 public:
  CLI::App* add(CLI::App& app) override {
    CLI::App* cmd = app.add_subcommand("compare", "train every cell of a sweep and compare groups");
    cmd->add_option("sweep", sweep_path_,
                    "the sweep file: {\"base\": config, \"grid\": {path: values}}");
    cmd->add_option("--out", out_,
                    "the output directory (default runs/<sweep>-<time>); one that is not empty "
                    "is refused");
    cmd->add_flag("--force", force_,
                  "with --out at a directory that is not empty: replace actlab's files in it "
                  "(never a training run's)");
    cmd->add_option("--jobs", jobs_, "cells trained at once, on threads (results do not change)")
        ->check(CLI::Range(1, 256));
    cmd->add_flag("--json", json_, "print the summary as one JSON document");
    memory_.add(*cmd);
    cmd->add_flag("--list", list_, "print the cells, one a line: index, then path=label per axis");
    cmd->add_option("--shard", shard_,
                    "train shard K of N (K from 0): the cells whose index i has i % N == K, "
                    "into --out (shard.json)");
    cmd->add_option("--merge", merge_, "summarise the shards in these directories")
        ->expected(1, -1);
    return cmd;
  }

  int run() override {
    if (!merge_.empty()) {
      if (!sweep_path_.empty() || list_ || !shard_.empty())
        throw UsageError("--merge: takes the shards' directories only (no sweep, --list or --shard)");
      const MergedSweep merged = merge_shards(merge_);
      const std::string dir = out_.empty() ? default_run_dir(merged.name) : out_;
      const DirLock lock = claim(dir);
      return write_and_print(merged.result, dir);
    }
    if (sweep_path_.empty()) throw UsageError("compare: expected a sweep file (or --merge DIR...)");
    const Sweep sweep = load_sweep(sweep_path_);
    if (list_) return print_cells(sweep);
    // Cells train --jobs at a time: the largest that many must fit, checked before any is made.
    memory_.check(estimate_sweep_memory(sweep, jobs_), "compare");
    const bool show_progress = !json_ && ::isatty(STDERR_FILENO);
    const auto progress = [&](size_t done, size_t total) {
      if (show_progress) fmt::print(stderr, "\rtrained {}/{} runs\033[K{}", done, total, done == total ? "\n" : "");
    };
    if (!shard_.empty()) {
      const Shard shard = parse_shard(shard_);
      const std::string dir =
          out_.empty() ? fmt::format("{}-shard-{}-of-{}", default_run_dir(sweep_path_), shard.index,
                                     shard.count)
                       : out_;
      const DirLock lock = claim(dir);
      run_shard(sweep, std::filesystem::path(sweep_path_).stem().string(), shard, jobs_, dir,
                progress);
      fmt::print("{}\n", json_ ? nlohmann::json{{"out_dir", dir}}.dump() : "written: " + dir + "/shard.json");
      return kDone;
    }
    const std::string dir = out_.empty() ? default_run_dir(sweep_path_) : out_;
    const DirLock lock = claim(dir);
    return write_and_print(run_compare(sweep, jobs_, progress), dir);
  }

 private:
  // The output directory, made and locked for this command (refused when it holds other files).
  DirLock claim(const std::string& dir) const {
    return for_flag("--out", [&] { return claim_output_dir(dir, force_); });
  }

  int print_cells(const Sweep& sweep) {
    const std::vector<SweepCell> cells = expand(sweep);
    nlohmann::json list = nlohmann::json::array();
    for (size_t i = 0; i < cells.size(); ++i) {
      std::vector<std::string> fields;
      nlohmann::json labels = nlohmann::json::object();
      for (size_t a = 0; a < sweep.grid.size(); ++a) {
        fields.push_back(sweep.grid[a].path + "=" + cells[i].labels[a]);
        labels[sweep.grid[a].path] = cells[i].labels[a];
      }
      if (json_) list.push_back({{"index", i}, {"labels", labels}});
      else fmt::print("{}\t{}\n", i, fmt::join(fields, "\t"));
    }
    if (json_) fmt::print("{}\n", list.dump(2));
    return kDone;
  }

  int write_and_print(const CompareResult& result, const std::string& dir) {
    write_compare_outputs(dir, result);
    if (json_) {
      nlohmann::json out = summary_json(result);
      out["out_dir"] = dir;
      fmt::print("{}\n", out.dump(2));
      return kDone;
    }
    print_table(result);
    fmt::print("written: {}/summary.csv, summary.json, report.html\n", dir);
    return kDone;
  }

  std::string sweep_path_;
  std::string out_;
  int jobs_ = 1;
  bool json_ = false;
  bool list_ = false;
  std::string shard_;
  std::vector<std::string> merge_;
  bool force_ = false;
  MemoryLimitOption memory_;
};

const CommandRegistration compare_registration([] { return std::make_unique<Compare>(); });

}  // namespace
}  // namespace actlab::cli
