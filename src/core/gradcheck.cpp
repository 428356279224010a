// gradcheck: analytic gradients from backward against central finite differences.
#include "actlab/core/gradcheck.hpp"

#include <fmt/format.h>

#include <cmath>

#include "actlab/core/autograd.hpp"
#include "actlab/ops/ops.hpp"

namespace actlab {
namespace {

using Fn = std::function<Tensor(const std::vector<Tensor>&)>;

// sum(fn(inputs) * r) in double, recording nothing.
double projected(const Fn& fn, const std::vector<Tensor>& inputs, const Tensor& r) {
  NoGradGuard no_grad;
  const Tensor out = fn(inputs);
  const float* y = out.data();
  const float* w = r.data();
  double total = 0.0;
  for (int64_t k = 0, n = out.numel(); k < n; ++k) total += static_cast<double>(y[k]) * w[k];
  return total;
}

// Gradients of sum(fn(inputs) * r) by backward, each input's grad starting from `initial`
// (undefined tensors start empty); `initial` is subtracted again from the result.
std::vector<std::vector<double>> analytic(const Fn& fn, const std::vector<Tensor>& inputs,
                                          const Tensor& r, const std::vector<Tensor>& initial) {
  for (size_t i = 0; i < inputs.size(); ++i) {
    Tensor x = inputs[i];
    x.set_grad(initial[i].defined() ? initial[i].clone() : Tensor());
  }
  const Tensor loss = sum(fn(inputs) * r);
  if (loss.requires_grad()) loss.backward();  // else no gradient reaches any input
  std::vector<std::vector<double>> grads(inputs.size());
  for (size_t i = 0; i < inputs.size(); ++i) {
    Tensor x = inputs[i];
    if (!x.requires_grad()) continue;
    grads[i].assign(static_cast<size_t>(x.numel()), 0.0);
    const Tensor g = x.grad();
    if (!g.defined()) continue;
    for (int64_t k = 0; k < x.numel(); ++k)
      grads[i][k] = static_cast<double>(g.data()[k]) -
                    (initial[i].defined() ? static_cast<double>(initial[i].data()[k]) : 0.0);
    x.zero_grad();
  }
  return grads;
}

std::vector<std::vector<double>> numeric(const Fn& fn, std::vector<Tensor>& inputs,
                                         const Tensor& r, double eps) {
  std::vector<std::vector<double>> grads(inputs.size());
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (!inputs[i].requires_grad()) continue;
    float* x = inputs[i].mutable_data();
    for (int64_t k = 0; k < inputs[i].numel(); ++k) {
      const float original = x[k];
      x[k] = static_cast<float>(original + eps);
      const double plus = projected(fn, inputs, r);
      x[k] = static_cast<float>(original - eps);
      const double minus = projected(fn, inputs, r);
      x[k] = original;
      grads[i].push_back((plus - minus) / (2.0 * eps));
    }
  }
  return grads;
}

// Compares one analytic pass against the finite differences; `pass` names it in messages.
GradcheckResult compare(const std::vector<std::vector<double>>& got,
                        const std::vector<std::vector<double>>& want,
                        const GradcheckOptions& options, const char* pass) {
  GradcheckResult result;
  bool any_analytic = false;
  bool any_numeric = false;
  for (size_t i = 0; i < want.size(); ++i) {
    for (size_t k = 0; k < want[i].size(); ++k) {
      const double a = got[i][k];
      const double n = want[i][k];
      any_analytic = any_analytic || a != 0.0;
      any_numeric = any_numeric || std::abs(n) > options.atol;
      const double ratio = std::abs(a - n) / (options.atol + options.rtol * std::abs(n));
      const bool worse = std::isnan(ratio) ||
                         (!std::isnan(result.worst_ratio) && ratio > result.worst_ratio);
      if (result.input < 0 || worse) {  // a NaN counts as the worst
        result = {true, "", static_cast<int>(i), static_cast<int64_t>(k), a, n, ratio};
      }
    }
  }
  const std::string where = fmt::format(
      "worst element: input {} index {}: analytic {:.6g}, numeric {:.6g} ({} backward)",
      result.input, result.index, result.analytic, result.numeric, pass);
  if (!any_analytic && any_numeric) {
    result.ok = false;
    result.message = "gradcheck: every analytic gradient is zero but the finite differences "
                     "are not (does the op record its backward?); " + where;
  } else if (!(result.worst_ratio <= 1.0)) {
    result.ok = false;
    result.message = fmt::format(
        "gradcheck: gradients differ beyond atol {} + rtol {} * |numeric| (by {:.3g}x); {}",
        options.atol, options.rtol, result.worst_ratio, where);
  } else if (!any_analytic && !any_numeric && !options.allow_all_zero) {
    result.ok = false;
    result.message = "gradcheck: every gradient is zero, so nothing was checked; choose inputs "
                     "where the function varies, or set allow_all_zero";
  }
  return result;
}

}  // namespace

GradcheckResult gradcheck(const Fn& fn, std::vector<Tensor> inputs,
                          const GradcheckOptions& options) {
  bool any = false;
  for (const Tensor& x : inputs) any = any || x.requires_grad();
  if (!any) return {false, "gradcheck: no input requires grad"};
  for (const Tensor& x : inputs)
    if (x.requires_grad() && !x.is_leaf())
      return {false, "gradcheck: inputs must be leaf tensors (use detach())"};

  Generator gen(options.seed, 7);
  const Tensor probe = [&] {
    NoGradGuard no_grad;
    return fn(inputs);
  }();
  const Tensor r = Tensor::uniform(probe.shape(), -1.f, 1.f, gen);
  std::vector<Tensor> none(inputs.size());
  std::vector<Tensor> garbage;
  for (const Tensor& x : inputs)
    garbage.push_back(x.requires_grad() ? Tensor::uniform(x.shape(), -10.f, 10.f, gen) : Tensor());

  const auto want = numeric(fn, inputs, r, options.eps);
  GradcheckResult fresh = compare(analytic(fn, inputs, r, none), want, options, "fresh");
  if (!fresh) return fresh;
  GradcheckResult accumulated =
      compare(analytic(fn, inputs, r, garbage), want, options, "accumulating");
  if (!accumulated)
    accumulated.message += " -- a gradient was overwritten instead of accumulated?";
  return accumulated;
}

}  // namespace actlab
