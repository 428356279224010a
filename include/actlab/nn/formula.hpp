// Activations written as formulas: the module, its spec in configs ({"formula": "x *
// sigmoid(beta * x)", "beta": 1.0, "learn": ["beta"]}) and register_formula, which gives a
// formula a name in the activation registry.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "actlab/ops/formula.hpp"
#include "actlab/nn/module.hpp"

namespace actlab::nn {

// f(x) given as a formula; each learned parameter is a trained tensor of num_parameters
// values (1 shared, or one per channel: dim 1 of the input), named as in the formula.
class FormulaActivation final : public Module {
 public:
  explicit FormulaActivation(Formula formula, int64_t num_parameters = 1);
  Tensor forward(const Tensor& x) override;
  // "Formula(x * sigmoid(beta * x), beta=1.37 learned)": learned parameters as they stand.
  std::string describe() const override;
  const Formula& formula() const { return formula_; }

 private:
  Formula formula_;
  std::deque<Tensor> learned_;  // registered by address: a deque never moves its elements
};

// Whether `spec` is an activation written as a formula: an object with "formula" and no "name".
bool is_formula_spec(const nlohmann::json& spec);

// The module of a formula spec, its formula checked (Formula::check). Fields: "formula" (the
// text), one number per parameter, "learn" (names of the parameters to train, default none)
// and "num_parameters" (values per learned parameter: 1, or one per channel). Throws
// FieldError with a path under "activation" ("activation.formula" for a formula that does not
// parse or is not finite, "activation.learn" for a name that is not a parameter).
std::unique_ptr<Module> make_formula_activation(const nlohmann::json& spec);
// The spec with its defaults filled in ("learn": [], "num_parameters": 1).
nlohmann::json resolve_formula_spec(const nlohmann::json& spec);

// Registers `expression` as the activation `name`: `params` holds each parameter's default
// value and optionally "learn" and "num_parameters" as in a formula spec, e.g.
// register_formula("swish_beta", "x * sigmoid(beta * x)", {{"beta", 1.0}, {"learn", {"beta"}}}).
// The formula is checked first (Formula::check), and a spec {"name": "swish_beta", "beta": 2}
// can then override a parameter's default. Throws Error for a bad formula or a taken name.
void register_formula(const std::string& name, const std::string& expression,
                      const nlohmann::json& params = nlohmann::json::object());

}  // namespace actlab::nn
