// The MLP builder: the layers an mlp config expands to, made by the layer registry.
#include "actlab/nn/mlp.hpp"

#include "actlab/nn/linear.hpp"
#include "actlab/nn/registry.hpp"

namespace actlab::nn {

MLP::MLP(int64_t in, const std::vector<int64_t>& hidden, int64_t out,
         const nlohmann::json& activation, init::Scheme scheme, float dropout, Generator& gen) {
  const BuildContext context{gen, std::move(scheme)};
  const int64_t width = append_layers(*this, mlp_layers(hidden, activation, dropout), in, context);
  append_layers(*this, nlohmann::json::array({{{"type", "linear"}, {"out", out}}}), width, context);
  for (auto& [name, module] : named_children())
    if (auto* linear = dynamic_cast<Linear*>(module)) linears_.push_back(linear);
}

std::string MLP::describe() const { return describe_as("MLP"); }

}  // namespace actlab::nn
