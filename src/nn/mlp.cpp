// The MLP builder.
#include "actlab/nn/mlp.hpp"

#include <fmt/format.h>

#include "actlab/nn/activation.hpp"
#include "actlab/nn/linear.hpp"

namespace actlab::nn {
namespace {

std::string activation_name(const nlohmann::json& spec) {
  return spec.is_string() ? spec.get<std::string>() : spec.value("name", std::string());
}

}  // namespace

MLP::MLP(int64_t in, const std::vector<int64_t>& hidden, int64_t out,
         const nlohmann::json& activation, init::Scheme scheme, float dropout, Generator& gen) {
  init::Scheme hidden_scheme = scheme;
  const std::string name = activation_name(activation);
  if (scheme.nonlinearity.empty() && !name.empty()) {
    hidden_scheme.nonlinearity = name;
    if (activation.is_object()) hidden_scheme.param = activation.value("negative_slope", 0.01f);
  }
  int64_t width = in;
  for (int64_t h : hidden) {
    std::shared_ptr<Module> act = make_activation(activation);  // checks the spec first
    Linear& layer = emplace_back<Linear>(width, h, true, gen);
    init::apply(layer, hidden_scheme, gen);
    linears_.push_back(&layer);
    push_back(std::move(act));
    if (dropout > 0.f) emplace_back<Dropout>(dropout, gen);
    width = h;
  }
  init::Scheme output_scheme = scheme;
  output_scheme.nonlinearity = "linear";
  Linear& head = emplace_back<Linear>(width, out, true, gen);
  init::apply(head, output_scheme, gen);
  linears_.push_back(&head);
}

std::string MLP::describe() const { return describe_as("MLP"); }

}  // namespace actlab::nn
