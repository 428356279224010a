// Linear layer and the initialisation schemes that act on it.
#include "actlab/nn/linear.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cmath>

#include "actlab/nn/activation.hpp"
#include "actlab/nn/init.hpp"
#include "actlab/ops/ops.hpp"

namespace actlab::nn {

Linear::Linear(int64_t in, int64_t out, bool bias, Generator& gen) {
  if (in <= 0 || out <= 0)
    throw Error(fmt::format("Linear: sizes must be positive, got in={} out={}", in, out));
  weight = Tensor::empty({out, in});
  if (bias) this->bias = Tensor::empty({out});
  init::apply(*this, init::Scheme{}, gen);
  register_parameter("weight", &weight);
  if (bias) register_parameter("bias", &this->bias);
}

Tensor Linear::forward(const Tensor& x) { return linear(x, weight, bias); }

std::string Linear::describe() const {
  return fmt::format("Linear(in={}, out={}, bias={})", in_features(), out_features(),
                     bias.defined());
}

namespace init {

float calculate_gain(const std::string& nonlinearity, float param) {
  if (nonlinearity == "linear") return 1.f;
  std::optional<float> gain;
  if (is_activation(nonlinearity)) {
    // PyTorch's param is leaky_relu's slope: here, the activation's first parameter.
    nlohmann::json spec = resolve_activation(nonlinearity);
    const std::vector<FieldSpec> fields = activation_info(nonlinearity).fields;
    if (!fields.empty() && std::holds_alternative<NumberField>(fields.front()))
      spec[std::get<NumberField>(fields.front()).name] = param;
    gain = activation_gain(spec);
  }
  if (!gain)
    throw Error(fmt::format("calculate_gain: no gain is known for nonlinearity '{}'",
                            nonlinearity));
  return *gain;
}

namespace {
int64_t fan_in(const Tensor& w) { return w.dim() < 2 ? w.numel() : w.size(1); }
int64_t fan_out(const Tensor& w) { return w.dim() < 2 ? w.numel() : w.size(0); }

void fill(Tensor& w, Generator& gen, bool normal, float scale) {
  float* p = w.mutable_data();
  for (int64_t k = 0, n = w.numel(); k < n; ++k)
    p[k] = normal ? scale * gen.normal() : gen.uniform(-scale, scale);
}
}  // namespace

void uniform_(Tensor& w, float bound, Generator& gen) { fill(w, gen, false, bound); }
void normal_(Tensor& w, float std, Generator& gen) { fill(w, gen, true, std); }
void zeros_(Tensor& w) { constant_(w, 0.f); }
void constant_(Tensor& w, float value) { std::fill_n(w.mutable_data(), w.numel(), value); }

void xavier_uniform_(Tensor& w, float gain, Generator& gen) {
  uniform_(w, gain * std::sqrt(6.f / static_cast<float>(fan_in(w) + fan_out(w))), gen);
}
void xavier_normal_(Tensor& w, float gain, Generator& gen) {
  normal_(w, gain * std::sqrt(2.f / static_cast<float>(fan_in(w) + fan_out(w))), gen);
}
void kaiming_uniform_(Tensor& w, float gain, Generator& gen) {
  uniform_(w, gain * std::sqrt(3.f / static_cast<float>(fan_in(w))), gen);
}
void kaiming_normal_(Tensor& w, float gain, Generator& gen) {
  normal_(w, gain / std::sqrt(static_cast<float>(fan_in(w))), gen);
}

void apply(Linear& layer, const Scheme& scheme, Generator& gen) {
  Tensor& w = layer.weight;
  const bool kaiming = scheme.name.starts_with("kaiming");
  const bool uses_gain = kaiming || scheme.name.starts_with("xavier");
  const std::string nonlinearity =
      !scheme.nonlinearity.empty() ? scheme.nonlinearity : kaiming ? "relu" : "linear";
  const float gain =
      !uses_gain ? 1.f : scheme.gain ? *scheme.gain : calculate_gain(nonlinearity, scheme.param);
  const float default_bound = 1.f / std::sqrt(static_cast<float>(fan_in(w)));
  if (scheme.name == "pytorch_default") uniform_(w, default_bound, gen);
  else if (scheme.name == "xavier_uniform") xavier_uniform_(w, gain, gen);
  else if (scheme.name == "xavier_normal") xavier_normal_(w, gain, gen);
  else if (scheme.name == "kaiming_uniform") kaiming_uniform_(w, gain, gen);
  else if (scheme.name == "kaiming_normal") kaiming_normal_(w, gain, gen);
  else if (scheme.name == "normal") normal_(w, scheme.std, gen);
  else if (scheme.name == "zeros") zeros_(w);
  else
    throw Error(fmt::format("init: unknown scheme '{}'; known: {}", scheme.name,
                            fmt::join(kSchemeNames, ", ")));
  if (!layer.bias.defined()) return;
  if (scheme.bias)
    constant_(layer.bias, *scheme.bias);
  else if (scheme.name == "pytorch_default")
    uniform_(layer.bias, default_bound, gen);
  else
    zeros_(layer.bias);
}

}  // namespace init
}  // namespace actlab::nn
