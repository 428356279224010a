// The built-in model kinds: sequential (any list of registered layers, then the head the task
// needs), mlp (a shorthand that expands to a sequential list) and ffn (residual FFN blocks
// between an input and an output projection), with their memory costs; and the "init" field
// they share.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "actlab/detail/fields.hpp"
#include "actlab/nn/activation.hpp"
#include "actlab/nn/ffn.hpp"
#include "actlab/nn/formula.hpp"
#include "actlab/nn/linear.hpp"
#include "actlab/nn/mlp.hpp"
#include "actlab/ops/ops.hpp"
#include "nn/builtin_registry.hpp"

namespace actlab::nn {

using json = nlohmann::json;

json registry_detail::layer_spec_of(const json& activation) {
  json layer = activation;
  if (activation.is_object() && activation.contains("name")) {
    layer.erase("name");
    layer["type"] = activation["name"];
  }
  return layer;
}

json mlp_layers(const std::vector<int64_t>& hidden, const json& activation, float dropout) {
  const json activation_layer = registry_detail::layer_spec_of(activation);
  json layers = json::array();
  for (int64_t width : hidden) {
    layers.push_back({{"type", "linear"}, {"out", width}});
    layers.push_back(activation_layer);
    if (dropout > 0.f) layers.push_back({{"type", "dropout"}, {"p", dropout}});
  }
  return layers;
}

namespace registry_detail {
namespace {

NumberField integer(std::string name, double fallback, double lo, double hi, std::string help) {
  return {std::move(name), true, fallback, lo, hi, false, false, std::move(help)};
}

std::vector<FieldSpec> init_fields() {
  std::vector<std::string> nonlinearities = {"", "linear"};
  for (const std::string& name : activation_names())
    if (activation_info(name).gain) nonlinearities.push_back(name);
  return {
      ChoiceField{"scheme",
                  {std::begin(init::kSchemeNames), std::end(init::kSchemeNames)},
                  "pytorch_default",
                  "weight initialisation (pytorch_default is U(+-1/sqrt(fan_in)), not He init)"},
      ChoiceField{"nonlinearity", nonlinearities, "",
                  "the gain's nonlinearity; empty: the activation each layer feeds"},
      NumberField{"std", false, 0.01, 0, 10, true, false,
                  "standard deviation of the \"normal\" scheme"},
      CustomField{"bias", nullptr,
                  {{"type", {"number", "null"}},
                   {"minimum", -100},
                   {"maximum", 100},
                   {"default", nullptr},
                   {"description", "a constant every bias starts at (e.g. -5 starts ReLUs dead); "
                                   "null: the scheme's own"}},
                  [](const json& value, const FieldPath& path) {
                    if (value.is_null()) return value;
                    const NumberField rule{"bias", false, 0, -100, 100, false, false, ""};
                    return detail::read_number(json{{"bias", value}}, rule,
                                               FieldPath(path.begin(), path.end() - 1));
                  }},
  };
}

NumberField dropout_field() {
  return {"dropout", false, 0, 0, 1, false, true, "dropout probability after each activation"};
}

// The widths as integers: each is read as any integer field is (16 and 16.0 alike).
json check_hidden(const json& value, const FieldPath& path) {
  const bool ok = value.is_array() && static_cast<int64_t>(value.size()) <= kMaxDepth;
  if (!ok)
    throw FieldError(path, fmt::format("expected a list of at most {} layer widths, found {}",
                                       kMaxDepth, detail::found_text(value)));
  json widths = json::array();
  for (size_t i = 0; i < value.size(); ++i) {
    const NumberField width = integer(std::to_string(i), 0, 1, kMaxWidth, "");
    widths.push_back(detail::read_number(json{{width.name, value[i]}}, width, path));
  }
  return widths;
}

// A scheme with a gain needs one for the activation its weights feed, unless the config names
// the nonlinearity itself.
void check_gain(const json& init, const json& activation) {
  const std::string scheme = init["scheme"];
  const bool uses_gain = scheme.starts_with("xavier") || scheme.starts_with("kaiming");
  if (!uses_gain || !init["nonlinearity"].get<std::string>().empty() ||
      activation_gain(activation))
    return;
  const std::string name = activation.is_string()
                               ? activation.get<std::string>()
                               : activation.value("name", activation.value("formula", ""));
  throw FieldError({"model", "init", "nonlinearity"},
                   fmt::format("{} needs a gain, and none is known for activation \"{}\"; set "
                               "init.nonlinearity (e.g. \"relu\" or \"linear\")",
                               scheme, name));
}

// A PReLU's slopes, or a formula's learned parameters, one per channel, must match every width
// the activation follows.
void check_channels(const json& activation, const std::vector<int64_t>& widths) {
  if (!activation.is_object()) return;
  const int64_t slopes = activation.value("num_parameters", int64_t{1});
  for (int64_t width : widths)
    if (slopes != 1 && slopes != width)
      throw FieldError({"model", "activation", "num_parameters"},
                       fmt::format("expected 1 or the width of every layer it follows ({}), "
                                   "found {}",
                                   width, slopes));
}

// ---- sequential ------------------------------------------------------------------------------

std::unique_ptr<Module> sequential_model(const json& layers, int64_t in_width, int64_t out_width,
                                         const BuildContext& context) {
  auto net = std::make_unique<Sequential>();
  int64_t width = 0;
  try {
    width = append_layers(*net, layers, in_width, context);
  } catch (const FieldError& e) {
    throw e.within("layers");
  }
  append_layers(*net, json::array({{{"type", "linear"}, {"out", out_width}}}), width, context);
  return net;
}

// The layers, then the linear head sequential_model appends.
MemoryCost sequential_cost(const json& layers, int64_t in_width, int64_t out_width) {
  MemoryCost cost = layers_cost(layers, in_width);
  const MemoryCost head = layer_cost({{"type", "linear"}, {"out", out_width}}, cost.out_width);
  cost.parameters += head.parameters;
  cost.kept_per_example += head.kept_per_example;
  cost.eval_per_example = std::max(cost.eval_per_example, head.eval_per_example);
  cost.out_width = out_width;
  return cost;
}

// The activation spec of a resolved layer spec, or null when the layer is no activation.
json activation_of(const json& layer) {
  if (is_formula_spec(layer)) return layer;
  if (!is_activation(layer.value("type", ""))) return nullptr;
  json activation = layer;
  activation["name"] = activation["type"];
  activation.erase("type");
  return activation;
}

json check_sequential(json spec) {
  const json& layers = spec["layers"];
  for (size_t i = 0; i + 1 < layers.size(); ++i) {
    const json activation = activation_of(layers[i + 1]);
    if (layers[i]["type"] != "linear" || activation.is_null()) continue;
    try {
      check_gain(spec["init"], activation);
    } catch (const FieldError& e) {
      throw FieldError(e.path(), fmt::format("{} (layers.{})", e.reason(), i + 1));
    }
  }
  return spec;
}

// ---- mlp -------------------------------------------------------------------------------------

json check_mlp(json spec) {
  check_channels(spec["activation"], spec["hidden"].get<std::vector<int64_t>>());
  check_gain(spec["init"], spec["activation"]);
  return spec;
}

// ---- ffn -------------------------------------------------------------------------------------

// A stack of residual FFN blocks between an input and an output projection. It keeps the order
// in which it has always drawn its weights (the output layer is made before the blocks), so
// that ffn configs give the results they always gave.
class ResidualFFN : public Module {
 public:
  ResidualFFN(const json& spec, int64_t input_dim, int64_t output_dim, const BuildContext& context)
      : in_(input_dim, spec["d_model"].get<int64_t>(), true, context.gen),
        out_(spec["d_model"].get<int64_t>(), output_dim, true, context.gen),
        dropout_(spec["dropout"].get<float>()),
        dropout_gen_(context.gen.next_u32()) {
    const bool gated = spec["block"] == "gated";
    const json& activation = spec["activation"];
    const int64_t d_model = spec["d_model"], d_ff = spec["d_ff"];
    Generator& gen = context.gen;
    init::Scheme linear_scheme = context.init;
    if (linear_scheme.nonlinearity.empty()) linear_scheme.nonlinearity = "linear";
    init::Scheme hidden_scheme = context.init;
    const json fed = gated ? gate_init_activation(activation) : activation;
    if (hidden_scheme.nonlinearity.empty())
      hidden_scheme.nonlinearity = fed.is_string() ? fed.get<std::string>() : fed.value("name", "custom");
    register_generator("dropout_generator", &dropout_gen_);
    register_module("in", &in_);
    init::apply(in_, linear_scheme, gen);
    for (int64_t b = 0; b < spec["blocks"].get<int64_t>(); ++b) {
      if (gated) {
        auto block = make_gated_feed_forward(d_model, d_ff, activation, false, gen);
        init::apply(block->gate, hidden_scheme, gen);
        init::apply(block->up, linear_scheme, gen);
        init::apply(block->down, linear_scheme, gen);
        blocks_.push_back(std::move(block));
      } else {
        auto block = std::make_unique<FeedForward>(d_model, d_ff, activation, true, gen);
        init::apply(block->up, hidden_scheme, gen);
        init::apply(block->down, linear_scheme, gen);
        blocks_.push_back(std::move(block));
      }
      register_module(fmt::format("blocks.{}", b), blocks_.back().get());
    }
    register_module("out", &out_);
    init::apply(out_, linear_scheme, gen);
  }

  Tensor forward(const Tensor& x) override {
    Tensor h = in_(x);
    for (auto& block : blocks_) h = h + dropout((*block)(h), dropout_, is_training(), dropout_gen_);
    return out_(h);
  }

  std::string describe() const override {
    std::string out = fmt::format("ResidualFFN(\n  (in): {}", in_.describe());
    for (size_t b = 0; b < blocks_.size(); ++b)
      out += fmt::format("\n  (blocks.{}): {}", b, blocks_[b]->describe());
    return out + fmt::format("\n  (out): {}\n)", out_.describe());
  }

 private:
  Linear in_;
  std::vector<std::unique_ptr<Module>> blocks_;
  Linear out_;
  float dropout_;
  Generator dropout_gen_;
};

// in, the blocks with the sum and dropout each, out; evaluation holds the stream and a block.
MemoryCost residual_ffn_cost(const json& spec, int64_t in_width, int64_t out_width) {
  const bool gated = spec["block"] == "gated";
  const int64_t d_model = spec["d_model"], blocks = spec["blocks"];
  const float dropout = spec["dropout"].get<float>();
  const MemoryCost block = ffn_block_cost(d_model, spec["d_ff"], spec["activation"], !gated, gated);
  const int64_t block_kept = block.kept_per_example + d_model + (dropout > 0.f ? 2 * d_model : 0);
  return {out_width,
          (in_width + 1) * d_model + blocks * block.parameters + (d_model + 1) * out_width,
          d_model + blocks * block_kept + out_width,
          in_width + d_model + std::max(block_kept, out_width)};
}

// The activation field's rule and default depend on the block: a gated block takes a gated
// kind (default swiglu), a standard one any activation (default gelu).
json check_ffn(json spec) {
  const bool gated = spec["block"] == "gated";
  const CustomField rule = gated ? gate_field()
                                 : activation_field("gelu", "");
  const json given = spec["activation"].is_null() ? rule.fallback : spec["activation"];
  spec["activation"] = rule.check(given, {"model", "activation"});
  check_channels(spec["activation"], {spec["d_ff"].get<int64_t>()});
  check_gain(spec["init"], gated ? gate_init_activation(spec["activation"]) : spec["activation"]);
  return spec;
}

}  // namespace

CustomField init_field() {
  return {"init", "pytorch_default",
          {{"description", "a scheme name, or {\"scheme\", \"nonlinearity\", \"std\", \"bias\"}"},
           {"default", "pytorch_default"}},
          [](const json& value, const FieldPath& path) {
            const json spec = value.is_string() ? json{{"scheme", value}} : value;
            return detail::resolve_fields(spec, init_fields(), path, "init");
          }};
}

init::Scheme scheme_from(const json& resolved) {
  init::Scheme scheme;
  scheme.name = resolved["scheme"];
  scheme.nonlinearity = resolved["nonlinearity"];
  scheme.std = resolved["std"].get<float>();
  if (!resolved["bias"].is_null()) scheme.bias = resolved["bias"].get<float>();
  return scheme;
}

std::vector<ModelEntry> builtin_models() {
  return {
      {"mlp",
       [](const json& spec, int64_t in_width, int64_t out_width, const BuildContext& context) {
         const json layers = mlp_layers(spec["hidden"].get<std::vector<int64_t>>(),
                                        spec["activation"], spec["dropout"].get<float>());
         return sequential_model(layers, in_width, out_width, context);
       },
       {"mlp: a stack of Linear + activation, shorthand for the sequential list "
        "[linear, activation, (dropout)] per hidden width",
        {CustomField{"hidden", json{64, 64},
                     {{"type", "array"},
                      {"items", {{"type", "integer"}, {"minimum", 1}, {"maximum", kMaxWidth}}},
                      {"maxItems", kMaxDepth},
                      {"default", {64, 64}},
                      {"description", "hidden layer widths"}},
                     check_hidden},
         activation_field("relu", "a name (relu, gelu, ...) or {\"name\": ..., parameters}"),
         init_field(), dropout_field()},
        check_mlp,
        [](const json& spec, int64_t in_width, int64_t out_width) {
          const json layers = mlp_layers(spec["hidden"].get<std::vector<int64_t>>(),
                                         spec["activation"], spec["dropout"].get<float>());
          return sequential_cost(layers, in_width, out_width);
        }}},
      {"ffn",
       [](const json& spec, int64_t in_width, int64_t out_width, const BuildContext& context) {
         return std::make_unique<ResidualFFN>(spec, in_width, out_width, context);
       },
       {"ffn: residual FFN blocks h + dropout(block(h)) between a Linear from the input to "
        "d_model and a Linear head",
        {ChoiceField{"block", {"standard", "gated"}, "standard",
                     "standard: down(act(up(x))); gated: down(act(gate(x)) * up(x))"},
         integer("d_model", 64, 1, kMaxWidth, "width of the residual stream"),
         integer("d_ff", 256, 1, kMaxWidth, "hidden width of each block"),
         integer("blocks", 2, 1, kMaxDepth, "number of residual blocks"),
         CustomField{"activation", nullptr,
                     {{"anyOf", {{{"$ref", "#/$defs/activation"}}, gate_field().schema}},
                      {"description", "standard: an activation (default gelu); gated: a gated "
                                      "kind or the activation on the gate (default swiglu)"}},
                     [](const json& value, const FieldPath&) { return value; }},
         init_field(), dropout_field()},
        check_ffn,
        residual_ffn_cost}},
      {"sequential",
       [](const json& spec, int64_t in_width, int64_t out_width, const BuildContext& context) {
         return sequential_model(spec["layers"], in_width, out_width, context);
       },
       {"sequential: the listed layers in order, then a linear head to the task's outputs",
        {layers_field(), init_field()},
        check_sequential,
        [](const json& spec, int64_t in_width, int64_t out_width) {
          return sequential_cost(spec["layers"], in_width, out_width);
        }}},
      decoder_model(),
  };
}

}  // namespace registry_detail
}  // namespace actlab::nn
