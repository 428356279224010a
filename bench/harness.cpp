// The shared harness of actlab-bench: interleaved timing, raw buffers and sgemm, and what the
// machine and the process report.
#include "harness.hpp"

#include <cblas.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <new>
#include <sstream>
#include <thread>

#include <time.h>

namespace bench {
namespace {

using Clock = std::chrono::steady_clock;

Stats summarize(std::vector<double> us) {
  std::sort(us.begin(), us.end());
  const size_t n = us.size();
  const double median = n % 2 ? us[n / 2] : 0.5 * (us[n / 2 - 1] + us[n / 2]);
  return {median, us.front(), us.back(), static_cast<int>(n)};
}

TimeKind g_time_kind = TimeKind::wall;

double now_us() {
  if (g_time_kind == TimeKind::wall)
    return std::chrono::duration<double, std::micro>(Clock::now().time_since_epoch()).count();
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) * 1e6 + static_cast<double>(t.tv_nsec) * 1e-3;
}

double time_us(const Bench& b) {
  if (b.prepare) b.prepare();
  const double start = now_us();
  b.run_rep();
  return (now_us() - start) / b.ops_per_rep;
}

// The value after `key` on the first line of `path` that starts with it ("" when none).
std::string field_of(const char* path, const std::string& key) {
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(key, 0) != 0) continue;
    const size_t start = line.find_first_not_of(" \t:", key.size());
    return start == std::string::npos ? "" : line.substr(start);
  }
  return "";
}

double load_average() {
  std::ifstream in("/proc/loadavg");
  double load = -1;
  in >> load;
  return load;
}

}  // namespace

void set_time_kind(TimeKind kind) { g_time_kind = kind; }

std::vector<Stats> run_benches(const std::vector<Bench>& benches, int reps, int warmup) {
  for (int w = 0; w < warmup; ++w)
    for (const Bench& b : benches) {
      if (b.prepare) b.prepare();
      b.run_rep();
    }
  std::vector<std::vector<double>> times(benches.size());
  for (int r = 0; r < reps; ++r)
    for (size_t i = 0; i < benches.size(); ++i) times[i].push_back(time_us(benches[i]));
  std::vector<Stats> stats;
  for (auto& t : times) stats.push_back(summarize(std::move(t)));
  return stats;
}

// aligned_alloc wants a size that is a multiple of the alignment: whole 64-byte lines.
Floats::Floats(int64_t n, actlab::Generator& gen)
    : p_(static_cast<float*>(
             std::aligned_alloc(64, sizeof(float) * static_cast<size_t>((n + 15) / 16 * 16 + 16))),
         std::free) {
  if (!p_) throw std::bad_alloc();
  for (int64_t i = 0; i < n; ++i) p_[i] = gen.normal();
}

actlab::Tensor randn_leaf(actlab::Shape shape, actlab::Generator& gen, bool requires_grad) {
  actlab::Tensor t = actlab::Tensor::randn(shape, gen);
  t.set_requires_grad(requires_grad);
  return t;
}

void sgemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, const float* a, const float* b,
           float* c) {
  cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
              static_cast<int>(m), static_cast<int>(n), static_cast<int>(k), 1.f, a,
              static_cast<int>(ta ? m : k), b, static_cast<int>(tb ? k : n), 0.f, c,
              static_cast<int>(n));
  keep(c);
}

Machine this_machine() {
  const std::string cpu = field_of("/proc/cpuinfo", "model name");
  return {cpu.empty() ? "unknown" : cpu, std::thread::hardware_concurrency(),
          openblas_get_num_threads(), openblas_get_config(), load_average()};
}

double peak_rss_mib() {
  std::istringstream kib(field_of("/proc/self/status", "VmHWM"));  // "123456 kB"
  double v = -1;
  kib >> v;
  return v / 1024.0;
}

}  // namespace bench
