// Loss functions with mean reduction, named and defined as in torch.nn.functional. Each is
// one fused op (one recorded node) whose backward is a single pass over its input; each
// returns a 0-dim tensor.
#pragma once

#include <cstdint>
#include <vector>

#include "actlab/core/tensor.hpp"

namespace actlab {

// mean((pred - target)^2) over all elements; pred and target have the same shape.
// Gradients flow to both.
Tensor mse_loss(const Tensor& pred, const Tensor& target);

// Softmax cross-entropy of logits [N, C] against class indices in [0, C), averaged over the
// N rows, fused with log_softmax (the row max is subtracted, so logits of +-1e4 are fine).
// label_smoothing = eps mixes the one-hot target with the uniform distribution as PyTorch
// does: q = (1 - eps) * onehot + eps / C over all C classes. dlogits = (softmax - q) / N.
// Rows whose target is ignore_index (PyTorch's default, -100) add nothing to the loss or the
// gradient, and the mean is over the other rows (N counts only them), as in PyTorch; throws
// when every row is ignored (PyTorch gives NaN there).
inline constexpr int64_t kIgnoreIndex = -100;
Tensor cross_entropy(const Tensor& logits, const std::vector<int64_t>& targets,
                     float label_smoothing = 0.f, int64_t ignore_index = kIgnoreIndex);

// mean(-t log sigmoid(x) - (1 - t) log(1 - sigmoid(x))) with logits x and targets t of the
// same shape, in the form max(x, 0) - x t + log1p(exp(-|x|)), which neither overflows nor
// loses precision at any finite x. dx = (sigmoid(x) - t) / n; dt = -x / n.
Tensor binary_cross_entropy_with_logits(const Tensor& logits, const Tensor& targets);

}  // namespace actlab
