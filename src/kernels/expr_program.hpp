// Compiled pointwise expressions (formulas): a short program of instructions that runs over the
// inputs in blocks of kExprBlock floats, each instruction a plain vectorisable loop over arrays
// that stay in L1, so that a whole formula reads its inputs once and writes its outputs once.
// Knows nothing of autograd: ops/formula_*.cpp compile expression graphs into these programs.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

namespace actlab::kernels {

// The operations of a formula. `constant` and `input` are leaves of the expression graph and
// never appear as instructions (but `input` in block code gathers a channel input, operand a
// being the input's index, into its register); step (x > 0 ? 1 : 0), sign, exp_minus_square
// (e^(-x^2), erf's and erfc's derivative but for a factor), gaussian (e^(-x^2/2)) and
// normal_cdf (Phi, gelu(x) / x) exist for derivatives; erf_given, erfc_given and
// normal_cdf_given (erf(a), erfc(a) and Phi(a) given b, their exponential) only in programs,
// where a program that needs both erfc(a) and e^(-a^2) computes the exponential once;
// muladd (a b + c, rounded once where the CPU has FMA) only in programs too, for an add of a
// product that nothing else reads.
enum class ExprOp : uint8_t {
  constant, input,
  neg, exp, expm1, log, log1p, sqrt, abs, tanh, sigmoid, softplus, erf, erfc, relu, gelu,
  step, sign, exp_minus_square, gaussian, normal_cdf,
  add, sub, mul, div, min, max, lt, le, gt, ge, eq, ne, erf_given, erfc_given, normal_cdf_given,
  where, muladd,
};

int expr_arity(ExprOp op);  // 0 for leaves, 1 to 3 for operations

// y = op(a, b, c) for one float, exactly as the block loops compute it.
float expr_apply(ExprOp op, float a, float b = 0.f, float c = 0.f);

// Where an operand lives: a block register (kExprBlock floats, one per element of the block) or
// a scalar slot (one value for every element: a constant, a one-value input, or an operation on
// those, computed once before the blocks).
struct ExprOperand {
  enum Kind : uint8_t { reg, scalar } kind = reg;
  int32_t index = 0;
};

struct ExprInstruction {
  ExprOp op;
  int32_t dest;  // a register (block code) or a scalar slot (scalar code)
  ExprOperand a, b, c;
  // In block code, `op` may be add or mul with a unary operation folded into its second
  // operand: d = op(a, inner(b)), b a register, in one loop (x * sigmoid(x) is one loop, not
  // two with a round trip through L1). `constant` means none.
  ExprOp inner = ExprOp::constant;
};

// Whether block code can fold the unary `inner` into an `outer` instruction (see above).
bool expr_can_fold(ExprOp outer, ExprOp inner);

// How an input is laid over the elements: one value per element, one value for all, or one
// value per channel (channel of element k: (k / inner) % channels, as prelu's weight).
enum class ExprLayout : uint8_t { elementwise, scalar, channel };

// What the program makes of an operand: an elementwise output, or its sum over all elements
// (one value) or per channel, as the gradient of a scalar or per-channel input.
enum class ExprReduce : uint8_t { none, sum, channel };

struct ExprProgram {
  std::vector<ExprLayout> inputs;   // input i is register i (elementwise), scalar slot, or both
  std::vector<ExprOperand> input_operands;  // where each input is read from
  std::vector<float> constants;     // scalar slots [0, constants.size()) hold these
  int32_t scalar_slots = 0;         // constants, scalar inputs, then scalar code's results
  std::vector<ExprInstruction> scalar_code;  // run once per run
  std::vector<ExprInstruction> block_code;   // run per block; gathers of channel inputs first
  int32_t registers = 0;            // elementwise inputs first (they point into the input)
  // (register, scalar slot): registers that hold a scalar in every lane, for the operands of
  // where() and of muladd's addend and second factor, filled once per thread.
  std::vector<std::pair<int32_t, int32_t>> splats;
  // Each output computed by block code has a register of its own, which no other value
  // shares, so that the register can point into the output's memory and the instruction store
  // its values there as it computes them, or a large output be streamed from it after each
  // block (run_expr_program's Delivery says which, and when neither is possible).
  std::vector<ExprOperand> outputs;
  std::vector<ExprReduce> reduce;   // per output
  int64_t cost = 1;                 // rough work per element, for parallel_for's split
};

// Floats per block. 256 rather than 512 since session 6 (a change that entered with an
// experiment, then measured side by side): W6f 43-46 against 46-49 ms a step, its program's
// seven registers then take 7 KiB of L1; the activations suite's formulas within noise of each
// other (bench/RESULTS.md).
inline constexpr int64_t kExprBlock = 256;

struct ExprOutput {
  float* data = nullptr;  // an elementwise output: n floats
  bool accumulate = false;
  std::vector<double>* sums = nullptr;  // a reduced output: 1 or `channels` sums, assigned
};

// Runs `program` over n elements: inputs[i] holds n values, 1, or `channels` as the program's
// layouts say. Results are the same bits for any thread count: blocks are fixed (multiples of
// kExprBlock from 0), and reductions add per-block partial sums in block order.
void run_expr_program(const ExprProgram& program, int64_t n, int64_t channels, int64_t inner,
                      const std::vector<const float*>& inputs, const std::vector<ExprOutput>& outputs);

}  // namespace actlab::kernels
