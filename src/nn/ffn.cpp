// FeedForward and GatedFeedForward blocks.
#include "actlab/nn/ffn.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>

#include "actlab/detail/fields.hpp"
#include "actlab/nn/activation.hpp"
#include "actlab/nn/formula.hpp"
#include "actlab/ops/ops.hpp"

namespace actlab::nn {

FeedForward::FeedForward(int64_t d_model, int64_t d_ff, const nlohmann::json& activation, bool bias,
                         Generator& gen)
    : up(d_model, d_ff, bias, gen), down(d_ff, d_model, bias, gen), act(make_activation(activation)) {
  if (activation.is_string()) up_act_ = activation_info(activation.get<std::string>()).linear;
  register_module("up", &up);
  register_module("act", act.get());
  register_module("down", &down);
}

Tensor FeedForward::forward(const Tensor& x) {
  if (up_act_ && !up.has_forward_hooks() && !act->has_forward_hooks())
    return down(up_act_(x, up.weight, up.bias));
  return down((*act)(up(x)));
}

std::string FeedForward::describe() const {
  return fmt::format("FeedForward(d_model={}, d_ff={}, activation={})", up.in_features(),
                     up.out_features(), act->describe());
}

GatedFeedForward::GatedFeedForward(int64_t d_model, int64_t d_ff, std::string gate_activation,
                                   bool bias, Generator& gen)
    : gate(d_model, d_ff, bias, gen),
      up(d_model, d_ff, bias, gen),
      down(d_ff, d_model, bias, gen),
      gate_activation_(gate_activation_for(gate_activation)) {
  check_gate_activation(gate_activation);
  gate_kernel_ = activation_info(gate_activation_).gate;
  register_module("gate", &gate);
  register_module("up", &up);
  register_module("down", &down);
  down.mark_activation({std::move(gate_activation), true});
}

GatedFeedForward::GatedFeedForward(int64_t d_model, int64_t d_ff,
                                   std::unique_ptr<Module> gate_activation, bool bias,
                                   Generator& gen)
    : gate(d_model, d_ff, bias, gen),
      up(d_model, d_ff, bias, gen),
      down(d_ff, d_model, bias, gen),
      act(std::move(gate_activation)) {
  if (!act) throw Error("GatedFeedForward: the gate's activation module is null");
  const auto& mark = act->activation_mark();
  gate_activation_ = mark ? mark->activation : "custom";
  register_module("gate", &gate);
  register_module("act", act.get());
  register_module("up", &up);
  register_module("down", &down);
  down.mark_activation({gate_activation_, true});
}

Tensor GatedFeedForward::forward(const Tensor& x) {
  if (act) return down((*act)(gate(x)) * up(x));
  return down(gate_kernel_(gate(x), up(x)));
}

std::string GatedFeedForward::describe() const {
  return fmt::format("GatedFeedForward(d_model={}, d_ff={}, gate_activation={})",
                     gate.in_features(), gate.out_features(),
                     act ? act->describe() : gate_activation_);
}

std::unique_ptr<GatedFeedForward> make_gated_feed_forward(int64_t d_model, int64_t d_ff,
                                                          const nlohmann::json& activation,
                                                          bool bias, Generator& gen) {
  if (activation.is_string())
    return std::make_unique<GatedFeedForward>(d_model, d_ff, activation.get<std::string>(), bias, gen);
  if (!is_formula_spec(activation))
    throw Error(fmt::format("GatedFeedForward: expected a gated kind, a gate activation's name or "
                            "a formula object, found {}",
                            activation.dump()));
  return std::make_unique<GatedFeedForward>(d_model, d_ff, make_activation(activation), bias, gen);
}

void check_gate_activation(const std::string& kind_or_activation) {
  const std::vector<std::string> known = gate_activation_names();
  if (std::find(known.begin(), known.end(), gate_activation_for(kind_or_activation)) == known.end())
    throw Error(fmt::format("GatedFeedForward: unknown gate activation {}; expected one of "
                            "{} or a kind: {}",
                            detail::quoted_excerpt(kind_or_activation), fmt::join(known, ", "),
                            fmt::join(gated_kind_names(), ", ")));
}

int64_t matched_gated_d_ff(int64_t d_ff) {
  const double two_thirds = 2.0 * static_cast<double>(d_ff) / 3.0;
  return std::max<int64_t>(8, static_cast<int64_t>(std::llround(two_thirds / 8.0)) * 8);
}

}  // namespace actlab::nn
