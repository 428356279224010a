// The "decoder" model kind: nn::Decoder from a config, its vocabulary and context taken from
// the sequence task unless given, its FFN standard or gated by the activation named, and a
// gated FFN's width matched to the standard one's parameter count unless given.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>

#include "actlab/detail/fields.hpp"
#include "actlab/nn/activation.hpp"
#include "actlab/nn/decoder.hpp"
#include "actlab/nn/ffn.hpp"
#include "nn/builtin_registry.hpp"

namespace actlab::nn::registry_detail {
namespace {

using json = nlohmann::json;

NumberField integer(std::string name, double fallback, double lo, double hi, std::string help) {
  return {std::move(name), true, fallback, lo, hi, false, false, std::move(help)};
}

// null (the default, which another value decides), or an integer in [lo, hi].
CustomField nullable_integer(std::string name, double lo, double hi, std::string help) {
  const NumberField rule = integer(name, 0, lo, hi, "");
  return {name, nullptr,
          {{"type", {"integer", "null"}},
           {"minimum", lo},
           {"maximum", hi},
           {"default", nullptr},
           {"description", std::move(help)}},
          [rule](const json& value, const FieldPath& path) {
            if (value.is_null()) return value;
            return detail::read_number(json{{rule.name, value}}, rule,
                                       FieldPath(path.begin(), path.end() - 1));
          }};
}

bool is_gated_kind(const json& activation) {
  if (!activation.is_string()) return false;
  const std::vector<std::string> kinds = gated_kind_names();
  return std::find(kinds.begin(), kinds.end(), activation.get<std::string>()) != kinds.end();
}

// Resolves block "auto" by the activation, checks the activation against the block, and the
// heads against d_model.
json check_decoder(json spec) {
  if (spec["block"] == "auto") spec["block"] = is_gated_kind(spec["activation"]) ? "gated" : "standard";
  const bool gated = spec["block"] == "gated";
  const CustomField rule = gated ? gate_field() : activation_field("gelu", "");
  spec["activation"] = rule.check(spec["activation"], {"model", "activation"});
  if (gated && spec["gated_d_ff"].is_null())
    spec["gated_d_ff"] = matched_gated_d_ff(spec["d_ff"].get<int64_t>());
  const int64_t d_model = spec["d_model"], n_heads = spec["n_heads"];
  if (d_model % n_heads != 0)
    throw FieldError({"model", "n_heads"},
                     fmt::format("expected a divisor of d_model ({}), found {}", d_model, n_heads));
  if (spec["positions"] == "rope" && (d_model / n_heads) % 2 != 0)
    throw FieldError({"model", "n_heads"},
                     fmt::format("positions \"rope\" rotates pairs of channels, so each head's "
                                 "d_model / n_heads must be even; found {} / {} = {}",
                                 d_model, n_heads, d_model / n_heads));
  return spec;
}

// The options of a resolved spec for a task of sequences of `task_context` tokens over
// `task_vocab` tokens.
DecoderOptions options_for(const json& spec, int64_t task_context, int64_t task_vocab) {
  DecoderOptions o;
  const auto at_least = [](const json& given, int64_t needed, const char* field, const char* what) {
    if (given.is_null()) return needed;
    const auto value = given.get<int64_t>();
    if (value < needed)
      throw FieldError({field}, fmt::format("expected at least the task's {} ({}), found {}",
                                            what, needed, value));
    return value;
  };
  o.vocab = at_least(spec["vocab"], task_vocab, "vocab", "vocabulary");
  o.context = at_least(spec["context"], task_context, "context", "sequence length");
  o.d_model = spec["d_model"];
  o.n_layers = spec["n_layers"];
  o.n_heads = spec["n_heads"];
  o.block = spec["block"];
  o.d_ff = o.block == "gated" ? spec["gated_d_ff"].get<int64_t>() : spec["d_ff"].get<int64_t>();
  o.activation = spec["activation"];
  o.norm = spec["norm"];
  o.positions = spec["positions"];
  o.dropout = spec["dropout"].get<float>();
  o.tie_embeddings = spec["tie_embeddings"];
  return o;
}

// Per sequence of T tokens, what a training forward keeps: the embedding; per block the two
// norms, q, k, v and their rotations, every head's scores and probabilities ([H, T, T] each),
// the attention's output and projection, the FFN's hidden tensors (three for a gated block),
// the residual sums and the dropout masks; then the final norm, the logits and the loss's
// softmax. An evaluation holds the stream, one block's tensors and the logits at once.
MemoryCost decoder_cost(const json& spec, int64_t in_width, int64_t out_width) {
  const DecoderOptions o = options_for(spec, in_width, out_width);
  const int64_t t = in_width, d = o.d_model, v = o.vocab;
  const int64_t ffn_hidden = (o.block == "gated" ? 3 : 2) * o.d_ff;
  const int64_t scores = 2 * o.n_heads * t;
  const int64_t masks = o.dropout > 0.f ? 3 * d : 0;
  const int64_t block = 12 * d + scores + ffn_hidden + masks;
  return {out_width, decoder_parameter_count(o), t * (2 * d + o.n_layers * block + 2 * v),
          t * (2 * d + block + 2 * v)};
}

}  // namespace

ModelEntry decoder_model() {
  return {
      "decoder",
      [](const json& spec, int64_t in_width, int64_t out_width, const BuildContext& context) {
        return std::make_unique<Decoder>(options_for(spec, in_width, out_width), context.gen);
      },
      {"decoder: a Llama-style decoder-only transformer over a sequence task's tokens: token "
       "embedding, n_layers blocks of pre-norm causal self-attention and pre-norm FFN with "
       "residuals, a final norm and an output head",
       {nullable_integer("vocab", 1, 65536, "tokens; null: the task's vocabulary"),
        integer("d_model", 64, 1, kMaxWidth, "channels of the residual stream"),
        integer("n_layers", 2, 1, kMaxDepth, "decoder blocks"),
        integer("n_heads", 4, 1, kMaxWidth, "attention heads; must divide d_model"),
        integer("d_ff", 256, 1, kMaxWidth, "hidden width of a standard FFN"),
        nullable_integer("gated_d_ff", 1, kMaxWidth,
                         "hidden width of a gated FFN; null: matched to a standard FFN of d_ff "
                         "by parameter count (Shazeer's 2/3 rule: 2/3 d_ff, to a multiple of 8)"),
        nullable_integer("context", 1, 4096,
                         "the longest sequence; null: the task's sequence length"),
        ChoiceField{"block", {"auto", "standard", "gated"}, "auto",
                    "standard: down(act(up(x))); gated: down(act(gate(x)) * up(x)); auto: "
                    "gated when activation is a gated kind (swiglu, geglu, reglu, glu)"},
        CustomField{"activation", "gelu",
                    {{"anyOf", {{{"$ref", "#/$defs/activation"}}, gate_field().schema}},
                     {"default", "gelu"},
                     {"description", "the FFN's activation (standard), or a gated kind or the "
                                     "activation on the gate (gated)"}},
                    [](const json& value, const FieldPath&) { return value; }},
        ChoiceField{"norm", {"rms", "layer"}, "rms", "RMSNorm (Llama) or LayerNorm (GPT-2)"},
        ChoiceField{"positions", {"rope", "learned"}, "rope",
                    "rotary embeddings in attention (Llama) or a learned position embedding "
                    "(GPT-2)"},
        NumberField{"dropout", false, 0, 0, 1, false, true,
                    "on the embedding and on both residual branches"},
        BoolField{"tie_embeddings", false, "the output head reuses the token embedding"}},
       check_decoder,
       decoder_cost,
       true}};
}

}  // namespace actlab::nn::registry_detail
