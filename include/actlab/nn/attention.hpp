// nn::CausalSelfAttention: multi-head causal self-attention as in Llama: q, k, v and o
// projections without bias, RoPE on queries and keys (or no positions of its own), and
// scaled_dot_product_attention between them.
#pragma once

#include <cstdint>

#include "actlab/nn/linear.hpp"
#include "actlab/nn/module.hpp"

namespace actlab::nn {

class CausalSelfAttention : public Module {
 public:
  // d_model must be a multiple of n_heads, and with rope the head size d_model / n_heads must
  // be even.
  CausalSelfAttention(int64_t d_model, int64_t n_heads, bool rope = true,
                      Generator& gen = default_generator());
  Tensor forward(const Tensor& x) override;  // [batch, time, d_model] -> the same
  std::string describe() const override;

  int64_t n_heads() const { return n_heads_; }
  int64_t head_dim() const { return q.out_features() / n_heads_; }
  bool rope() const { return rope_; }

  Linear q, k, v, o;  // each d_model -> d_model, no bias
  // softmax(scores / (sqrt(head_dim) * temperature)); 1 in training.
  float temperature = 1.f;
  // When set, each forward leaves its probabilities [batch, heads, time, time] in `attention`
  // (the buffer backward keeps: no copy). Off, they are freed with the graph.
  bool keep_attention = false;
  Tensor attention;

 private:
  int64_t n_heads_;
  bool rope_;
};

}  // namespace actlab::nn
