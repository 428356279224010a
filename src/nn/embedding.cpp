// nn::Embedding and the conversion of float-held token ids.
#include "actlab/nn/embedding.hpp"

#include <fmt/format.h>

#include <cmath>

#include "actlab/nn/init.hpp"
#include "actlab/ops/ops.hpp"

namespace actlab::nn {

std::vector<int64_t> token_ids(const Tensor& ids, int64_t limit, const char* who) {
  std::vector<int64_t> out(static_cast<size_t>(ids.numel()));
  const float* v = ids.data();
  for (int64_t i = 0; i < ids.numel(); ++i) {
    if (!(v[i] >= 0.f && v[i] < static_cast<float>(limit) && std::floor(v[i]) == v[i]))
      throw Error(fmt::format("{}: token id {} at position {} is not a whole number in [0, {})",
                              who, v[i], i, limit));
    out[static_cast<size_t>(i)] = static_cast<int64_t>(v[i]);
  }
  return out;
}

Embedding::Embedding(int64_t num_embeddings, int64_t embedding_dim, Generator& gen) {
  if (num_embeddings <= 0 || embedding_dim <= 0)
    throw Error(fmt::format("Embedding: sizes must be positive, got num_embeddings={} "
                            "embedding_dim={}",
                            num_embeddings, embedding_dim));
  weight = Tensor::empty({num_embeddings, embedding_dim});
  init::normal_(weight, 1.f, gen);
  register_parameter("weight", &weight);
}

Tensor Embedding::forward(const Tensor& ids) {
  return forward(token_ids(ids, num_embeddings(), "Embedding"), ids.shape());
}

Tensor Embedding::forward(const std::vector<int64_t>& ids, std::vector<int64_t> shape) {
  return embedding(ids, std::move(shape), weight);
}

std::string Embedding::describe() const {
  return fmt::format("Embedding(num_embeddings={}, embedding_dim={})", num_embeddings(),
                     embedding_dim());
}

}  // namespace actlab::nn
