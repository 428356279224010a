// Anomaly detection: the NaN/Inf checks behind anomaly mode, the error they throw, and the
// thread's stack of running modules that names where an op ran.
#include "actlab/core/anomaly.hpp"

#include <fmt/format.h>

#include <cfloat>
#include <cmath>
#include <utility>
#include <vector>

namespace actlab {
namespace {

thread_local std::vector<std::shared_ptr<const detail::ModuleFrame>> t_modules;

// "NaN" if t holds a NaN, else "Inf" if it holds an infinity, else null.
const char* non_finite_kind(const Tensor& t) {
  if (all_finite(t)) return nullptr;
  const float* v = t.data();
  for (int64_t k = 0, n = t.numel(); k < n; ++k)
    if (std::isnan(v[k])) return "NaN";
  return "Inf";
}

std::string where(const Anomaly& a) {
  if (a.module_description.empty()) return "";
  if (a.module.empty()) return fmt::format(" in {}", a.module_description);
  return fmt::format(" in module {} ({})", a.module, a.module_description);
}

std::string message(const Anomaly& a) {
  std::string what = fmt::format("produced {}", a.value);
  if (a.backward)
    what += fmt::format(" in the gradient of its input {}", a.input);
  else if (a.input >= 0)
    what += fmt::format(" from its input {}, which already held NaN/Inf (data, a parameter, or "
                        "a value made while anomaly detection was off)",
                        a.input);
  return fmt::format("anomaly: op \"{}\" ({}){} {}", a.op, a.backward ? "backward" : "forward",
                     where(a), what);
}

Anomaly anomaly_at(const char* op, const char* value, const detail::ModuleFrame* module) {
  Anomaly a;
  a.op = op;
  a.value = value;
  if (module != nullptr) {
    a.module = module->name;
    a.module_description = module->description;
  }
  return a;
}

}  // namespace

bool all_finite(const Tensor& t) {
  // No early exit, so that the loop vectorises; NaN fails the comparison too.
  const float* v = t.data();
  int bad = 0;  // an int: GCC does not vectorise this with a bool
  for (int64_t k = 0, n = t.numel(); k < n; ++k) bad |= !(std::fabs(v[k]) <= FLT_MAX);
  return bad == 0;
}

AnomalyError::AnomalyError(Anomaly anomaly)
    : Error(message(anomaly)), anomaly_(std::move(anomaly)) {}

namespace detail {

const std::shared_ptr<const ModuleFrame>& innermost_module() {
  static const std::shared_ptr<const ModuleFrame> none;
  return t_modules.empty() ? none : t_modules.back();
}

void enter_module(std::shared_ptr<const ModuleFrame> frame) {
  t_modules.push_back(std::move(frame));
}

void leave_module() { t_modules.pop_back(); }

void check_output(const char* name, const Tensor& output, std::initializer_list<Tensor> inputs) {
  const char* kind = non_finite_kind(output);
  if (kind == nullptr) return;
  Anomaly a = anomaly_at(name, kind, innermost_module().get());
  int i = 0;
  for (const Tensor& input : inputs) {
    if (input.defined() && !all_finite(input)) {
      a.input = i;
      break;
    }
    ++i;
  }
  throw AnomalyError(std::move(a));
}

void check_gradient(const char* name, int input, const Tensor& grad, const ModuleFrame* module) {
  const char* kind = non_finite_kind(grad);
  if (kind == nullptr) return;
  Anomaly a = anomaly_at(name, kind, module);
  a.backward = true;
  a.input = input;
  throw AnomalyError(std::move(a));
}

}  // namespace detail
}  // namespace actlab
