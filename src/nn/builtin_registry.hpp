// The entries of the layer and model registries (nn/registry.hpp), and the built-in ones that
// fill them first: layers.cpp and models.cpp define those.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "actlab/nn/registry.hpp"

namespace actlab::nn::registry_detail {

struct LayerEntry {
  std::string type;
  LayerFactory factory;
  LayerInfo info;
};

struct ModelEntry {
  std::string kind;
  ModelFactory factory;
  ModelInfo info;
};

std::vector<LayerEntry> builtin_layers();
std::vector<ModelEntry> builtin_models();
ModelEntry decoder_model();  // decoder_model.cpp

// The widest layer and the longest stack a config may ask for.
constexpr int64_t kMaxWidth = 4096;
constexpr int64_t kMaxDepth = 64;

// The field "init" of a model spec ("kaiming_normal" or {"scheme": ..., ...}), and the scheme
// its resolved value describes.
CustomField init_field();
init::Scheme scheme_from(const nlohmann::json& resolved_init);

// Fields that layers and models share: an activation spec, checked as make_activation checks
// it (errors re-rooted at the field); a gated FFN's kind or gate activation; a list of layer
// specs, each resolved.
CustomField activation_field(const char* fallback, std::string help);
// An activation spec ("gelu", {"name": "prelu", ...} or a formula) as a layer spec.
nlohmann::json layer_spec_of(const nlohmann::json& activation);
// The cost of an FFN block's own layers at a width: standard, up + act + down (the activation
// an activation spec); gated, gate + up + act(gate) * up + down. No residual sum.
MemoryCost ffn_block_cost(int64_t width, int64_t d_ff, const nlohmann::json& activation, bool bias,
                          bool gated);
// A gated FFN's activation: a gated kind, a gate activation's name, or a formula object.
CustomField gate_field();
// What initialises a gated FFN's gate: the gate activation of a kind, or the formula's spec.
nlohmann::json gate_init_activation(const nlohmann::json& activation);
CustomField layers_field();

}  // namespace actlab::nn::registry_detail
