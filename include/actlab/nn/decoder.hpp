// nn::Decoder: a small Llama-style decoder-only transformer. Token embedding (plus learned
// positions, or RoPE inside attention), n blocks of
//   h = h + dropout(attn(attn_norm(h)));  h = h + dropout(ffn(ffn_norm(h)))
// (pre-norm, residual), a final norm and an output head, tied to the embedding or its own.
// The FFN is nn::FeedForward or nn::GatedFeedForward with any activation they take. Every
// Linear is without bias, as in Llama. Built from a plain options struct, so a model registry
// can make one from a config.
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "actlab/nn/attention.hpp"
#include "actlab/nn/embedding.hpp"
#include "actlab/nn/linear.hpp"
#include "actlab/nn/module.hpp"
#include "actlab/nn/sequential.hpp"

namespace actlab::nn {

struct DecoderOptions {
  int64_t vocab = 0;      // tokens: ids are in [0, vocab)
  int64_t d_model = 64;   // channels of the residual stream
  int64_t n_layers = 2;   // blocks
  int64_t n_heads = 4;    // attention heads; must divide d_model
  int64_t d_ff = 256;     // the FFN's hidden width (see matched_gated_d_ff for gated blocks)
  int64_t context = 64;   // the longest sequence
  std::string block = "standard";       // "standard": FeedForward; "gated": GatedFeedForward
  nlohmann::json activation = "gelu";   // FeedForward's activation, or the gate's (or a kind)
  std::string norm = "rms";             // "rms" (RMSNorm) or "layer" (LayerNorm)
  std::string positions = "rope";       // "rope" (in attention) or "learned" (embedding)
  float dropout = 0.f;                  // on the embedding and on both residual branches
  bool tie_embeddings = false;          // the output head reuses the token embedding
};

// Throws Error naming the first option that is out of range ("Decoder: n_heads 3 does not
// divide d_model 16"); unknown activations are left to the FFN's own check.
void check_decoder_options(const DecoderOptions& options);

// The number of parameters a Decoder with these options holds (without building it).
int64_t decoder_parameter_count(const DecoderOptions& options);

class DecoderBlock : public Module {
 public:
  DecoderBlock(const DecoderOptions& options, Generator& gen);
  Tensor forward(const Tensor& h) override;  // [batch, time, d_model] -> the same
  std::string describe() const override;

  std::unique_ptr<Module> attn_norm;
  CausalSelfAttention attn;
  std::unique_ptr<Module> ffn_norm;
  std::unique_ptr<Module> ffn;
  Dropout drop;
};

class Decoder : public Module {
 public:
  // Linear layers start as PyTorch's; the token and position embeddings as GPT-2's, N(0, 0.02^2)
  // (N(0, 1) would make a tied head's first logits sqrt(d_model) times too large).
  explicit Decoder(DecoderOptions options, Generator& gen = default_generator());
  // ids [batch, time] (whole numbers as floats), time <= context -> logits [batch, time, vocab]
  Tensor forward(const Tensor& ids) override;
  // The same from integer ids, `batch` rows of ids.size() / batch tokens.
  Tensor forward(const std::vector<int64_t>& ids, int64_t batch);
  std::string describe() const override;

  const DecoderOptions& options() const { return options_; }
  // Each block's attention, in order (for attention maps: set keep_attention on them).
  std::vector<CausalSelfAttention*> attention_layers();

  Embedding embed;                       // [vocab, d_model]
  std::unique_ptr<Embedding> positions;  // [context, d_model], learned positions only
  Dropout drop;
  std::vector<std::unique_ptr<DecoderBlock>> blocks;
  std::unique_ptr<Module> norm;
  std::unique_ptr<Linear> head;  // d_model -> vocab; null when tied to embed

 private:
  DecoderOptions options_;
};

}  // namespace actlab::nn
