// The activation modules: each forwards to its functional op (ops.hpp), and checks its options
// when it is built, so that a bad one fails before any training starts.
#include "actlab/nn/activation.hpp"

#include <fmt/format.h>

#include "actlab/ops/ops.hpp"

namespace actlab::nn {

std::string ElementwiseActivation::describe() const { return fmt::format("{}()", name_); }

Identity::Identity() : ElementwiseActivation("Identity", [](const Tensor& x) { return x; }) {}
ReLU::ReLU() : ElementwiseActivation("ReLU", actlab::relu) {}
SELU::SELU() : ElementwiseActivation("SELU", actlab::selu) {}
SiLU::SiLU() : ElementwiseActivation("SiLU", actlab::silu) {}
Mish::Mish() : ElementwiseActivation("Mish", actlab::mish) {}
Sigmoid::Sigmoid() : ElementwiseActivation("Sigmoid", actlab::sigmoid) {}
Tanh::Tanh() : ElementwiseActivation("Tanh", actlab::tanh) {}
Hardswish::Hardswish() : ElementwiseActivation("Hardswish", actlab::hardswish) {}

LeakyReLU::LeakyReLU(float negative_slope) : negative_slope(negative_slope) {}
Tensor LeakyReLU::forward(const Tensor& x) { return leaky_relu(x, negative_slope); }
std::string LeakyReLU::describe() const {
  return fmt::format("LeakyReLU(negative_slope={})", negative_slope);
}

PReLU::PReLU(int64_t num_parameters, float init) {
  if (num_parameters < 1)
    throw Error(fmt::format("PReLU: num_parameters must be >= 1, got {}", num_parameters));
  weight = Tensor::full({num_parameters}, init);
  register_parameter("weight", &weight);
}
Tensor PReLU::forward(const Tensor& x) { return prelu(x, weight); }
std::string PReLU::describe() const {
  return fmt::format("PReLU(num_parameters={})", weight.numel());
}

ELU::ELU(float alpha) : alpha(alpha) {}
Tensor ELU::forward(const Tensor& x) { return elu(x, alpha); }
std::string ELU::describe() const { return fmt::format("ELU(alpha={})", alpha); }

CELU::CELU(float alpha) : alpha(alpha) {
  if (alpha == 0.f) throw Error("CELU: alpha must not be 0 (CELU divides by it)");
}
Tensor CELU::forward(const Tensor& x) { return celu(x, alpha); }
std::string CELU::describe() const { return fmt::format("CELU(alpha={})", alpha); }

GELU::GELU(std::string approximate) : approximate(std::move(approximate)) {
  if (this->approximate != "none" && this->approximate != "tanh")
    throw Error(fmt::format("GELU: approximate must be \"none\" or \"tanh\", got \"{}\"",
                            this->approximate));
}
Tensor GELU::forward(const Tensor& x) { return approximate == "tanh" ? gelu_tanh(x) : gelu(x); }
std::string GELU::describe() const { return fmt::format("GELU(approximate={})", approximate); }

Softplus::Softplus(float beta, float threshold) : beta(beta), threshold(threshold) {
  if (beta == 0.f) throw Error("Softplus: beta must not be 0 (softplus divides by it)");
}
Tensor Softplus::forward(const Tensor& x) { return softplus(x, beta, threshold); }
std::string Softplus::describe() const {
  return fmt::format("Softplus(beta={}, threshold={})", beta, threshold);
}

Softmax::Softmax(int64_t dim, float temperature) : dim(dim), temperature(temperature) {
  if (!(temperature > 0.f))
    throw Error(fmt::format("Softmax: temperature must be > 0, got {}", temperature));
}
Tensor Softmax::forward(const Tensor& x) { return softmax(x, dim, temperature); }
std::string Softmax::describe() const {
  return fmt::format("Softmax(dim={}, temperature={})", dim, temperature);
}

}  // namespace actlab::nn
