// LayerNorm and RMSNorm modules over the ops of ops/norm.cpp.
#include "actlab/nn/norm.hpp"

#include <fmt/format.h>

#include "actlab/ops/ops.hpp"

namespace actlab::nn {
namespace {

void check_dim(const char* who, int64_t dim) {
  if (dim <= 0) throw Error(fmt::format("{}: dim must be positive, got {}", who, dim));
}

}  // namespace

LayerNorm::LayerNorm(int64_t dim, float eps, bool bias) : eps(eps) {
  check_dim("LayerNorm", dim);
  weight = Tensor::ones({dim});
  register_parameter("weight", &weight);
  if (!bias) return;
  this->bias = Tensor::zeros({dim});
  register_parameter("bias", &this->bias);
}

Tensor LayerNorm::forward(const Tensor& x) { return layer_norm(x, weight, bias, eps); }

std::string LayerNorm::describe() const {
  return fmt::format("LayerNorm(dim={}, eps={}, bias={})", weight.size(0), eps, bias.defined());
}

RMSNorm::RMSNorm(int64_t dim, float eps) : eps(eps) {
  check_dim("RMSNorm", dim);
  weight = Tensor::ones({dim});
  register_parameter("weight", &weight);
}

Tensor RMSNorm::forward(const Tensor& x) { return rms_norm(x, weight, eps); }

std::string RMSNorm::describe() const {
  return fmt::format("RMSNorm(dim={}, eps={})", weight.size(0), eps);
}

std::unique_ptr<Module> make_norm(const std::string& kind, int64_t dim) {
  if (kind == "rms") return std::make_unique<RMSNorm>(dim);
  if (kind == "layer") return std::make_unique<LayerNorm>(dim);
  throw Error(fmt::format("norm: unknown kind \"{}\"; expected \"rms\" or \"layer\"", kind));
}

}  // namespace actlab::nn
