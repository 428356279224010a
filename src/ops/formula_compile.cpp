// From an expression graph to a program of kernels/expr_program.hpp: which nodes are scalar
// (computed once) and which elementwise (per block), scalar slots for the former, registers
// for the latter, reused as soon as their value is dead.
#include <fmt/format.h>

#include <algorithm>

#include "actlab/core/tensor.hpp"
#include "ops/formula_graph.hpp"

namespace actlab::formula {
namespace {

using kernels::ExprInstruction;
using kernels::ExprLayout;
using kernels::ExprOperand;
using kernels::ExprProgram;

// Rough cost of an operation per element, in simple float operations, for the thread split.
int64_t op_cost(ExprOp op) {
  switch (op) {
    case ExprOp::exp: case ExprOp::expm1: case ExprOp::log: case ExprOp::log1p:
    case ExprOp::tanh: case ExprOp::sigmoid: case ExprOp::softplus: case ExprOp::erf:
    case ExprOp::erfc: case ExprOp::gelu: case ExprOp::gelu_derivative:
      return 8;
    default:
      return 1;
  }
}

class Compiler {
 public:
  Compiler(const Graph& graph, const std::vector<NodeId>& outputs,
           const std::vector<ExprLayout>& layouts)
      : g_(graph), outputs_(outputs), layouts_(layouts) {}

  ExprProgram run(const std::vector<kernels::ExprReduce>& reduce) {
    const NodeId last = outputs_.empty() ? -1 : *std::max_element(outputs_.begin(), outputs_.end());
    mark_live(last);
    p_.inputs = layouts_;
    p_.input_operands.assign(layouts_.size(), {});
    p_.reduce = reduce;
    place_scalars(last);
    place_inputs();
    emit_block_code(last);
    for (NodeId out : outputs_) p_.outputs.push_back(where_[static_cast<size_t>(out)]);
    return p_;
  }

 private:
  bool elementwise(NodeId id) const { return elementwise_[static_cast<size_t>(id)] != 0; }

  // Which nodes the outputs need, and which of those vary per element.
  void mark_live(NodeId last) {
    live_.assign(static_cast<size_t>(last) + 1, 0);
    elementwise_.assign(live_.size(), 0);
    where_.assign(live_.size(), {});
    for (NodeId out : outputs_) live_[static_cast<size_t>(out)] = 1;
    for (NodeId id = last; id >= 0; --id) {
      if (!live_[static_cast<size_t>(id)]) continue;
      for (NodeId child : {g_[id].a, g_[id].b, g_[id].c})
        if (child >= 0) live_[static_cast<size_t>(child)] = 1;
    }
    for (NodeId id = 0; id <= last; ++id) {
      const Node& n = g_[id];
      bool varies = n.op == ExprOp::input &&
                    layouts_[static_cast<size_t>(n.input)] != ExprLayout::scalar;
      for (NodeId child : {n.a, n.b, n.c})
        if (child >= 0 && elementwise(child)) varies = true;
      elementwise_[static_cast<size_t>(id)] = varies;
    }
  }

  // Constants, then scalar inputs, then the scalar operations, each in a slot of its own.
  void place_scalars(NodeId last) {
    const auto slot_for = [&](NodeId id) {
      where_[static_cast<size_t>(id)] = {ExprOperand::scalar, p_.scalar_slots++};
      return where_[static_cast<size_t>(id)].index;
    };
    for (NodeId id = 0; id <= last; ++id)
      if (live_[static_cast<size_t>(id)] && g_[id].op == ExprOp::constant) {
        slot_for(id);
        p_.constants.push_back(static_cast<float>(g_[id].value));
      }
    for (NodeId id = 0; id <= last; ++id) {
      const Node& n = g_[id];
      if (!live_[static_cast<size_t>(id)] || elementwise(id) || n.op == ExprOp::constant) continue;
      const int32_t slot = slot_for(id);
      if (n.op == ExprOp::input) {
        p_.input_operands[static_cast<size_t>(n.input)] = {ExprOperand::scalar, slot};
      } else {
        p_.scalar_code.push_back({n.op, slot, operand(n.a), operand(n.b), operand(n.c)});
      }
    }
  }

  // Elementwise inputs get the first registers (pointed at the input for each block).
  void place_inputs() {
    for (size_t i = 0; i < layouts_.size(); ++i)
      if (layouts_[i] == ExprLayout::elementwise)
        p_.input_operands[i] = {ExprOperand::reg, p_.registers++};
    for (NodeId id = 0; id < static_cast<NodeId>(live_.size()); ++id) {
      const Node& n = g_[id];
      if (live_[static_cast<size_t>(id)] && n.op == ExprOp::input)
        if (layouts_[static_cast<size_t>(n.input)] == ExprLayout::elementwise)
          where_[static_cast<size_t>(id)] = p_.input_operands[static_cast<size_t>(n.input)];
    }
  }

  ExprOperand operand(NodeId id) const { return id >= 0 ? where_[static_cast<size_t>(id)] : ExprOperand{}; }

  int32_t take_register() {
    if (free_.empty()) return p_.registers++;
    const int32_t r = free_.back();
    free_.pop_back();
    return r;
  }

  // where() reads registers only: a scalar operand gets a register filled with it once.
  ExprOperand as_register(ExprOperand o) {
    if (o.kind == ExprOperand::reg) return o;
    const int32_t r = p_.registers++;
    p_.splats.emplace_back(r, o.index);
    return {ExprOperand::reg, r};
  }

  void emit_block_code(NodeId last) {
    // The last instruction that reads each node; outputs stay alive to the end.
    std::vector<NodeId> last_use(live_.size(), -1);
    for (NodeId id = 0; id <= last; ++id)
      if (live_[static_cast<size_t>(id)] && elementwise(id))
        for (NodeId child : {g_[id].a, g_[id].b, g_[id].c})
          if (child >= 0) last_use[static_cast<size_t>(child)] = id;
    for (NodeId out : outputs_) last_use[static_cast<size_t>(out)] = last + 1;
    const auto temporary = [&](NodeId id) {
      const Node& n = g_[id];
      return elementwise(id) && !(n.op == ExprOp::input && layouts_[static_cast<size_t>(n.input)] ==
                                                               ExprLayout::elementwise);
    };
    for (NodeId id = 0; id <= last; ++id) {
      const Node& n = g_[id];
      if (!live_[static_cast<size_t>(id)] || !temporary(id)) continue;
      // The destination is taken before the operands are freed, so that it never aliases them.
      const int32_t dest = take_register();
      where_[static_cast<size_t>(id)] = {ExprOperand::reg, dest};
      p_.cost += n.op == ExprOp::input ? 1 : op_cost(n.op);
      if (n.op == ExprOp::input) {  // a channel input, gathered per block
        p_.block_code.push_back({ExprOp::input, dest, {ExprOperand::scalar, n.input}, {}, {}});
        continue;
      }
      ExprInstruction in{n.op, dest, operand(n.a), operand(n.b), operand(n.c)};
      if (n.op == ExprOp::where) {
        in.a = as_register(in.a);
        in.b = as_register(in.b);
        in.c = as_register(in.c);
      }
      p_.block_code.push_back(in);
      for (NodeId child : {n.a, n.b, n.c})
        if (child >= 0 && last_use[static_cast<size_t>(child)] == id && temporary(child) &&
            std::find(free_.begin(), free_.end(), where_[static_cast<size_t>(child)].index) == free_.end())
          free_.push_back(where_[static_cast<size_t>(child)].index);
    }
  }

  const Graph& g_;
  const std::vector<NodeId>& outputs_;
  const std::vector<ExprLayout>& layouts_;
  std::vector<char> live_, elementwise_;
  std::vector<ExprOperand> where_;
  std::vector<int32_t> free_;
  ExprProgram p_;
};

}  // namespace

kernels::ExprProgram compile(const Graph& graph, const std::vector<NodeId>& outputs,
                             const std::vector<kernels::ExprLayout>& layouts,
                             const std::vector<kernels::ExprReduce>& reduce) {
  return Compiler(graph, outputs, layouts).run(reduce);
}

}  // namespace actlab::formula
