// Transformer-style feed-forward blocks: the standard down(act(up(x))) and the gated
// down(act(gate(x)) * up(x)) of Shazeer's "GLU Variants Improve Transformer" (2020), which
// compares them at equal parameter counts.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "actlab/nn/activation.hpp"
#include "actlab/nn/linear.hpp"
#include "actlab/nn/module.hpp"

namespace actlab::nn {

class FeedForward : public Module {
 public:
  // activation: a name or JSON spec accepted by make_activation.
  FeedForward(int64_t d_model, int64_t d_ff, const nlohmann::json& activation = "gelu",
              bool bias = true, Generator& gen = default_generator());
  Tensor forward(const Tensor& x) override;  // [..., d_model] -> [..., d_model]
  std::string describe() const override;

  Linear up;    // d_model -> d_ff
  Linear down;  // d_ff -> d_model
  std::unique_ptr<Module> act;

 private:
  // act(up(x)) as one op, when the activation was named without parameters and has such a
  // kernel (its registry entry's); forward uses it while no hook watches up or act.
  LinearKernel up_act_;
};

class GatedFeedForward : public Module {
 public:
  // gate_activation "sigmoid" = GLU, "relu" = ReGLU, "gelu" = GeGLU, "silu" = SwiGLU (also
  // "gelu_tanh", "swish"); the kinds "glu", "reglu", "geglu", "swiglu" are accepted too.
  // The activation goes on `gate`, never on `up`; act(gate) * up is one fused op.
  GatedFeedForward(int64_t d_model, int64_t d_ff, std::string gate_activation = "silu",
                   bool bias = false, Generator& gen = default_generator());
  // Any activation module on the gate (make_activation's: a formula, learned parameters and
  // all, a user's own): act(gate(x)) * up(x) as two ops. The module is this block's "act",
  // registered between gate and up, so its parameters are "act.beta" and the like.
  GatedFeedForward(int64_t d_model, int64_t d_ff, std::unique_ptr<Module> gate_activation,
                   bool bias = false, Generator& gen = default_generator());
  Tensor forward(const Tensor& x) override;
  std::string describe() const override;
  const std::string& gate_activation() const { return gate_activation_; }

  Linear gate;  // d_model -> d_ff
  Linear up;    // d_model -> d_ff
  Linear down;  // d_ff -> d_model
  std::unique_ptr<Module> act;  // the gate's activation module; null where a kernel fuses it

 private:
  std::string gate_activation_;  // its name, or the label of act's activation mark
  GateKernel gate_kernel_;  // from gate_activation_'s registry entry, when act is null
};

// A gated FFN from a config's activation value: a gated kind or a gate activation's name (its
// fused kernel), or a formula object ({"formula": ..., parameters, "learn"}) on the gate.
std::unique_ptr<GatedFeedForward> make_gated_feed_forward(int64_t d_model, int64_t d_ff,
                                                          const nlohmann::json& activation,
                                                          bool bias, Generator& gen);

// The gate activation of a gated FFN kind ("swiglu" -> "silu", ...); other names pass through.
std::string gate_activation_for(const std::string& kind_or_activation);

// Throws Error unless the name is a gated kind or an activation gated_activation takes.
void check_gate_activation(const std::string& kind_or_activation);

// The gated d_ff whose three matrices hold about as many weights as a standard FFN's two with
// d_ff: 2/3 of d_ff, rounded to the nearest multiple of 8 (at least 8).
int64_t matched_gated_d_ff(int64_t d_ff);

}  // namespace actlab::nn
