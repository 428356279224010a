// What a decoder's attention heads do: each head's attention weights over one prompt (for heat
// maps, with the check that every row is a distribution), and per head over many sequences
// the entropy of its rows and how often a row puts almost all its weight on one position
// ("collapse"; Zhai et al. 2023, "Stabilizing Transformer Training by Preventing Attention
// Entropy Collapse", tie very low attention entropy to unstable training).
#pragma once

#include <cstdint>
#include <vector>

#include "actlab/nn/decoder.hpp"

namespace actlab {

// Each layer's each head's attention weights over one sequence: query position i (row) to key
// position j (column); the causal mask makes j > i exactly 0.
struct AttentionMaps {
  int64_t layers = 0, heads = 0, time = 0;
  std::vector<float> weights;  // [layers, heads, time, time]
  // The [time, time] map of one head, row-major.
  const float* map(int64_t layer, int64_t head) const {
    return weights.data() + (layer * heads + head) * time * time;
  }
};

// The attention weights of `ids` (1 to context tokens, each in [0, vocab)), the model run once
// in eval mode without recording (its mode and its layers' keep_attention restored after).
// Throws Error for ids the model refuses.
AttentionMaps attention_maps(nn::Decoder& model, const std::vector<int64_t>& ids);

// The largest |sum of a row - 1| over every row of every map: softmax's promise, checked.
double max_row_sum_error(const AttentionMaps& maps);

// A row collapses when its largest weight exceeds this: the head reads one position and
// ignores the rest (a row over n >= 2 keys is uniform at weight 1 / n <= 0.5).
inline constexpr double kCollapsedRowWeight = 0.95;

// One head's rows over many sequences. The first row of each sequence sees only itself (its
// weight is 1 whatever the head does), so it is left out of every number.
struct HeadStats {
  int64_t layer = 0, head = 0;  // from 0
  int64_t rows = 0;             // rows measured
  double mean_entropy = 0;      // mean of -sum_j p_ij log p_ij over the rows, in nats
  double uniform_entropy = 0;   // mean of log(keys row i sees): the entropy of a uniform head
  double collapsed_share = 0;   // rows whose largest weight exceeds kCollapsedRowWeight
  double mean_max_weight = 0;   // mean of each row's largest weight
};

// The statistics of every head (layer by layer, head by head) over the sequences of ids
// [N, time] (whole numbers as floats, time <= context), at most max_sequences of them (the
// first), run in batches of batch_size in eval mode without recording. Throws Error for ids
// the model refuses, or when ids hold no sequence of two or more tokens.
std::vector<HeadStats> attention_head_stats(nn::Decoder& model, const Tensor& ids,
                                            int64_t max_sequences = 256,
                                            int64_t batch_size = 16);

}  // namespace actlab
