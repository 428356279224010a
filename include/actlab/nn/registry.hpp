// The layer and model registries. A config's "layers" list names layer types and its
// "model.kind" names a model kind; each is an entry here, built-in or a user's (a plugin
// registers the same way), holding a factory, one line of description and its fields, from
// which come the checks of a spec, the "did you mean" errors and the JSON Schema.
//
//   nn::register_layer("scale", [](const nlohmann::json& spec, int64_t in_width) {
//     return nn::Layer{std::make_unique<Scale>(in_width, spec.at("init").get<float>()), in_width};
//   }, "multiplies each feature by a learned factor",
//   {NumberField{"init", false, 1.0, -10, 10, false, false, "the factor's initial value"}});
//
// Built-in layer types: linear, dropout, ffn, gated_ffn, residual, layer_norm, rms_norm and
// every activation name (a bare "gelu" in a layers list is that activation). Built-in model
// kinds: sequential, and mlp and ffn, which are shorthands for sequential specs, and decoder
// (nn::Decoder over a sequence task's tokens).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "actlab/nn/fields.hpp"
#include "actlab/nn/init.hpp"
#include "actlab/nn/module.hpp"
#include "actlab/nn/sequential.hpp"

namespace actlab::nn {

// What a factory gets besides its spec and widths.
struct BuildContext {
  // The run's generator: draw initial weights and dropout seeds from it, so that a config and
  // seed give the same model. (While a model is built, default_generator() is this one too.)
  Generator& gen;
  // The model's weight initialisation (its "init" field); an empty nonlinearity means "the
  // gain of the activation the weights feed".
  init::Scheme init = {};
  // The spec of the layer after this one in its list, null for the last: a linear layer
  // takes the init gain of the activation it feeds.
  nlohmann::json next = nullptr;

  // The scheme for weights whose output goes into `layer` (a layer spec): init with the
  // recommended gain of that activation, or gain 1 ("linear") when it is not an activation
  // or null. A nonlinearity set in the model's init wins.
  init::Scheme scheme_for(const nlohmann::json& layer) const;
};

// A layer made from its spec: the module and the width of its output's last dimension.
struct Layer {
  std::unique_ptr<Module> module;
  int64_t out_width = 0;
};

// Gets the spec resolved against the entry's fields (every default filled in) and the width
// of the input's last dimension. A width the layer cannot take throws FieldError at the path
// of the field that does not fit (e.g. {"num_parameters"}); the caller adds where the layer is.
using LayerFactory = std::function<Layer(const nlohmann::json& spec, int64_t in_width,
                                         const BuildContext& context)>;
using SimpleLayerFactory = std::function<Layer(const nlohmann::json& spec, int64_t in_width)>;

// What a layer or a model takes in memory, known from its resolved spec and input width
// without building it: the estimate a run makes before it allocates (train/memory.hpp) adds
// these up. Counts are floats.
struct MemoryCost {
  int64_t out_width = 0;   // a layer's output width (for a model: the task's)
  int64_t parameters = 0;  // learned floats
  // Per example, what a training forward keeps until backward: the outputs of its ops (the op
  // after each saves them) and what they save besides their inputs (a dropout mask, a norm's
  // statistics).
  int64_t kept_per_example = 0;
  // Per example, the most that is live at once in a forward without grad (an evaluation):
  // its input and every tensor it makes, at most in_width + kept_per_example, which 0 means.
  int64_t eval_per_example = 0;
};
// A layer type's cost from its resolved spec and the width of its input.
using LayerCostFn = std::function<MemoryCost(const nlohmann::json& spec, int64_t in_width)>;

struct LayerInfo {
  std::string description;
  std::vector<FieldSpec> fields;
  // Empty: default_layer_cost, a conservative guess.
  LayerCostFn cost = {};
};

// Adds a layer type; throws Error when the type is taken (an activation's name included).
void register_layer(const std::string& type, LayerFactory factory,
                    const std::string& description, std::vector<FieldSpec> fields = {});
void register_layer(const std::string& type, LayerFactory factory, LayerInfo info);
// The same for a factory that needs no context: its modules' default generator arguments
// (default_generator()) are the run's generator while a model is built.
void register_layer(const std::string& type, SimpleLayerFactory factory,
                    const std::string& description, std::vector<FieldSpec> fields = {});
void register_layer(const std::string& type, SimpleLayerFactory factory, LayerInfo info);

// A layer from its spec: a type name ("gelu", "layer_norm"), an object {"type": ..., fields},
// or an activation written as a formula ({"formula": ...}). A bad spec throws FieldError with
// a path that starts at the spec (the caller re-roots it, e.g. under model.layers.2).
Layer make_layer(const nlohmann::json& spec, int64_t in_width, const BuildContext& context);
// A list of layer specs as one Sequential, each layer's input the previous one's output: the
// module and the last width. Errors are re-rooted under the layer's index ("2.out").
Layer make_layers(const nlohmann::json& specs, int64_t in_width, const BuildContext& context);
// The same, appended to `sequential` (its children keep counting "0", "1", ...); returns the
// last width.
int64_t append_layers(Sequential& sequential, const nlohmann::json& specs, int64_t in_width,
                      const BuildContext& context);
// The spec with its type's fields checked and defaults filled in ("type" first); no module
// is made, so widths are not checked.
nlohmann::json resolve_layer(const nlohmann::json& spec);

// The memory cost of a layer spec (resolved first) at an input width, from its entry, without
// building it; an activation's is its output and its learned slopes.
MemoryCost layer_cost(const nlohmann::json& spec, int64_t in_width);
// The same for a list of layer specs, each fed the previous one's output: the sums, the last
// width, and the largest evaluation working set of any one layer.
MemoryCost layers_cost(const nlohmann::json& specs, int64_t in_width);
// The cost of a layer type that reports none: its output width is its spec's integer "out" if
// it has one, else its input's; a dense map's parameters, (in_width + 1) * out_width; and, kept
// for backward, 4 * max(in_width, out_width) floats per example: as much as a linear layer, an
// activation and a saved mask and intermediate of that width together.
MemoryCost default_layer_cost(const nlohmann::json& spec, int64_t in_width);

std::vector<std::string> layer_types();  // built-ins first, then users', in registration order
LayerInfo layer_info(const std::string& type);
nlohmann::json layer_schema(const std::string& type);  // of its object spec

// ---- models --------------------------------------------------------------------------------

// Gets the model spec resolved against the kind's fields, the input width and the output
// width the task needs (the head is the model's to make: sequential appends a linear one).
using ModelFactory = std::function<std::unique_ptr<Module>(
    const nlohmann::json& spec, int64_t in_width, int64_t out_width, const BuildContext& context)>;

struct ModelInfo {
  std::string description;
  std::vector<FieldSpec> fields;  // without "kind", which the registry adds
  // What the fields alone cannot see (a field's default that depends on another, a PReLU's
  // width against the layers): gets the resolved spec and returns it completed, or throws
  // FieldError with a path under "model". Empty: nothing to check.
  std::function<nlohmann::json(nlohmann::json spec)> check = {};
  // The model's memory cost from its resolved spec, input width and output width, without
  // building it (its out_width is the output width given). Empty: unknown, and the memory
  // estimate of a run says that it leaves the model out.
  std::function<MemoryCost(const nlohmann::json& spec, int64_t in_width, int64_t out_width)> cost =
      {};
  // A sequence model: it takes token ids [batch, time] (as floats) and gives logits [batch,
  // time, out_width], with in_width the task's sequence length and out_width its vocabulary.
  // Configs pair sequence models with sequence tasks (data::is_sequence_task) and no others.
  bool sequence = false;
};

// Adds a model kind; throws Error when the kind is taken.
void register_model(const std::string& kind, ModelFactory factory,
                    const std::string& description, std::vector<FieldSpec> fields = {});
void register_model(const std::string& kind, ModelFactory factory, ModelInfo info);

// The model spec ({"kind": ..., fields}) checked against its kind's fields, defaults filled
// in; throws FieldError with a path under "model".
nlohmann::json resolve_model(const nlohmann::json& spec);
// The model of a resolved spec, from in_width features to out_width outputs, its weights drawn
// from gen. A layer that does not fit its input throws FieldError under "model".
std::unique_ptr<Module> make_model(const nlohmann::json& spec, int64_t in_width,
                                   int64_t out_width, Generator& gen);

// The memory cost of a resolved model spec, from its kind's entry; nothing when the kind
// reports none.
std::optional<MemoryCost> model_cost(const nlohmann::json& spec, int64_t in_width,
                                     int64_t out_width);

std::vector<std::string> model_kinds();
ModelInfo model_info(const std::string& kind);
nlohmann::json model_schema(const std::string& kind);  // with "kind" as a const

}  // namespace actlab::nn
