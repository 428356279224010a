// The fields of a JSON spec, as activations, layers, models and config sections describe what
// they take: each field's name, type, default, bounds and one line of help. A registry entry
// lists its fields, and from that one list come the checks of a spec (defaults filled in),
// the "did you mean" errors and the JSON Schema. FieldError is what a bad field throws.
#pragma once

#include <functional>
#include <limits>
#include <string>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "actlab/core/tensor.hpp"

namespace actlab {

// Where a field sits in a document: {"model", "layers", "2", "out"}.
using FieldPath = std::vector<std::string>;

// A bad field in a spec. The path is kept apart from the reason so that a caller that holds
// the spec inside a larger document can re-root it (`within`) or print it as a JSON pointer.
class FieldError : public Error {
 public:
  FieldError(std::vector<std::string> path, std::string reason);
  const std::vector<std::string>& path() const { return path_; }
  const std::string& reason() const { return reason_; }
  std::string dotted_path() const;   // task.arms
  std::string pointer_path() const;  // /task/arms (RFC 6901 escapes)
  FieldError within(const std::string& parent) const;  // the same error one level deeper

 private:
  std::vector<std::string> path_;
  std::string reason_;
};

// A numeric field: an integer or a real number within [lo, hi] (ends open when asked),
// with the value it takes when the spec leaves it out.
struct NumberField {
  std::string name;
  bool integer = false;
  double fallback = 0.0;
  double lo = -std::numeric_limits<double>::infinity();
  double hi = std::numeric_limits<double>::infinity();
  bool lo_open = false;
  bool hi_open = false;
  std::string help;  // one line, for docs and the JSON Schema
};

// A string field taking one of a few values.
struct ChoiceField {
  std::string name;
  std::vector<std::string> choices;
  std::string fallback;
  std::string help;
};

struct BoolField {
  std::string name;
  bool fallback = false;
  std::string help;
};

// A field with a rule of its own (a list, a union, a nested spec): `check` returns the value
// to keep, or throws FieldError at the given path (the field's own).
struct CustomField {
  std::string name;
  nlohmann::json fallback;
  nlohmann::json schema;  // its JSON Schema property
  std::function<nlohmann::json(const nlohmann::json& value, const FieldPath& path)> check;
};

// One field of a spec.
using FieldSpec = std::variant<NumberField, ChoiceField, BoolField, CustomField>;

}  // namespace actlab
