// The expression graph of a formula: nodes interned by their operation and operands, so that a
// subexpression built twice is one node (shared subexpressions for free), built by
// constructors that fold constants and drop neutral terms; the parser that builds it from
// text; its symbolic derivative; its text; and its evaluation in double precision (for
// checks). Node ids are topologically ordered: a node's operands have smaller ids.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "kernels/expr_program.hpp"

namespace actlab::formula {

using kernels::ExprOp;
using NodeId = int32_t;

struct Node {
  ExprOp op;
  NodeId a = -1, b = -1, c = -1;
  double value = 0;  // a constant's value
  int32_t input = -1;  // an input's index
};

class Graph {
 public:
  NodeId constant(double value);
  NodeId input(int32_t index);
  // op(a), op(a, b) or where(a, b, c), simplified: constant operands folded, x + 0, x * 1,
  // x * 0, --x, where(constant, a, b) and the like reduced, a constant factor moved left.
  NodeId make(ExprOp op, NodeId a, NodeId b = -1, NodeId c = -1);
  // a^b: integer powers up to 16 as products, ^0.5 as sqrt, e^b as exp, others exp(b log a).
  NodeId pow(NodeId a, NodeId b);

  const Node& operator[](NodeId id) const { return nodes_[static_cast<size_t>(id)]; }
  NodeId size() const { return static_cast<NodeId>(nodes_.size()); }
  bool is_constant(NodeId id) const { return (*this)[id].op == ExprOp::constant; }
  bool is_constant(NodeId id, double value) const {
    return is_constant(id) && (*this)[id].value == value;
  }
  // Whether `root` depends on input `index`.
  bool uses(NodeId root, int32_t index) const;

  // d root / d input, for each input in `wrt`, by reverse accumulation over the graph: each
  // node's adjoint is a sum of its users' adjoints times their local derivatives, so values
  // of the forward expression are shared by the derivative. Kinks as the built-ins and
  // PyTorch: relu'(0) = 0, abs'(0) = 0, max/min pass half to each side on a tie, where()
  // passes the derivative of the branch its condition selects.
  std::vector<NodeId> gradient(NodeId root, const std::vector<int32_t>& wrt);

  // The values of nodes [0, upto] in double precision, inputs given.
  std::vector<double> evaluate(NodeId upto, const std::vector<double>& inputs) const;

  // The expression as text, inputs by name ("x * sigmoid(x)").
  std::string text(NodeId root, const std::vector<std::string>& input_names) const;

 private:
  NodeId intern(Node node);
  NodeId simplify(ExprOp op, NodeId a, NodeId b, NodeId c);
  std::pair<double, NodeId> scaled(NodeId id) const;
  NodeId like_terms(ExprOp op, NodeId a, NodeId b);
  std::vector<Node> nodes_;
  std::map<std::tuple<int, NodeId, NodeId, NodeId, double, int32_t>, NodeId> index_;
};

// Resolves a name in a formula to its node (an input, or a constant for a fixed parameter),
// or nullopt when the name is unknown.
using NameResolver = std::function<std::optional<NodeId>(const std::string& name)>;

// Parses `text` into `graph`: operands are numbers, pi, e and names that `resolve` knows;
// operators + - * / ^ (right-associative, above unary minus: -x^2 = -(x^2)), comparisons
// < <= > >= == != (1 or 0), and the functions of function_names(). Throws Error naming the
// problem, with the formula and a caret under its column; an unknown name lists `known` and
// suggests the closest.
NodeId parse(const std::string& text, Graph& graph, const NameResolver& resolve,
             const std::vector<std::string>& known);

// The functions a formula may call, with how many arguments each takes.
const std::vector<std::pair<std::string, int>>& function_names();

}  // namespace actlab::formula

namespace actlab::formula {

// Rough cost of an operation per element, in simple float operations (a function such as exp
// or erf counts 8): for the thread split, and to tell compute-bound programs.
int64_t op_cost(kernels::ExprOp op);

// Compiles the nodes `outputs` of `graph` into a program whose input i (graph input i) has
// layout layouts[i] and whose output o is reduced as reduce[o]. Scalar work (constants, one-
// value inputs and what depends on them alone) runs once per run; the rest per block, with
// registers reused once their value is dead.
kernels::ExprProgram compile(const Graph& graph, const std::vector<NodeId>& outputs,
                             const std::vector<kernels::ExprLayout>& layouts,
                             const std::vector<kernels::ExprReduce>& reduce);

}  // namespace actlab::formula
