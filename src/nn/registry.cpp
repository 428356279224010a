// The layer and model registries behind "layers" lists and "model.kind": lookups, the checks of
// a spec against its entry's fields, building, and the JSON Schema. Activation names are layer
// types too: they are looked up in the activation registry, so that an activation registered
// later (by a user or a plugin) is a layer at once.
#include "actlab/nn/registry.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <mutex>

#include "actlab/detail/fields.hpp"
#include "actlab/detail/suggest.hpp"
#include "actlab/nn/activation.hpp"
#include "actlab/nn/formula.hpp"
#include "nn/builtin_registry.hpp"

namespace actlab::nn {
namespace {

using json = nlohmann::json;
using registry_detail::LayerEntry;
using registry_detail::ModelEntry;

// Entries in registration order, built-ins first. Lookups copy an entry out under the lock;
// factories run outside it.
template <class Entry>
struct Table {
  std::mutex mutex;
  std::vector<Entry> entries;
};

Table<LayerEntry>& layers() {
  static Table<LayerEntry> table{{}, registry_detail::builtin_layers()};
  return table;
}

Table<ModelEntry>& models() {
  static Table<ModelEntry> table{{}, registry_detail::builtin_models()};
  return table;
}

const std::string& key(const LayerEntry& e) { return e.type; }
const std::string& key(const ModelEntry& e) { return e.kind; }

template <class Entry>
std::vector<std::string> keys(Table<Entry>& table) {
  std::lock_guard lock(table.mutex);
  std::vector<std::string> names;
  for (const Entry& e : table.entries) names.push_back(key(e));
  return names;
}

template <class Entry>
std::optional<Entry> find(Table<Entry>& table, const std::string& name) {
  std::lock_guard lock(table.mutex);
  for (const Entry& e : table.entries)
    if (key(e) == name) return e;
  return std::nullopt;
}

template <class Entry>
void add(Table<Entry>& table, Entry entry, const char* what, bool taken) {
  if (key(entry).empty()) throw Error(fmt::format("{}: the name is empty", what));
  if (!entry.factory) throw Error(fmt::format("{}: \"{}\" has no factory", what, key(entry)));
  std::lock_guard lock(table.mutex);
  for (const Entry& e : table.entries) taken = taken || key(e) == key(entry);
  if (taken) throw Error(fmt::format("{}: \"{}\" is already registered", what, key(entry)));
  table.entries.push_back(std::move(entry));
}

// ---- layer specs -----------------------------------------------------------------------------

// A layer spec taken apart: its type, and its fields without "type".
struct LayerSpec {
  std::string type;
  json fields;
};

LayerSpec split(const json& spec) {
  if (spec.is_string()) return {spec.get<std::string>(), json::object()};
  if (!spec.is_object())
    throw FieldError({}, fmt::format("expected a layer type or an object with a \"type\", found {}",
                                     detail::found_text(spec)));
  const auto type = spec.find("type");
  if (type == spec.end() || !type->is_string())
    throw FieldError({"type"}, fmt::format("expected a layer type, found {}; known: {}",
                                           type == spec.end() ? "nothing" : detail::found_text(*type),
                                           fmt::join(layer_types(), ", ")));
  json fields = spec;
  fields.erase("type");
  return {type->get<std::string>(), std::move(fields)};
}

// An activation's spec path ("activation", "activation.alpha") as a layer's ("alpha").
FieldError from_activation(const FieldError& e) {
  return FieldError(FieldPath(e.path().begin() + (e.path().empty() ? 0 : 1), e.path().end()),
                    e.reason());
}

// The activation spec of a layer spec whose type is an activation: {"name": type, ...}.
json activation_spec(const LayerSpec& layer) {
  json spec = layer.fields;
  spec["name"] = layer.type;
  return spec;
}

// The spec resolved, and the entry when the type is not an activation.
std::pair<json, std::optional<LayerEntry>> resolve(const json& spec) {
  if (is_formula_spec(spec)) {
    try {
      return {resolve_activation(spec), std::nullopt};
    } catch (const FieldError& e) {
      throw from_activation(e);
    }
  }
  const LayerSpec layer = split(spec);
  if (std::optional<LayerEntry> entry = find(layers(), layer.type)) {
    const std::string owner = fmt::format("layer \"{}\"", layer.type);
    json resolved = detail::resolve_fields(layer.fields, entry->info.fields, {}, owner);
    resolved["type"] = layer.type;
    return {std::move(resolved), std::move(entry)};
  }
  if (!is_activation(layer.type))
    throw FieldError(spec.is_string() ? FieldPath{} : FieldPath{"type"},
                     fmt::format("unknown layer type \"{}\"; {}", layer.type,
                                 detail::known_names_hint(layer.type, layer_types())));
  try {
    json resolved = resolve_activation(activation_spec(layer));
    resolved.erase("name");
    resolved["type"] = layer.type;
    return {std::move(resolved), std::nullopt};
  } catch (const FieldError& e) {
    throw from_activation(e);
  }
}

// An activation layer's module; one with a value per channel must fit its input's width.
Layer make_activation_layer(const json& resolved, int64_t in_width) {
  const auto slopes = resolved.find("num_parameters");
  if (slopes != resolved.end() && *slopes != 1 && *slopes != in_width)
    throw FieldError({"num_parameters"},
                     fmt::format("expected 1 or the width of its input ({}), found {}", in_width,
                                 slopes->dump()));
  if (is_formula_spec(resolved)) return {make_activation(resolved), in_width};
  json spec = resolved;
  spec.erase("type");
  spec["name"] = resolved["type"];
  return {make_activation(spec), in_width};
}

// An activation layer's cost: its output, and its learned values (a PReLU's slopes, a
// formula's learned parameters, one each or one per channel).
MemoryCost activation_layer_cost(const json& resolved, int64_t in_width) {
  const int64_t per_parameter = resolved.value("num_parameters", int64_t{0});
  const int64_t learned = is_formula_spec(resolved)
                              ? static_cast<int64_t>(resolved.value("learn", json::array()).size())
                              : 1;
  return {in_width, learned * per_parameter, in_width, 0};
}

// An evaluation's working set filled in where a cost leaves it to the default.
MemoryCost with_eval(MemoryCost cost, int64_t in_width) {
  if (cost.eval_per_example == 0) cost.eval_per_example = in_width + cost.kept_per_example;
  return cost;
}

}  // namespace

// ---- layers ----------------------------------------------------------------------------------

init::Scheme BuildContext::scheme_for(const json& layer) const {
  init::Scheme scheme = init;
  const bool is_formula = is_formula_spec(layer);
  std::optional<LayerSpec> next;
  if (!is_formula && !layer.is_null()) next = split(layer);
  const bool feeds_activation =
      is_formula || (next && is_activation(next->type) && !find(layers(), next->type));
  if (!feeds_activation) {
    scheme.nonlinearity = "linear";
    scheme.gain.reset();
  } else if (scheme.nonlinearity.empty()) {
    scheme.gain = is_formula ? std::nullopt : activation_gain(activation_spec(*next));
  }
  return scheme;
}

void register_layer(const std::string& type, LayerFactory factory, LayerInfo info) {
  add(layers(), LayerEntry{type, std::move(factory), std::move(info)}, "register_layer",
      is_activation(type));
}

void register_layer(const std::string& type, LayerFactory factory, const std::string& description,
                    std::vector<FieldSpec> fields) {
  register_layer(type, std::move(factory), LayerInfo{description, std::move(fields)});
}

void register_layer(const std::string& type, SimpleLayerFactory factory, LayerInfo info) {
  if (!factory) throw Error(fmt::format("register_layer: \"{}\" has no factory", type));
  register_layer(
      type,
      [factory = std::move(factory)](const json& spec, int64_t in_width, const BuildContext&) {
        return factory(spec, in_width);
      },
      std::move(info));
}

void register_layer(const std::string& type, SimpleLayerFactory factory,
                    const std::string& description, std::vector<FieldSpec> fields) {
  register_layer(type, std::move(factory), LayerInfo{description, std::move(fields)});
}

MemoryCost default_layer_cost(const json& spec, int64_t in_width) {
  const auto out = spec.find("out");
  const int64_t out_width =
      out != spec.end() && out->is_number_integer() && out->get<int64_t>() > 0 ? out->get<int64_t>()
                                                                               : in_width;
  return {out_width, (in_width + 1) * out_width, 4 * std::max(in_width, out_width), 0};
}

MemoryCost layer_cost(const json& spec, int64_t in_width) {
  const auto [resolved, entry] = resolve(spec);
  if (!entry) return with_eval(activation_layer_cost(resolved, in_width), in_width);
  const LayerCostFn& cost = entry->info.cost;
  return with_eval(cost ? cost(resolved, in_width) : default_layer_cost(resolved, in_width),
                   in_width);
}

MemoryCost layers_cost(const json& specs, int64_t in_width) {
  MemoryCost total{in_width, 0, 0, in_width};
  for (const json& spec : specs) {
    const MemoryCost layer = layer_cost(spec, total.out_width);
    total.out_width = layer.out_width;
    total.parameters += layer.parameters;
    total.kept_per_example += layer.kept_per_example;
    total.eval_per_example = std::max(total.eval_per_example, layer.eval_per_example);
  }
  return total;
}

json resolve_layer(const json& spec) { return resolve(spec).first; }

Layer make_layer(const json& spec, int64_t in_width, const BuildContext& context) {
  auto [resolved, entry] = resolve(spec);
  if (!entry) return make_activation_layer(resolved, in_width);
  detail::DefaultGeneratorScope generator(context.gen);
  Layer layer = entry->factory(resolved, in_width, context);
  if (!layer.module || layer.out_width < 1)
    throw Error(fmt::format("make_layer: the factory of \"{}\" made {}", entry->type,
                            layer.module ? fmt::format("an output width of {}", layer.out_width)
                                         : std::string("no module")));
  return layer;
}

int64_t append_layers(Sequential& sequential, const json& specs, int64_t in_width,
                      const BuildContext& context) {
  if (!specs.is_array())
    throw FieldError({}, fmt::format("expected a list of layers, found {}",
                                     detail::found_text(specs)));
  int64_t width = in_width;
  for (size_t i = 0; i < specs.size(); ++i) {
    BuildContext layer_context = context;
    layer_context.next = i + 1 < specs.size() ? specs[i + 1] : json(nullptr);
    try {
      Layer layer = make_layer(specs[i], width, layer_context);
      sequential.push_back(std::shared_ptr<Module>(std::move(layer.module)));
      width = layer.out_width;
    } catch (const FieldError& e) {
      throw e.within(std::to_string(i));
    }
  }
  return width;
}

Layer make_layers(const json& specs, int64_t in_width, const BuildContext& context) {
  auto sequential = std::make_unique<Sequential>();
  const int64_t width = append_layers(*sequential, specs, in_width, context);
  return {std::move(sequential), width};
}

std::vector<std::string> layer_types() {
  std::vector<std::string> types = keys(layers());
  for (const std::string& name : activation_names()) types.push_back(name);
  return types;
}

LayerInfo layer_info(const std::string& type) {
  if (std::optional<LayerEntry> entry = find(layers(), type)) return entry->info;
  if (!is_activation(type))
    throw FieldError({"type"}, fmt::format("unknown layer type \"{}\"; {}", type,
                                           detail::known_names_hint(type, layer_types())));
  const ActivationInfo info = activation_info(type);
  return {fmt::format("activation: {}", info.description), info.fields};
}

json layer_schema(const std::string& type) {
  json schema = detail::fields_schema(layer_info(type).fields);
  schema["properties"]["type"] = {{"const", type}};
  schema["required"] = {"type"};
  schema["description"] = layer_info(type).description;
  return schema;
}

// ---- models ----------------------------------------------------------------------------------

void register_model(const std::string& kind, ModelFactory factory, ModelInfo info) {
  add(models(), ModelEntry{kind, std::move(factory), std::move(info)}, "register_model", false);
}

void register_model(const std::string& kind, ModelFactory factory, const std::string& description,
                    std::vector<FieldSpec> fields) {
  register_model(kind, std::move(factory), ModelInfo{description, std::move(fields)});
}

namespace {

ChoiceField kind_field() {
  return {"kind", model_kinds(), "mlp", "the model: sequential, or a kind registered for it"};
}

ModelEntry find_model(const json& spec, const FieldPath& path) {
  const json kind = detail::resolve_fields(json{{"kind", spec.value("kind", json("mlp"))}},
                                           {kind_field()}, path, "model");
  return *find(models(), kind["kind"].get<std::string>());
}

std::vector<FieldSpec> with_kind(std::vector<FieldSpec> fields) {
  fields.insert(fields.begin(), kind_field());
  return fields;
}

}  // namespace

json resolve_model(const json& spec) {
  const FieldPath path{"model"};
  if (!spec.is_object())
    throw FieldError(path, fmt::format("expected an object, found {}", detail::found_text(spec)));
  const ModelEntry entry = find_model(spec, path);
  json resolved = detail::resolve_fields(spec, with_kind(entry.info.fields), path,
                                         fmt::format("model \"{}\"", entry.kind));
  return entry.info.check ? entry.info.check(std::move(resolved)) : resolved;
}

std::unique_ptr<Module> make_model(const json& spec, int64_t in_width, int64_t out_width,
                                   Generator& gen) {
  const ModelEntry entry = find_model(spec, {"model"});
  BuildContext context{gen};
  if (spec.contains("init")) context.init = registry_detail::scheme_from(spec["init"]);
  detail::DefaultGeneratorScope generator(gen);
  try {
    return entry.factory(spec, in_width, out_width, context);
  } catch (const FieldError& e) {
    throw e.within("model");
  }
}

std::optional<MemoryCost> model_cost(const json& spec, int64_t in_width, int64_t out_width) {
  const ModelEntry entry = find_model(spec, {"model"});
  if (!entry.info.cost) return std::nullopt;
  try {  // a cost sees what the factory would, so it refuses the same specs, under "model" too
    return with_eval(entry.info.cost(spec, in_width, out_width), in_width);
  } catch (const FieldError& e) {
    throw e.within("model");
  }
}

std::vector<std::string> model_kinds() { return keys(models()); }

ModelInfo model_info(const std::string& kind) {
  if (std::optional<ModelEntry> entry = find(models(), kind)) return entry->info;
  throw FieldError({"model", "kind"}, fmt::format("unknown model kind \"{}\"; {}", kind,
                                                  detail::known_names_hint(kind, model_kinds())));
}

json model_schema(const std::string& kind) {
  const ModelInfo info = model_info(kind);
  json schema = detail::fields_schema(with_kind(info.fields));
  schema["properties"]["kind"] = {{"const", kind}, {"description", info.description}};
  return schema;
}

}  // namespace actlab::nn
