// Normalisation layers over the last dimension: nn::LayerNorm (torch.nn.LayerNorm) and
// nn::RMSNorm (Llama's), and make_norm to pick one by name.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "actlab/nn/module.hpp"

namespace actlab::nn {

class LayerNorm : public Module {
 public:
  // weight starts at 1, bias at 0 (as PyTorch).
  explicit LayerNorm(int64_t dim, float eps = 1e-5f, bool bias = true);
  Tensor forward(const Tensor& x) override;  // [..., dim] -> [..., dim]
  std::string describe() const override;

  float eps;
  Tensor weight;  // [dim]
  Tensor bias;    // [dim], undefined without bias
};

class RMSNorm : public Module {
 public:
  explicit RMSNorm(int64_t dim, float eps = 1e-6f);  // weight starts at 1
  Tensor forward(const Tensor& x) override;          // [..., dim] -> [..., dim]
  std::string describe() const override;

  float eps;
  Tensor weight;  // [dim]
};

// The norm named `kind` ("rms" or "layer") over `dim` channels, with its default eps.
std::unique_ptr<Module> make_norm(const std::string& kind, int64_t dim);

}  // namespace actlab::nn
