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
    case ExprOp::erfc: case ExprOp::gelu: case ExprOp::exp_minus_square: case ExprOp::gaussian:
    case ExprOp::normal_cdf: case ExprOp::erf_given: case ExprOp::erfc_given:
      return 8;
    case ExprOp::normal_cdf_given:  // a division and a polynomial, without the exponential
      return 4;
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

  // A function of a that a program computes from another node of a it needs anyway (the
  // partner) instead of from scratch: erf and erfc take e^(-a^2), their derivatives' factor;
  // Phi takes e^(-a^2/2); gelu(a) becomes a * Phi(a) when Phi(a) is there (gelu's derivative
  // needs both). A partner made after its function (as a derivative's nodes are) is computed
  // at the function's place in the code, and so is a partner's partner.
  struct Sharing {
    ExprOp function, partner, given;
  };
  static constexpr Sharing kSharing[] = {{ExprOp::erf, ExprOp::exp_minus_square, ExprOp::erf_given},
                                         {ExprOp::erfc, ExprOp::exp_minus_square, ExprOp::erfc_given},
                                         {ExprOp::normal_cdf, ExprOp::gaussian, ExprOp::normal_cdf_given},
                                         {ExprOp::gelu, ExprOp::normal_cdf, ExprOp::mul}};

  static const Sharing* sharing_of(ExprOp function) {
    for (const Sharing& s : kSharing)
      if (s.function == function) return &s;
    return nullptr;
  }

  bool computed(NodeId id) const { return live_[static_cast<size_t>(id)] && elementwise(id); }

  void find_pairs(NodeId last) {
    paired_.assign(live_.size(), -1);
    moved_to_.assign(live_.size(), -1);
    for (NodeId f = 0; f <= last; ++f) {
      const Sharing* s = sharing_of(g_[f].op);
      if (s == nullptr || !computed(f)) continue;
      // (Functions in id order: a function's own place is settled before its partner's.)
      const NodeId place = position(f);
      for (NodeId p = 0; p <= last; ++p) {
        if (!computed(p) || g_[p].op != s->partner || g_[p].a != g_[f].a) continue;
        if (p > place && moved_to_[static_cast<size_t>(p)] >= 0) continue;  // serves another
        paired_[static_cast<size_t>(f)] = p;
        if (p > place) moved_to_[static_cast<size_t>(p)] = f;
        break;
      }
    }
  }

  // The operation an instruction for node `id` runs.
  ExprOp op_of(NodeId id) const {
    if (fused_product(id) >= 0) return ExprOp::muladd;
    if (paired_[static_cast<size_t>(id)] < 0) return g_[id].op;
    return sharing_of(g_[id].op)->given;
  }

  // The partner of function `id` that is computed at its place, or -1.
  NodeId moved_partner(NodeId id) const {
    const NodeId p = paired_[static_cast<size_t>(id)];
    return p >= 0 && moved_to_[static_cast<size_t>(p)] == id ? p : -1;
  }

  // Where in the code node `id` is computed: at its own place, or at its function's.
  NodeId position(NodeId id) const {
    while (moved_to_[static_cast<size_t>(id)] >= 0) id = moved_to_[static_cast<size_t>(id)];
    return id;
  }

  // Nodes that get no instruction of their own: a product that one add alone reads, which
  // then runs as muladd (its operands are the product's, then the add's other), and a unary
  // node folded into its one user, an add or a mul (kernels::expr_can_fold).
  void find_folds(NodeId last) {
    folded_.assign(live_.size(), Fold::none);
    fused_product_.assign(live_.size(), -1);
    std::vector<int> uses(live_.size(), 0);
    for (NodeId out : outputs_) uses[static_cast<size_t>(out)] += 2;  // outputs stay
    for (NodeId id = 0; id <= last; ++id)
      if (computed(id))
        for (NodeId child : reads_of(id))
          if (child >= 0) ++uses[static_cast<size_t>(child)];
    const auto only_reader = [&](NodeId child) {
      return child >= 0 && uses[static_cast<size_t>(child)] == 1 && elementwise(child);
    };
    for (NodeId id = 0; id <= last; ++id) {
      const Node& n = g_[id];
      if (!computed(id) || n.op != ExprOp::add || n.a == n.b) continue;
      for (NodeId product : {n.b, n.a})
        if (only_reader(product) && op_of(product) == ExprOp::mul && paired_[static_cast<size_t>(product)] < 0) {
          folded_[static_cast<size_t>(product)] = Fold::into_muladd;
          fused_product_[static_cast<size_t>(id)] = product;
          break;
        }
    }
    for (NodeId id = 0; id <= last; ++id) {
      const Node& n = g_[id];
      if (!computed(id) || n.a == n.b || is_folded(id) || fused_product_[static_cast<size_t>(id)] >= 0)
        continue;  // (x * x: one operand twice)
      const auto foldable = [&](NodeId child) {
        return only_reader(child) && kernels::expr_can_fold(n.op, op_of(child));
      };
      if (foldable(n.b)) folded_[static_cast<size_t>(n.b)] = Fold::into_user;
      else if (foldable(n.a)) folded_[static_cast<size_t>(n.a)] = Fold::into_user;
    }
  }

  bool is_folded(NodeId id) const {
    return id >= 0 && !folded_.empty() && folded_[static_cast<size_t>(id)] != Fold::none;
  }
  bool folded_unary(NodeId id) const {
    return id >= 0 && !folded_.empty() && folded_[static_cast<size_t>(id)] == Fold::into_user;
  }

  // The operands an instruction for node `id` reads: a folded operand's own operand stands in
  // for it, a paired function reads its partner as well, and a muladd reads the product's
  // operands and the add's other.
  std::array<NodeId, 3> reads_of(NodeId id) const {
    const Node& n = g_[id];
    if (const NodeId product = fused_product(id); product >= 0)
      return {g_[product].a, g_[product].b, n.a == product ? n.b : n.a};
    std::array<NodeId, 3> r{n.a, n.b, n.c};
    for (NodeId& child : r)
      if (folded_unary(child)) child = g_[child].a;
    if (paired_[static_cast<size_t>(id)] >= 0) r[1] = paired_[static_cast<size_t>(id)];
    return r;
  }

  NodeId fused_product(NodeId id) const {
    return fused_product_.empty() ? -1 : fused_product_[static_cast<size_t>(id)];
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
      std::vector<NodeId> group;  // id and the partners computed at its place, partners first
      for (NodeId k = id; k >= 0; k = moved_partner(k)) group.insert(group.begin(), k);
      for (NodeId k : group) emit(k);
      // Operands die after the place that reads them last (the group's, for all its nodes).
      for (NodeId k : group)
        for (NodeId child : reads_of(k))
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
    // The destination is taken before the operands are freed, so that it never aliases them;
    // an output's is new (see ExprProgram::outputs).
    const bool output = std::find(outputs_.begin(), outputs_.end(), id) != outputs_.end();
    const int32_t dest = output ? p_.registers++ : take_register();
    where_[static_cast<size_t>(id)] = {ExprOperand::reg, dest};
    p_.cost += n.op == ExprOp::input ? 1 : op_cost(op_of(id));
    if (n.op == ExprOp::input) {  // a channel input, gathered per block
      p_.block_code.push_back({ExprOp::input, dest, {ExprOperand::scalar, n.input}, {}, {}});
      return;
    }
    const std::array<NodeId, 3> reads = reads_of(id);
    ExprInstruction in{op_of(id), dest, operand(reads[0]), operand(reads[1]), operand(reads[2])};
    if (kernels::expr_arity(in.op) == 3) {  // (muladd's first factor may stay a scalar)
      if (in.op == ExprOp::where) in.a = as_register(in.a);
      in.b = as_register(in.b);
      in.c = as_register(in.c);
    }
    // A folded unary goes into the second operand (add and mul commute).
    const NodeId folded = folded_unary(n.b) ? n.b : folded_unary(n.a) ? n.a : -1;
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
  enum class Fold : uint8_t { none, into_user, into_muladd };
  std::vector<char> live_, elementwise_;
  std::vector<Fold> folded_;
  std::vector<NodeId> fused_product_;  // for an add run as muladd: its product, or -1
  std::vector<NodeId> paired_;    // for a function of kSharing: the partner it takes, or -1
  std::vector<NodeId> moved_to_;  // for a partner computed early: its function, or -1
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
