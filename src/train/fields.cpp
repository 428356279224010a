// Reading a JSON spec's fields against their rules, and the errors that name their paths.
#include "actlab/detail/fields.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "actlab/detail/suggest.hpp"

namespace actlab {

namespace {
std::string render(const std::vector<std::string>& path, const std::string& reason) {
  if (path.empty()) return reason;
  return fmt::format("{}: {}", fmt::join(path, "."), reason);
}

// RFC 6901: '~' becomes "~0" and '/' becomes "~1" inside a pointer's tokens.
std::string pointer_token(const std::string& name) {
  std::string token;
  for (char c : name) {
    if (c == '~') token += "~0";
    else if (c == '/') token += "~1";
    else token += c;
  }
  return token;
}
}  // namespace

FieldError::FieldError(std::vector<std::string> path, std::string reason)
    : Error(render(path, reason)), path_(std::move(path)), reason_(std::move(reason)) {}

std::string FieldError::dotted_path() const { return fmt::format("{}", fmt::join(path_, ".")); }

std::string FieldError::pointer_path() const {
  std::string pointer;
  for (const std::string& name : path_) {
    pointer += '/';
    pointer += detail::excerpt(pointer_token(name));
  }
  return pointer;
}

FieldError FieldError::within(const std::string& parent) const {
  std::vector<std::string> deeper{parent};
  deeper.insert(deeper.end(), path_.begin(), path_.end());
  return FieldError(std::move(deeper), reason_);
}

namespace detail {

FieldPath child(FieldPath path, const std::string& name) {
  path.push_back(name);
  return path;
}

namespace {
// A value of the field's type: integers as int64, so that JSON prints 2 rather than 2.0.
nlohmann::json typed(const NumberField& field, double value) {
  if (field.integer) return static_cast<int64_t>(value);
  return value;
}

// Integer bounds print as integers ("1000000", not "1e+06").
std::string bound_text(const NumberField& field, double bound) {
  if (field.integer) return fmt::format("{}", static_cast<int64_t>(bound));
  return fmt::format("{}", bound);
}
}  // namespace

std::string expected_text(const NumberField& field) {
  const std::string kind = field.integer ? "an integer" : "a number";
  const bool has_lo = std::isfinite(field.lo), has_hi = std::isfinite(field.hi);
  if (has_lo && has_hi)
    return fmt::format("{} in {}{}, {}{}", kind, field.lo_open ? "(" : "[",
                       bound_text(field, field.lo), bound_text(field, field.hi),
                       field.hi_open ? ")" : "]");
  if (has_lo)
    return fmt::format("{} {} {}", kind, field.lo_open ? ">" : ">=", bound_text(field, field.lo));
  if (has_hi)
    return fmt::format("{} {} {}", kind, field.hi_open ? "<" : "<=", bound_text(field, field.hi));
  return kind;
}

nlohmann::json json_schema(const NumberField& field) {
  nlohmann::json schema{{"type", field.integer ? "integer" : "number"},
                        {"default", typed(field, field.fallback)},
                        {"description", field.help}};
  if (std::isfinite(field.lo))
    schema[field.lo_open ? "exclusiveMinimum" : "minimum"] = typed(field, field.lo);
  if (std::isfinite(field.hi))
    schema[field.hi_open ? "exclusiveMaximum" : "maximum"] = typed(field, field.hi);
  return schema;
}

std::string found_text(const nlohmann::json& value) {
  constexpr std::size_t kLongest = 40;
  std::string text = value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  if (text.size() > kLongest) text = text.substr(0, kLongest - 3) + "...";
  return text;
}

std::string excerpt(std::string_view text, size_t longest) {
  const std::string quoted = nlohmann::json(std::string(text.substr(0, longest)))
                                 .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return quoted.substr(1, quoted.size() - 2) + (text.size() > longest ? "..." : "");
}

std::string quoted_excerpt(std::string_view text, size_t longest) {
  return '"' + excerpt(text, longest) + '"';
}

std::string escape_control_characters(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte >= 0x20 && byte != 0x7f) out += c;
    else if (c == '\n') out += "\\n";
    else if (c == '\r') out += "\\r";
    else if (c == '\t') out += "\\t";
    else out += fmt::format("\\x{:02x}", byte);
  }
  return out;
}

namespace {
constexpr double kFloatMax = 3.4028234663852886e38;

// Written so that NaN fails every bound.
bool in_range(const NumberField& field, double x) {
  const bool above = field.lo_open ? x > field.lo : x >= field.lo;
  const bool below = field.hi_open ? x < field.hi : x <= field.hi;
  return above && below;
}

// Why a real field's value, within its range as a double, is not as the float32 the field is
// kept in: it underflows to 0, or rounds out of the range (dropout 0.99999999999 is 1).
std::string float32_problem(const NumberField& field, double x) {
  const auto f = static_cast<float>(x);
  if (x != 0 && f == 0) return "it underflows to 0 in float32, this field's type";
  if (!in_range(field, f)) return fmt::format("it rounds to {} in float32, this field's type", f);
  return "";
}
}  // namespace

bool is_whole_number(const nlohmann::json& value) {
  if (value.is_number_unsigned())
    return value.get<uint64_t>() <= static_cast<uint64_t>(INT64_MAX);
  if (value.is_number_integer()) return true;
  if (!value.is_number_float()) return false;
  const double x = value.get<double>();
  constexpr double kTwoTo63 = 9223372036854775808.0;
  return x == std::floor(x) && x >= -kTwoTo63 && x < kTwoTo63;
}

nlohmann::json read_number(const nlohmann::json& spec, const NumberField& field,
                           const FieldPath& path) {
  const auto it = spec.find(field.name);
  if (it == spec.end()) return typed(field, field.fallback);
  const nlohmann::json& value = *it;
  const auto refuse = [&](const std::string& why) {
    return FieldError(child(path, field.name),
                      fmt::format("expected {}, found {}{}", expected_text(field),
                                  found_text(value), why.empty() ? "" : ": " + why));
  };
  // Real fields are kept as float32, so a value beyond its range is refused too.
  const bool valid = value.is_number() && (!field.integer || is_whole_number(value)) &&
                     in_range(field, value.get<double>()) &&
                     (field.integer || std::abs(value.get<double>()) <= kFloatMax);
  if (!valid) throw refuse("");
  if (!field.integer) {
    const std::string problem = float32_problem(field, value.get<double>());
    if (!problem.empty()) throw refuse(problem);
    return value.get<double>();
  }
  if (value.is_number_integer()) return value.get<int64_t>();
  return static_cast<int64_t>(value.get<double>());
}

void check_integer(const std::string& name, int64_t value, int64_t lo, int64_t hi) {
  const NumberField field{name, true, 0, static_cast<double>(lo), static_cast<double>(hi),
                          false, false, ""};
  read_number(nlohmann::json{{name, value}}, field, {});
}

void reject_unknown_fields(const nlohmann::json& spec, const std::vector<std::string>& known,
                           const FieldPath& path, const std::string& owner) {
  for (const auto& [key, value] : spec.items()) {
    if (std::find(known.begin(), known.end(), key) != known.end()) continue;
    throw FieldError(child(path, key), fmt::format("unknown field {} for {}; {}",
                                                   quoted_excerpt(key), owner,
                                                   known_names_hint(key, known)));
  }
}

JsonDepth json_nesting_depth(const std::string& text) {
  JsonDepth deepest;
  int64_t depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') ++i;  // skip the escaped character
      else if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > deepest.depth) deepest = {depth, i};
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return deepest;
}

const std::string& field_name(const Field& field) {
  return std::visit([](const auto& f) -> const std::string& { return f.name; }, field);
}

namespace {

nlohmann::json read_choice(const nlohmann::json& spec, const ChoiceField& field,
                           const FieldPath& path) {
  const auto it = spec.find(field.name);
  if (it == spec.end()) return field.fallback;
  const auto& known = field.choices;
  if (it->is_string() && std::find(known.begin(), known.end(), it->get<std::string>()) != known.end())
    return *it;
  const std::string near = it->is_string() ? closest_match(it->get<std::string>(), known) : "";
  throw FieldError(child(path, field.name),
                   fmt::format("expected one of {}, found {}{}", fmt::join(known, ", "),
                               found_text(*it),
                               near.empty() ? "" : fmt::format("; did you mean \"{}\"?", near)));
}

nlohmann::json read_bool(const nlohmann::json& spec, const BoolField& field,
                         const FieldPath& path) {
  const auto it = spec.find(field.name);
  if (it == spec.end()) return field.fallback;
  if (!it->is_boolean())
    throw FieldError(child(path, field.name),
                     fmt::format("expected true or false, found {}", found_text(*it)));
  return *it;
}

nlohmann::json read_field(const nlohmann::json& spec, const Field& field, const FieldPath& path) {
  if (const auto* f = std::get_if<NumberField>(&field)) return read_number(spec, *f, path);
  if (const auto* f = std::get_if<ChoiceField>(&field)) return read_choice(spec, *f, path);
  if (const auto* f = std::get_if<BoolField>(&field)) return read_bool(spec, *f, path);
  const auto& custom = std::get<CustomField>(field);
  const auto it = spec.find(custom.name);
  return custom.check(it == spec.end() ? custom.fallback : *it, child(path, custom.name));
}

nlohmann::json field_schema(const Field& field) {
  if (const auto* f = std::get_if<NumberField>(&field)) return json_schema(*f);
  if (const auto* f = std::get_if<ChoiceField>(&field))
    return {{"enum", f->choices}, {"default", f->fallback}, {"description", f->help}};
  if (const auto* f = std::get_if<BoolField>(&field))
    return {{"type", "boolean"}, {"default", f->fallback}, {"description", f->help}};
  return std::get<CustomField>(field).schema;
}

}  // namespace

nlohmann::json resolve_fields(const nlohmann::json& spec, const std::vector<Field>& fields,
                              const FieldPath& path, const std::string& owner) {
  if (!spec.is_object())
    throw FieldError(path, fmt::format("expected an object, found {}", found_text(spec)));
  std::vector<std::string> known;
  for (const Field& field : fields) known.push_back(field_name(field));
  reject_unknown_fields(spec, known, path, owner);
  nlohmann::json resolved = nlohmann::json::object();
  for (const Field& field : fields) resolved[field_name(field)] = read_field(spec, field, path);
  return resolved;
}

nlohmann::json fields_schema(const std::vector<Field>& fields) {
  nlohmann::json properties = nlohmann::json::object();
  for (const Field& field : fields) properties[field_name(field)] = field_schema(field);
  return {{"type", "object"}, {"properties", properties}, {"additionalProperties", false}};
}

}  // namespace detail
}  // namespace actlab
