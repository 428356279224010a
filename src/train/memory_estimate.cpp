// The memory estimate of a run (train/memory_estimate.hpp): the model's cost from its registry
// entry, scaled by the batch and split sizes; and the limit it is checked against.
#include "actlab/train/memory_estimate.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <fstream>
#include <functional>
#include <string_view>

#include "actlab/nn/registry.hpp"
#include "actlab/train/data.hpp"
#include "actlab/train/train.hpp"

namespace actlab {
namespace {

constexpr int64_t kFloat = sizeof(float);

// The model's outputs per example, as the trainer sizes its head (Trainer, output_dim_for).
int64_t output_width(const Config& config, const data::TaskShape& task) {
  if (config.loss.name == "bce_with_logits") return 1;
  if (config.loss.name == "cross_entropy") return task.num_classes;
  return task.kind == data::TaskKind::multiclass ? task.num_classes : task.output_dim;
}

// Optimiser state floats per parameter.
int64_t state_per_parameter(const OptimizerConfig& optimizer) {
  if (optimizer.name == "adam" || optimizer.name == "adamw") return 2;
  return optimizer.momentum > 0.f ? 1 : 0;
}

}  // namespace

int64_t MemoryEstimate::total() const {
  return parameters + gradients + optimizer_state + activations + data + evaluation + checkpoint;
}

nlohmann::json MemoryEstimate::to_json() const {
  nlohmann::json doc{{"total", total()},
                     {"parameters", parameters},
                     {"gradients", gradients},
                     {"optimizer_state", optimizer_state},
                     {"activations", activations},
                     {"data", data},
                     {"evaluation", evaluation},
                     {"checkpoint", checkpoint}};
  if (!left_out.empty()) doc["left_out"] = left_out;
  return doc;
}

MemoryEstimate estimate_memory(const Config& config, bool checkpoints) {
  const data::TaskShape task = data::task_shape(config.task);
  const int64_t out = output_width(config, task);
  MemoryEstimate e;
  e.data = kFloat * (task.n_train + task.n_test) * (task.input_dim + task.label_width) +
           task.other_bytes;
  // The loss keeps the outputs' probabilities (or targets) and makes their gradient.
  const int64_t loss_per_example = 2 * out;
  const std::optional<nn::MemoryCost> model =
      nn::model_cost(config.model.spec, task.input_dim, out);
  if (!model) {
    e.left_out = fmt::format("model kind \"{}\" reports no memory cost", config.model.kind);
    return e;
  }
  const int64_t p = model->parameters;
  e.parameters = kFloat * p;
  e.gradients = kFloat * p;
  e.optimizer_state = kFloat * state_per_parameter(config.optimizer) * p;
  const int64_t batch = std::min(config.train.batch_size, task.n_train);
  e.activations = kFloat * batch *
                  (2 * (model->kept_per_example + loss_per_example) + task.input_dim +
                   task.label_width);
  // A sequence task's splits are evaluated a chunk of windows at a time, its statistics taken
  // over the first chunk of the test split.
  const int64_t chunk = evaluation_chunk_rows(task.sequence, task.input_dim);
  const int64_t statistics = config.diagnostics.activation_stats
                                 ? std::min(task.n_test, chunk) * model->kept_per_example
                                 : 0;
  e.evaluation = kFloat * (std::min(task.n_train + task.n_test, chunk) *
                               (model->eval_per_example + loss_per_example) +
                           statistics);
  if (checkpoints) e.checkpoint = 2 * (e.parameters + e.optimizer_state);
  return e;
}

MemoryEstimate estimate_concurrent(const std::vector<MemoryEstimate>& runs, int jobs) {
  std::vector<const MemoryEstimate*> largest;
  for (const MemoryEstimate& run : runs) largest.push_back(&run);
  const auto count = std::min<size_t>(largest.size(), static_cast<size_t>(std::max(jobs, 1)));
  std::partial_sort(largest.begin(), largest.begin() + static_cast<std::ptrdiff_t>(count),
                    largest.end(), [](const MemoryEstimate* a, const MemoryEstimate* b) {
                      return a->total() > b->total();
                    });
  MemoryEstimate sum;
  for (size_t i = 0; i < count; ++i) {
    const MemoryEstimate& r = *largest[i];
    sum.parameters += r.parameters;
    sum.gradients += r.gradients;
    sum.optimizer_state += r.optimizer_state;
    sum.activations += r.activations;
    sum.data += r.data;
    sum.evaluation += r.evaluation;
    sum.checkpoint += r.checkpoint;
  }
  for (const MemoryEstimate& r : runs)
    if (sum.left_out.empty()) sum.left_out = r.left_out;
  return sum;
}

namespace {

// The number after `key` in a "key value" text file (/proc/meminfo's "MemAvailable:  123 kB").
std::optional<int64_t> field_of(const std::string& path, const std::string& key) {
  std::ifstream in(path);
  std::string name;
  int64_t value = 0;
  while (in >> name) {
    if (name == key && in >> value) return value;
    in.ignore(1 << 20, '\n');
  }
  return std::nullopt;
}

// A cgroup v2 file holding one number, or "max" (no limit).
std::optional<int64_t> cgroup_value(const std::string& file) {
  std::ifstream in("/sys/fs/cgroup/" + file);
  std::string text;
  if (!(in >> text) || text == "max") return std::nullopt;
  int64_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

}  // namespace

std::optional<MemoryLimit> available_memory() {
  std::optional<MemoryLimit> limit;
  if (const auto kib = field_of("/proc/meminfo", "MemAvailable:"))
    limit = MemoryLimit{*kib * 1024, "MemAvailable in /proc/meminfo"};
  if (const auto max = cgroup_value("memory.max")) {
    const int64_t left = std::max<int64_t>(0, *max - cgroup_value("memory.current").value_or(0));
    if (!limit || left < limit->bytes)
      limit = MemoryLimit{left, "the cgroup's memory.max less its memory.current"};
  }
  return limit;
}

int64_t parse_memory_size(const std::string& text) {
  const auto refuse = [&] {
    return Error(fmt::format("expected a size such as 512M, 2G or 1048576 (bytes; K, M, G and T "
                             "are powers of 1024), found \"{}\"",
                             text.substr(0, 80)));
  };
  std::string_view number = text;
  int shift = 0;
  if (!number.empty() && std::isalpha(static_cast<unsigned char>(number.back()))) {
    const std::string_view suffixes = "KMGT";
    const size_t at = suffixes.find(static_cast<char>(std::toupper(number.back())));
    if (at == std::string_view::npos) throw refuse();
    shift = 10 * static_cast<int>(at + 1);
    number.remove_suffix(1);
  }
  const bool digits_only = !number.empty() && std::all_of(number.begin(), number.end(), [](char c) {
    return std::isdigit(static_cast<unsigned char>(c)) || c == '.';
  });
  double value = 0;
  const auto [end, error] = std::from_chars(number.data(), number.data() + number.size(), value);
  if (!digits_only || error != std::errc() || end != number.data() + number.size()) throw refuse();
  const double bytes = std::ldexp(value, shift);
  if (!(bytes >= 1) || bytes > std::ldexp(1.0, 62))
    throw Error(fmt::format("expected a size from 1 byte to 4096 PiB, found \"{}\"", text));
  return static_cast<int64_t>(bytes);
}

std::string format_bytes(int64_t bytes) {
  constexpr const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  double value = static_cast<double>(bytes);
  size_t unit = 0;
  while (value >= 1024 && unit + 1 < std::size(kUnits)) value /= 1024, ++unit;
  if (unit == 0) return fmt::format("{} B", bytes);
  return fmt::format("{:.{}f} {}", value, value < 10 ? 2 : value < 100 ? 1 : 0, kUnits[unit]);
}

void check_memory(const MemoryEstimate& estimate, const MemoryLimit& limit) {
  const int64_t total = estimate.total();
  if (total <= limit.bytes) return;
  throw Error(fmt::format("the run's memory estimate is {} ({} bytes), over the limit of {} ({} "
                          "bytes, {})",
                          format_bytes(total), total, format_bytes(limit.bytes), limit.bytes,
                          limit.source));
}

}  // namespace actlab
