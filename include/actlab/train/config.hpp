// Run configs: a JSON document (top-level shape in API.md, every field in configs/schema.json)
// checked field by field before anything runs, with defaults filled in. Errors are FieldErrors
// that name the JSON path, what was expected and what was found.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "actlab/detail/fields.hpp"
#include "actlab/nn/init.hpp"

namespace actlab {

struct ModelConfig {
  std::string kind;             // a registered model kind: "mlp", "ffn", "sequential", ...
  nlohmann::json spec;          // the resolved model spec, which nn::make_model builds
  // The fields the built-in kinds share, where the kind has them:
  std::vector<int64_t> hidden;  // mlp: hidden widths
  nlohmann::json activation;    // a name or {"name": ..., parameters}
  nn::init::Scheme init;
  float dropout = 0.f;
  std::string block;            // ffn: "standard" or "gated"
  int64_t d_model = 0;          // ffn
  int64_t d_ff = 0;             // ffn
  int64_t blocks = 0;           // ffn: residual blocks
};

struct LossConfig {
  std::string name;  // "cross_entropy", "bce_with_logits" or "mse" ("auto" resolved by task)
  float label_smoothing = 0.f;
};

struct OptimizerConfig {
  std::string name;  // "sgd", "adam", "adamw"
  float lr = 0.f;
  float momentum = 0.f;
  bool nesterov = false;
  float weight_decay = 0.f;
  float beta1 = 0.9f;
  float beta2 = 0.999f;
  float eps = 1e-8f;
};

struct TrainConfig {
  int64_t epochs = 0;
  int64_t batch_size = 0;
  uint64_t seed = 0;
  int64_t eval_every = 0;  // steps
  std::optional<float> clip_grad_norm;
  std::string schedule;     // "constant", "cosine", "step"
  int64_t step_size = 0;    // "step": epochs between decays
  float gamma = 0.f;        // "step": decay factor
  std::optional<float> target;  // a test accuracy (or, for regression, loss) to reach
  bool stop_at_target = true;   // stop once it is reached (else only record the step)
  bool detect_anomaly = false;  // run in anomaly mode (see core/anomaly.hpp): name the op of a NaN/Inf
};

struct DiagnosticsConfig {
  bool activation_stats = true;
  bool grad_norms = true;
};

struct Config {
  nlohmann::json task;  // resolved task spec (see data.hpp)
  ModelConfig model;
  LossConfig loss;
  OptimizerConfig optimizer;
  TrainConfig train;
  DiagnosticsConfig diagnostics;
  nlohmann::json resolved;  // the whole config with every default filled in
};

// Checks a config document and fills in its defaults; throws FieldError.
Config parse_config(const nlohmann::json& doc);

// What a JSON document actlab reads may hold: a file at most 16 MiB (checked before it is
// read, so /dev/zero is refused at once), and no string or key longer than 4096 bytes.
inline constexpr size_t kMaxJsonFileBytes = size_t{16} << 20;
inline constexpr size_t kMaxJsonStringBytes = 4096;

// Parses JSON text strictly: invalid JSON (a NUL byte included, which would otherwise end the
// text early and hide what follows it) throws FieldError at the root with line and column; a
// duplicate key, a number that overflows a double, or a string over kMaxJsonStringBytes throws
// FieldError at its JSON path.
nlohmann::json parse_json_text(const std::string& text, const std::string& source);
// Reads and parses the JSON file at `path`; `what` names it in errors ("config file"), e.g.
// FieldError "cannot read config file x.json: No such file or directory".
nlohmann::json read_json_file(const std::string& path, const std::string& what);
// Throws FieldError at the first string or key of `doc` longer than kMaxJsonStringBytes.
void check_string_sizes(const nlohmann::json& doc);

// Reads a config file, applies `--set path=value` overrides in order, and checks it.
Config load_config(const std::string& path, const std::vector<std::string>& overrides = {});

// Sets the field at a dotted path ("model.activation", "model.layers.2.out") to `value`,
// creating objects on the way; a number steps into an existing list item. Throws FieldError
// when the path runs through something that is neither an object nor such a list.
void set_field(nlohmann::json& doc, const std::string& dotted_path, nlohmann::json value);

// Applies one override "a.b.c=value" (value parsed as JSON when it is valid JSON, else taken
// as a string) to a document.
void apply_override(nlohmann::json& doc, const std::string& assignment);

// The JSON Schema of a config (configs/schema.json is this, written out).
nlohmann::json config_schema();

// "config error at /model/activation: ..." as the command line prints it.
std::string config_error_message(const FieldError& error);

}  // namespace actlab
