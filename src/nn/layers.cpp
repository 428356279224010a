// The built-in layer types of "layers" lists (activation names aside, which the activation
// registry holds): linear, dropout, layer_norm, rms_norm, the residual FFN blocks and residual.
// Each entry is its factory, one line of description, its fields and its memory cost; the
// factory says what width comes out.
#include <fmt/format.h>

#include "actlab/detail/fields.hpp"
#include "actlab/nn/activation.hpp"
#include "actlab/nn/ffn.hpp"
#include "actlab/nn/formula.hpp"
#include "actlab/nn/linear.hpp"
#include "actlab/nn/norm.hpp"
#include "actlab/nn/sequential.hpp"
#include "actlab/ops/ops.hpp"
#include "nn/builtin_registry.hpp"

namespace actlab::nn::registry_detail {
namespace {

using json = nlohmann::json;

// x + dropout(body(x)): a residual connection around any stack whose output has its input's
// width. The dropout (when p > 0) is a child of its own, with its own generator.
class Residual : public Module {
 public:
  Residual(std::unique_ptr<Module> body, float dropout, Generator& gen) : body_(std::move(body)) {
    register_module("body", body_.get());
    if (dropout > 0.f) {
      dropout_ = std::make_unique<Dropout>(dropout, gen);
      register_module("dropout", dropout_.get());
    }
  }
  Tensor forward(const Tensor& x) override {
    const Tensor y = (*body_)(x);
    return x + (dropout_ ? (*dropout_)(y) : y);
  }
  std::string describe() const override {
    return fmt::format("Residual(\n  (body): {}{}\n)", body_->describe(),
                       dropout_ ? fmt::format(",\n  (dropout): {}", dropout_->describe()) : "");
  }

 private:
  std::unique_ptr<Module> body_;
  std::unique_ptr<Dropout> dropout_;
};

// A required integer: a CustomField whose fallback (null) is refused.
CustomField required_width(std::string name, std::string help) {
  const NumberField rule{name, true, 0, 1, kMaxWidth, false, false, help};
  return {name, nullptr, detail::json_schema(rule),
          [rule](const json& value, const FieldPath& path) {
            if (value.is_null())
              throw FieldError(path, fmt::format("expected {}, found nothing",
                                                 detail::expected_text(rule)));
            return detail::read_number(json{{rule.name, value}}, rule,
                                       FieldPath(path.begin(), path.end() - 1));
          }};
}

NumberField residual_dropout() {
  return {"dropout", false, 0, 0, 1, false, true, "dropout on the block's output, before the sum"};
}

int64_t integer(const json& spec, const char* field) { return spec.at(field).get<int64_t>(); }
float real(const json& spec, const char* field) { return spec.at(field).get<float>(); }

// The value, once make_activation takes it; its errors moved under `path` (they come at
// "activation.<field>").
json checked_activation(const json& value, const FieldPath& path) {
  try {
    make_activation(value);
  } catch (const FieldError& e) {
    FieldPath full = path;
    if (!e.path().empty()) full.insert(full.end(), e.path().begin() + 1, e.path().end());
    throw FieldError(full, e.reason());
  }
  return value;
}

}  // namespace

CustomField activation_field(const char* fallback, std::string help) {
  return {"activation", fallback,
          {{"$ref", "#/$defs/activation"}, {"description", help}, {"default", fallback}},
          checked_activation};
}

MemoryCost ffn_block_cost(int64_t width, int64_t d_ff, const json& activation, bool bias,
                          bool gated) {
  const int64_t hidden_biases = bias ? d_ff : 0, out_biases = bias ? width : 0;
  // A gate's fused kernel keeps nothing of its own; a formula on the gate is a layer of its own.
  const MemoryCost act = gated && activation.is_string() ? MemoryCost{}
                                                         : layer_cost(layer_spec_of(activation), d_ff);
  if (gated)
    // gate and up, their product act(gate) * up, and down's output.
    return {width, 3 * width * d_ff + 2 * hidden_biases + out_biases + act.parameters,
            3 * d_ff + act.kept_per_example + width, 0};
  // up's output, the activation's, and down's.
  return {width, 2 * width * d_ff + hidden_biases + out_biases + act.parameters,
          d_ff + act.kept_per_example + width, 0};
}

CustomField gate_field() {
  json known = gated_kind_names();
  for (const std::string& name : gate_activation_names()) known.push_back(name);
  return {"activation", "swiglu",
          {{"anyOf", {{{"enum", known}}, {{"type", "object"}, {"required", {"formula"}}}}},
           {"default", "swiglu"},
           {"description", "gated kind, the activation on the gate, or a formula for it"}},
          [](const json& value, const FieldPath& path) {
            if (is_formula_spec(value)) return checked_activation(value, path);
            if (!value.is_string())
              throw FieldError(path, fmt::format("expected a gated FFN kind ({}), a gate "
                                                 "activation's name or a formula object, found {}",
                                                 fmt::join(gated_kind_names(), ", "),
                                                 detail::found_text(value)));
            try {
              check_gate_activation(value.get<std::string>());
            } catch (const Error& e) {
              throw FieldError(path, e.what());
            }
            return value;
          }};
}

json gate_init_activation(const json& activation) {
  return activation.is_string() ? json(gate_activation_for(activation.get<std::string>()))
                                : layer_spec_of(activation);
}

namespace {

Layer linear(const json& spec, int64_t in_width, const BuildContext& context) {
  const int64_t out = integer(spec, "out");
  auto layer = std::make_unique<Linear>(in_width, out, spec.at("bias").get<bool>(), context.gen);
  init::apply(*layer, context.scheme_for(context.next), context.gen);
  return {std::move(layer), out};
}

Layer dropout(const json& spec, int64_t in_width, const BuildContext& context) {
  return {std::make_unique<Dropout>(real(spec, "p"), context.gen), in_width};
}

Layer layer_norm(const json& spec, int64_t in_width, const BuildContext&) {
  return {std::make_unique<LayerNorm>(in_width, real(spec, "eps"), spec.at("bias").get<bool>()),
          in_width};
}

Layer rms_norm(const json& spec, int64_t in_width, const BuildContext&) {
  return {std::make_unique<RMSNorm>(in_width, real(spec, "eps")), in_width};
}

NumberField eps_field(double fallback) {
  return {"eps", false, fallback, 0, 1, true, false, "added to the variance for stability"};
}

// The init of a block's own layers: the hidden one by the gain of its activation (as a layer
// spec), the others by 1.
void init_block(Linear& hidden, std::initializer_list<Linear*> others, const json& activation,
                const BuildContext& context) {
  init::apply(hidden, context.scheme_for(activation), context.gen);
  for (Linear* layer : others) init::apply(*layer, context.scheme_for(nullptr), context.gen);
}

Layer ffn(const json& spec, int64_t in_width, const BuildContext& context) {
  auto block = std::make_unique<FeedForward>(in_width, integer(spec, "d_ff"), spec["activation"],
                                             spec.at("bias").get<bool>(), context.gen);
  init_block(block->up, {&block->down}, layer_spec_of(spec["activation"]), context);
  return {std::make_unique<Residual>(std::move(block), real(spec, "dropout"), context.gen),
          in_width};
}

Layer gated_ffn(const json& spec, int64_t in_width, const BuildContext& context) {
  const json& activation = spec["activation"];
  auto block = make_gated_feed_forward(in_width, integer(spec, "d_ff"), activation,
                                       spec.at("bias").get<bool>(), context.gen);
  init_block(block->gate, {&block->up, &block->down}, gate_init_activation(activation), context);
  return {std::make_unique<Residual>(std::move(block), real(spec, "dropout"), context.gen),
          in_width};
}

Layer residual(const json& spec, int64_t in_width, const BuildContext& context) {
  BuildContext inner = context;
  inner.next = nullptr;
  Layer body;
  try {
    body = make_layers(spec["layers"], in_width, inner);
  } catch (const FieldError& e) {
    throw e.within("layers");
  }
  if (body.out_width != in_width)
    throw FieldError({"layers"}, fmt::format("expected the layers to end at the width they start "
                                             "from ({}), found {}",
                                             in_width, body.out_width));
  return {std::make_unique<Residual>(std::move(body.module), real(spec, "dropout"), context.gen),
          in_width};
}

// ---- memory costs (MemoryCost: floats; kept counts are per example) ---------------------------

MemoryCost linear_cost(const json& spec, int64_t in_width) {
  const int64_t out = integer(spec, "out");
  return {out, (in_width + (spec.at("bias").get<bool>() ? 1 : 0)) * out, out, 0};
}

// Its output, and the mask it saves.
MemoryCost dropout_cost(const json&, int64_t in_width) { return {in_width, 0, 2 * in_width, 0}; }

// Its output and the two statistics a row it saves.
MemoryCost layer_norm_cost(const json& spec, int64_t in_width) {
  return {in_width, (spec.at("bias").get<bool>() ? 2 : 1) * in_width, in_width + 2, 0};
}

MemoryCost rms_norm_cost(const json&, int64_t in_width) {
  return {in_width, in_width, in_width + 2, 0};
}

// The sum x + block(x) of a residual block, and the dropout on the block's output.
MemoryCost around_residual(MemoryCost body, int64_t width, float dropout) {
  body.out_width = width;
  body.kept_per_example += width + (dropout > 0.f ? 2 * width : 0);
  // x is held while the body runs; then the sum is made.
  body.eval_per_example = std::max(body.eval_per_example, width + body.kept_per_example);
  return body;
}

// The layer types ffn and gated_ffn: the block, its dropout and the sum.
template <bool gated>
MemoryCost ffn_layer_cost(const json& spec, int64_t in_width) {
  return around_residual(ffn_block_cost(in_width, integer(spec, "d_ff"), spec["activation"],
                                        spec.at("bias").get<bool>(), gated),
                         in_width, real(spec, "dropout"));
}

MemoryCost residual_cost(const json& spec, int64_t in_width) {
  return around_residual(layers_cost(spec["layers"], in_width), in_width, real(spec, "dropout"));
}

CustomField layer_list() {
  return {"layers", json::array(),
          {{"type", "array"},
           {"maxItems", kMaxDepth},
           {"items", {{"$ref", "#/$defs/layer"}}},
           {"description", "the layers, in order"}},
          [](const json& value, const FieldPath& path) {
            if (!value.is_array() || value.size() > static_cast<size_t>(kMaxDepth))
              throw FieldError(path, fmt::format("expected a list of at most {} layers, found {}",
                                                 kMaxDepth, detail::found_text(value)));
            json resolved = json::array();
            for (size_t i = 0; i < value.size(); ++i) {
              try {
                resolved.push_back(resolve_layer(value[i]));
              } catch (const FieldError& e) {
                FieldPath full = detail::child(path, std::to_string(i));
                full.insert(full.end(), e.path().begin(), e.path().end());
                throw FieldError(full, e.reason());
              }
            }
            return resolved;
          }};
}

}  // namespace

CustomField layers_field() { return layer_list(); }

std::vector<LayerEntry> builtin_layers() {
  const auto d_ff = [] { return required_width("d_ff", "hidden width of the block"); };
  return {
      {"linear",
       linear,
       {"y = x W^T + b, to `out` features; its init gain is that of the activation it feeds",
        {required_width("out", "output features"),
         BoolField{"bias", true, "add a learned bias"}},
        linear_cost}},
      {"dropout",
       dropout,
       {"zeroes each element with probability p in training, scaling the rest by 1/(1-p)",
        {NumberField{"p", false, 0.5, 0, 1, false, true, "probability of zeroing"}},
        dropout_cost}},
      {"layer_norm",
       layer_norm,
       {"(x - mean) / sqrt(var + eps) * weight + bias over the features (Ba et al. 2016)",
        {eps_field(1e-5), BoolField{"bias", true, "a learned bias"}},
        layer_norm_cost}},
      {"rms_norm",
       rms_norm,
       {"x / sqrt(mean(x^2) + eps) * weight over the features (Zhang and Sennrich 2019)",
        {eps_field(1e-6)},
        rms_norm_cost}},
      {"ffn",
       ffn,
       {"standard residual FFN block: x + dropout(down(act(up(x))))",
        {d_ff(), activation_field("gelu", "a name (gelu, relu, ...) or {\"name\": ..., parameters}"),
         BoolField{"bias", true, "biases in up and down"}, residual_dropout()},
        ffn_layer_cost<false>}},
      {"gated_ffn",
       gated_ffn,
       {"gated residual FFN block: x + dropout(down(act(gate(x)) * up(x)))",
        {d_ff(), gate_field(), BoolField{"bias", false, "biases in gate, up and down"},
         residual_dropout()},
        ffn_layer_cost<true>}},
      {"residual",
       residual,
       {"x + dropout(layers(x)): a residual connection around a list of layers",
        {layer_list(), residual_dropout()},
        residual_cost}},
  };
}

}  // namespace actlab::nn::registry_detail
