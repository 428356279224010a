// Pointwise functions written as formulas: "x * sigmoid(beta * x)". A formula is parsed once,
// differentiated symbolically (never by finite differences), and compiled into one fused
// kernel for forward and one for backward, each a single pass over memory.
//
// Grammar: numbers, pi, e and names; + - * / ^ (right-associative, binding tighter than unary
// minus: -x^2 = -(x^2)); comparisons < <= > >= == != giving 1 or 0; and the functions exp
// expm1 log log1p sqrt abs tanh sigmoid softplus erf erfc relu gelu silu min(a, b) max(a, b)
// where(cond, a, b). Derivatives at kinks follow PyTorch: relu'(0) = 0, abs'(0) = 0, min and
// max give each side half on a tie, where() takes the derivative of the branch it selects.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "actlab/core/tensor.hpp"

namespace actlab {

namespace detail {
struct FormulaExpression;
}

// A named constant of a formula; a learned one becomes a trained parameter of the module.
struct FormulaParameter {
  std::string name;
  double value = 0;
  bool learn = false;
};

// An activation f(x) given as a formula over x and parameters. Fixed parameters are folded
// into the formula as constants; learned ones are inputs of its kernel.
class Formula {
 public:
  // Parses `text`; throws Error for a formula that does not parse (the message shows it with
  // a caret under the column), names an unknown function or name (with a "did you mean"),
  // calls a function with the wrong number of arguments, or does not use x.
  explicit Formula(const std::string& text, std::vector<FormulaParameter> parameters = {});

  const std::string& text() const { return text_; }
  const std::vector<FormulaParameter>& parameters() const { return parameters_; }
  std::vector<std::string> learned() const;  // names of the learned parameters, in order

  // f'(x) as text, simplified (learned parameters by name, fixed ones as their values).
  std::string derivative_text() const;
  // f, f' and df/dp (p the i-th learned parameter) at x in double precision, parameters at
  // their values.
  double value(double x) const;
  double derivative(double x) const;
  double parameter_derivative(size_t learned_index, double x) const;

  // The checks made when a formula becomes an activation: its derivatives against central
  // differences in double precision on a grid over [-6, 6] that holds its kinks (0, the
  // integers, the constants of the formula; at a kink either one-sided derivative, their mean
  // or 0 passes), and its float32 values and derivative over [-1e4, 1e4], which must be
  // finite. Throws Error naming the problem and where, e.g. `gives NaN for x in [-10000,
  // -0.0001]` for sqrt(x).
  void check() const;

  // The range of f over x in [-1e4, 1e4] (float32 kernel, 2001 points), as "[lo, hi]".
  std::string range_text() const;

  // y = f(x): one fused op with autograd. `learned` holds a tensor per learned parameter (in
  // the order of learned()), each of 1 value or one per channel (dim 1 of x).
  Tensor operator()(const Tensor& x, const std::vector<Tensor>& learned = {}) const;

 private:
  std::string text_;
  std::vector<FormulaParameter> parameters_;
  std::shared_ptr<const detail::FormulaExpression> expression_;
};

// A pointwise expression of several tensors as one op with autograd: `fused("gelu(x) * w",
// {x, w})`. The names of the formula are its inputs, in the order they first appear in it
// (up to 4). Inputs have one shape, or hold 1 value, or one value per channel (dim 1 of the
// largest input); the output has the largest input's shape. Compiled once per formula and
// layout of the inputs, then cached.
Tensor fused(const std::string& formula, const std::vector<Tensor>& inputs);

}  // namespace actlab
