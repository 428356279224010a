// The benchmark harness shared by every suite and workload of actlab-bench: a benchmark is a
// closure that runs one repetition; run_benches times a table of them with repetitions
// interleaved (round r runs every benchmark once), so that drift on a shared machine shifts
// all of them alike and their ratios hold. Also: raw float buffers for the hand-written
// bounds, and what the machine and the process report (CPU, load, peak RSS).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "actlab/core/tensor.hpp"

namespace bench {

struct Bench {
  std::string name;
  std::string group;
  int ops_per_rep = 1;                      // times are per op: a repetition's time / this
  std::function<void()> run_rep;            // runs one repetition
  std::function<void()> prepare = nullptr;  // optional, untimed, before each repetition
};

struct Stats {
  double median_us = 0, min_us = 0, max_us = 0;
  int reps = 0;
};

// What run_benches times with: the wall clock (the default), or the process's CPU time, which
// on a machine loaded by other work leaves out the time the process waited for a core (not the
// memory bandwidth the others take); at more than one thread it adds up the threads' times.
enum class TimeKind { wall, process_cpu };
void set_time_kind(TimeKind kind);

// Runs every benchmark `warmup` times, then times `reps` rounds; each round runs every
// benchmark once, in table order. One Stats per benchmark, in microseconds per op.
std::vector<Stats> run_benches(const std::vector<Bench>& benches, int reps, int warmup);

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

// 64-byte-aligned normal random floats, as actlab's storage, for the raw loops and sgemm calls.
class Floats {
 public:
  Floats(int64_t n, actlab::Generator& gen);
  float* data() const { return p_.get(); }

 private:
  std::unique_ptr<float[], void (*)(void*)> p_;
};

// A leaf tensor of normal random values.
actlab::Tensor randn_leaf(actlab::Shape shape, actlab::Generator& gen, bool requires_grad);

// Row-major C[m, n] = op(A)[m, k] op(B)[k, n] straight to cblas_sgemm, beta 0, the leading
// dimensions following from the transpose flags as actlab's own call has them.
void sgemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, const float* a, const float* b,
           float* c);

struct Machine {
  std::string cpu;
  unsigned online_cpus = 0;
  int openblas_threads = 0;
  std::string openblas_config;
  double load_1min = -1;  // other work on a shared machine skews the figures: say so
};
Machine this_machine();

// The process's peak resident set so far (VmHWM of /proc/self/status), in MiB.
double peak_rss_mib();

}  // namespace bench
