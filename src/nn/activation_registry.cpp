// The activation registry behind make_activation: the built-in activations, each with its
// parameters as spec fields (PyTorch's names and defaults), its formula, output range and
// where to use it (after the seed's table), and the activations users register.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <mutex>
#include <utility>

#include "actlab/detail/fields.hpp"
#include "actlab/detail/suggest.hpp"
#include "actlab/nn/activation.hpp"
#include "actlab/nn/formula.hpp"
#include "actlab/nn/registry.hpp"
#include "kernels/activations.hpp"
#include "ops/gated.hpp"
#include "ops/linear_activation.hpp"

namespace actlab::nn {
namespace {

using detail::ChoiceField;
using detail::Field;
using detail::FieldPath;
using detail::NumberField;
using json = nlohmann::json;

struct Entry {
  std::string name;
  ActivationFactory factory;
  ActivationInfo info;
  bool check_fields = true;  // false for activations registered with a description only
};

const FieldPath kRoot{"activation"};
// What the statistics call an activation written as a formula, which has no name.
const char* const kFormulaLabel = "custom";
constexpr double kInf = std::numeric_limits<double>::infinity();

NumberField real(std::string name, double fallback, std::string help) {
  return {std::move(name), false, fallback, -kInf, kInf, false, false, std::move(help)};
}

NumberField positive(std::string name, double fallback, std::string help) {
  return {std::move(name), false, fallback, 0.0, kInf, true, false, std::move(help)};
}

float number(const json& spec, const char* field) { return spec.at(field).get<float>(); }

// A factory for a module built without arguments.
template <class M>
ActivationFactory plain() {
  return [](const json&) { return std::make_unique<M>(); };
}

// The recommended init gains (torch.nn.init.calculate_gain's values). PyTorch has none for the
// smooth ReLU-like activations; they take relu's, as they pass about half their input's second
// moment, as ReLU does.
float relu_gain(const json&) { return std::sqrt(2.f); }
float unit_gain(const json&) { return 1.f; }

// The flat tails of the squashing activations, where the derivative all but vanishes.
bool sigmoid_saturated(float y) { return y < 0.01f || y > 0.99f; }
bool tanh_saturated(float y) { return std::abs(y) > 0.99f; }

// The fused gate kernel of an activation whose functor is Act.
template <class Act>
GateKernel gate_kernel() {
  return [](const Tensor& gate, const Tensor& up) { return ops::gated_activation(gate, up, Act{}); };
}

// The fused Linear + activation kernel of an activation whose functor is Act.
template <class Act>
LinearKernel linear_kernel() {
  return [](const Tensor& x, const Tensor& weight, const Tensor& bias) {
    return ops::linear_activation(x, weight, bias, Act{});
  };
}

std::vector<Entry> builtin_activations() {
  return {
      {"identity",
       plain<Identity>(),
       {"the identity: no non-linearity", "x", "(-inf, inf)",
        "regression outputs (unconstrained range); a stack of linear layers without it "
        "collapses to one", {}, {}, unit_gain, {}, {}, {}, {}, "nn.Identity()"}},
      {"relu",
       plain<ReLU>(),
       {"rectified linear unit", "max(0, x)", "[0, inf)",
        "hidden layers of MLPs and CNNs: fast, works well; watch for dead units", {}, {},
        relu_gain, {}, gate_kernel<kernels::Relu>(), "reglu", linear_kernel<kernels::Relu>(), "nn.ReLU()"}},
      {"leaky_relu",
       [](const json& s) { return std::make_unique<LeakyReLU>(number(s, "negative_slope")); },
       {"ReLU with a small slope below 0, so that no unit dies",
        "x if x > 0 else negative_slope * x (negative_slope = 0.01)",
        "(-inf, inf)",
        "hidden layers where ReLUs die (units stuck at 0)",
        {real("negative_slope", 0.01, "slope for x < 0")},
        {},
        [](const json& s) {
          const float slope = number(s, "negative_slope");
          return std::sqrt(2.f / (1.f + slope * slope));
        },
        {}, {}, {}, {},
        "nn.LeakyReLU(negative_slope={negative_slope})"}},
      {"prelu",
       [](const json& s) {
         return std::make_unique<PReLU>(s.at("num_parameters").get<int64_t>(), number(s, "init"));
       },
       {"leaky ReLU whose slope is learned: one shared, or one per channel",
        "x if x > 0 else a * x, a learned (init = 0.25)",
        "(-inf, inf)",
        "hidden layers, as leaky_relu, when the slope should be learned",
        {NumberField{"num_parameters", true, 1.0, 1.0, kInf, false, false,
                     "learned slopes: 1 shared, or one per channel (dim 1 of the input)"},
         real("init", 0.25, "initial slope")},
        {},
        relu_gain, {}, {}, {}, {},
        "nn.PReLU(num_parameters={num_parameters}, init={init})"}},
      {"elu",
       [](const json& s) { return std::make_unique<ELU>(number(s, "alpha")); },
       {"exponential linear unit: a smooth negative part",
        "x if x > 0 else alpha * (e^x - 1) (alpha = 1)",
        "(-alpha, inf)",
        "hidden layers: no dead units, mean activation nearer 0",
        {real("alpha", 1.0, "scale of the negative part, which tends to -alpha")},
        {},
        relu_gain, {}, {}, {}, {},
        "nn.ELU(alpha={alpha})"}},
      {"selu",
       plain<SELU>(),
       {"scaled ELU, self-normalising with LeCun-normal init",
        "1.0507 * (x if x > 0 else 1.6733 * (e^x - 1))", "(-1.7581, inf)",
        "deep plain MLPs (self-normalising networks)", {}, {},
        [](const json&) { return 0.75f; }, {}, {}, {}, {}, "nn.SELU()"}},
      {"celu",
       [](const json& s) { return std::make_unique<CELU>(number(s, "alpha")); },
       {"continuously differentiable ELU",
        "x if x > 0 else alpha * (e^(x / alpha) - 1) (alpha = 1)",
        "(-alpha, inf)",
        "as elu, with a slope continuous at 0 for any alpha",
        {positive("alpha", 1.0, "scale of the negative part, which tends to -alpha")},
        {},
        relu_gain, {}, {}, {}, {},
        "nn.CELU(alpha={alpha})"}},
      {"gelu",
       [](const json& s) { return std::make_unique<GELU>(s.at("approximate").get<std::string>()); },
       {"Gaussian error linear unit: a smooth ReLU",
        "x * Phi(x), Phi the standard normal CDF",
        "[-0.17, inf)",
        "hidden layers of transformer FFNs (GPT, BERT); GeGLU's gate",
        {ChoiceField{"approximate",
                     {"none", "tanh"},
                     "none",
                     "none: exact (erf); tanh: the tanh approximation"}},
        {},
        relu_gain,
        {},
        gate_kernel<kernels::Gelu>(),
        "geglu",
        linear_kernel<kernels::Gelu>(), "nn.GELU(approximate={approximate})"}},
      {"gelu_tanh",
       [](const json&) { return std::make_unique<GELU>("tanh"); },
       {"GELU's tanh approximation", "0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))",
        "[-0.17, inf)", "transformer FFNs of models trained with it (GPT-2)", {}, {}, relu_gain,
        {}, gate_kernel<kernels::GeluTanh>(), {}, linear_kernel<kernels::GeluTanh>(), "nn.GELU(approximate=\"tanh\")"}},
      {"silu",
       plain<SiLU>(),
       {"sigmoid-weighted linear unit, also called swish", "x * sigmoid(x)", "[-0.28, inf)",
        "hidden layers; the gate of SwiGLU FFNs (Llama, Mistral, PaLM)", {}, {}, relu_gain, {},
        gate_kernel<kernels::Silu>(), "swiglu", linear_kernel<kernels::Silu>(), "nn.SiLU()"}},
      {"swish",
       plain<SiLU>(),
       {"silu under its other name", "x * sigmoid(x)", "[-0.28, inf)",
        "hidden layers; the gate of SwiGLU FFNs (Llama, Mistral, PaLM)", {}, "silu", relu_gain,
        {}, gate_kernel<kernels::Silu>(), {}, linear_kernel<kernels::Silu>(), "nn.SiLU()"}},
      {"mish",
       plain<Mish>(),
       {"self-regularised smooth ReLU", "x * tanh(softplus(x))", "[-0.31, inf)",
        "hidden layers, as silu", {}, {}, relu_gain, {}, {}, {}, linear_kernel<kernels::Mish>(), "nn.Mish()"}},
      {"softplus",
       [](const json& s) {
         return std::make_unique<Softplus>(number(s, "beta"), number(s, "threshold"));
       },
       {"smooth ReLU",
        "log(1 + e^(beta x)) / beta, x where beta x > threshold "
        "(beta = 1, threshold = 20)",
        "(0, inf)",
        "outputs that must be positive (scales, rates, variances)",
        {positive("beta", 1.0, "sharpness: larger is closer to ReLU"),
         real("threshold", 20.0, "above beta x = threshold, softplus is x")},
        {},
        relu_gain, {}, {}, {}, {},
        "nn.Softplus(beta={beta}, threshold={threshold})"}},
      {"sigmoid",
       plain<Sigmoid>(),
       {"logistic function", "1 / (1 + e^-x)", "(0, 1)",
        "binary outputs (probabilities) and gates (LSTM/GRU, GLU); saturates, so its "
        "gradients vanish across depth",
        {}, {}, unit_gain, sigmoid_saturated, gate_kernel<kernels::Sigmoid>(), "glu", {}, "nn.Sigmoid()"}},
      {"tanh",
       plain<Tanh>(),
       {"hyperbolic tangent", "(e^x - e^-x) / (e^x + e^-x)", "(-1, 1)",
        "recurrent states; zero-centred, but saturates as sigmoid does", {}, {},
        [](const json&) { return 5.f / 3.f; }, tanh_saturated, {}, {}, {}, "nn.Tanh()"}},
      {"hardswish",
       plain<Hardswish>(),
       {"piecewise swish without exponentials (MobileNetV3)", "x * min(max(x + 3, 0), 6) / 6",
        "[-0.375, inf)", "mobile CNNs: silu's shape at the cost of a ReLU", {}, {}, relu_gain, {}, {}, {}, {},
        "nn.Hardswish()"}},
  };
}

// The registry: built-ins first, then users' activations in registration order. Lookups copy
// out what they need under the lock; factories run outside it.
struct Registry {
  std::mutex mutex;
  std::vector<Entry> entries = builtin_activations();
};

Registry& registry() {
  static Registry r;
  return r;
}

std::vector<std::string> names_locked(const Registry& r) {
  std::vector<std::string> names;
  for (const Entry& e : r.entries) names.push_back(e.name);
  return names;
}

Entry find_entry(const std::string& name, const FieldPath& path) {
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  const auto it = std::find_if(r.entries.begin(), r.entries.end(),
                               [&](const Entry& e) { return e.name == name; });
  if (it == r.entries.end())
    throw FieldError(path, fmt::format("unknown activation {}; {}", detail::quoted_excerpt(name),
                                       detail::known_names_hint(name, names_locked(r))));
  return *it;
}

std::vector<std::string> field_names(const std::vector<Field>& fields) {
  std::vector<std::string> names;
  for (const Field& f : fields) names.push_back(detail::field_name(f));
  return names;
}

// The parameters of `spec` (an object without its "name") checked against the entry's fields,
// with defaults filled in.
json resolve_parameters(const Entry& entry, json parameters) {
  const std::string owner = fmt::format("activation \"{}\"", entry.name);
  if (entry.info.fields.empty() && !parameters.empty()) {
    const std::string field = parameters.begin().key();
    throw FieldError(detail::child(kRoot, field),
                     fmt::format("unknown field \"{}\": {} takes no parameters", field, owner));
  }
  detail::reject_unknown_fields(parameters, field_names(entry.info.fields), kRoot, owner);
  try {
    return detail::resolve_fields(parameters, entry.info.fields, kRoot, owner);
  } catch (const FieldError& e) {  // a value of the wrong type or out of range
    throw FieldError(e.path(), fmt::format("in {}, {}", owner, e.reason()));
  }
}

// The entry a spec names and the spec resolved against it. An unknown name is reported at
// "activation" for a bare name, at "activation.name" inside an object.
std::pair<Entry, json> resolve(const json& spec) {
  const bool bare_name = spec.is_string();
  const json object = bare_name ? json{{"name", spec}} : spec;
  if (!object.is_object())
    throw FieldError(kRoot, fmt::format("expected an activation name or an object with a "
                                        "\"name\", found {}",
                                        detail::found_text(spec)));
  const auto name = object.find("name");
  if (name == object.end() || !name->is_string())
    throw FieldError(detail::child(kRoot, "name"),
                     fmt::format("expected an activation name, found {}; known: {}",
                                 name == object.end() ? "nothing" : detail::found_text(*name),
                                 fmt::join(activation_names(), ", ")));
  Entry entry =
      find_entry(name->get<std::string>(), bare_name ? kRoot : detail::child(kRoot, "name"));
  if (!entry.check_fields) return {std::move(entry), object};
  json parameters = object;
  parameters.erase("name");
  json resolved = resolve_parameters(entry, std::move(parameters));
  resolved["name"] = entry.name;
  return {std::move(entry), std::move(resolved)};
}

// An alias names a registered activation that is not an alias itself, so that listings can
// show every alias under the one activation it stands for.
void check_alias(const Registry& r, const Entry& entry) {
  const auto target = std::find_if(r.entries.begin(), r.entries.end(),
                                   [&](const Entry& e) { return e.name == entry.info.alias_of; });
  const std::string prefix = fmt::format("register_activation: \"{}\" is an alias of \"{}\"",
                                         entry.name, entry.info.alias_of);
  if (target == r.entries.end()) throw Error(prefix + ", which is not registered");
  if (!target->info.alias_of.empty())
    throw Error(fmt::format("{}, itself an alias of \"{}\"", prefix, target->info.alias_of));
}

void add_entry(Entry entry) {
  if (entry.name.empty()) throw Error("register_activation: the name is empty");
  if (!entry.factory)
    throw Error(fmt::format("register_activation: \"{}\" has no factory", entry.name));
  // Activations are layer types too (nn/registry.hpp), so a name must not be one already.
  const std::vector<std::string> types = layer_types();
  if (std::find(types.begin(), types.end(), entry.name) != types.end())
    throw Error(fmt::format("register_activation: \"{}\" is already registered", entry.name));
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  const std::vector<std::string> names = names_locked(r);
  if (std::find(names.begin(), names.end(), entry.name) != names.end())
    throw Error(fmt::format("register_activation: \"{}\" is already registered", entry.name));
  if (!entry.info.alias_of.empty()) check_alias(r, entry);
  r.entries.push_back(std::move(entry));
}

}  // namespace

std::unique_ptr<Module> make_activation(const json& spec) {
  if (is_formula_spec(spec)) {
    std::unique_ptr<Module> module = make_formula_activation(spec);
    module->mark_activation({kFormulaLabel});
    return module;
  }
  auto [entry, resolved] = resolve(spec);
  std::unique_ptr<Module> module = entry.factory(resolved);
  if (!module)
    throw Error(fmt::format("make_activation: the factory of \"{}\" made no module", entry.name));
  module->mark_activation({entry.name});
  return module;
}

json resolve_activation(const json& spec) {
  return is_formula_spec(spec) ? resolve_formula_spec(spec) : resolve(spec).second;
}

void register_activation(const std::string& name, ActivationFactory factory,
                         const std::string& description) {
  add_entry({name, std::move(factory), ActivationInfo{description, "", "", "", {}}, false});
}

void register_activation(const std::string& name, ActivationFactory factory, ActivationInfo info) {
  add_entry({name, std::move(factory), std::move(info), true});
}

std::optional<float> activation_gain(const json& spec) {
  if (is_formula_spec(spec)) return std::nullopt;
  auto [entry, resolved] = resolve(spec);
  if (!entry.info.gain) return std::nullopt;
  return entry.info.gain(resolved);
}

bool is_activation(const std::string& name) {
  const std::vector<std::string> names = activation_names();
  return std::find(names.begin(), names.end(), name) != names.end();
}

std::vector<std::string> activation_names() {
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  return names_locked(r);
}

ActivationInfo activation_info(const std::string& name) { return find_entry(name, kRoot).info; }

json activation_schema(const std::string& name) {
  const Entry entry = find_entry(name, kRoot);
  json schema = entry.check_fields ? detail::fields_schema(entry.info.fields)
                                   : json{{"type", "object"}, {"properties", json::object()}};
  schema["properties"]["name"] = {{"const", entry.name}};
  schema["required"] = {"name"};
  schema["description"] = entry.info.description;
  return schema;
}

std::vector<std::string> gate_activation_names() {
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  std::vector<std::string> names;
  for (const Entry& e : r.entries)
    if (e.info.gate) names.push_back(e.name);
  return names;
}

std::string gate_activation_for(const std::string& kind_or_activation) {
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  for (const Entry& e : r.entries)
    if (e.info.gate && !e.info.gated_kind.empty() && e.info.gated_kind == kind_or_activation)
      return e.name;
    else if (e.name == kind_or_activation && !e.info.alias_of.empty())
      return e.info.alias_of;
  return kind_or_activation;
}

std::vector<std::string> gated_kind_names() {
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  std::vector<std::string> kinds;
  for (const Entry& e : r.entries)
    if (e.info.gate && !e.info.gated_kind.empty()) kinds.push_back(e.info.gated_kind);
  return kinds;
}

}  // namespace actlab::nn

namespace actlab {

Tensor gated_activation(const Tensor& gate, const Tensor& up, const std::string& activation) {
  const std::vector<std::string> known = nn::gate_activation_names();
  if (std::find(known.begin(), known.end(), activation) == known.end())
    throw Error(fmt::format("gated_activation: unknown activation \"{}\"; expected one of {}",
                            activation, fmt::join(known, ", ")));
  return nn::activation_info(activation).gate(gate, up);
}

}  // namespace actlab
