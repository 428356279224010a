// Linear layer: y = x W^T + b, with PyTorch's default initialisation.
#pragma once

#include <cstdint>

#include "actlab/nn/module.hpp"

namespace actlab::nn {

class Linear : public Module {
 public:
  // weight [out, in] and bias [out] start as PyTorch's: U(+-1/sqrt(in)).
  Linear(int64_t in, int64_t out, bool bias = true, Generator& gen = default_generator());

  Tensor forward(const Tensor& x) override;
  std::string describe() const override;

  int64_t in_features() const { return weight.size(1); }
  int64_t out_features() const { return weight.size(0); }

  Tensor weight;  // [out, in]
  Tensor bias;    // [out], undefined without bias
};

}  // namespace actlab::nn
