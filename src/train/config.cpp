// Config checking: one table of fields per section and optimiser, and the model registry's
// fields for each model kind, from which both the checks and configs/schema.json are derived,
// so the two cannot drift apart.
#include "actlab/train/config.hpp"

#include <fmt/format.h>

#include <sstream>

#include "actlab/detail/suggest.hpp"
#include "actlab/nn/activation.hpp"
#include "actlab/nn/registry.hpp"
#include "actlab/train/data.hpp"
#include "actlab/train/sequence_tasks.hpp"

namespace actlab {
namespace {

using detail::BoolField;
using detail::ChoiceField;
using detail::CustomField;
using detail::Field;
using detail::FieldPath;
using detail::NumberField;
using nlohmann::json;

NumberField integer(std::string name, double fallback, double lo, double hi, std::string help) {
  return {std::move(name), true, fallback, lo, hi, false, false, std::move(help)};
}
NumberField real(std::string name, double fallback, double lo, double hi, std::string help,
                 bool lo_open = false, bool hi_open = false) {
  return {std::move(name), false, fallback, lo, hi, lo_open, hi_open, std::move(help)};
}

json nullable_schema(const NumberField& field) {
  json schema = detail::json_schema(field);
  schema["type"] = {schema["type"], "null"};
  schema["default"] = nullptr;
  return schema;
}

// null, or a number checked as `field`.
CustomField nullable(NumberField field) {
  return {field.name, nullptr, nullable_schema(field), [field](const json& value, const FieldPath& path) {
            if (value.is_null()) return value;
            return detail::read_number(json{{field.name, value}}, field, FieldPath(path.begin(), path.end() - 1));
          }};
}

// ---- the tables ----------------------------------------------------------------------------

const std::vector<Field>& loss_fields() {
  static const std::vector<Field> fields = {
      ChoiceField{"name", {"auto", "cross_entropy", "bce_with_logits", "mse"}, "auto",
                  "auto: bce_with_logits for binary tasks, cross_entropy for multiclass, mse "
                  "for regression"},
      real("label_smoothing", 0, 0, 1, "cross_entropy only: PyTorch's label smoothing"),
  };
  return fields;
}

const std::vector<Field>& optimizer_fields(const std::string& name) {
  // Up to 1e6: diverging on purpose is part of studying training.
  const auto lr = [](double fallback) {
    return real("lr", fallback, 0, 1e6, "learning rate", true);
  };
  const ChoiceField which{"name", {"sgd", "adam", "adamw"}, "adam", "the optimiser"};
  static const std::vector<Field> sgd = {
      which,
      lr(0.01),
      real("momentum", 0, 0, 1, "momentum factor", false, true),
      BoolField{"nesterov", false, "Nesterov momentum"},
      real("weight_decay", 0, 0, 1, "L2 penalty added to the gradient"),
  };
  const auto adam_table = [&](double weight_decay, const char* decay_help) {
    return std::vector<Field>{
        which,
        lr(1e-3),
        real("beta1", 0.9, 0, 1, "decay of the gradient average", false, true),
        real("beta2", 0.999, 0, 1, "decay of the squared-gradient average", false, true),
        real("eps", 1e-8, 0, 1, "added to the denominator", true),
        real("weight_decay", weight_decay, 0, 1, decay_help),
    };
  };
  static const std::vector<Field> adam = adam_table(0, "L2 penalty added to the gradient");
  static const std::vector<Field> adamw = adam_table(0.01, "decoupled weight decay");
  if (name == "sgd") return sgd;
  return name == "adamw" ? adamw : adam;
}

const std::vector<Field>& train_fields() {
  static const std::vector<Field> fields = {
      integer("epochs", 100, 1, 100000, "passes over the training split"),
      integer("batch_size", 64, 1, 1000000, "examples per step"),
      integer("seed", 0, 0, 4294967295.0, "seeds the model's init, dropout and batch order"),
      integer("eval_every", 50, 1, 1e9, "steps between evaluations on the test split"),
      nullable(real("clip_grad_norm", 0, 0, 1e9, "clip the gradients' total 2-norm to this", true)),
      ChoiceField{"schedule", {"constant", "cosine", "step"}, "constant",
                  "learning-rate schedule: cosine decays to 0 over the run; step multiplies "
                  "by gamma every step_size epochs"},
      integer("step_size", 30, 1, 100000, "schedule \"step\": epochs between decays"),
      real("gamma", 0.1, 0, 1, "schedule \"step\": decay factor", true),
      nullable(real("target", 0, 0, 1e9,
                    "a test accuracy (classification) or test loss (regression, sequence tasks) "
                    "to reach")),
      BoolField{"stop_at_target", true, "stop training once the target is reached"},
      BoolField{"detect_anomaly", false,
                "check every op's output and gradient for NaN/Inf and stop at the first, naming "
                "the op and the module (slower; for debugging a run that diverges)"},
  };
  return fields;
}

const std::vector<Field>& diagnostics_fields() {
  static const std::vector<Field> fields = {
      BoolField{"activation_stats", true,
                "per-layer mean, std, % zeros, % dead units, % saturated at each eval"},
      BoolField{"grad_norms", true, "per-layer gradient norms at each eval"},
  };
  return fields;
}

const std::vector<std::string> kSections = {"task",      "model", "loss",
                                            "optimizer", "train", "diagnostics"};

// ---- resolving -----------------------------------------------------------------------------

json section(const json& doc, const char* name) {
  const auto it = doc.find(name);
  return it == doc.end() ? json::object() : *it;
}

json resolve_optimizer(const json& spec) {
  const FieldPath path{"optimizer"};
  const json name = spec.is_object() ? spec.value("name", json("adam")) : json("adam");
  const std::string which = name.is_string() ? name.get<std::string>() : "";
  return detail::resolve_fields(spec, optimizer_fields(which), path,
                                fmt::format("optimizer \"{}\"", which));
}

// The loss a task kind takes when the config says "auto", and which losses fit it.
std::string resolve_loss_name(const std::string& name, data::TaskKind kind) {
  const std::string natural = kind == data::TaskKind::binary       ? "bce_with_logits"
                              : kind == data::TaskKind::multiclass ? "cross_entropy"
                                                                   : "mse";
  if (name == "auto") return natural;
  const bool fits = name == natural || name == "mse" ||
                    (name == "cross_entropy" && kind == data::TaskKind::binary);
  if (!fits)
    throw FieldError({"loss", "name"},
                     fmt::format("{} does not fit a {} task; use {} (or \"auto\")", name,
                                 data::to_string(kind), natural));
  return name;
}

// Label smoothing reshapes a one-hot target over C classes; the other losses have none.
void check_label_smoothing(const json& loss) {
  const json& smoothing = loss["label_smoothing"];
  if (loss["name"] != "cross_entropy" && smoothing.get<double>() != 0)
    throw FieldError({"loss", "label_smoothing"},
                     fmt::format("expected 0 with {} (label smoothing is for cross_entropy "
                                 "only), found {}",
                                 loss["name"].get<std::string>(), detail::found_text(smoothing)));
}

// A sequence task (token windows) needs a sequence model, which takes nothing else; the loss
// of next-token prediction is cross-entropy.
void check_sequence_fit(const json& resolved) {
  const std::string task = resolved["task"]["name"], kind = resolved["model"]["kind"];
  const bool sequence_task = data::is_sequence_task(task);
  const bool sequence_model = nn::model_info(kind).sequence;
  std::vector<std::string> sequence_kinds;
  for (const std::string& k : nn::model_kinds())
    if (nn::model_info(k).sequence) sequence_kinds.push_back(k);
  if (sequence_model && !sequence_task)
    throw FieldError({"model", "kind"},
                     fmt::format("a {} model reads token sequences, and task \"{}\" is not a "
                                 "sequence task; use one of: {}",
                                 kind, task, fmt::join(data::sequence_task_names(), ", ")));
  if (sequence_task && !sequence_model)
    throw FieldError({"model", "kind"},
                     fmt::format("task \"{}\" is a sequence task and needs a sequence model ({}), "
                                 "found \"{}\"",
                                 task, fmt::join(sequence_kinds, ", "), kind));
  if (sequence_task && resolved["loss"]["name"] != "cross_entropy")
    throw FieldError({"loss", "name"},
                     fmt::format("a sequence task predicts the next token with cross_entropy (or "
                                 "\"auto\"), found {}",
                                 resolved["loss"]["name"].get<std::string>()));
}

float as_float(const json& v) { return v.get<float>(); }
std::optional<float> as_optional(const json& v) {
  return v.is_null() ? std::nullopt : std::optional<float>(v.get<float>());
}

// The model's spec, and the fields the built-in kinds share where it has them.
ModelConfig to_model(const json& m) {
  ModelConfig model;
  model.kind = m["kind"];
  model.spec = m;
  model.activation = m.value("activation", json());
  model.dropout = m.value("dropout", 0.f);
  if (m.contains("init")) {
    model.init.name = m["init"]["scheme"];
    model.init.nonlinearity = m["init"]["nonlinearity"];
    model.init.std = as_float(m["init"]["std"]);
    model.init.bias = as_optional(m["init"]["bias"]);
  }
  model.hidden = m.value("hidden", std::vector<int64_t>{});
  model.block = m.value("block", "");
  model.d_model = m.value("d_model", int64_t{0});
  model.d_ff = m.value("d_ff", int64_t{0});
  model.blocks = m.value("blocks", int64_t{0});
  return model;
}

}  // namespace

Config parse_config(const json& doc) {
  if (!doc.is_object())
    throw FieldError({}, fmt::format("expected a config object, found {}",
                                     detail::found_text(doc)));
  check_string_sizes(doc);
  detail::reject_unknown_fields(doc, kSections, {}, "the config");
  if (!doc.contains("task"))
    throw FieldError({"task"}, fmt::format("expected a task, found nothing; known: {}",
                                           fmt::join(data::task_names(), ", ")));
  json resolved = json::object();
  try {
    resolved["task"] = data::resolve_task(doc["task"]);
  } catch (const FieldError& e) {
    throw e.path().empty() || e.path().front() != "task" ? e.within("task") : e;
  }
  resolved["model"] = nn::resolve_model(section(doc, "model"));
  resolved["loss"] = detail::resolve_fields(section(doc, "loss"), loss_fields(), {"loss"}, "loss");
  resolved["optimizer"] = resolve_optimizer(section(doc, "optimizer"));
  resolved["train"] = detail::resolve_fields(section(doc, "train"), train_fields(), {"train"}, "train");
  resolved["diagnostics"] = detail::resolve_fields(section(doc, "diagnostics"),
                                                   diagnostics_fields(), {"diagnostics"},
                                                   "diagnostics");
  const data::TaskKind kind = data::resolved_task_kind(resolved["task"]);
  resolved["loss"]["name"] = resolve_loss_name(resolved["loss"]["name"], kind);
  check_label_smoothing(resolved["loss"]);
  check_sequence_fit(resolved);

  Config config;
  config.task = resolved["task"];
  config.model = to_model(resolved["model"]);
  const json& loss = resolved["loss"];
  config.loss = {loss["name"], as_float(loss["label_smoothing"])};
  const json& opt = resolved["optimizer"];
  config.optimizer.name = opt["name"];
  config.optimizer.lr = as_float(opt["lr"]);
  config.optimizer.weight_decay = as_float(opt["weight_decay"]);
  if (config.optimizer.name == "sgd") {
    config.optimizer.momentum = as_float(opt["momentum"]);
    config.optimizer.nesterov = opt["nesterov"];
    if (config.optimizer.nesterov && config.optimizer.momentum == 0.f)
      throw FieldError({"optimizer", "nesterov"}, "expected momentum > 0 with nesterov, found "
                                                  "momentum 0");
  } else {
    config.optimizer.beta1 = as_float(opt["beta1"]);
    config.optimizer.beta2 = as_float(opt["beta2"]);
    config.optimizer.eps = as_float(opt["eps"]);
  }
  const json& train = resolved["train"];
  config.train.epochs = train["epochs"];
  config.train.batch_size = train["batch_size"];
  config.train.seed = train["seed"];
  config.train.eval_every = train["eval_every"];
  config.train.clip_grad_norm = as_optional(train["clip_grad_norm"]);
  config.train.schedule = train["schedule"];
  config.train.step_size = train["step_size"];
  config.train.gamma = as_float(train["gamma"]);
  config.train.target = as_optional(train["target"]);
  config.train.stop_at_target = train["stop_at_target"];
  config.train.detect_anomaly = train["detect_anomaly"];
  const json& diag = resolved["diagnostics"];
  config.diagnostics = {diag["activation_stats"], diag["grad_norms"]};
  config.resolved = std::move(resolved);
  return config;
}

void set_field(json& doc, const std::string& dotted_path, json value) {
  json* node = &doc;
  std::stringstream parts(dotted_path);
  std::string part;
  std::vector<std::string> walked;
  while (std::getline(parts, part, '.')) {
    if (part.empty())
      throw FieldError({}, fmt::format("empty name in the path \"{}\"", dotted_path));
    if (node->is_null()) *node = json::object();  // a section the file leaves out
    // A list's element by its index ("model.layers.2.out"): only one that exists.
    const bool index = node->is_array() && part.find_first_not_of("0123456789") == std::string::npos &&
                       part.size() < 6 && std::stoul(part) < node->size();
    if (!node->is_object() && !index)
      throw FieldError({}, fmt::format("{} is not an object{}", fmt::join(walked, "."),
                                       node->is_array() ? fmt::format(" or a list holding item {}", part) : ""));
    walked.push_back(part);
    node = index ? &(*node)[std::stoul(part)] : &(*node)[part];
  }
  *node = std::move(value);
}

void apply_override(json& doc, const std::string& assignment) {
  const size_t eq = assignment.find('=');
  if (eq == std::string::npos || eq == 0)
    throw FieldError({}, fmt::format("--set {}: expected key.path=value",
                                     detail::excerpt(assignment)));
  const std::string text = assignment.substr(eq + 1);
  if (detail::json_nesting_depth(text).depth > detail::kMaxJsonDepth)
    throw FieldError({}, fmt::format("--set {}: the value is nested deeper than {} levels",
                                     detail::excerpt(assignment.substr(0, eq)),
                                     detail::kMaxJsonDepth));
  json value = json::parse(text, nullptr, false);
  if (value.is_discarded()) value = text;  // a bare word such as gelu is a string
  try {
    set_field(doc, assignment.substr(0, eq), std::move(value));
  } catch (const FieldError& e) {
    throw FieldError({}, fmt::format("--set {}: {}", detail::excerpt(assignment), e.reason()));
  }
}

Config load_config(const std::string& path, const std::vector<std::string>& overrides) {
  json doc = read_json_file(path, "config file");
  for (const std::string& assignment : overrides) apply_override(doc, assignment);
  return parse_config(doc);
}

namespace {

// A spec of every registered activation, and of every registered layer type: what the
// config's "activation" and "layers" fields refer to ("#/$defs/activation", "#/$defs/layer").
json activation_spec_schema() {
  json specs = json::array({{{"enum", nn::activation_names()}}});
  for (const std::string& name : nn::activation_names()) specs.push_back(nn::activation_schema(name));
  specs.push_back({{"type", "object"},
                   {"required", {"formula"}},
                   {"description", "an activation written as a formula, with its parameters"}});
  return {{"anyOf", specs}};
}

json layer_spec_schema() {
  json specs = json::array({{{"enum", nn::layer_types()}}});
  for (const std::string& type : nn::layer_types()) specs.push_back(nn::layer_schema(type));
  specs.push_back({{"$ref", "#/$defs/activation"}});
  return {{"anyOf", specs}};
}

}  // namespace

json config_schema() {
  json tasks = json::array();
  for (const std::string& name : data::task_names()) tasks.push_back(data::task_schema(name));
  json models = json::array();
  for (const std::string& kind : nn::model_kinds()) models.push_back(nn::model_schema(kind));
  json optimizers = json::array();
  for (const char* name : {"sgd", "adam", "adamw"})
    optimizers.push_back(detail::fields_schema(optimizer_fields(name)));
  json properties = {
      {"task", {{"anyOf", tasks}}},
      {"model", {{"anyOf", models}}},
      {"loss", detail::fields_schema(loss_fields())},
      {"optimizer", {{"anyOf", optimizers}}},
      {"train", detail::fields_schema(train_fields())},
      {"diagnostics", detail::fields_schema(diagnostics_fields())},
  };
  return {{"$schema", "https://json-schema.org/draft/2020-12/schema"},
          {"title", "actlab run config"},
          {"type", "object"},
          {"required", {"task"}},
          {"properties", properties},
          {"additionalProperties", false},
          {"$defs", {{"activation", activation_spec_schema()}, {"layer", layer_spec_schema()}}}};
}

std::string config_error_message(const FieldError& error) {
  if (error.path().empty()) return fmt::format("config error: {}", error.reason());
  return fmt::format("config error at {}: {}", error.pointer_path(), error.reason());
}

}  // namespace actlab
