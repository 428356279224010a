// nn::Embedding: a table of learned vectors, one per token id (torch.nn.Embedding).
#pragma once

#include <cstdint>
#include <vector>

#include "actlab/nn/module.hpp"

namespace actlab::nn {

// Token ids held in a float tensor (actlab's tensors are float32; ids up to 2^24 are exact),
// checked to be whole numbers in [0, limit). `who` names the caller in the error.
std::vector<int64_t> token_ids(const Tensor& ids, int64_t limit, const char* who);

class Embedding : public Module {
 public:
  // weight [num_embeddings, embedding_dim] starts as PyTorch's: N(0, 1).
  Embedding(int64_t num_embeddings, int64_t embedding_dim, Generator& gen = default_generator());
  // ids [...] (whole numbers as floats) -> [..., embedding_dim]
  Tensor forward(const Tensor& ids) override;
  // The same from integer ids laid out in `shape`.
  Tensor forward(const std::vector<int64_t>& ids, std::vector<int64_t> shape);
  std::string describe() const override;

  int64_t num_embeddings() const { return weight.size(0); }
  int64_t embedding_dim() const { return weight.size(1); }

  Tensor weight;  // [num_embeddings, embedding_dim]
};

}  // namespace actlab::nn
