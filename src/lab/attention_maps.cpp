// Attention made visible: a decoder run with its attention layers keeping their probabilities
// (the buffer attention's backward would keep: no copy in the op), read back per head as maps
// over one prompt or as statistics over many sequences.
#include "actlab/lab/attention_maps.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "actlab/core/autograd.hpp"
#include "actlab/lab/catalog.hpp"
#include "actlab/ops/ops.hpp"

namespace actlab {
namespace {

// Runs the model on `ids` (batch rows) in eval mode without recording and returns each
// layer's probabilities [batch, heads, time, time]; keep_attention is set for the run only.
std::vector<Tensor> run_keeping_attention(nn::Decoder& model, const std::vector<int64_t>& ids,
                                          int64_t batch) {
  nn::EvalModeGuard eval(model);
  NoGradGuard no_grad;
  const std::vector<nn::CausalSelfAttention*> layers = model.attention_layers();
  std::vector<bool> kept;
  for (nn::CausalSelfAttention* attn : layers) {
    kept.push_back(attn->keep_attention);
    attn->keep_attention = true;
  }
  std::vector<Tensor> out;
  try {
    model.forward(ids, batch);
  } catch (...) {
    for (size_t i = 0; i < layers.size(); ++i) layers[i]->keep_attention = kept[i];
    throw;
  }
  for (size_t i = 0; i < layers.size(); ++i) {
    out.push_back(layers[i]->attention);
    layers[i]->attention = Tensor();
    layers[i]->keep_attention = kept[i];
  }
  return out;
}

// Running sums of one head's rows.
struct HeadSums {
  int64_t rows = 0;
  double entropy = 0, uniform = 0, collapsed = 0, max_weight = 0;
  void add(const float* row, int64_t visible, std::vector<double>& scratch) {
    scratch.assign(row, row + visible);
    const double top = *std::max_element(scratch.begin(), scratch.end());
    ++rows;
    entropy += actlab::entropy(scratch);
    uniform += std::log(static_cast<double>(visible));
    collapsed += top > kCollapsedRowWeight ? 1 : 0;
    max_weight += top;
  }
};

}  // namespace

AttentionMaps attention_maps(nn::Decoder& model, const std::vector<int64_t>& ids) {
  const std::vector<Tensor> probs = run_keeping_attention(model, ids, 1);
  AttentionMaps maps;
  maps.layers = static_cast<int64_t>(probs.size());
  maps.heads = model.options().n_heads;
  maps.time = static_cast<int64_t>(ids.size());
  for (const Tensor& p : probs) {  // [1, heads, time, time]
    const std::vector<float> values = p.to_vector();
    maps.weights.insert(maps.weights.end(), values.begin(), values.end());
  }
  return maps;
}

double max_row_sum_error(const AttentionMaps& maps) {
  double worst = 0;
  const int64_t rows = maps.layers * maps.heads * maps.time;
  for (int64_t r = 0; r < rows; ++r) {
    const float* row = maps.weights.data() + r * maps.time;
    double sum = 0;
    for (int64_t j = 0; j < maps.time; ++j) sum += row[j];
    worst = std::max(worst, std::abs(sum - 1));
  }
  return worst;
}

std::vector<HeadStats> attention_head_stats(nn::Decoder& model, const Tensor& ids,
                                            int64_t max_sequences, int64_t batch_size) {
  if (ids.dim() != 2)
    throw Error(fmt::format("attention_head_stats: ids of shape {} must be [sequences, time]",
                            ids.shape().str()));
  const int64_t time = ids.size(1);
  const int64_t n = std::min(ids.size(0), max_sequences);
  if (n < 1 || time < 2)
    throw Error(fmt::format("attention_head_stats: ids of shape {} hold no sequence of two or "
                            "more tokens",
                            ids.shape().str()));
  if (batch_size < 1)
    throw Error(fmt::format("attention_head_stats: batch_size must be >= 1, got {}", batch_size));
  const int64_t layers = model.options().n_layers, heads = model.options().n_heads;
  std::vector<HeadSums> sums(static_cast<size_t>(layers * heads));
  std::vector<double> scratch;
  const std::vector<int64_t> all =
      nn::token_ids(reshape(ids, {-1}), model.options().vocab, "attention_head_stats");
  for (int64_t first = 0; first < n; first += batch_size) {
    const int64_t batch = std::min(batch_size, n - first);
    const std::vector<int64_t> chunk(all.begin() + first * time,
                                     all.begin() + (first + batch) * time);
    const std::vector<Tensor> probs = run_keeping_attention(model, chunk, batch);
    for (int64_t l = 0; l < layers; ++l) {
      const float* p = probs[static_cast<size_t>(l)].data();  // [batch, heads, time, time]
      for (int64_t b = 0; b < batch; ++b)
        for (int64_t h = 0; h < heads; ++h)
          for (int64_t i = 1; i < time; ++i)  // row 0 sees one key: its weight is always 1
            sums[static_cast<size_t>(l * heads + h)].add(
                p + ((b * heads + h) * time + i) * time, i + 1, scratch);
    }
  }
  std::vector<HeadStats> out;
  for (int64_t l = 0; l < layers; ++l)
    for (int64_t h = 0; h < heads; ++h) {
      const HeadSums& s = sums[static_cast<size_t>(l * heads + h)];
      const auto rows = static_cast<double>(s.rows);
      out.push_back({l, h, s.rows, s.entropy / rows, s.uniform / rows, s.collapsed / rows,
                     s.max_weight / rows});
    }
  return out;
}

}  // namespace actlab
