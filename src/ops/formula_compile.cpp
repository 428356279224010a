// From an expression graph to a program of kernels/expr_program.hpp: which nodes are scalar
// (computed once) and which elementwise (per block), scalar slots for the former, registers
// for the latter, reused as soon as their value is dead.
#include <fmt/format.h>

#include <algorithm>
#include <array>

#include "actlab/core/tensor.hpp"
#include "ops/formula_graph.hpp"

namespace actlab::formula {

using kernels::ExprInstruction;
using kernels::ExprLayout;
using kernels::ExprOperand;
using kernels::ExprProgram;

int64_t op_cost(ExprOp op) {
  switch (op) {
    case ExprOp::exp: case ExprOp::expm1: case ExprOp::log: case ExprOp::log1p:
    case ExprOp::tanh: case ExprOp::sigmoid: case ExprOp::softplus: case ExprOp::erf:
    case ExprOp::erfc: case ExprOp::gelu: case ExprOp::gelu_derivative:
    case ExprOp::exp_minus_square: case ExprOp::erf_given: case ExprOp::erfc_given:
      return 8;
    default:
      return 1;
  }
}

namespace {

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
    find_last_computed_output(reduce);
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

  // The output that the last instruction alone computes, which it may then store directly.
  void find_last_computed_output(const std::vector<kernels::ExprReduce>& reduce) {
    if (p_.block_code.empty()) return;
    const int32_t dest = p_.block_code.back().dest;
    int32_t found = -1, count = 0;
    for (size_t o = 0; o < p_.outputs.size(); ++o)
      if (p_.outputs[o].kind == ExprOperand::reg && p_.outputs[o].index == dest) {
        found = static_cast<int32_t>(o);
        ++count;
      }
    if (count == 1 && reduce[static_cast<size_t>(found)] == kernels::ExprReduce::none)
      p_.last_computes_output = found;
  }

  // erf(a) or erfc(a) in a program that also needs e^(-a^2) (their derivative does): the
  // function takes the exponential (erf_given, erfc_given) instead of computing it again. An
  // exponential made after the function (as a derivative's is) is computed at the function's
  // place in the code.
  void find_pairs(NodeId last) {
    paired_.assign(live_.size(), -1);
    moved_to_.assign(live_.size(), -1);
    for (NodeId e = 0; e <= last; ++e) {
      if (!live_[static_cast<size_t>(e)] || !elementwise(e) || g_[e].op != ExprOp::exp_minus_square) continue;
      for (NodeId f = 0; f <= last; ++f) {
        const ExprOp op = g_[f].op;
        if (!live_[static_cast<size_t>(f)] || (op != ExprOp::erf && op != ExprOp::erfc) ||
            g_[f].a != g_[e].a || paired_[static_cast<size_t>(f)] >= 0)
          continue;
        paired_[static_cast<size_t>(f)] = e;
        if (e > f) moved_to_[static_cast<size_t>(e)] = f;
        break;
      }
    }
  }

  // The operation an instruction for node `id` runs.
  ExprOp op_of(NodeId id) const {
    if (paired_[static_cast<size_t>(id)] < 0) return g_[id].op;
    return g_[id].op == ExprOp::erf ? ExprOp::erf_given : ExprOp::erfc_given;
  }

  // Where in the code node `id` is computed: at its own place, or at its paired function's.
  NodeId position(NodeId id) const {
    const NodeId moved = moved_to_[static_cast<size_t>(id)];
    return moved >= 0 ? moved : id;
  }

  // Unary nodes folded into their one user, an add or a mul (kernels::expr_can_fold): they
  // get no instruction of their own.
  void find_folds(NodeId last) {
    folded_.assign(live_.size(), 0);
    std::vector<int> uses(live_.size(), 0);
    for (NodeId out : outputs_) uses[static_cast<size_t>(out)] += 2;  // outputs stay
    for (NodeId id = 0; id <= last; ++id)
      if (live_[static_cast<size_t>(id)] && elementwise(id))
        for (NodeId child : reads_of(id))
          if (child >= 0) ++uses[static_cast<size_t>(child)];
    const auto foldable = [&](NodeId parent, NodeId child) {
      return child >= 0 && uses[static_cast<size_t>(child)] == 1 && elementwise(child) &&
             kernels::expr_can_fold(g_[parent].op, op_of(child));
    };
    for (NodeId id = 0; id <= last; ++id) {
      if (!live_[static_cast<size_t>(id)] || !elementwise(id)) continue;
      const Node& n = g_[id];
      if (n.a == n.b) continue;  // x * x: one operand twice
      if (foldable(id, n.b)) folded_[static_cast<size_t>(n.b)] = 1;
      else if (foldable(id, n.a)) folded_[static_cast<size_t>(n.a)] = 1;
    }
  }

  bool is_folded(NodeId id) const { return id >= 0 && !folded_.empty() && folded_[static_cast<size_t>(id)] != 0; }

  // The operands an instruction for node `id` reads: a folded operand's own operand stands in
  // for it, and a paired erf or erfc reads its exponential as well.
  std::array<NodeId, 3> reads_of(NodeId id) const {
    const Node& n = g_[id];
    std::array<NodeId, 3> r{n.a, n.b, n.c};
    for (NodeId& child : r)
      if (is_folded(child)) child = g_[child].a;
    if (paired_[static_cast<size_t>(id)] >= 0) r[1] = paired_[static_cast<size_t>(id)];
    return r;
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
    find_pairs(last);
    find_folds(last);
    // The last place in the code that reads each node; outputs stay alive to the end.
    last_use_.assign(live_.size(), -1);
    for (NodeId id = 0; id <= last; ++id)
      if (live_[static_cast<size_t>(id)] && elementwise(id) && !is_folded(id))
        for (NodeId child : reads_of(id))
          if (child >= 0) last_use_[static_cast<size_t>(child)] = std::max(last_use_[static_cast<size_t>(child)], position(id));
    for (NodeId out : outputs_) last_use_[static_cast<size_t>(out)] = last + 1;
    for (NodeId id = 0; id <= last; ++id) {
      if (!live_[static_cast<size_t>(id)] || !temporary(id) || is_folded(id)) continue;
      if (moved_to_[static_cast<size_t>(id)] >= 0) continue;  // emitted with its function
      const NodeId early = paired_[static_cast<size_t>(id)];
      if (early > id) emit(early);
      emit(id);
      // Operands die after the instruction that reads them last (a moved exponential's
      // operand is its function's too: it dies here, after both).
      for (NodeId child : reads_of(id))
        if (child >= 0 && last_use_[static_cast<size_t>(child)] == id && temporary(child) &&
            std::find(free_.begin(), free_.end(), where_[static_cast<size_t>(child)].index) == free_.end())
          free_.push_back(where_[static_cast<size_t>(child)].index);
    }
  }

  bool temporary(NodeId id) const {
    const Node& n = g_[id];
    return elementwise(id) && !(n.op == ExprOp::input &&
                                layouts_[static_cast<size_t>(n.input)] == ExprLayout::elementwise);
  }

  // The instruction for node `id`, into a register of its own.
  void emit(NodeId id) {
    const Node& n = g_[id];
    // The destination is taken before the operands are freed, so that it never aliases them.
    const int32_t dest = take_register();
    where_[static_cast<size_t>(id)] = {ExprOperand::reg, dest};
    p_.cost += n.op == ExprOp::input ? 1 : op_cost(op_of(id));
    if (n.op == ExprOp::input) {  // a channel input, gathered per block
      p_.block_code.push_back({ExprOp::input, dest, {ExprOperand::scalar, n.input}, {}, {}});
      return;
    }
    const std::array<NodeId, 3> reads = reads_of(id);
    ExprInstruction in{op_of(id), dest, operand(reads[0]), operand(reads[1]), operand(reads[2])};
    if (n.op == ExprOp::where) {
      in.a = as_register(in.a);
      in.b = as_register(in.b);
      in.c = as_register(in.c);
    }
    // A folded unary goes into the second operand (add and mul commute).
    const NodeId folded = is_folded(n.b) ? n.b : is_folded(n.a) ? n.a : -1;
    if (folded >= 0) {
      in.inner = op_of(folded);
      in.a = operand(folded == n.b ? n.a : n.b);
      in.b = operand(g_[folded].a);
      p_.cost += op_cost(in.inner);
    }
    p_.block_code.push_back(in);
  }

  const Graph& g_;
  const std::vector<NodeId>& outputs_;
  const std::vector<ExprLayout>& layouts_;
  std::vector<char> live_, elementwise_, folded_;
  std::vector<NodeId> paired_;    // for erf and erfc: the exponential they take, or -1
  std::vector<NodeId> moved_to_;  // for an exponential computed early: its function, or -1
  std::vector<NodeId> last_use_;
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
