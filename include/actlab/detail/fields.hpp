// Reading the fields of a JSON spec (a task, a model, an optimiser): each field checked
// against its rule, defaults filled in, and errors that name the field's path, what was
// expected and what was found ("task.arms: expected an integer >= 2, found 1").
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "actlab/nn/fields.hpp"

namespace actlab {
namespace detail {

// The public field types (nn/fields.hpp) under the names this layer's code has long used.
using actlab::BoolField;
using actlab::ChoiceField;
using actlab::CustomField;
using actlab::FieldPath;
using actlab::NumberField;
using Field = FieldSpec;

FieldPath child(FieldPath path, const std::string& name);

// "an integer >= 2", "a number in (0, 1)": what the field accepts, as error messages say it.
std::string expected_text(const NumberField& field);
// A value as an error message shows it: its JSON, shortened when long.
std::string found_text(const nlohmann::json& value);
// Text as an error message quotes it: control characters escaped as JSON escapes them (so the
// message stays one line), bytes that are not UTF-8 replaced, and at most `longest` bytes of it
// kept, then "...". quoted_excerpt adds double quotes around it.
inline constexpr size_t kLongestQuote = 80;
std::string excerpt(std::string_view text, size_t longest = kLongestQuote);
std::string quoted_excerpt(std::string_view text, size_t longest = kLongestQuote);
// The text with its control characters (newlines included) written as \n, \r, \t or \xNN: a
// message printed as one line stays one line, and cannot move a terminal's cursor.
std::string escape_control_characters(std::string_view text);
// Whether a JSON number is an integer as integer fields read it: a whole number within int64,
// however it is written (16, 16.0 and 1.6e1 are; 16.5 and 1e30 are not), as JSON Schema's
// "integer" is.
bool is_whole_number(const nlohmann::json& value);

// The field as a JSON Schema property: type, bounds, default and description.
nlohmann::json json_schema(const NumberField& field);

// The field's value in `spec` (an object), or its fallback when absent; throws FieldError at
// path + name when the value is of the wrong type or out of range. Integers come back as
// int64 JSON numbers, reals as doubles.
nlohmann::json read_number(const nlohmann::json& spec, const NumberField& field,
                           const FieldPath& path);

// An integer option given in code or by a flag rather than in a spec: throws FieldError at
// `name` ("expected an integer in [2, 64], found 1") unless lo <= value <= hi.
void check_integer(const std::string& name, int64_t value, int64_t lo, int64_t hi);

const std::string& field_name(const Field& field);

// Checks an object spec against its fields: each one read (or defaulted), unknown ones
// rejected as reject_unknown_fields does. Returns the resolved spec.
nlohmann::json resolve_fields(const nlohmann::json& spec, const std::vector<Field>& fields,
                              const FieldPath& path, const std::string& owner);
// The JSON Schema of such a spec: its properties, and no others.
nlohmann::json fields_schema(const std::vector<Field>& fields);

// The deepest nesting of arrays and objects in JSON text (brackets inside strings ignored), and
// the offset of the bracket that first reached it. nlohmann's parser recurses through the
// document, so text must be checked before it is parsed: a million '[' would overflow the stack.
struct JsonDepth {
  int64_t depth = 0;
  size_t offset = 0;
};
JsonDepth json_nesting_depth(const std::string& text);
constexpr int64_t kMaxJsonDepth = 64;  // configs need about 5 levels

// Throws FieldError at the first key of `spec` not in `known`, listing the known names and
// suggesting the closest; `owner` says whose fields they are (`task "spirals"`).
void reject_unknown_fields(const nlohmann::json& spec, const std::vector<std::string>& known,
                           const FieldPath& path, const std::string& owner);

}  // namespace detail
}  // namespace actlab
