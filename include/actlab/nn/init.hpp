// Weight initialisation schemes, with PyTorch's formulas (torch.nn.init). fan_in and fan_out of
// a weight [out, in] are in and out.
#pragma once

#include <optional>
#include <string>

#include "actlab/core/tensor.hpp"

namespace actlab::nn {

class Linear;

namespace init {

// torch.nn.init.calculate_gain: "linear" 1, else the gain in the activation's registry entry
// (ActivationInfo::gain): identity/sigmoid 1, tanh 5/3, relu sqrt(2), leaky_relu
// sqrt(2 / (1 + slope^2)), selu 3/4, and relu's for the smooth ReLU-like ones, which PyTorch
// lacks. param is the activation's first parameter (leaky_relu's slope, as in PyTorch). Throws
// Error for a name without a gain.
float calculate_gain(const std::string& nonlinearity, float param = 0.01f);

void xavier_uniform_(Tensor& w, float gain, Generator& gen);  // U(+-gain sqrt(6/(in+out)))
void xavier_normal_(Tensor& w, float gain, Generator& gen);   // N(0, gain^2 2/(in+out))
void kaiming_uniform_(Tensor& w, float gain, Generator& gen);  // U(+-gain sqrt(3/in))
void kaiming_normal_(Tensor& w, float gain, Generator& gen);   // N(0, gain^2 / in)
void normal_(Tensor& w, float std, Generator& gen);
void uniform_(Tensor& w, float bound, Generator& gen);  // U(-bound, bound)
void zeros_(Tensor& w);
void constant_(Tensor& w, float value);

// A named scheme for a whole layer, as configs give it.
struct Scheme {
  // "pytorch_default": PyTorch's nn.Linear init, U(+-1/sqrt(fan_in)) for weight and bias (a
  // LeCun-style uniform whose variance is 1/(3 fan_in); it is not He init);
  // "xavier_uniform", "xavier_normal", "kaiming_uniform", "kaiming_normal": the weight as
  // named with the gain of `nonlinearity`, the bias zero; "normal": N(0, std^2) weight, zero
  // bias; "zeros": both zero.
  std::string name = "pytorch_default";
  // Empty means PyTorch's defaults: gain 1 for xavier, relu's sqrt(2) for kaiming.
  std::string nonlinearity;
  float param = 0.01f;  // leaky_relu's slope for the gain
  // The gain itself, when the caller has it from the activation's entry (BuildContext does);
  // it wins over nonlinearity and param.
  std::optional<float> gain;
  float std = 0.01f;    // for "normal"
  // A constant every bias starts at, in place of the scheme's own (torch.nn.init.constant_);
  // e.g. -5 to start ReLUs dead on purpose. It applies to every layer the scheme initialises.
  std::optional<float> bias;
};
inline constexpr const char* kSchemeNames[] = {"pytorch_default", "xavier_uniform", "xavier_normal",
                                    "kaiming_uniform", "kaiming_normal",  "normal",
                                    "zeros"};

// Re-initialises a Linear layer's weight and bias with the scheme.
void apply(Linear& layer, const Scheme& scheme, Generator& gen);

}  // namespace init
}  // namespace actlab::nn
