// The expression graph of formulas: simplifying constructors, the symbolic derivative (one
// rule per operation, side by side with its value in double precision), and the text form.
#include "ops/formula_graph.hpp"

#include <fmt/format.h>

#include <cmath>
#include <numbers>

#include "actlab/core/tensor.hpp"

namespace actlab::formula {
namespace {

using enum ExprOp;

double logistic(double x) {
  const double z = std::exp(-std::abs(x));
  return x >= 0 ? 1 / (1 + z) : z / (1 + z);
}

double normal_cdf_of(double x) { return 0.5 * std::erfc(-x / std::numbers::sqrt2); }

// 1 / sqrt(2 pi): the normal pdf is this times e^(-x^2/2).
constexpr double kInvSqrt2Pi = 0.398942280401432677939946059934;

// One operation in double precision, with the float kernels' conventions at kinks and NaN.
double apply(ExprOp op, double a, double b, double c) {
  switch (op) {
    case neg: return -a;
    case exp: return std::exp(a);
    case expm1: return std::expm1(a);
    case log: return std::log(a);
    case log1p: return std::log1p(a);
    case sqrt: return std::sqrt(a);
    case abs: return std::abs(a);
    case tanh: return std::tanh(a);
    case sigmoid: return logistic(a);
    case softplus: return std::max(a, 0.0) + std::log1p(std::exp(-std::abs(a)));
    case erf: return std::erf(a);
    case erfc: return std::erfc(a);
    case relu: return a < 0 ? 0 : a;
    case gelu: return a * normal_cdf_of(a);
    case step: return a > 0 ? 1 : 0;
    case sign: return a > 0 ? 1 : (a < 0 ? -1 : 0);
    case exp_minus_square: return std::exp(-a * a);
    case erf_given: return std::erf(a);
    case erfc_given: return std::erfc(a);
    case gaussian: return std::exp(-0.5 * a * a);
    case normal_cdf:
    case normal_cdf_given: return normal_cdf_of(a);
    case add: return a + b;
    case sub: return a - b;
    case mul: return a * b;
    case div: return a / b;
    case min: return a != a ? a : (a < b ? a : b);
    case max: return a != a ? a : (a > b ? a : b);
    case lt: return a < b;
    case le: return a <= b;
    case gt: return a > b;
    case ge: return a >= b;
    case eq: return a == b;
    case ne: return a != b;
    case where: return a != 0 ? b : c;
    case muladd: return a * b + c;
    case constant:
    case input: break;
  }
  return 0;
}

bool commutes(ExprOp op) { return op == add || op == mul || op == min || op == max || op == eq || op == ne; }

// Binding strength in text: comparisons < + - < * / < unary minus < ^ < calls and leaves.
int precedence(ExprOp op) {
  if (op >= lt && op <= ne) return 1;
  if (op == add || op == sub) return 2;
  if (op == mul || op == div) return 3;
  if (op == neg) return 4;
  return 6;
}

const char* symbol(ExprOp op) {
  switch (op) {
    case add: return " + ";
    case sub: return " - ";
    case mul: return " * ";
    case div: return " / ";
    case lt: return " < ";
    case le: return " <= ";
    case gt: return " > ";
    case ge: return " >= ";
    case eq: return " == ";
    case ne: return " != ";
    default: return "";
  }
}

const char* function_name(ExprOp op) {
  switch (op) {
    case exp: return "exp";
    case expm1: return "expm1";
    case log: return "log";
    case log1p: return "log1p";
    case sqrt: return "sqrt";
    case abs: return "abs";
    case tanh: return "tanh";
    case sigmoid: return "sigmoid";
    case softplus: return "softplus";
    case erf: return "erf";
    case erfc: return "erfc";
    case relu: return "relu";
    case gelu: return "gelu";
    case normal_cdf:
    case normal_cdf_given: return "Phi";
    case step: return "step";
    case sign: return "sign";
    case min: return "min";
    case max: return "max";
    case where: return "where";
    default: return "";
  }
}

}  // namespace

NodeId Graph::intern(Node node) {
  const auto key = std::make_tuple(static_cast<int>(node.op), node.a, node.b, node.c,
                                   node.op == ExprOp::constant ? node.value : 0.0, node.input);
  const auto [it, added] = index_.try_emplace(key, size());
  if (added) nodes_.push_back(node);
  return it->second;
}

NodeId Graph::constant(double value) {
  if (value == 0) value = 0;  // -0 and 0 are one constant
  return intern({ExprOp::constant, -1, -1, -1, value, -1});
}

NodeId Graph::input(int32_t index) { return intern({ExprOp::input, -1, -1, -1, 0, index}); }

NodeId Graph::make(ExprOp op, NodeId a, NodeId b, NodeId c) {
  const int arity = kernels::expr_arity(op);
  const bool all_constant = is_constant(a) && (arity < 2 || is_constant(b)) &&
                            (arity < 3 || is_constant(c));
  if (all_constant)
    return constant(apply(op, (*this)[a].value, arity > 1 ? (*this)[b].value : 0,
                          arity > 2 ? (*this)[c].value : 0));
  return simplify(op, a, b, c);
}

// `id` as c * t: a constant factor and the rest (1 and id itself when there is none).
std::pair<double, NodeId> Graph::scaled(NodeId id) const {
  const Node& n = (*this)[id];
  if (n.op == ExprOp::mul && is_constant(n.a)) return {(*this)[n.a].value, n.b};
  return {1.0, id};
}

// c a +- d a = (c +- d) a, for op add or sub, or -1 when a and b are not terms of one node.
NodeId Graph::like_terms(ExprOp op, NodeId a, NodeId b) {
  const auto [ca, ta] = scaled(a);
  const auto [cb, tb] = scaled(b);
  if (ta != tb) return -1;
  return make(mul, constant(op == add ? ca + cb : ca - cb), ta);
}

// The rewrites of `make`. They hold for finite values; like every symbolic differentiator,
// 0 * f is taken as 0 even where f would be infinite.
NodeId Graph::simplify(ExprOp op, NodeId a, NodeId b, NodeId c) {
  const Node na = (*this)[a];  // a copy: the rewrites below make nodes, which may move nodes_
  switch (op) {
    case neg:
      if (na.op == neg) return na.a;
      break;
    case add:
      if (is_constant(a, 0)) return b;
      if (is_constant(b, 0)) return a;
      // where(c, p, q) + where(c, r, s) = where(c, p + r, q + s): the derivative of a where()
      // is a sum of two such terms.
      if (na.op == where && (*this)[b].op == where && na.a == (*this)[b].a) {
        const Node l = na, r = (*this)[b];
        return make(where, l.a, make(add, l.b, r.b), make(add, l.c, r.c));
      }
      if ((*this)[b].op == neg) return make(sub, a, (*this)[b].a);
      if (na.op == neg) return make(sub, b, na.a);
      if (const NodeId sum = like_terms(add, a, b); sum >= 0) return sum;
      // (p + q) + q': a derivative's terms arrive one by one, like terms often last.
      if (na.op == add && scaled(na.b).second == scaled(b).second) return make(add, na.a, make(add, na.b, b));
      break;
    case sub:
      if (is_constant(b, 0)) return a;
      if (is_constant(a, 0)) return make(neg, b);
      if ((*this)[b].op == neg) return make(add, a, (*this)[b].a);
      if (const NodeId difference = like_terms(sub, a, b); difference >= 0) return difference;
      break;
    case mul:
      if (is_constant(b)) std::swap(a, b);  // a constant factor goes first
      if (is_constant(a, 0)) return a;
      if (is_constant(a, 1)) return b;
      if (is_constant(a, -1)) return make(neg, b);
      if (is_constant(a) && (*this)[b].op == mul && is_constant((*this)[b].a))
        return make(mul, make(mul, a, (*this)[b].a), (*this)[b].b);
      // f * where(c, 0, g) = where(c, 0, f * g), so that the branch where() rejects never
      // multiplies (an infinite f there, such as e^x in ELU's unused branch at x = 100,
      // would make 0 * inf = NaN); a constant f is moved inside as well.
      if ((*this)[b].op == where && (is_constant(a) || is_constant((*this)[b].b, 0) ||
                                     is_constant((*this)[b].c, 0))) {
        const Node w = (*this)[b];
        return make(where, w.a, make(mul, a, w.b), make(mul, a, w.c));
      }
      if ((*this)[a].op == where && !is_constant(b) &&
          (is_constant((*this)[a].b, 0) || is_constant((*this)[a].c, 0)))
        return make(mul, b, a);
      if (is_constant(a) && (*this)[b].op == neg)
        return make(mul, make(neg, a), (*this)[b].a);
      if ((*this)[a].op == neg) return make(neg, make(mul, (*this)[a].a, b));
      if ((*this)[b].op == neg) return make(neg, make(mul, a, (*this)[b].a));
      // A constant factor of either operand moves out to the front, where it meets others and
      // folds: a derivative's c1 * (x * (c2 * f)) becomes (c1 c2) * (x * f).
      if (!is_constant(a) && (*this)[b].op == mul && is_constant((*this)[b].a))
        return make(mul, (*this)[b].a, make(mul, a, (*this)[b].b));
      if (!is_constant(a) && na.op == mul && is_constant(na.a)) return make(mul, na.a, make(mul, na.b, b));
      // (p q) q = p q^2, so that x^3's derivative, x^2 + (g x) x + (g x) x by the product rule,
      // meets its like terms: 3 g x^2.
      if (na.op == mul && na.b == b && !is_constant(b)) return make(mul, na.a, make(mul, b, b));
      break;
    case div:
      if (is_constant(b)) return make(mul, constant(1 / (*this)[b].value), a);
      if (is_constant(a, 0)) return a;
      break;
    case where:
      if (is_constant(a)) return na.value != 0 ? b : c;
      if (b == c) return b;
      break;
    default:
      break;
  }
  if (commutes(op) && is_constant(b) && !is_constant(a)) std::swap(a, b);
  return intern({op, a, b, c, 0, -1});
}

NodeId Graph::pow(NodeId a, NodeId b) {
  if (is_constant(b)) {
    const double n = (*this)[b].value;
    if (n == std::round(n) && std::abs(n) <= 16) {
      if (is_constant(a)) return constant(std::pow((*this)[a].value, n));
      NodeId product = constant(1);
      NodeId power = a;  // a^(2^k)
      for (auto k = static_cast<int64_t>(std::abs(n)); k > 0; k >>= 1) {
        if (k & 1) product = make(mul, product, power);
        if (k > 1) power = make(mul, power, power);
      }
      return n < 0 ? make(div, constant(1), product) : product;
    }
    if (n == 0.5) return make(sqrt, a);
  }
  if (is_constant(a, std::numbers::e)) return make(exp, b);
  return make(exp, make(mul, b, make(log, a)));
}

bool Graph::uses(NodeId root, int32_t index) const {
  std::vector<char> seen(static_cast<size_t>(root) + 1, 0);
  seen[static_cast<size_t>(root)] = 1;
  for (NodeId id = root; id >= 0; --id) {
    if (!seen[static_cast<size_t>(id)]) continue;
    const Node& n = (*this)[id];
    if (n.op == ExprOp::input && n.input == index) return true;
    for (NodeId child : {n.a, n.b, n.c})
      if (child >= 0) seen[static_cast<size_t>(child)] = 1;
  }
  return false;
}

std::vector<NodeId> Graph::gradient(NodeId root, const std::vector<int32_t>& wrt) {
  std::vector<NodeId> adjoint(static_cast<size_t>(root) + 1, -1);
  const auto add_to = [&](NodeId target, NodeId contribution) {
    NodeId& slot = adjoint[static_cast<size_t>(target)];
    slot = slot < 0 ? contribution : make(add, slot, contribution);
  };
  adjoint[static_cast<size_t>(root)] = constant(1);
  for (NodeId id = root; id >= 0; --id) {
    const NodeId g = adjoint[static_cast<size_t>(id)];
    if (g < 0) continue;
    const Node n = (*this)[id];  // a copy: make() may grow nodes_
    const NodeId a = n.a, b = n.b;
    const auto times = [&](NodeId factor) { return make(mul, g, factor); };
    switch (n.op) {
      case ExprOp::constant:
      case ExprOp::input:
      case step:
      case sign:
      case lt:
      case le:
      case gt:
      case ge:
      case eq:
      case ne:
        break;  // constant, or piecewise constant: derivative 0
      case erf_given:  // (only in compiled programs)
      case erfc_given:
      case normal_cdf_given:
      case muladd:
        throw Error("formula: the derivative of a derivative is not supported");
      case exp_minus_square: add_to(a, times(make(mul, make(mul, constant(-2), a), id))); break;
      case gaussian: add_to(a, times(make(neg, make(mul, a, id)))); break;
      case normal_cdf: add_to(a, times(make(mul, constant(kInvSqrt2Pi), make(gaussian, a)))); break;
      case neg: add_to(a, make(neg, g)); break;
      case exp: add_to(a, times(id)); break;
      case expm1: add_to(a, times(make(exp, a))); break;
      case log: add_to(a, make(div, g, a)); break;
      case log1p: add_to(a, make(div, g, make(add, constant(1), a))); break;
      case sqrt: add_to(a, times(make(div, constant(0.5), id))); break;
      case abs: add_to(a, times(make(sign, a))); break;
      case tanh: add_to(a, times(make(sub, constant(1), make(mul, id, id)))); break;
      case sigmoid: add_to(a, times(make(mul, id, make(sub, constant(1), id)))); break;
      case softplus: add_to(a, times(make(sigmoid, a))); break;
      case erf:
      case erfc: {
        const double scale = (n.op == erf ? 2 : -2) / std::sqrt(std::numbers::pi);
        add_to(a, times(make(mul, constant(scale), make(exp_minus_square, a))));
        break;
      }
      case relu: add_to(a, times(make(step, a))); break;
      case gelu: {
        // Phi(a) + a phi(a), the built-in's derivative: a program that computes gelu and its
        // derivative together computes e^(-a^2/2) and Phi once (formula_compile.cpp pairs
        // them). Made in this order, so that their ids are too.
        const NodeId e = make(gaussian, a);
        const NodeId cdf = make(normal_cdf, a);
        add_to(a, times(make(add, cdf, make(mul, make(mul, constant(kInvSqrt2Pi), a), e))));
        break;
      }
      case add: add_to(a, g); add_to(b, g); break;
      case sub: add_to(a, g); add_to(b, make(neg, g)); break;
      case mul: add_to(a, times(b)); add_to(b, times(a)); break;
      case div: {
        const NodeId g_over_b = make(div, g, b);
        add_to(a, g_over_b);
        add_to(b, make(neg, make(mul, g_over_b, id)));  // -g a / b^2 = -(g / b) (a / b)
        break;
      }
      case min:
      case max: {
        // The side that wins takes g; on a tie each side takes g / 2 (torch.maximum).
        const NodeId half_tie = make(mul, constant(0.5), make(eq, a, b));
        const ExprOp a_wins = n.op == max ? gt : lt, b_wins = n.op == max ? lt : gt;
        add_to(a, times(make(add, make(a_wins, a, b), half_tie)));
        add_to(b, times(make(add, make(b_wins, a, b), half_tie)));
        break;
      }
      case where:
        add_to(b, make(where, a, g, constant(0)));
        add_to(n.c, make(where, a, constant(0), g));
        break;
    }
  }
  std::vector<NodeId> result;
  for (int32_t index : wrt) {
    NodeId d = constant(0);
    for (NodeId id = 0; id <= root; ++id)
      if ((*this)[id].op == ExprOp::input && (*this)[id].input == index && adjoint[static_cast<size_t>(id)] >= 0)
        d = adjoint[static_cast<size_t>(id)];
    result.push_back(d);
  }
  return result;
}

std::vector<double> Graph::evaluate(NodeId upto, const std::vector<double>& inputs) const {
  std::vector<double> v(static_cast<size_t>(upto) + 1);
  for (NodeId id = 0; id <= upto; ++id) {
    const Node& n = (*this)[id];
    const auto at = [&](NodeId k) { return k >= 0 ? v[static_cast<size_t>(k)] : 0.0; };
    v[static_cast<size_t>(id)] = n.op == ExprOp::constant ? n.value
                                 : n.op == ExprOp::input  ? inputs[static_cast<size_t>(n.input)]
                                                  : apply(n.op, at(n.a), at(n.b), at(n.c));
  }
  return v;
}

std::string Graph::text(NodeId root, const std::vector<std::string>& names) const {
  const Node& n = (*this)[root];
  if (n.op == ExprOp::constant) {
    if (n.value == std::numbers::pi) return "pi";
    if (n.value == std::numbers::e) return "e";
    return n.value < 0 ? fmt::format("({:.6g})", n.value) : fmt::format("{:.6g}", n.value);
  }
  if (n.op == ExprOp::input) return names[static_cast<size_t>(n.input)];
  // An operand in parentheses when it binds less tightly than its place needs.
  const auto operand = [&](NodeId child, int needed) {
    const std::string t = text(child, names);
    return precedence((*this)[child].op) < needed ? fmt::format("({})", t) : t;
  };
  const int p = precedence(n.op);
  if (n.op == neg) return fmt::format("-{}", operand(n.a, p + 1));
  if (n.op == exp_minus_square) return fmt::format("exp(-{}^2)", operand(n.a, 6));
  if (n.op == gaussian) return fmt::format("exp(-{}^2 / 2)", operand(n.a, 6));
  if (const std::string s = symbol(n.op); !s.empty()) {
    // Left-associative: the right operand of - and / needs parentheses at equal precedence.
    const bool strict = n.op == sub || n.op == div || p == 1;
    return operand(n.a, p) + s + operand(n.b, strict ? p + 1 : p);
  }
  std::string call = fmt::format("{}({}", function_name(n.op), text(n.a, names));
  for (NodeId child : {n.b, n.c})
    if (child >= 0) call += ", " + text(child, names);
  return call + ")";
}

}  // namespace actlab::formula
