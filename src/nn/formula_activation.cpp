// Formula activations as modules: the spec of configs ({"formula": ..., parameters, "learn",
// "num_parameters"}), the module with its learned parameters, and register_formula.
#include "actlab/nn/formula.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>

#include "actlab/detail/fields.hpp"
#include "actlab/detail/suggest.hpp"
#include "actlab/nn/activation.hpp"

namespace actlab::nn {
namespace {

using detail::FieldPath;
using json = nlohmann::json;

const FieldPath kRoot{"activation"};
constexpr const char* kReserved[] = {"formula", "learn", "num_parameters"};

bool reserved(const std::string& key) {
  return std::find(std::begin(kReserved), std::end(kReserved), key) != std::end(kReserved);
}

struct FormulaSpec {
  std::string text;
  std::vector<FormulaParameter> parameters;
  int64_t num_parameters = 1;
};

std::vector<std::string> learn_list(const json& spec) {
  const FieldPath path = detail::child(kRoot, "learn");
  const auto it = spec.find("learn");
  if (it == spec.end()) return {};
  if (!it->is_array() || !std::all_of(it->begin(), it->end(), [](const json& v) { return v.is_string(); }))
    throw FieldError(path, fmt::format("expected a list of parameter names, found {}",
                                       detail::found_text(*it)));
  return it->get<std::vector<std::string>>();
}

int64_t num_parameters_of(const json& spec, bool learns) {
  const auto it = spec.find("num_parameters");
  if (it == spec.end()) return 1;
  const FieldPath path = detail::child(kRoot, "num_parameters");
  if (!detail::is_whole_number(*it) || it->get<int64_t>() < 1)
    throw FieldError(path, fmt::format("expected an integer >= 1, found {}", detail::found_text(*it)));
  if (!learns && it->get<int64_t>() != 1)
    throw FieldError(path, "applies to learned parameters, and \"learn\" names none");
  return it->get<int64_t>();
}

// The spec read and checked, its formula not yet parsed.
FormulaSpec read_spec(const json& spec) {
  FormulaSpec s;
  const json& text = spec.at("formula");
  if (!text.is_string())
    throw FieldError(detail::child(kRoot, "formula"),
                     fmt::format("expected a formula (a string), found {}", detail::found_text(text)));
  s.text = text.get<std::string>();
  std::vector<std::string> names;
  for (const auto& [key, value] : spec.items()) {
    if (reserved(key)) continue;
    if (!value.is_number() || !std::isfinite(value.get<double>()))
      throw FieldError(detail::child(kRoot, key),
                       fmt::format("expected a number (a parameter of the formula), found {}",
                                   detail::found_text(value)));
    s.parameters.push_back({key, value.get<double>(), false});
    names.push_back(key);
  }
  const std::vector<std::string> learn = learn_list(spec);
  for (const std::string& name : learn) {
    const auto it = std::find_if(s.parameters.begin(), s.parameters.end(),
                                 [&](const FormulaParameter& p) { return p.name == name; });
    if (it == s.parameters.end())
      throw FieldError(detail::child(kRoot, "learn"),
                       fmt::format("\"{}\" is not a parameter of the formula; {}", name,
                                   names.empty() ? std::string("it has none")
                                                 : detail::known_names_hint(name, names)));
    it->learn = true;
  }
  s.num_parameters = num_parameters_of(spec, !learn.empty());
  return s;
}

// The formula parsed and checked; its errors reported at activation.formula.
Formula checked_formula(const FormulaSpec& s) {
  try {
    Formula f(s.text, s.parameters);
    f.check();
    return f;
  } catch (const FieldError&) {
    throw;
  } catch (const Error& e) {
    throw FieldError(detail::child(kRoot, "formula"), e.what());
  }
}

// A learned parameter as it stands: "beta=1.37 learned" (one value), or "beta=1.21 learned
// (mean of 16, 0.93 to 1.52)".
std::string learned_text(const std::string& name, const Tensor& values) {
  const std::vector<float> v = values.to_vector();
  const auto [lo, hi] = std::minmax_element(v.begin(), v.end());
  if (v.size() == 1) return fmt::format("{}={:.4g} learned", name, v[0]);
  double sum = 0;
  for (float x : v) sum += x;
  return fmt::format("{}={:.4g} learned (mean of {}, {:.4g} to {:.4g})", name,
                     sum / static_cast<double>(v.size()), v.size(), *lo, *hi);
}

}  // namespace

FormulaActivation::FormulaActivation(Formula formula, int64_t num_parameters)
    : formula_(std::move(formula)) {
  if (num_parameters < 1)
    throw Error(fmt::format("FormulaActivation: num_parameters must be >= 1, got {}", num_parameters));
  for (const FormulaParameter& p : formula_.parameters()) {
    if (!p.learn) continue;
    learned_.push_back(Tensor::full({num_parameters}, static_cast<float>(p.value)));
    register_parameter(p.name, &learned_.back());
  }
}

Tensor FormulaActivation::forward(const Tensor& x) {
  return formula_(x, std::vector<Tensor>(learned_.begin(), learned_.end()));
}

std::string FormulaActivation::describe() const {
  std::vector<std::string> parameters;
  auto learned = learned_.begin();
  for (const FormulaParameter& p : formula_.parameters())
    parameters.push_back(p.learn ? learned_text(p.name, *learned++) : fmt::format("{}={}", p.name, p.value));
  return fmt::format("Formula({}{}{})", formula_.text(), parameters.empty() ? "" : ", ",
                     fmt::join(parameters, ", "));
}

bool is_formula_spec(const json& spec) {
  return spec.is_object() && spec.contains("formula") && !spec.contains("name");
}

std::unique_ptr<Module> make_formula_activation(const json& spec) {
  const FormulaSpec s = read_spec(spec);
  return std::make_unique<FormulaActivation>(checked_formula(s), s.num_parameters);
}

json resolve_formula_spec(const json& spec) {
  read_spec(spec);
  json resolved = spec;
  if (!resolved.contains("learn")) resolved["learn"] = json::array();
  if (!resolved.contains("num_parameters")) resolved["num_parameters"] = 1;
  return resolved;
}

void register_formula(const std::string& name, const std::string& expression, const json& params) {
  if (!params.is_object())
    throw Error(fmt::format("register_formula: \"{}\": expected the parameters as a JSON object, "
                            "found {}",
                            name, detail::found_text(params)));
  json spec = params;
  spec["formula"] = expression;
  FormulaSpec s;
  try {
    s = read_spec(spec);
    checked_formula(s);
  } catch (const FieldError& e) {
    throw Error(fmt::format("register_formula: \"{}\": at {}: {}", name, e.dotted_path(), e.reason()));
  }
  ActivationInfo info{fmt::format("formula: {}", expression), expression, Formula(s.text, s.parameters).range_text(),
                      "a user's formula", {}};
  for (const FormulaParameter& p : s.parameters)
    info.fields.push_back(detail::NumberField{p.name, false, p.value, -INFINITY, INFINITY, false,
                                              false, p.learn ? "initial value (learned)" : "value"});
  const bool learns = std::any_of(s.parameters.begin(), s.parameters.end(),
                                 [](const FormulaParameter& p) { return p.learn; });
  if (learns)
    info.fields.push_back(detail::NumberField{"num_parameters", true, static_cast<double>(s.num_parameters),
                                              1, INFINITY, false, false,
                                              "values per learned parameter: 1, or one per channel"});
  // Without learned parameters (a kernel has nowhere to keep them) it can be a gated FFN's
  // gate, act(gate) * up: the formula's one pass over the gate, then the product.
  if (!learns)
    info.gate = [gate = checked_formula(s)](const Tensor& g, const Tensor& u) { return gate(g) * u; };
  register_activation(
      name,
      [s](const json& resolved) {
        std::vector<FormulaParameter> parameters = s.parameters;
        for (FormulaParameter& p : parameters) p.value = resolved.at(p.name).get<double>();
        const int64_t slopes = resolved.value("num_parameters", s.num_parameters);
        return std::make_unique<FormulaActivation>(checked_formula({s.text, parameters, slopes}),
                                                   slopes);
      },
      std::move(info));
}

}  // namespace actlab::nn
