// The interpreter of compiled formulas (see expr_program.hpp): per block, one loop per
// instruction over L1-resident registers; the per-element math is the same inline functions
// as the built-in activations' (fastmath, kernels/activations.hpp), so a formula equal to a
// built-in computes the same values.
#include "kernels/expr_program.hpp"

#include <algorithm>
#include <cmath>
#include <memory>
#include <type_traits>

#include "actlab/detail/parallel.hpp"
#include "kernels/activations.hpp"
#include "kernels/fastmath.hpp"
#include "kernels/store.hpp"

namespace actlab::kernels {
namespace {

template <ExprOp O>
using OpConstant = std::integral_constant<ExprOp, O>;

// The per-element math of each operation. Comparisons give 1 or 0; max and min propagate NaN
// from either side, as torch.maximum does.
template <ExprOp O>
ACTLAB_ALWAYS_INLINE float apply(float a, float b, float c) {
  using enum ExprOp;
  if constexpr (O == neg) return -a;
  else if constexpr (O == exp) return fastmath::exp(a);
  else if constexpr (O == expm1) return fastmath::expm1(a);
  else if constexpr (O == log) return fastmath::log(a);
  else if constexpr (O == log1p) return fastmath::log1p(a);
  else if constexpr (O == sqrt) return std::sqrt(a);
  else if constexpr (O == abs) return std::abs(a);
  else if constexpr (O == tanh) return fastmath::tanh(a);
  else if constexpr (O == sigmoid) return kernels::sigmoid(a);
  else if constexpr (O == softplus) return log1p_exp(a);
  else if constexpr (O == erf) return fastmath::erf(a);
  else if constexpr (O == erfc) return fastmath::erfc(a);
  else if constexpr (O == relu) return Relu{}(a);
  else if constexpr (O == gelu) return Gelu{}(a);
  else if constexpr (O == step) return a > 0.f ? 1.f : 0.f;
  else if constexpr (O == sign) return a > 0.f ? 1.f : (a < 0.f ? -1.f : 0.f);
  else if constexpr (O == exp_minus_square) return fastmath::exp_minus_square(a);
  else if constexpr (O == gaussian) return Gelu::gaussian(a);
  else if constexpr (O == normal_cdf) return Gelu::cdf(a, Gelu::gaussian(a));
  else if constexpr (O == normal_cdf_given) return Gelu::cdf(a, b);
  else if constexpr (O == erf_given) return fastmath::erf_given(a, b);
  else if constexpr (O == erfc_given) return fastmath::erfc_given(a, b);
  else if constexpr (O == add) return a + b;
  else if constexpr (O == sub) return a - b;
  else if constexpr (O == mul) return a * b;
  else if constexpr (O == div) return a / b;
  else if constexpr (O == min) return a != a ? a : (a < b ? a : b);
  else if constexpr (O == max) return a != a ? a : (a > b ? a : b);
  else if constexpr (O == lt) return a < b ? 1.f : 0.f;
  else if constexpr (O == le) return a <= b ? 1.f : 0.f;
  else if constexpr (O == gt) return a > b ? 1.f : 0.f;
  else if constexpr (O == ge) return a >= b ? 1.f : 0.f;
  else if constexpr (O == eq) return a == b ? 1.f : 0.f;
  else if constexpr (O == ne) return a != b ? 1.f : 0.f;
  else if constexpr (O == where) return a != 0.f ? b : c;
  else if constexpr (O == muladd) return fastmath::detail::multiply_add(a, b, c);
  else return 0.f;  // leaves: never instructions
}

// The operations by arity, as X-macro lists: the unary ones are those block code can fold into
// an add or a mul (expr_can_fold).
#define ACTLAB_EXPR_UNARY_OPS(X)                                                            \
  X(neg) X(exp) X(expm1) X(log) X(log1p) X(sqrt) X(abs) X(tanh) X(sigmoid) X(softplus) X(erf) \
  X(erfc) X(relu) X(gelu) X(step) X(sign) X(exp_minus_square) X(gaussian) X(normal_cdf)
#define ACTLAB_EXPR_OTHER_OPS(X)                                                     \
  X(add) X(sub) X(mul) X(div) X(min) X(max) X(lt) X(le) X(gt) X(ge) X(eq) X(ne) X(where) X(muladd) \
  X(erf_given) X(erfc_given) X(normal_cdf_given)
#define ACTLAB_EXPR_CASE(name) \
  case name: visit(OpConstant<name>{}); return;

// Calls visit(OpConstant<op>{}) with the operation as a compile-time constant.
template <class Visit>
void visit_op(ExprOp op, Visit&& visit) {
  using enum ExprOp;
  switch (op) {
    ACTLAB_EXPR_UNARY_OPS(ACTLAB_EXPR_CASE)
    ACTLAB_EXPR_OTHER_OPS(ACTLAB_EXPR_CASE)
    case constant:
    case input:
      return;
  }
}

// The same for the unary operations only; others are not visited.
template <class Visit>
void visit_unary_op(ExprOp op, Visit&& visit) {
  using enum ExprOp;
  switch (op) {
    ACTLAB_EXPR_UNARY_OPS(ACTLAB_EXPR_CASE)
    default:
      return;
  }
}

#undef ACTLAB_EXPR_CASE
#undef ACTLAB_EXPR_OTHER_OPS
#undef ACTLAB_EXPR_UNARY_OPS

// One instruction over a block of `len` elements. Operands are registers (arrays) or scalars;
// each combination is its own loop, so that every loop is a plain one the compiler vectorises.
// Unrolled four times: a cheap instruction (an add) is bound by its loads and stores, and the
// unrolled loops made the tanh-form GELU's program, mostly such instructions, 18% faster.
struct Block {
  float* const* regs;   // register r's floats for this block
  const float* scalars;
  int64_t len;

  template <ExprOp O>
  void run(float* __restrict d, const ExprInstruction& in) const {
    const int arity = expr_arity(O);
    const bool a_reg = in.a.kind == ExprOperand::reg;
    const bool b_reg = arity < 2 || in.b.kind == ExprOperand::reg;
    const float* __restrict a = a_reg ? regs[in.a.index] : nullptr;
    const float sa = a_reg ? 0.f : scalars[in.a.index];
    if (arity == 1) {
      _Pragma("GCC unroll 4") for (int64_t i = 0; i < len; ++i) d[i] = apply<O>(a[i], 0.f, 0.f);
      return;
    }
    const float* __restrict b = b_reg ? regs[in.b.index] : nullptr;
    const float sb = b_reg ? 0.f : scalars[in.b.index];
    if (arity == 3) {  // where and muladd: registers only, but for muladd's scalar factor
      const float* __restrict c = regs[in.c.index];
      if (a_reg) {
        _Pragma("GCC unroll 4") for (int64_t i = 0; i < len; ++i) d[i] = apply<O>(a[i], b[i], c[i]);
      } else {
        _Pragma("GCC unroll 4") for (int64_t i = 0; i < len; ++i) d[i] = apply<O>(sa, b[i], c[i]);
      }
    } else if (a_reg && b_reg) {
      _Pragma("GCC unroll 4") for (int64_t i = 0; i < len; ++i) d[i] = apply<O>(a[i], b[i], 0.f);
    } else if (a_reg) {
      _Pragma("GCC unroll 4") for (int64_t i = 0; i < len; ++i) d[i] = apply<O>(a[i], sb, 0.f);
    } else {
      _Pragma("GCC unroll 4") for (int64_t i = 0; i < len; ++i) d[i] = apply<O>(sa, b[i], 0.f);
    }
  }

  // d = O(a, I(b)), b a register: an add or mul with a unary operation folded in.
  template <ExprOp O, ExprOp I>
  void run_folded(float* __restrict d, const ExprInstruction& in) const {
    const float* __restrict b = regs[in.b.index];
    if (in.a.kind == ExprOperand::reg) {
      const float* __restrict a = regs[in.a.index];
      _Pragma("GCC unroll 4") for (int64_t i = 0; i < len; ++i) d[i] = apply<O>(a[i], apply<I>(b[i], 0.f, 0.f), 0.f);
    } else {
      const float sa = scalars[in.a.index];
      _Pragma("GCC unroll 4") for (int64_t i = 0; i < len; ++i) d[i] = apply<O>(sa, apply<I>(b[i], 0.f, 0.f), 0.f);
    }
  }

  void run(float* d, const ExprInstruction& in) const {
    using enum ExprOp;
    if (in.inner == constant) {
      visit_op(in.op, [&](auto o) { run<decltype(o)::value>(d, in); });
    } else if (in.op == mul) {
      visit_unary_op(in.inner, [&](auto u) { run_folded<mul, decltype(u)::value>(d, in); });
    } else {
      visit_unary_op(in.inner, [&](auto u) { run_folded<add, decltype(u)::value>(d, in); });
    }
  }
};

// The scalar slots of one run: constants, scalar inputs, then the scalar code's results.
std::vector<float> scalar_slots(const ExprProgram& p, const std::vector<const float*>& inputs) {
  std::vector<float> slots(static_cast<size_t>(p.scalar_slots), 0.f);
  std::copy(p.constants.begin(), p.constants.end(), slots.begin());
  for (size_t i = 0; i < p.inputs.size(); ++i)
    if (p.inputs[i] == ExprLayout::scalar && p.input_operands[i].kind == ExprOperand::scalar)
      slots[static_cast<size_t>(p.input_operands[i].index)] = inputs[i][0];
  for (const ExprInstruction& in : p.scalar_code) {
    const auto at = [&](ExprOperand o) { return slots[static_cast<size_t>(o.index)]; };
    const int arity = expr_arity(in.op);
    slots[static_cast<size_t>(in.dest)] = expr_apply(in.op, at(in.a), arity > 1 ? at(in.b) : 0.f,
                                                     arity > 2 ? at(in.c) : 0.f);
  }
  return slots;
}

// How block code's values reach output o: computed in the output's memory (its register
// points there), copied around the caches after each block (a large output, kStreamingBytes),
// copied or added after each block, or summed (in all or per channel). Only fresh memory (not
// accumulated into) is written in place or streamed, and in place only from a register of the
// output's own (not an input's) into memory that no input shares (a backward may write dx
// over g, which later instructions read).
enum class Delivery : uint8_t { in_place, streamed, copied, sum, channel };

std::vector<Delivery> deliveries(const ExprProgram& p, int64_t n, const std::vector<const float*>& inputs,
                                 const std::vector<ExprOutput>& outputs) {
  std::vector<bool> register_taken(static_cast<size_t>(p.registers), false);
  for (const ExprOperand& o : p.input_operands)
    if (o.kind == ExprOperand::reg) register_taken[static_cast<size_t>(o.index)] = true;
  const bool large = n * static_cast<int64_t>(sizeof(float)) >= kStreamingBytes;
  std::vector<Delivery> d;
  for (size_t o = 0; o < outputs.size(); ++o) {
    const ExprOperand src = p.outputs[o];
    const ExprOutput& dst = outputs[o];
    if (p.reduce[o] != ExprReduce::none) {
      d.push_back(p.reduce[o] == ExprReduce::sum ? Delivery::sum : Delivery::channel);
    } else if (src.kind != ExprOperand::reg || dst.accumulate) {
      d.push_back(Delivery::copied);
    } else if (large && streamable(dst.data)) {
      d.push_back(Delivery::streamed);
    } else if (register_taken[static_cast<size_t>(src.index)] ||
               std::find(inputs.begin(), inputs.end(), dst.data) != inputs.end()) {
      d.push_back(Delivery::copied);
    } else {
      register_taken[static_cast<size_t>(src.index)] = true;
      d.push_back(Delivery::in_place);
    }
  }
  return d;
}

// This thread's registers, kept from run to run so that a run allocates nothing, and placed at
// the same offset in a 4 KiB page as `like` (the first elementwise input, if any): registers
// 16 bytes off a cache line and at an unlucky distance from the input they are computed from
// made W6f's forward 35% slower (bench/RESULTS.md); actlab's large buffers all start 64 bytes
// into a page, so registers, inputs and outputs then line up alike. A thread runs one program
// at a time: block code calls nothing outside this file.
float* scratch(int64_t floats, const float* like) {
  constexpr uintptr_t kPage = 4096;
  thread_local std::vector<float> registers;
  const auto size = static_cast<size_t>(floats) + kPage / sizeof(float);
  if (registers.size() < size) registers.resize(size);
  const auto at = [](const float* p) { return reinterpret_cast<uintptr_t>(p) % kPage; };
  const uintptr_t shift = (kPage + (like != nullptr ? at(like) : 0) - at(registers.data())) % kPage;
  return registers.data() + shift / sizeof(float);
}

float operand_value(const Block& b, ExprOperand o, int64_t i) {
  return o.kind == ExprOperand::reg ? b.regs[o.index][i] : b.scalars[o.index];
}

// y = (or +=) operand o over the block: a loop per case, each a plain one.
void copy_out(const Block& b, ExprOperand o, float* y, bool accumulate) {
  if (o.kind == ExprOperand::scalar) {
    const float v = b.scalars[o.index];
    if (accumulate) for (int64_t i = 0; i < b.len; ++i) y[i] += v;
    else for (int64_t i = 0; i < b.len; ++i) y[i] = v;
  } else {
    const float* v = b.regs[o.index];
    if (accumulate) for (int64_t i = 0; i < b.len; ++i) y[i] += v[i];
    else for (int64_t i = 0; i < b.len; ++i) y[i] = v[i];
  }
}

}  // namespace

bool expr_can_fold(ExprOp outer, ExprOp inner) {
  return (outer == ExprOp::add || outer == ExprOp::mul) && expr_arity(inner) == 1;
}

int expr_arity(ExprOp op) {
  using enum ExprOp;
  if (op == constant || op == input) return 0;
  if (op == where || op == muladd) return 3;
  return op >= add ? 2 : 1;
}

float expr_apply(ExprOp op, float a, float b, float c) {
  float y = 0.f;
  visit_op(op, [&](auto o) { y = apply<decltype(o)::value>(a, b, c); });
  return y;
}

void run_expr_program(const ExprProgram& p, int64_t n, int64_t channels, int64_t inner,
                      const std::vector<const float*>& inputs, const std::vector<ExprOutput>& outputs) {
  const std::vector<float> slots = scalar_slots(p, inputs);
  const int64_t blocks = (n + kExprBlock - 1) / kExprBlock;
  // Per block and per reduced output: its partial sums (1 or `channels`), added in block
  // order below, whatever thread computed them.
  std::vector<size_t> partial_at(outputs.size(), 0);
  size_t partial_width = 0;
  for (size_t o = 0; o < outputs.size(); ++o) {
    partial_at[o] = partial_width;
    if (p.reduce[o] == ExprReduce::sum) partial_width += 1;
    if (p.reduce[o] == ExprReduce::channel) partial_width += static_cast<size_t>(channels);
  }
  std::vector<float> partials(static_cast<size_t>(blocks) * partial_width, 0.f);
  const ExprProgram* program = &p;
  const std::vector<const float*>* in = &inputs;
  const std::vector<ExprOutput>* out = &outputs;
  const float* scalars = slots.data();
  float* partial = partials.data();
  const std::vector<Delivery> delivery = deliveries(p, n, inputs, outputs);
  const std::vector<Delivery>* how = &delivery;
  const auto elementwise_input = std::find(p.inputs.begin(), p.inputs.end(), ExprLayout::elementwise);
  const float* first_elementwise =
      elementwise_input == p.inputs.end() ? nullptr : inputs[static_cast<size_t>(elementwise_input - p.inputs.begin())];
  detail::parallel_for(blocks, kExprBlock * p.cost, [=](int64_t first, int64_t last) {
    const ExprProgram& pr = *program;
    float* temps = scratch(pr.registers * kExprBlock, first_elementwise);
    std::vector<float*> regs(static_cast<size_t>(pr.registers));
    for (int32_t r = 0; r < pr.registers; ++r) regs[static_cast<size_t>(r)] = temps + r * kExprBlock;
    for (const auto& [reg, slot] : pr.splats)
      std::fill_n(regs[static_cast<size_t>(reg)], kExprBlock, scalars[slot]);
    for (int64_t block = first; block < last; ++block) {
      const int64_t start = block * kExprBlock;
      const Block b{regs.data(), scalars, std::min(kExprBlock, n - start)};
      for (size_t i = 0; i < pr.inputs.size(); ++i)
        if (pr.inputs[i] == ExprLayout::elementwise)
          regs[static_cast<size_t>(pr.input_operands[i].index)] = const_cast<float*>((*in)[i]) + start;
      for (size_t o = 0; o < pr.outputs.size(); ++o)
        if ((*how)[o] == Delivery::in_place) regs[static_cast<size_t>(pr.outputs[o].index)] = (*out)[o].data + start;
      for (const ExprInstruction& ins : pr.block_code) {
        float* d = regs[static_cast<size_t>(ins.dest)];
        if (ins.op == ExprOp::input) {  // a channel input gathered for this block
          const float* values = (*in)[static_cast<size_t>(ins.a.index)];
          for (int64_t i = 0; i < b.len; ++i) d[i] = values[((start + i) / inner) % channels];
          continue;
        }
        b.run(d, ins);
      }
      for (size_t o = 0; o < pr.outputs.size(); ++o) {
        const ExprOperand src = pr.outputs[o];
        float* sums = partial + static_cast<size_t>(block) * partial_width + partial_at[o];
        switch ((*how)[o]) {
          case Delivery::in_place:
            break;
          case Delivery::streamed:
            stream_copy((*out)[o].data + start, regs[static_cast<size_t>(src.index)], b.len);
            break;
          case Delivery::sum: {
            float s = 0.f;
            for (int64_t i = 0; i < b.len; ++i) s += operand_value(b, src, i);
            sums[0] = s;
            break;
          }
          case Delivery::channel:
            for (int64_t i = 0; i < b.len; ++i)
              sums[((start + i) / inner) % channels] += operand_value(b, src, i);
            break;
          case Delivery::copied:
            copy_out(b, src, (*out)[o].data + start, (*out)[o].accumulate);
            break;
        }
      }
    }
    stream_fence();
  });
  for (size_t o = 0; o < outputs.size(); ++o) {
    if (p.reduce[o] == ExprReduce::none) continue;
    std::vector<double>& sums = *outputs[o].sums;
    sums.assign(p.reduce[o] == ExprReduce::sum ? 1 : static_cast<size_t>(channels), 0.0);
    for (int64_t block = 0; block < blocks; ++block)
      for (size_t c = 0; c < sums.size(); ++c)
        sums[c] += partials[static_cast<size_t>(block) * partial_width + partial_at[o] + c];
  }
}

}  // namespace actlab::kernels
