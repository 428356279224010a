// actlab-bench: times actlab against what it cannot beat, measured side by side in one run
// (repetitions interleaved, so that a noisy shared machine shifts both sides alike and their
// ratio holds). Two kinds of runs:
//   - the workloads W1-W7 of shared/bench/WORKLOADS.md (the default): median step
//     time against the raw cblas_sgemm calls of the step's matrix products (or, for W6, a
//     memcpy of the same size), and the process's peak RSS;
//   - micro-benchmark suites (--suite ops, --suite activations): see suites.hpp.
//
//   actlab-bench [--workload W] [--steps N] [--no-bound] [--threads N] [--cpu-time] [--json]
//   actlab-bench --suite NAME [--reps N] [--threads N] [--cpu-time] [--json]
// --cpu-time times with the process's CPU time instead of the wall clock (harness.hpp).
#include <cblas.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <charconv>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

#include "actlab/core/threads.hpp"
#include "harness.hpp"
#include "suites.hpp"
#include "workloads.hpp"

namespace bench {
namespace {

// ---- suites ----------------------------------------------------------------------------------

struct SuiteReport {
  Machine machine;
  const Suite& suite;
  int reps, warmup;
  std::vector<Stats> stats;     // one per suite.benches
  std::vector<double> derived;  // one per suite.derived
};

SuiteReport run_suite(const Suite& suite, std::optional<int> reps) {
  SuiteReport r{this_machine(), suite, reps.value_or(suite.default_reps), 0, {}, {}};
  r.warmup = std::max(3, r.reps / 5);
  r.stats = run_benches(suite.benches, r.reps, r.warmup);
  Medians medians;
  for (size_t i = 0; i < suite.benches.size(); ++i)
    medians[suite.benches[i].name] = r.stats[i].median_us;
  for (const Derived& d : suite.derived) r.derived.push_back(d.value(medians));
  return r;
}

std::string verdict(const Derived& d, double v) {
  if (!d.target) return "";
  return fmt::format("{} {:g}: {}", d.target->at_most ? "<=" : ">=", d.target->value,
                     d.target->met(v) ? "met" : "NOT met");
}

void print_machine(const Machine& m) {
  fmt::print("machine: {}, {} online CPUs, load average {:.2f} at start\n", m.cpu, m.online_cpus,
             m.load_1min);
  fmt::print("OpenBLAS threads {} ({})\n\n", m.openblas_threads, m.openblas_config);
}

void print_suite_table(const SuiteReport& r) {
  fmt::print("actlab-bench, suite {}: {} reps after {} warm-up, times per op in microseconds\n",
             r.suite.name, r.reps, r.warmup);
  print_machine(r.machine);
  fmt::print("{:<28} {:<16} {:>7} {:>11} {:>11} {:>11}\n", "group", "name", "ops/rep",
             "median", "min", "max");
  for (size_t i = 0; i < r.stats.size(); ++i) {
    const Bench& b = r.suite.benches[i];
    fmt::print("{:<28} {:<16} {:>7} {:>11.3f} {:>11.3f} {:>11.3f}\n", b.group, b.name,
               b.ops_per_rep, r.stats[i].median_us, r.stats[i].min_us, r.stats[i].max_us);
  }
  fmt::print("\n{:<22} {:>11} {:<5} {:<32} {}\n", "derived (medians)", "value", "unit",
             "formula", "target");
  for (size_t i = 0; i < r.derived.size(); ++i) {
    const Derived& d = r.suite.derived[i];
    fmt::print("{:<22} {:>11.3f} {:<5} {:<32} {}\n", d.name, r.derived[i], d.unit, d.formula,
               verdict(d, r.derived[i]));
  }
}

void print_suite_json(const SuiteReport& r) {
  nlohmann::ordered_json j;
  j["suite"] = r.suite.name;
  j["reps"] = r.reps;
  j["warmup"] = r.warmup;
  j["machine"] = {{"cpu", r.machine.cpu},
                  {"online_cpus", r.machine.online_cpus},
                  {"openblas_threads", r.machine.openblas_threads},
                  {"openblas_config", r.machine.openblas_config},
                  {"load_1min", r.machine.load_1min}};
  j["results"] = nlohmann::ordered_json::array();
  for (size_t i = 0; i < r.stats.size(); ++i) {
    const Bench& b = r.suite.benches[i];
    j["results"].push_back({{"name", b.name},
                            {"group", b.group},
                            {"ops_per_rep", b.ops_per_rep},
                            {"reps", r.stats[i].reps},
                            {"median_us", r.stats[i].median_us},
                            {"min_us", r.stats[i].min_us},
                            {"max_us", r.stats[i].max_us}});
  }
  j["derived"] = nlohmann::ordered_json::array();
  for (size_t i = 0; i < r.derived.size(); ++i) {
    const Derived& d = r.suite.derived[i];
    const double v = r.derived[i];
    nlohmann::ordered_json e = {
        {"name", d.name}, {"value", v}, {"unit", d.unit}, {"formula", d.formula}};
    if (d.target) {
      e[d.target->at_most ? "target_max" : "target_min"] = d.target->value;
      e["met"] = d.target->met(v);
    }
    j["derived"].push_back(std::move(e));
  }
  fmt::print("{}\n", j.dump(2));
}

// ---- workloads -------------------------------------------------------------------------------

double ms(double us) { return us / 1000.0; }

// The one object of WORKLOADS.md; the bound is null when it was not timed (--no-bound).
void print_workload_json(const Workload& w, const WorkloadResult& r) {
  nlohmann::ordered_json j = {{"workload", w.id},
                              {"threads", openblas_get_num_threads()},
                              {"steps", r.steps},
                              {"median_ms", ms(r.step.median_us)},
                              {"min_ms", ms(r.step.min_us)},
                              {"max_ms", ms(r.step.max_us)}};
  j[r.bound_key] = r.bound ? nlohmann::ordered_json(ms(r.bound->median_us)) : nullptr;
  j["peak_rss_mib"] = r.peak_rss_mib;
  if (r.tokens_per_step > 0) j["tokens_per_s"] = r.tokens_per_step / (r.step.median_us * 1e-6);
  fmt::print("{}\n", j.dump());
}

void print_workload_header() {
  fmt::print("actlab-bench, workloads: ms per step (median, min, max) against its bound "
             "(median), timed interleaved\n");
  print_machine(this_machine());
  fmt::print("{:<4} {:>5} {:>10} {:>10} {:>10} {:>10} {:>7} {:>9}  {}\n", "id", "steps",
             "median", "min", "max", "bound", "x bound", "peak MiB", "what (bound: gemm or copy)");
}

void print_workload_row(const Workload& w, const WorkloadResult& r) {
  const double bound = r.bound ? ms(r.bound->median_us) : 0.0;
  fmt::print("{:<4} {:>5} {:>10.3f} {:>10.3f} {:>10.3f} {:>10.3f} {:>7.2f} {:>9.1f}  {} ({})\n",
             w.id, r.steps, ms(r.step.median_us), ms(r.step.min_us), ms(r.step.max_us), bound,
             r.bound ? ms(r.step.median_us) / bound : 0.0, r.peak_rss_mib, w.what,
             std::string_view(r.bound_key).substr(0, 4));
}

// ---- command line ----------------------------------------------------------------------------

struct Options {
  std::optional<std::string> suite;
  std::optional<std::string> workload;  // none: all
  std::optional<int> threads;
  std::optional<int> reps;
  int steps = 0;  // 0: each workload's default
  bool bound = true;
  bool json = false;
  bool cpu_time = false;
};

constexpr const char* kUsage =
    "usage: actlab-bench [--workload W1..W7|W6f|W7g] [--steps N] [--no-bound] [--threads N] "
    "[--cpu-time] [--json]\n"
    "       actlab-bench --suite NAME [--reps N] [--threads N] [--cpu-time] [--json]";

[[noreturn]] void usage_error(const std::string& message) {
  fmt::print(stderr, "actlab-bench: {}\n{}\n", message, kUsage);
  std::exit(2);
}

int positive_int(std::string_view flag, std::string_view text) {
  int v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || v < 1)
    usage_error(fmt::format("{} wants a positive integer, got '{}'", flag, text));
  return v;
}

void print_help() {
  fmt::print("{}\nworkloads:", kUsage);
  for (const Workload& w : workloads()) fmt::print(" {}", w.id);
  fmt::print("\nsuites:");
  for (const auto& [name, make] : suites()) fmt::print(" {}", name);
  fmt::print("\n");
}

Options parse_args(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string_view flag = argv[i];
    const auto value = [&]() -> std::string_view {
      if (i + 1 >= argc) usage_error(fmt::format("{} needs a value", flag));
      return argv[++i];
    };
    if (flag == "--json") {
      o.json = true;
    } else if (flag == "--cpu-time") {
      o.cpu_time = true;
    } else if (flag == "--no-bound") {
      o.bound = false;
    } else if (flag == "--suite") {
      o.suite = value();
    } else if (flag == "--workload") {
      o.workload = value();
    } else if (flag == "--threads") {
      o.threads = positive_int(flag, value());
    } else if (flag == "--reps") {
      o.reps = positive_int(flag, value());
    } else if (flag == "--steps") {
      o.steps = positive_int(flag, value());
    } else if (flag == "--help" || flag == "-h") {
      print_help();
      std::exit(0);
    } else {
      usage_error(fmt::format("unknown argument '{}'", flag));
    }
  }
  if (o.suite && (o.workload || o.steps || !o.bound))
    usage_error("--suite runs a suite; --workload, --steps and --no-bound are for workloads");
  if (!o.suite && o.reps) usage_error("--reps is for suites; workloads take --steps");
  return o;
}

const std::function<Suite()>& find_suite(const std::string& name) {
  std::string known;
  for (const auto& [n, make] : suites()) {
    if (n == name) return make;
    known += " " + n;
  }
  usage_error(fmt::format("unknown suite '{}'; known:{}", name, known));
}

// The workloads to run: the one asked for, or all.
std::vector<const Workload*> chosen_workloads(const std::optional<std::string>& id) {
  std::vector<const Workload*> out;
  for (const Workload& w : workloads())
    if (!id || w.id == *id) out.push_back(&w);
  if (out.empty()) usage_error(fmt::format("unknown workload '{}'", *id));
  return out;
}

void run_workloads(const Options& opt) {
  const std::vector<const Workload*> chosen = chosen_workloads(opt.workload);
  if (!opt.json) print_workload_header();
  for (const Workload* w : chosen) {
    const WorkloadResult r = run_workload(*w, opt.steps, opt.bound);
    opt.json ? print_workload_json(*w, r) : print_workload_row(*w, r);
    std::fflush(stdout);
  }
}

}  // namespace

const std::vector<std::pair<std::string, std::function<Suite()>>>& suites() {
  static const std::vector<std::pair<std::string, std::function<Suite()>>> all = {
      {"ops", ops_suite},
      {"activations", activations_suite},
  };
  return all;
}

}  // namespace bench

int main(int argc, char** argv) {
  using namespace bench;
  const Options opt = parse_args(argc, argv);
  if (opt.threads) actlab::set_num_threads(*opt.threads);
  if (opt.cpu_time) set_time_kind(TimeKind::process_cpu);
  try {
    if (opt.suite) {
      const Suite suite = find_suite(*opt.suite)();
      const SuiteReport r = run_suite(suite, opt.reps);
      opt.json ? print_suite_json(r) : print_suite_table(r);
    } else {
      run_workloads(opt);
    }
  } catch (const std::exception& e) {
    fmt::print(stderr, "actlab-bench: {}\n", e.what());
    return 1;
  }
  return 0;
}
