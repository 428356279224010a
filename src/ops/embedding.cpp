// embedding: rows of a weight table gathered by token id; backward scatter-adds each output
// row's gradient into the row it came from (a token seen twice gets both).
#include <fmt/format.h>

#include <algorithm>

#include "actlab/core/autograd.hpp"
#include "actlab/ops/ops.hpp"

namespace actlab {
namespace {

void check_embedding_args(const std::vector<int64_t>& ids, const Shape& shape,
                          const Tensor& weight) {
  if (weight.dim() != 2)
    throw Error(fmt::format("embedding: weight must be 2-D [num_embeddings, embedding_dim], got "
                            "shape {}",
                            weight.shape().str()));
  if (shape.numel() != static_cast<int64_t>(ids.size()))
    throw Error(fmt::format("embedding: {} ids do not fill shape {} ({} elements)", ids.size(),
                            shape.str(), shape.numel()));
  if (shape.size() + 1 > Shape::kMaxDims)
    throw Error(fmt::format("embedding: ids of shape {} leave no room for the embedding dimension",
                            shape.str()));
  const int64_t rows = weight.size(0);
  for (size_t i = 0; i < ids.size(); ++i)
    if (ids[i] < 0 || ids[i] >= rows)
      throw Error(fmt::format("embedding: id {} at position {} is out of range for {} rows "
                              "(weight of shape {})",
                              ids[i], i, rows, weight.shape().str()));
}

}  // namespace

Tensor embedding(const std::vector<int64_t>& ids, std::vector<int64_t> shape,
                 const Tensor& weight) {
  Shape out_shape(shape);
  check_embedding_args(ids, out_shape, weight);
  const int64_t dim = weight.size(1);
  out_shape.push_back(dim);
  Tensor out = Tensor::empty(out_shape);  // [..., dim]
  const float* w = weight.data();
  float* y = out.mutable_data();
  for (size_t i = 0; i < ids.size(); ++i) std::copy_n(w + ids[i] * dim, dim, y + i * dim);

  record("embedding", out, {weight}, [ids, dim, table = weight.numel()](const Tensor& g,
                                                                        GradSink& sink) {
    GradSink::Target dw = sink.target(0);  // [num_embeddings, dim]
    if (!dw.accumulate) std::fill_n(dw.data, table, 0.f);
    const float* gv = g.data();
    for (size_t i = 0; i < ids.size(); ++i) {
      float* row = dw.data + ids[i] * dim;
      const float* gi = gv + i * dim;
      for (int64_t j = 0; j < dim; ++j) row[j] += gi[j];
    }
  });
  return out;
}

}  // namespace actlab
