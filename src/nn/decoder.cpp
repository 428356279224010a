// The decoder: its options' checks, its parameter count, a block, and the whole model.
#include "actlab/nn/decoder.hpp"

#include <fmt/format.h>

#include "actlab/nn/ffn.hpp"
#include "actlab/nn/init.hpp"
#include "actlab/nn/norm.hpp"
#include "actlab/ops/ops.hpp"

namespace actlab::nn {
namespace {

// The GPT-2 initialisation of token and position embeddings.
constexpr float kEmbeddingInitStd = 0.02f;

std::unique_ptr<Module> make_ffn(const DecoderOptions& o, Generator& gen) {
  if (o.block == "standard")
    return std::make_unique<FeedForward>(o.d_model, o.d_ff, o.activation, false, gen);
  return make_gated_feed_forward(o.d_model, o.d_ff, o.activation, false, gen);
}

const DecoderOptions& checked(const DecoderOptions& options) {
  check_decoder_options(options);
  return options;
}

}  // namespace

void check_decoder_options(const DecoderOptions& o) {
  const std::pair<const char*, int64_t> sizes[] = {{"vocab", o.vocab},   {"d_model", o.d_model},
                                                   {"n_layers", o.n_layers}, {"n_heads", o.n_heads},
                                                   {"d_ff", o.d_ff},     {"context", o.context}};
  for (const auto& [name, value] : sizes)
    if (value <= 0) throw Error(fmt::format("Decoder: {} must be positive, got {}", name, value));
  if (o.d_model % o.n_heads != 0)
    throw Error(fmt::format("Decoder: n_heads {} does not divide d_model {}", o.n_heads,
                            o.d_model));
  if (o.block != "standard" && o.block != "gated")
    throw Error(fmt::format("Decoder: block must be \"standard\" or \"gated\", got \"{}\"",
                            o.block));
  if (o.norm != "rms" && o.norm != "layer")
    throw Error(fmt::format("Decoder: norm must be \"rms\" or \"layer\", got \"{}\"", o.norm));
  if (o.positions != "rope" && o.positions != "learned")
    throw Error(fmt::format("Decoder: positions must be \"rope\" or \"learned\", got \"{}\"",
                            o.positions));
  if (o.positions == "rope" && (o.d_model / o.n_heads) % 2 != 0)
    throw Error(fmt::format("Decoder: positions \"rope\" needs an even head size, got d_model / "
                            "n_heads = {}",
                            o.d_model / o.n_heads));
  if (!(o.dropout >= 0.f && o.dropout < 1.f))
    throw Error(fmt::format("Decoder: dropout must be in [0, 1), got {}", o.dropout));
}

int64_t decoder_parameter_count(const DecoderOptions& o) {
  check_decoder_options(o);
  const int64_t d = o.d_model;
  const int64_t norm = o.norm == "layer" ? 2 * d : d;  // weight (and LayerNorm's bias)
  const int64_t ffn = (o.block == "gated" ? 3 : 2) * d * o.d_ff;
  const int64_t block = norm + 4 * d * d + norm + ffn;
  return o.vocab * d + (o.positions == "learned" ? o.context * d : 0) + o.n_layers * block + norm +
         (o.tie_embeddings ? 0 : d * o.vocab);
}

DecoderBlock::DecoderBlock(const DecoderOptions& o, Generator& gen)
    : attn_norm(make_norm(o.norm, o.d_model)),
      attn(o.d_model, o.n_heads, o.positions == "rope", gen),
      ffn_norm(make_norm(o.norm, o.d_model)),
      ffn(make_ffn(o, gen)),
      drop(o.dropout, gen) {
  register_module("attn_norm", attn_norm.get());
  register_module("attn", &attn);
  register_module("ffn_norm", ffn_norm.get());
  register_module("ffn", ffn.get());
  register_module("drop", &drop);
}

Tensor DecoderBlock::forward(const Tensor& x) {
  Tensor h = x + drop(attn((*attn_norm)(x)));
  return h + drop((*ffn)((*ffn_norm)(h)));
}

std::string DecoderBlock::describe() const {
  return fmt::format("DecoderBlock({}, {}, {})", attn_norm->describe(), attn.describe(),
                     ffn->describe());
}

Decoder::Decoder(DecoderOptions options, Generator& gen)
    : embed(checked(options).vocab, options.d_model, gen),
      drop(options.dropout, gen),
      options_(std::move(options)) {
  const DecoderOptions& o = options_;
  init::normal_(embed.weight, kEmbeddingInitStd, gen);
  register_module("embed", &embed);
  if (o.positions == "learned") {
    positions = std::make_unique<Embedding>(o.context, o.d_model, gen);
    init::normal_(positions->weight, kEmbeddingInitStd, gen);
    register_module("positions", positions.get());
  }
  register_module("drop", &drop);
  for (int64_t i = 0; i < o.n_layers; ++i) {
    blocks.push_back(std::make_unique<DecoderBlock>(o, gen));
    register_module(fmt::format("blocks.{}", i), blocks.back().get());
  }
  norm = make_norm(o.norm, o.d_model);
  register_module("norm", norm.get());
  if (o.tie_embeddings) return;
  head = std::make_unique<Linear>(o.d_model, o.vocab, false, gen);
  register_module("head", head.get());
}

Tensor Decoder::forward(const Tensor& ids) {
  if (ids.dim() != 2)
    throw Error(fmt::format("Decoder: token ids of shape {} must be [batch, time]",
                            ids.shape().str()));
  return forward(token_ids(ids, options_.vocab, "Decoder"), ids.size(0));
}

Tensor Decoder::forward(const std::vector<int64_t>& ids, int64_t batch) {
  const int64_t n = static_cast<int64_t>(ids.size());
  if (batch <= 0 || n == 0 || n % batch != 0)
    throw Error(fmt::format("Decoder: {} token ids do not split into {} sequences", n, batch));
  const int64_t time = n / batch;
  if (time > options_.context)
    throw Error(fmt::format("Decoder: a sequence of {} tokens is longer than the context of {}",
                            time, options_.context));
  Tensor h = embed.forward(ids, {batch, time});  // [batch, time, d_model]
  if (positions) {
    std::vector<int64_t> steps(static_cast<size_t>(time));
    for (int64_t t = 0; t < time; ++t) steps[static_cast<size_t>(t)] = t;
    h = h + positions->forward(steps, {time});  // + [time, d_model]
  }
  h = drop(h);
  for (auto& block : blocks) h = (*block)(h);
  h = (*norm)(h);
  return head ? (*head)(h) : linear(h, embed.weight);  // [batch, time, vocab]
}

std::string Decoder::describe() const {
  const DecoderOptions& o = options_;
  return fmt::format("Decoder(vocab={}, d_model={}, n_layers={}, n_heads={}, d_ff={}, context={}, "
                     "block={}, activation={}, norm={}, positions={}, tie_embeddings={}, "
                     "dropout={})",
                     o.vocab, o.d_model, o.n_layers, o.n_heads, o.d_ff, o.context, o.block,
                     o.activation.dump(), o.norm, o.positions, o.tie_embeddings, o.dropout);
}

std::vector<CausalSelfAttention*> Decoder::attention_layers() {
  std::vector<CausalSelfAttention*> out;
  for (auto& block : blocks) out.push_back(&block->attn);
  return out;
}

}  // namespace actlab::nn
