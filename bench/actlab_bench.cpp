// actlab-bench: times actlab's ops against what they cannot beat, the raw loop and the raw
// cblas_sgemm calls, measured side by side in one run (repetitions are interleaved, so that a
// noisy shared machine shifts both sides alike and their ratio holds).
//
// A benchmark is one entry in a suite's table (name, group, ops per repetition, a closure that
// runs one repetition); figures computed from several benchmarks (overheads, ratios) are
// entries in the suite's `derived` table. Adding a benchmark means adding one entry.
//
//   actlab-bench [--suite NAME] [--threads N] [--reps N] [--json]
#include <cblas.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "actlab/actlab.hpp"

namespace {

using Clock = std::chrono::steady_clock;
using actlab::Tensor;

// ---- the harness -----------------------------------------------------------------------------

struct Bench {
  std::string name;
  std::string group;
  int ops_per_rep = 1;                      // times are per op: a repetition's time / this
  std::function<void()> run_rep;            // runs one repetition
  std::function<void()> prepare = nullptr;  // optional, untimed, before each repetition
};

// A figure computed from the benchmarks' medians, with an optional upper target.
struct Derived {
  std::string name;
  std::string unit;
  std::string formula;  // how it is computed, for the reader
  std::function<double(const std::map<std::string, double>& median_us)> value;
  std::optional<double> target_max;
};

struct Suite {
  std::string name;
  std::vector<Bench> benches;
  std::vector<Derived> derived;
};

struct Stats {
  double median_us = 0, min_us = 0, max_us = 0;
  int reps = 0;
};

// Keeps the compiler from removing a computation whose result is otherwise unused: the
// pointed-to memory counts as read, and every store before this point must happen.
inline void keep(const void* p) { asm volatile("" : : "r"(p) : "memory"); }

// A closure running f() n times: one repetition of a batch of n ops.
template <class F>
std::function<void()> repeat(int n, F f) {
  return [n, f]() mutable {
    for (int i = 0; i < n; ++i) f();
  };
}

Stats summarize(std::vector<double> us) {
  std::sort(us.begin(), us.end());
  const size_t n = us.size();
  const double median = n % 2 ? us[n / 2] : 0.5 * (us[n / 2 - 1] + us[n / 2]);
  return {median, us.front(), us.back(), static_cast<int>(n)};
}

// Warms every benchmark up, then times `reps` rounds; each round runs every benchmark once,
// in table order.
std::vector<Stats> run_benches(const std::vector<Bench>& benches, int reps, int warmup) {
  for (int w = 0; w < warmup; ++w)
    for (const Bench& b : benches) b.run_rep();
  std::vector<std::vector<double>> times(benches.size());
  for (int r = 0; r < reps; ++r) {
    for (size_t i = 0; i < benches.size(); ++i) {
      if (benches[i].prepare) benches[i].prepare();
      const auto start = Clock::now();
      benches[i].run_rep();
      const std::chrono::duration<double, std::micro> took = Clock::now() - start;
      times[i].push_back(took.count() / benches[i].ops_per_rep);
    }
  }
  std::vector<Stats> stats;
  for (auto& t : times) stats.push_back(summarize(std::move(t)));
  return stats;
}

// ---- suite "ops": per-op overhead and matmul -------------------------------------------------

// 64-byte-aligned random floats, as actlab's storage, for the raw sgemm calls.
class Floats {
 public:
  Floats(int64_t n, actlab::Generator& gen)
      : p_(static_cast<float*>(std::aligned_alloc(64, sizeof(float) * n)), std::free) {
    for (int64_t i = 0; i < n; ++i) p_[i] = gen.normal();
  }
  float* data() const { return p_.get(); }

 private:
  std::unique_ptr<float[], decltype(&std::free)> p_;
};

Tensor randn_leaf(actlab::Shape shape, actlab::Generator& gen, bool requires_grad) {
  Tensor t = Tensor::randn(shape, gen);
  t.set_requires_grad(requires_grad);
  return t;
}

// add of two [64, 64] tensors: recording a node, not recording, and the bare loop.
void add_overhead_benches(std::vector<Bench>& out, actlab::Generator& gen) {
  constexpr int kBatch = 1000;
  const actlab::Shape shape{64, 64};
  const Tensor a = randn_leaf(shape, gen, true);
  const Tensor b = randn_leaf(shape, gen, true);
  out.push_back({"add_grad", "add [64,64]", kBatch, repeat(kBatch, [a, b] {
                   const Tensor c = actlab::add(a, b);  // records a node; dropped at once
                   keep(c.data());
                 })});
  out.push_back({"add_nograd", "add [64,64]", kBatch, repeat(kBatch, [a, b] {
                   const actlab::NoGradGuard no_grad;
                   const Tensor c = actlab::add(a, b);
                   keep(c.data());
                 })});
  // The bare loop reads the same input buffers: where buffers lie in memory moves this loop's
  // time by 10-20% from one process to the next, and that should not count as overhead.
  Tensor c = Tensor::empty(shape);
  out.push_back({"add_raw", "add [64,64]", kBatch,
                 repeat(kBatch, [a, b, c, x = a.data(), y = b.data(), z = c.mutable_data(),
                                 n = shape.numel()] {
                   const float* __restrict xr = x;
                   const float* __restrict yr = y;
                   float* __restrict zr = z;
                   for (int64_t i = 0; i < n; ++i) zr[i] = xr[i] + yr[i];
                   keep(zr);
                 })});
}

// Row-major C[m, n] = op(A) op(B), straight to cblas_sgemm.
void sgemm(bool ta, bool tb, int m, int n, int k, const Floats& a, const Floats& b, Floats& c) {
  cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, m,
              n, k, 1.f, a.data(), ta ? m : k, b.data(), tb ? k : n, 0.f, c.data(), n);
  keep(c.data());
}

// matmul [N, K] x [K, M] forward + backward, the sum it needs as a scalar loss, and the three
// raw sgemm calls of a forward and backward (alone, and in a row as matmul makes them).
void matmul_benches(std::vector<Bench>& out, actlab::Generator& gen) {
  constexpr int N = 256, K = 512, M = 512;
  const std::string group = "matmul [256,512]x[512,512]";
  Tensor a = randn_leaf({N, K}, gen, true);
  Tensor b = randn_leaf({K, M}, gen, true);
  Tensor y_like = randn_leaf({N, M}, gen, true);
  out.push_back({"matmul_sum_fb", group, 1, [a, b]() mutable {
                   a.zero_grad();
                   b.zero_grad();
                   actlab::sum(actlab::matmul(a, b)).backward();
                   keep(a.grad().data());
                   keep(b.grad().data());
                 }});
  // The sum inside matmul_sum_fb reads a matmul output still in cache; `prepare` warms y_like
  // the same way, so the part subtracted is not overstated (cold, it takes twice as long).
  const auto sum_fb = [y_like]() mutable {
    y_like.zero_grad();
    actlab::sum(y_like).backward();
    keep(y_like.grad().data());
  };
  out.push_back({"sum_fb", group, 1, sum_fb, sum_fb});

  auto A = std::make_shared<Floats>(N * K, gen), B = std::make_shared<Floats>(K * M, gen);
  auto dY = std::make_shared<Floats>(N * M, gen), Y = std::make_shared<Floats>(N * M, gen);
  auto dA = std::make_shared<Floats>(N * K, gen), dB = std::make_shared<Floats>(K * M, gen);
  const auto fwd = [=] { sgemm(false, false, N, M, K, *A, *B, *Y); };     // Y = A B
  const auto grad_a = [=] { sgemm(false, true, N, K, M, *dY, *B, *dA); };  // dA = dY B^T
  const auto grad_b = [=] { sgemm(true, false, K, M, N, *A, *dY, *dB); };  // dB = A^T dY
  out.push_back({"sgemm_3", group, 1, [=] {
                   fwd();
                   grad_a();
                   grad_b();
                 }});
  out.push_back({"sgemm_fwd", group, 1, fwd});
  out.push_back({"sgemm_dA", group, 1, grad_a});
  out.push_back({"sgemm_dB", group, 1, grad_b});
}

Suite ops_suite() {
  actlab::Generator gen(42);
  Suite s{"ops", {}, {}};
  add_overhead_benches(s.benches, gen);
  matmul_benches(s.benches, gen);
  using M = const std::map<std::string, double>&;
  const auto matmul_fb = [](M m) { return m.at("matmul_sum_fb") - m.at("sum_fb"); };
  s.derived = {
      {"add_overhead_grad", "us", "add_grad - add_raw",
       [](M m) { return m.at("add_grad") - m.at("add_raw"); }, 1.0},
      {"add_overhead_nograd", "us", "add_nograd - add_raw",
       [](M m) { return m.at("add_nograd") - m.at("add_raw"); }, 1.0},
      {"matmul_fb", "us", "matmul_sum_fb - sum_fb", matmul_fb, std::nullopt},
      {"raw_3_sgemm", "us", "sgemm_3", [](M m) { return m.at("sgemm_3"); }, std::nullopt},
      {"matmul_fb_ratio", "x", "matmul_fb / raw_3_sgemm",
       [=](M m) { return matmul_fb(m) / m.at("sgemm_3"); }, 1.05},
  };
  return s;
}

// Every suite, by name; the training workloads W1-W6 will join here.
const std::vector<std::pair<std::string, std::function<Suite()>>>& suites() {
  static const std::vector<std::pair<std::string, std::function<Suite()>>> all = {
      {"ops", ops_suite},
  };
  return all;
}

// ---- the machine -----------------------------------------------------------------------------

struct Machine {
  std::string cpu;
  unsigned online_cpus = 0;
  int openblas_threads = 0;
  std::string openblas_config;
  double load_1min = -1;  // other work on a shared machine skews the figures: say so
};

std::string cpu_model_name() {
  std::ifstream in("/proc/cpuinfo");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("model name", 0) != 0) continue;
    const size_t colon = line.find(':');
    if (colon == std::string::npos) break;
    const size_t start = line.find_first_not_of(" \t", colon + 1);
    return start == std::string::npos ? "" : line.substr(start);
  }
  return "unknown";
}

double load_average() {
  std::ifstream in("/proc/loadavg");
  double load = -1;
  in >> load;
  return load;
}

Machine this_machine() {
  return {cpu_model_name(), std::thread::hardware_concurrency(), openblas_get_num_threads(),
          openblas_get_config(), load_average()};
}

// ---- output ----------------------------------------------------------------------------------

struct Report {
  Machine machine;
  const Suite& suite;
  int reps, warmup;
  std::vector<Stats> stats;     // one per suite.benches
  std::vector<double> derived;  // one per suite.derived
};

std::string verdict(const Derived& d, double v) {
  if (!d.target_max) return "";
  return fmt::format("<= {:g}: {}", *d.target_max, v <= *d.target_max ? "met" : "NOT met");
}

void print_table(const Report& r) {
  fmt::print("actlab-bench, suite {}: {} reps after {} warm-up, times per op in microseconds\n",
             r.suite.name, r.reps, r.warmup);
  fmt::print("machine: {}, {} online CPUs, load average {:.2f} at start\n", r.machine.cpu,
             r.machine.online_cpus, r.machine.load_1min);
  fmt::print("OpenBLAS threads {} ({})\n\n", r.machine.openblas_threads,
             r.machine.openblas_config);
  fmt::print("{:<28} {:<16} {:>7} {:>11} {:>11} {:>11}\n", "group", "name", "ops/rep",
             "median", "min", "max");
  for (size_t i = 0; i < r.stats.size(); ++i) {
    const Bench& b = r.suite.benches[i];
    fmt::print("{:<28} {:<16} {:>7} {:>11.3f} {:>11.3f} {:>11.3f}\n", b.group, b.name,
               b.ops_per_rep, r.stats[i].median_us, r.stats[i].min_us, r.stats[i].max_us);
  }
  fmt::print("\n{:<20} {:>11} {:<4} {:<26} {}\n", "derived (medians)", "value", "unit",
             "formula", "target");
  for (size_t i = 0; i < r.derived.size(); ++i) {
    const Derived& d = r.suite.derived[i];
    fmt::print("{:<20} {:>11.3f} {:<4} {:<26} {}\n", d.name, r.derived[i], d.unit, d.formula,
               verdict(d, r.derived[i]));
  }
}

void print_json(const Report& r) {
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
    if (d.target_max) {
      e["target_max"] = *d.target_max;
      e["met"] = v <= *d.target_max;
    }
    j["derived"].push_back(std::move(e));
  }
  fmt::print("{}\n", j.dump(2));
}

// ---- command line ----------------------------------------------------------------------------

struct Options {
  std::string suite = "ops";
  std::optional<int> threads;
  int reps = 50;
  bool json = false;
};

constexpr const char* kUsage =
    "usage: actlab-bench [--suite NAME] [--threads N] [--reps N] [--json]";

[[noreturn]] void usage_error(const std::string& message) {
  fmt::print(stderr, "actlab-bench: {} ({})\n", message, kUsage);
  std::exit(2);
}

int positive_int(std::string_view flag, std::string_view text) {
  int v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || v < 1)
    usage_error(fmt::format("{} wants a positive integer, got '{}'", flag, text));
  return v;
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
    } else if (flag == "--suite") {
      o.suite = value();
    } else if (flag == "--threads") {
      o.threads = positive_int(flag, value());
    } else if (flag == "--reps") {
      o.reps = positive_int(flag, value());
    } else if (flag == "--help" || flag == "-h") {
      fmt::print("{}\nsuites:", kUsage);
      for (const auto& [name, make] : suites()) fmt::print(" {}", name);
      fmt::print("\n");
      std::exit(0);
    } else {
      usage_error(fmt::format("unknown argument '{}'", flag));
    }
  }
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

}  // namespace

int main(int argc, char** argv) {
  const Options opt = parse_args(argc, argv);
  const auto& make_suite = find_suite(opt.suite);
  if (opt.threads) openblas_set_num_threads(*opt.threads);
  try {
    const Suite suite = make_suite();
    Report r{this_machine(), suite, opt.reps, std::max(3, opt.reps / 5), {}, {}};
    r.stats = run_benches(suite.benches, r.reps, r.warmup);
    std::map<std::string, double> medians;
    for (size_t i = 0; i < suite.benches.size(); ++i)
      medians[suite.benches[i].name] = r.stats[i].median_us;
    for (const Derived& d : suite.derived) r.derived.push_back(d.value(medians));
    opt.json ? print_json(r) : print_table(r);
  } catch (const std::exception& e) {
    fmt::print(stderr, "actlab-bench: {}\n", e.what());
    return 1;
  }
  return 0;
}
