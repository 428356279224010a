// Formulas as differentiable ops: an expression (graph, its root, and for each input the
// symbolic gradient g * d root / d input) compiled per layout of the inputs, the fused op
// whose forward and backward each run one program, and the checks an activation formula
// passes before it is used.
#include "actlab/ops/formula.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <mutex>

#include "actlab/core/autograd.hpp"
#include "ops/formula_graph.hpp"

namespace actlab {
namespace detail {

using formula::Graph;
using formula::NodeId;
using kernels::ExprLayout;
using kernels::ExprProgram;
using kernels::ExprReduce;

// A formula over named inputs, differentiated once; programs compiled on first use per layout.
struct FormulaExpression {
  std::string text;
  std::vector<std::string> names;  // of the inputs
  Graph graph;
  NodeId root = -1;
  std::vector<NodeId> derivatives;  // d root / d input i
  std::vector<NodeId> gradients;    // g * d root / d input i, g being input names.size()

  void differentiate() {
    std::vector<int32_t> all(names.size());
    for (size_t i = 0; i < names.size(); ++i) all[i] = static_cast<int32_t>(i);
    derivatives = graph.gradient(root, all);
    const NodeId g = graph.input(static_cast<int32_t>(names.size()));
    for (NodeId d : derivatives) gradients.push_back(graph.make(kernels::ExprOp::mul, g, d));
  }

  // The forward program for `layouts`, or the backward one for the inputs in `needed` given
  // the incoming gradient g laid out as `g_layout` (elementwise, or one value for all: a
  // uniform gradient).
  std::shared_ptr<const ExprProgram> program(const std::vector<ExprLayout>& layouts,
                                             const std::vector<bool>* needed,
                                             ExprLayout g_layout = ExprLayout::elementwise) const {
    std::string key;
    for (ExprLayout l : layouts) key += static_cast<char>('0' + static_cast<int>(l));
    if (needed != nullptr) {
      key += '/';
      for (bool b : *needed) key += b ? '1' : '0';
      key += static_cast<char>('0' + static_cast<int>(g_layout));
    }
    return cached(key, [&] { return compile_for(layouts, needed, g_layout); });
  }

  // The forward program that also writes d root / d input i for each i in `wanted` (all of
  // them elementwise), after the root.
  std::shared_ptr<const ExprProgram> program_with_derivatives(const std::vector<bool>& wanted) const {
    std::string key = "d";
    for (bool b : wanted) key += b ? '1' : '0';
    return cached(key, [&] {
      std::vector<NodeId> outputs{root};
      for (size_t i = 0; i < wanted.size(); ++i)
        if (wanted[i]) outputs.push_back(derivatives[i]);
      return formula::compile(graph, outputs,
                              std::vector<ExprLayout>(names.size(), ExprLayout::elementwise),
                              std::vector<ExprReduce>(outputs.size(), ExprReduce::none));
    });
  }

 private:
  template <class Compile>
  std::shared_ptr<const ExprProgram> cached(const std::string& key, Compile compile) const {
    std::lock_guard lock(mutex);
    std::shared_ptr<const ExprProgram>& slot = programs[key];
    if (!slot) slot = std::make_shared<const ExprProgram>(compile());
    return slot;
  }

  ExprProgram compile_for(const std::vector<ExprLayout>& layouts, const std::vector<bool>* needed,
                          ExprLayout g_layout) const {
    if (needed == nullptr) return formula::compile(graph, {root}, layouts, {ExprReduce::none});
    std::vector<NodeId> outputs;
    std::vector<ExprReduce> reduce;
    for (size_t i = 0; i < names.size(); ++i) {
      if (!(*needed)[i]) continue;
      outputs.push_back(gradients[i]);
      reduce.push_back(layouts[i] == ExprLayout::elementwise ? ExprReduce::none
                       : layouts[i] == ExprLayout::scalar    ? ExprReduce::sum
                                                             : ExprReduce::channel);
    }
    std::vector<ExprLayout> with_g = layouts;
    with_g.push_back(g_layout);
    return formula::compile(graph, outputs, with_g, reduce);
  }

  mutable std::mutex mutex;
  mutable std::map<std::string, std::shared_ptr<const ExprProgram>> programs;
};

}  // namespace detail

namespace {

using detail::FormulaExpression;
using formula::NodeId;
using kernels::ExprLayout;

// How the inputs of one call lie over the output's elements.
struct Layout {
  std::vector<ExprLayout> layouts;
  Shape shape;
  int64_t n = 0, channels = 1, inner = 1;
};

Layout layout_of(const FormulaExpression& e, const std::vector<Tensor>& inputs) {
  if (inputs.size() != e.names.size())
    throw Error(fmt::format("formula \"{}\": expected {} input{} ({}), found {}", e.text,
                            e.names.size(), e.names.size() == 1 ? "" : "s",
                            fmt::join(e.names, ", "), inputs.size()));
  if (inputs.size() > static_cast<size_t>(Node::kMaxInputs))
    throw Error(fmt::format("formula \"{}\": at most {} inputs, found {}", e.text, Node::kMaxInputs,
                            inputs.size()));
  size_t largest = 0;
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (!inputs[i].defined())
      throw Error(fmt::format("formula \"{}\": input {} ({}) is undefined", e.text, i + 1, e.names[i]));
    if (inputs[i].numel() > inputs[largest].numel()) largest = i;
  }
  const Tensor& full = inputs[largest];
  Layout l{{}, full.shape(), full.numel(), 1, 1};
  if (full.dim() >= 2) {
    l.channels = full.size(1);
    for (int64_t d = 2; d < full.dim(); ++d) l.inner *= full.size(d);
  }
  for (size_t i = 0; i < inputs.size(); ++i) {
    const Tensor& t = inputs[i];
    if (t.shape() == full.shape()) l.layouts.push_back(ExprLayout::elementwise);
    else if (t.numel() == 1) l.layouts.push_back(ExprLayout::scalar);
    else if (full.dim() >= 2 && t.dim() == 1 && t.numel() == l.channels) l.layouts.push_back(ExprLayout::channel);
    else
      throw Error(fmt::format("formula \"{}\": input {} ({}) of shape {} does not fit {}: expected "
                              "that shape, 1 value, or one per channel (dim 1)",
                              e.text, i + 1, e.names[i], t.shape().str(), full.shape().str()));
  }
  return l;
}

std::vector<const float*> data_of(const std::vector<Tensor>& tensors) {
  std::vector<const float*> out;
  for (const Tensor& t : tensors) out.push_back(t.data());
  return out;
}

// Backward: one program computes every needed input's gradient from the inputs and g (one value
// per element, or one for all: a uniform gradient, from a sum).
void formula_backward(const FormulaExpression& e, const Layout& l,
                      const std::vector<SavedTensor>& saved, const Tensor& g, GradSink& sink) {
  std::vector<bool> needed(saved.size());
  for (size_t i = 0; i < saved.size(); ++i) needed[i] = sink.needs(static_cast<int>(i));
  const ExprLayout g_layout = g.numel() == l.n ? ExprLayout::elementwise : ExprLayout::scalar;
  const auto program = e.program(l.layouts, &needed, g_layout);
  std::vector<const float*> in;
  for (const SavedTensor& s : saved) in.push_back(s.data());
  in.push_back(g.data());
  std::vector<kernels::ExprOutput> outputs;
  std::vector<std::vector<double>> sums(saved.size());
  bool g_reused = false;
  for (size_t i = 0; i < saved.size(); ++i) {
    if (!needed[i]) continue;
    if (l.layouts[i] != ExprLayout::elementwise) {
      outputs.push_back({nullptr, false, &sums[i]});
      continue;
    }
    // The program stores its outputs after reading all of a block's inputs: g's buffer may
    // take one of them.
    const GradSink::Target t = g_reused ? sink.target(static_cast<int>(i))
                                        : sink.target_reusing(static_cast<int>(i), g);
    g_reused = g_reused || t.data == g.data();
    outputs.push_back({t.data, t.accumulate, nullptr});
  }
  kernels::run_expr_program(*program, l.n, l.channels, l.inner, in, outputs);
  for (size_t i = 0; i < saved.size(); ++i)
    if (needed[i] && l.layouts[i] != ExprLayout::elementwise)
      sink.target(static_cast<int>(i)).write(static_cast<int64_t>(sums[i].size()), [s = sums[i].data()](int64_t c) {
        return static_cast<float>(s[c]);
      });
}

// The inputs whose d root / d input the forward should compute while it computes the root, as
// the built-in GELU does (kernels/activations.hpp), or none (empty). Only when the inputs that
// want a gradient are all elementwise (the backward is then g times each saved derivative, at
// memory speed), their derivatives are computed values (not a constant or an input, which would
// only cost a pass), and computing them with the root saves at least one function such as exp
// or erf over computing each apart (they share it: GELU written with erfc, not gelu(x) * w).
std::vector<bool> derivatives_in_forward(const FormulaExpression& e, const Layout& l,
                                         const std::vector<Tensor>& inputs,
                                         const kernels::ExprProgram& forward) {
  if (!grad_enabled()) return {};
  std::vector<bool> wanted(inputs.size(), false);
  bool any = false;
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (!inputs[i].requires_grad()) continue;
    const kernels::ExprOp op = e.graph[e.derivatives[i]].op;
    if (l.layouts[i] != ExprLayout::elementwise || op == kernels::ExprOp::constant ||
        op == kernels::ExprOp::input)
      return {};
    wanted[i] = any = true;
  }
  if (!any) return {};
  const int64_t apart = forward.cost + e.program(l.layouts, &wanted)->cost;
  const int64_t together = e.program_with_derivatives(wanted)->cost;
  return apart - together >= formula::op_cost(kernels::ExprOp::exp) ? wanted : std::vector<bool>{};
}

// Backward from the derivatives the forward saved: dx_i = g d_i, g one value per element or
// one for all, written over d_i's buffer, which only this node holds.
void backward_from_derivatives(const std::vector<Tensor>& derivatives, const Tensor& g, GradSink& sink) {
  const float* gv = g.data();
  const bool uniform = g.numel() == 1 && derivatives.front().numel() != 1;
  for (size_t i = 0; i < derivatives.size(); ++i) {
    if (!derivatives[i].defined() || !sink.needs(static_cast<int>(i))) continue;
    const float* dv = derivatives[i].data();
    const GradSink::Target t = sink.target_reusing(static_cast<int>(i), derivatives[i]);
    if (uniform)
      t.write(derivatives[i].numel(), [g0 = gv[0], dv](int64_t k) { return g0 * dv[k]; });
    else
      t.write(derivatives[i].numel(), [gv, dv](int64_t k) { return gv[k] * dv[k]; });
  }
}

template <class Backward>
void record_formula(Tensor& y, const std::vector<Tensor>& inputs, Backward backward) {
  constexpr GradForm form = GradForm::uniform_accepted;
  switch (inputs.size()) {
    case 1: record("formula", y, {inputs[0]}, std::move(backward), form); break;
    case 2: record("formula", y, {inputs[0], inputs[1]}, std::move(backward), form); break;
    case 3: record("formula", y, {inputs[0], inputs[1], inputs[2]}, std::move(backward), form); break;
    default: record("formula", y, {inputs[0], inputs[1], inputs[2], inputs[3]}, std::move(backward), form);
  }
}

// The fused op: forward runs the expression's program, backward formula_backward, or, for a
// compute-bound formula, forward computes the derivatives too and backward multiplies by g.
Tensor formula_op(const std::shared_ptr<const FormulaExpression>& e, const std::vector<Tensor>& inputs) {
  const Layout l = layout_of(*e, inputs);
  Tensor y = Tensor::empty(l.shape);
  const auto forward = e->program(l.layouts, nullptr);
  const std::vector<bool> wanted = derivatives_in_forward(*e, l, inputs, *forward);
  if (!wanted.empty()) {
    std::vector<Tensor> derivatives(inputs.size());
    std::vector<kernels::ExprOutput> outputs{{y.mutable_data(), false, nullptr}};
    for (size_t i = 0; i < inputs.size(); ++i)
      if (wanted[i]) {
        derivatives[i] = Tensor::empty(l.shape);
        outputs.push_back({derivatives[i].mutable_data(), false, nullptr});
      }
    kernels::run_expr_program(*e->program_with_derivatives(wanted), l.n, l.channels, l.inner,
                              data_of(inputs), outputs);
    record_formula(y, inputs, [derivatives = std::move(derivatives)](const Tensor& g, GradSink& sink) {
      backward_from_derivatives(derivatives, g, sink);
    });
    return y;
  }
  kernels::run_expr_program(*forward, l.n, l.channels, l.inner, data_of(inputs),
                            {{y.mutable_data(), false, nullptr}});
  std::vector<SavedTensor> saved;
  for (const Tensor& t : inputs) saved.push_back(save(t));
  record_formula(y, inputs, [e, l, saved = std::move(saved)](const Tensor& g, GradSink& sink) {
    formula_backward(*e, l, saved, g, sink);
  });
  return y;
}

// fused()'s expressions by text: parsed and differentiated once.
std::shared_ptr<const FormulaExpression> fused_expression(const std::string& text) {
  static std::mutex mutex;
  static std::map<std::string, std::shared_ptr<const FormulaExpression>> cache;
  {
    std::lock_guard lock(mutex);
    if (const auto it = cache.find(text); it != cache.end()) return it->second;
  }
  auto e = std::make_shared<FormulaExpression>();
  e->text = text;
  formula::NameResolver resolve = [&](const std::string& name) -> std::optional<NodeId> {
    const auto it = std::find(e->names.begin(), e->names.end(), name);
    if (it == e->names.end()) e->names.push_back(name);
    return e->graph.input(static_cast<int32_t>(std::find(e->names.begin(), e->names.end(), name) - e->names.begin()));
  };
  e->root = formula::parse(text, e->graph, resolve, {});
  e->differentiate();
  std::lock_guard lock(mutex);
  return cache.try_emplace(text, std::move(e)).first->second;
}

// ---- the checks of an activation formula ---------------------------------------------------

std::vector<double> gradcheck_grid(const formula::Graph& graph, NodeId root) {
  std::vector<double> grid;
  for (int k = -48; k <= 48; ++k) grid.push_back(k / 8.0);
  for (double far : {10.0, 20.0, 50.0}) grid.insert(grid.end(), {-far, far});
  for (NodeId id = 0; id <= root; ++id)
    if (graph.is_constant(id) && std::abs(graph[id].value) <= 1e4)
      grid.insert(grid.end(), {graph[id].value, -graph[id].value});
  return grid;
}

// 0, and +-10^(k / 50) for k in [-200, 200]: 1e-4 to 1e4 on each side.
std::vector<float> finiteness_grid() {
  std::vector<float> grid{0.f};
  for (int k = -200; k <= 200; ++k) {
    const auto v = static_cast<float>(std::pow(10.0, k / 50.0));
    grid.insert(grid.end(), {-v, v});
  }
  std::sort(grid.begin(), grid.end());
  return grid;
}

// The grid points where `values` is not finite, as "NaN for x in [lo, hi]", or "".
std::string nonfinite_text(const std::vector<float>& x, const std::vector<float>& values) {
  float lo = 0, hi = 0;
  const char* kind = nullptr;
  for (size_t i = 0; i < x.size(); ++i) {
    if (std::isfinite(values[i])) continue;
    if (kind == nullptr) {
      kind = std::isnan(values[i]) ? "NaN" : "inf";
      lo = x[i];
    }
    hi = x[i];
  }
  if (kind == nullptr) return "";
  return lo == hi ? fmt::format("{} at x = {:g}", kind, lo)
                  : fmt::format("{} for x in [{:g}, {:g}]", kind, lo, hi);
}

}  // namespace

// ---- Formula -------------------------------------------------------------------------------

Formula::Formula(const std::string& text, std::vector<FormulaParameter> parameters)
    : text_(text), parameters_(std::move(parameters)) {
  auto e = std::make_shared<FormulaExpression>();
  e->text = text;
  e->names = {"x"};
  for (const FormulaParameter& p : parameters_)
    if (p.learn) e->names.push_back(p.name);
  std::vector<std::string> known{"x"};
  for (const FormulaParameter& p : parameters_) known.push_back(p.name);
  known.insert(known.end(), {"pi", "e"});
  formula::NameResolver resolve = [&](const std::string& name) -> std::optional<NodeId> {
    const auto input = std::find(e->names.begin(), e->names.end(), name);
    if (input != e->names.end()) return e->graph.input(static_cast<int32_t>(input - e->names.begin()));
    for (const FormulaParameter& p : parameters_)
      if (p.name == name) return e->graph.constant(p.value);
    return std::nullopt;
  };
  e->root = formula::parse(text, e->graph, resolve, known);
  if (!e->graph.uses(e->root, 0))
    throw Error(fmt::format("formula \"{}\" does not use x: an activation is a function of x", text));
  e->differentiate();
  expression_ = std::move(e);
}

std::vector<std::string> Formula::learned() const {
  return {expression_->names.begin() + 1, expression_->names.end()};
}

std::string Formula::derivative_text() const {
  return expression_->graph.text(expression_->derivatives[0], expression_->names);
}

namespace {
double evaluate_at(const FormulaExpression& e, const std::vector<FormulaParameter>& parameters,
                   NodeId node, double x) {
  std::vector<double> inputs{x};
  for (const FormulaParameter& p : parameters)
    if (p.learn) inputs.push_back(p.value);
  return e.graph.evaluate(node, inputs)[static_cast<size_t>(node)];
}
}  // namespace

double Formula::value(double x) const { return evaluate_at(*expression_, parameters_, expression_->root, x); }
double Formula::derivative(double x) const {
  return evaluate_at(*expression_, parameters_, expression_->derivatives[0], x);
}
double Formula::parameter_derivative(size_t learned_index, double x) const {
  return evaluate_at(*expression_, parameters_, expression_->derivatives.at(learned_index + 1), x);
}

void Formula::check() const {
  const FormulaExpression& e = *expression_;
  std::vector<double> values{0.0};
  for (const FormulaParameter& p : parameters_)
    if (p.learn) values.push_back(p.value);
  // d f / d input i at `values`, against differences of f in input i.
  const auto check_input = [&](size_t i, const std::string& what) {
    const double at = values[i];
    const auto f = [&](double v) {
      std::vector<double> shifted = values;
      shifted[i] = v;
      return e.graph.evaluate(e.root, shifted)[static_cast<size_t>(e.root)];
    };
    const double h = 1e-6 * std::max(1.0, std::abs(at));
    const double f0 = f(at), right = (f(at + h) - f0) / h, left = (f0 - f(at - h)) / h;
    const double central = (right + left) / 2;
    const double analytic = e.graph.evaluate(e.derivatives[i], values)[static_cast<size_t>(e.derivatives[i])];
    // Not finite: the finiteness check's business.
    if (!std::isfinite(f0) || !std::isfinite(central) || !std::isfinite(analytic)) return;
    const auto near = [](double a, double b, double tol) { return std::abs(a - b) <= tol * (1 + std::abs(b)); };
    const bool kink = !near(left, right, 1e-4);
    const bool ok = kink ? near(analytic, left, 1e-3) || near(analytic, right, 1e-3) ||
                               near(analytic, central, 1e-3) || analytic == 0
                         : near(analytic, central, 1e-5);
    if (!ok)
      throw Error(fmt::format("formula \"{}\": its derivative {} at x = {:g} is {:g}, but finite "
                              "differences give {:g}",
                              text_, what, values[0], analytic, central));
  };
  for (double x : gradcheck_grid(e.graph, e.root)) {
    values[0] = x;
    check_input(0, "in x");
    for (size_t i = 1; i < values.size(); ++i) check_input(i, "in " + e.names[i]);
  }
  // Float32, through the kernels that will run (not through autograd, which may be off):
  // f and f' must be finite.
  const std::vector<float> grid = finiteness_grid();
  const std::vector<float> ones(grid.size(), 1.f);
  std::vector<float> y(grid.size()), dx(grid.size());
  std::vector<const float*> inputs{grid.data()};
  std::vector<float> learned_values;
  for (const FormulaParameter& p : parameters_)
    if (p.learn) learned_values.push_back(static_cast<float>(p.value));
  std::vector<ExprLayout> layouts{ExprLayout::elementwise};
  for (const float& v : learned_values) {
    inputs.push_back(&v);
    layouts.push_back(ExprLayout::scalar);
  }
  const auto n = static_cast<int64_t>(grid.size());
  kernels::run_expr_program(*e.program(layouts, nullptr), n, 1, 1, inputs,
                            {{y.data(), false, nullptr}});
  std::vector<bool> x_only(layouts.size(), false);
  x_only[0] = true;
  inputs.push_back(ones.data());
  kernels::run_expr_program(*e.program(layouts, &x_only), n, 1, 1, inputs,
                            {{dx.data(), false, nullptr}});
  const std::string bad_value = nonfinite_text(grid, y);
  if (!bad_value.empty())
    throw Error(fmt::format("formula \"{}\" gives {}; an activation must be finite on [-1e4, 1e4]",
                            text_, bad_value));
  const std::string bad_derivative = nonfinite_text(grid, dx);
  if (!bad_derivative.empty())
    throw Error(fmt::format("formula \"{}\": its derivative gives {}; it must be finite on "
                            "[-1e4, 1e4]",
                            text_, bad_derivative));
}

std::string Formula::range_text() const {
  std::vector<float> grid = finiteness_grid();
  for (int k = -1000; k <= 1000; ++k) grid.push_back(static_cast<float>(k) * 10.f);
  std::vector<Tensor> learned_values;
  for (const FormulaParameter& p : parameters_)
    if (p.learn) learned_values.push_back(Tensor::full({1}, static_cast<float>(p.value)));
  NoGradGuard no_grad;
  const std::vector<float> y =
      (*this)(Tensor::from_vector(grid, {static_cast<int64_t>(grid.size())}), learned_values).to_vector();
  const auto [lo, hi] = std::minmax_element(y.begin(), y.end());
  return fmt::format("[{:.4g}, {:.4g}] over x in [-1e4, 1e4]", *lo, *hi);
}

Tensor Formula::operator()(const Tensor& x, const std::vector<Tensor>& learned) const {
  std::vector<Tensor> inputs{x};
  inputs.insert(inputs.end(), learned.begin(), learned.end());
  return formula_op(expression_, inputs);
}

Tensor fused(const std::string& formula, const std::vector<Tensor>& inputs) {
  return formula_op(fused_expression(formula), inputs);
}

}  // namespace actlab
