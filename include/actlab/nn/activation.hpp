// Activation modules (torch.nn names and defaults), and the registry that makes them by name
// from JSON configs: make_activation("gelu"), make_activation({{"name", "leaky_relu"},
// {"negative_slope", 0.2}}). A user adds an activation of their own with one
// register_activation call.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "actlab/nn/fields.hpp"
#include "actlab/nn/module.hpp"

namespace actlab::nn {

// An activation without parameters or options: forward applies one functional op. A new
// activation of that kind needs no class of its own: its registry entry makes one of these.
class ElementwiseActivation : public Module {
 public:
  ElementwiseActivation(const char* name, Tensor (*fn)(const Tensor&)) : name_(name), fn_(fn) {}
  Tensor forward(const Tensor& x) override { return fn_(x); }
  std::string describe() const override;  // "ReLU()"

 private:
  const char* name_;
  Tensor (*fn_)(const Tensor&);
};

class Identity final : public ElementwiseActivation {
 public:
  Identity();
};
class ReLU final : public ElementwiseActivation {
 public:
  ReLU();
};
class SELU final : public ElementwiseActivation {
 public:
  SELU();
};
class SiLU final : public ElementwiseActivation {
 public:
  SiLU();
};
class Mish final : public ElementwiseActivation {
 public:
  Mish();
};
class Sigmoid final : public ElementwiseActivation {
 public:
  Sigmoid();
};
class Tanh final : public ElementwiseActivation {
 public:
  Tanh();
};
class Hardswish final : public ElementwiseActivation {
 public:
  Hardswish();
};

class LeakyReLU final : public Module {
 public:
  explicit LeakyReLU(float negative_slope = 0.01f);
  Tensor forward(const Tensor& x) override;
  std::string describe() const override;
  float negative_slope;
};

// The slope for x < 0 is learned: one shared value, or one per channel (dim 1 of the input).
// He et al. (2015) train it without weight decay (decay pulls it to 0, towards ReLU): leave
// "weight" out of the optimiser's decay.
class PReLU final : public Module {
 public:
  explicit PReLU(int64_t num_parameters = 1, float init = 0.25f);
  Tensor forward(const Tensor& x) override;
  std::string describe() const override;
  Tensor weight;  // [num_parameters]
};

class ELU final : public Module {
 public:
  explicit ELU(float alpha = 1.f);
  Tensor forward(const Tensor& x) override;
  std::string describe() const override;
  float alpha;
};

class CELU final : public Module {
 public:
  explicit CELU(float alpha = 1.f);  // alpha != 0
  Tensor forward(const Tensor& x) override;
  std::string describe() const override;
  float alpha;
};

// approximate "none": exact, x Phi(x); "tanh": the tanh approximation.
class GELU final : public Module {
 public:
  explicit GELU(std::string approximate = "none");
  Tensor forward(const Tensor& x) override;
  std::string describe() const override;
  std::string approximate;
};

class Softplus final : public Module {
 public:
  explicit Softplus(float beta = 1.f, float threshold = 20.f);  // beta != 0
  Tensor forward(const Tensor& x) override;
  std::string describe() const override;
  float beta;
  float threshold;
};

// softmax(x / temperature) along dim.
class Softmax final : public Module {
 public:
  explicit Softmax(int64_t dim = -1, float temperature = 1.f);  // temperature > 0
  Tensor forward(const Tensor& x) override;
  std::string describe() const override;
  int64_t dim;
  float temperature;
};

// ---- the registry ------------------------------------------------------------------------------

// Makes a module from an activation spec (see make_activation).
using ActivationFactory = std::function<std::unique_ptr<Module>(const nlohmann::json& spec)>;
// act(gate) * up and its gradients, as one op: the gated FFN kernel of an activation.
using GateKernel = std::function<Tensor(const Tensor& gate, const Tensor& up)>;
// act(x W^T + b) and its gradients, as one op (the bias gradient summed in the activation's
// backward pass): an activation's kernel after a Linear whose output nothing else watches.
using LinearKernel =
    std::function<Tensor(const Tensor& x, const Tensor& weight, const Tensor& bias)>;

// Everything actlab knows of an activation, in one place: configs, the JSON Schema, docs,
// `actlab activations`, init, the statistics and gated FFNs all read it from here.
struct ActivationInfo {
  std::string description;  // one line: what it is
  std::string formula;      // e.g. "max(0, x)", with the defaults of its parameters
  std::string range;        // of its output, e.g. "[0, inf)"
  std::string use;          // where to use it, e.g. "hidden layers of MLPs and CNNs"
  // Its parameters as spec fields (names, defaults, bounds): make_activation checks a spec
  // against them and gives the factory the resolved spec, every default filled in.
  std::vector<FieldSpec> fields = {};
  // The registered name this one is another name for ("swish": "silu"), or empty: listings
  // such as `actlab activations` show an alias under the activation it names.
  std::string alias_of = {};
  // The recommended init gain of the weights that feed it (torch.nn.init.calculate_gain's
  // role), from its resolved spec; empty when none is known (xavier and kaiming init then
  // need init.nonlinearity).
  std::function<float(const nlohmann::json& spec)> gain = {};
  // Whether an output y lies on a flat tail, where the derivative all but vanishes (the
  // statistics' "% saturated"); empty for an activation without such tails.
  std::function<bool(float y)> saturated = {};
  // Its kernel as the gate of a gated FFN, empty if it cannot be one; and the name of that
  // FFN, if it has one ("swiglu" for silu).
  GateKernel gate = {};
  std::string gated_kind = {};
  // Its kernel fused with the Linear before it, with its parameters at their defaults; empty
  // if it has none (FeedForward then runs the two ops).
  LinearKernel linear = {};
  // Its torch.nn module as Python source, each {parameter} standing for the resolved spec's
  // value ("nn.ELU(alpha={alpha})"); empty when torch.nn has none (`actlab export` refuses).
  std::string torch_module = {};
};

// An activation module from a spec: a name ("gelu") or an object with a "name" and the
// parameters as fields named as in PyTorch ({"name": "leaky_relu", "negative_slope": 0.2}).
// Names: identity relu leaky_relu prelu elu selu celu gelu gelu_tanh silu swish (= silu) mish
// softplus sigmoid tanh hardswish, and those registered by users; or a formula,
// {"formula": "x * sigmoid(beta * x)", "beta": 1, "learn": ["beta"]} (nn/formula.hpp). A bad spec throws FieldError
// (an Error) with a path under "activation": an unknown name lists the known ones and suggests
// the closest; an unknown field, or a field of the wrong type or range, names the field, the
// activation and what was expected.
std::unique_ptr<Module> make_activation(const nlohmann::json& spec);

// The spec as make_activation reads it: an object with "name" and every parameter, defaults
// filled in (an activation registered with a description only gets its spec as written).
nlohmann::json resolve_activation(const nlohmann::json& spec);

// Adds an activation under `name`, in one call from a user's code; the factory gets the spec
// as written. Throws when the name is taken.
void register_activation(const std::string& name, ActivationFactory factory,
                         const std::string& description);
// The same, with the full metadata; the spec is checked against info.fields first. A non-empty
// info.alias_of must name an activation registered before (throws otherwise).
void register_activation(const std::string& name, ActivationFactory factory, ActivationInfo info);

// The recommended init gain of an activation spec (its entry's), or nothing when the entry
// has none (formulas have none).
std::optional<float> activation_gain(const nlohmann::json& spec);

// Whether `name` is a registered activation.
bool is_activation(const std::string& name);
// Every registered name: the built-in ones, then the users', in registration order.
std::vector<std::string> activation_names();
ActivationInfo activation_info(const std::string& name);
// The JSON Schema of an activation's object spec (for configs/schema.json).
nlohmann::json activation_schema(const std::string& name);

// The activations that can be the gate of a gated FFN (their entries have a gate kernel), and
// the names of those FFNs ("glu", "reglu", "geglu", "swiglu"), in registration order.
std::vector<std::string> gate_activation_names();
std::vector<std::string> gated_kind_names();

}  // namespace actlab::nn

namespace actlab {

// act(gate) * up in one pass (and one pass backward) with the gate kernel of the activation
// named (one of nn::gate_activation_names()). gate and up must have the same shape.
Tensor gated_activation(const Tensor& gate, const Tensor& up, const std::string& activation);

}  // namespace actlab
