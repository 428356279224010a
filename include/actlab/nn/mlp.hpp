// MLP: Linear -> activation [-> Dropout] per hidden size, then a Linear output layer, as a
// Sequential (children "0", "1", ... as PyTorch names them): the layers of mlp_layers, made by
// the layer registry, as the "mlp" model kind makes them.
#pragma once

#include <nlohmann/json.hpp>
#include <vector>

#include "actlab/nn/init.hpp"
#include "actlab/nn/sequential.hpp"

namespace actlab::nn {

// The layers list an mlp expands to: per hidden width {"type": "linear", "out": width}, the
// activation as a layer spec and, when dropout > 0, {"type": "dropout", "p": dropout}.
nlohmann::json mlp_layers(const std::vector<int64_t>& hidden, const nlohmann::json& activation,
                          float dropout);

class MLP : public Sequential {
 public:
  // activation: a name or JSON spec for make_activation. Hidden layers are initialised with
  // `scheme` using the activation's gain (unless scheme.nonlinearity is set otherwise); the
  // output layer, which no activation follows, with gain 1 ("linear").
  MLP(int64_t in, const std::vector<int64_t>& hidden, int64_t out,
      const nlohmann::json& activation = "relu", init::Scheme scheme = {},
      float dropout = 0.f, Generator& gen = default_generator());
  std::string describe() const override;

  // The Linear layers in order (hidden layers, then the output layer).
  const std::vector<Linear*>& linears() const { return linears_; }

 private:
  std::vector<Linear*> linears_;
};

}  // namespace actlab::nn
