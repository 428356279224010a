// The sequence tasks' table (name, description, fields, checks, dataset), the synthetic ones
// (modadd, reverse) and the dispatch that data.cpp calls. The text task is in text_task.cpp.
#include "actlab/train/sequence_tasks.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <limits>

#include "actlab/detail/fields.hpp"
#include "actlab/detail/suggest.hpp"
#include "train/text_task.hpp"

namespace actlab::data {
namespace {

using detail::Field;
using detail::FieldPath;
using detail::NumberField;
using nlohmann::json;

// The streams of a seed that draw each split (as the other synthetic tasks use them).
constexpr uint64_t kTrainStream = 1;
constexpr uint64_t kTestStream = 2;

NumberField count(std::string name, double fallback, double lo, double hi, std::string help) {
  return {.name = std::move(name), .integer = true, .fallback = fallback, .lo = lo, .hi = hi,
          .help = std::move(help)};
}

std::vector<Field> with_splits(std::vector<Field> fields) {
  fields.push_back(count("n_train", 1000, 1, 1e6, "training sequences"));
  fields.push_back(count("n_test", 500, 1, 1e6, "test sequences"));
  fields.push_back(NumberField{.name = "seed", .integer = true, .fallback = 0, .lo = 0,
                               .help = "seeds both splits (drawn independently)"});
  return fields;
}

int64_t whole(const json& p, const char* field) { return p.at(field).get<int64_t>(); }

// The token names 0..n-1 as numbers, then `extra`.
std::vector<std::string> number_tokens(int64_t n, std::vector<std::string> extra) {
  std::vector<std::string> names;
  for (int64_t k = 0; k < n; ++k) names.push_back(std::to_string(k));
  names.insert(names.end(), extra.begin(), extra.end());
  return names;
}

// One split of a synthetic task: `n` sequences of `length` tokens (the last one is only ever a
// label) written by `write(gen, tokens, scored)`, which fills the tokens and marks which
// positions' tokens are scored as labels. Returns x [n, length - 1] and y [n, length - 1].
template <class Write>
Batch draw_sequences(const json& p, uint64_t stream, int64_t n, int64_t length, Write write) {
  Generator gen(p.at("seed").get<uint64_t>(), stream);
  const int64_t T = length - 1;
  Batch split{Tensor::empty({n, T}), Tensor::empty({n, T})};
  float* x = split.x.mutable_data();
  float* y = split.y.mutable_data();
  std::vector<int64_t> tokens(static_cast<size_t>(length));
  std::vector<char> scored(static_cast<size_t>(length));
  for (int64_t i = 0; i < n; ++i) {
    std::fill(scored.begin(), scored.end(), 0);
    write(gen, tokens, scored);
    for (int64_t t = 0; t < T; ++t) {
      x[i * T + t] = static_cast<float>(tokens[static_cast<size_t>(t)]);
      y[i * T + t] = scored[static_cast<size_t>(t + 1)]
                         ? static_cast<float>(tokens[static_cast<size_t>(t + 1)])
                         : kIgnoreLabel;
    }
  }
  return split;
}

template <class Write>
Dataset synthetic_dataset(const json& p, std::vector<std::string> tokens, int64_t length,
                          Write write) {
  return sequence_dataset(draw_sequences(p, kTrainStream, whole(p, "n_train"), length, write),
                          draw_sequences(p, kTestStream, whole(p, "n_test"), length, write),
                          std::move(tokens), p);
}

// ---- modadd --------------------------------------------------------------------------------

// "a + b = c" with c = (a + b) mod p, a and b uniform in [0, p): tokens 0..p-1 are the numbers,
// p is "+" and p + 1 is "="; x = [a, +, b, =] and only c, after "=", is scored.
Dataset make_modadd(const json& spec) {
  const int64_t p = whole(spec, "p");
  const int64_t plus = p, equals = p + 1;
  return synthetic_dataset(spec, number_tokens(p, {"+", "="}), 5,
                           [&](Generator& gen, std::vector<int64_t>& tokens, std::vector<char>& scored) {
                             const auto a = static_cast<int64_t>(gen.below(static_cast<uint64_t>(p)));
                             const auto b = static_cast<int64_t>(gen.below(static_cast<uint64_t>(p)));
                             tokens = {a, plus, b, equals, (a + b) % p};
                             scored[4] = 1;
                           });
}

// ---- reverse -------------------------------------------------------------------------------

// "d1 .. dn = dn .. d1" with digits uniform in [0, digits): tokens 0..digits-1 are the digits
// and `digits` is "="; the reversed half (after "=") is scored, the random first half is not.
Dataset make_reverse(const json& spec) {
  const int64_t n = whole(spec, "length"), digits = whole(spec, "digits");
  return synthetic_dataset(
      spec, number_tokens(digits, {"="}), 2 * n + 1,
      [&](Generator& gen, std::vector<int64_t>& tokens, std::vector<char>& scored) {
        for (int64_t i = 0; i < n; ++i)
          tokens[static_cast<size_t>(i)] =
              static_cast<int64_t>(gen.below(static_cast<uint64_t>(digits)));
        tokens[static_cast<size_t>(n)] = digits;
        for (int64_t i = 0; i < n; ++i) {
          tokens[static_cast<size_t>(n + 1 + i)] = tokens[static_cast<size_t>(n - 1 - i)];
          scored[static_cast<size_t>(n + 1 + i)] = 1;
        }
      });
}

// ---- the table -----------------------------------------------------------------------------

struct SequenceTaskDef {
  std::string name;
  std::string description;
  std::vector<Field> fields;                // after "name"
  json (*complete)(json resolved);          // checks beyond each field's own; null: none
  Dataset (*make)(const json& resolved);
  TaskShape (*shape)(const json& resolved);
};

// The shape of a synthetic task's splits: sequences of `length` tokens over `vocab`.
TaskShape synthetic_shape(const json& p, int64_t length, int64_t vocab) {
  return {whole(p, "n_train"), whole(p, "n_test"), length - 1, length - 1, TaskKind::multiclass,
          vocab, vocab, 0, true};
}

const std::vector<SequenceTaskDef>& table() {
  static const std::vector<SequenceTaskDef> tasks{
      {"modadd",
       "modular addition \"a + b = c\", c = (a + b) mod p, a and b uniform: only the answer c "
       "is scored (vocabulary p + 2: the numbers, \"+\", \"=\")",
       with_splits({count("p", 11, 2, 1000, "the modulus: numbers are 0..p-1")}), nullptr,
       make_modadd, [](const json& p) { return synthetic_shape(p, 5, whole(p, "p") + 2); }},
      {"reverse",
       "\"d1 .. dn = dn .. d1\": n random digits, \"=\", then the digits reversed; only the "
       "reversed half is scored (vocabulary digits + 1)",
       with_splits({count("length", 5, 1, 64, "digits to reverse"),
                    count("digits", 10, 2, 1000, "the alphabet's size")}),
       nullptr, make_reverse,
       [](const json& p) {
         return synthetic_shape(p, 2 * whole(p, "length") + 1, whole(p, "digits") + 1);
       }},
      {"text",
       "a character-level language model over a UTF-8 file: windows of context characters, "
       "each position predicting the next character",
       text_task::fields(), text_task::complete, text_task::make, text_task::shape},
  };
  return tasks;
}

const SequenceTaskDef& task_named(const std::string& name) {
  for (const SequenceTaskDef& task : table())
    if (task.name == name) return task;
  throw Error(fmt::format("sequence task: unknown task \"{}\"", name));
}

std::vector<Field> all_fields(const SequenceTaskDef& task) {
  std::vector<Field> fields{detail::ChoiceField{"name", {task.name}, task.name, task.description}};
  fields.insert(fields.end(), task.fields.begin(), task.fields.end());
  return fields;
}

}  // namespace

bool is_sequence_task(const std::string& name) {
  const auto& tasks = table();
  return std::any_of(tasks.begin(), tasks.end(),
                     [&](const SequenceTaskDef& t) { return t.name == name; });
}

std::vector<std::string> sequence_task_names() {
  std::vector<std::string> names;
  for (const SequenceTaskDef& task : table()) names.push_back(task.name);
  return names;
}

std::string sequence_task_description(const std::string& name) {
  return task_named(name).description;
}

std::vector<std::string> sequence_task_fields(const std::string& name) {
  std::vector<std::string> names;
  for (const Field& field : all_fields(task_named(name))) names.push_back(detail::field_name(field));
  return names;
}

json sequence_task_schema(const std::string& name) {
  const SequenceTaskDef& task = task_named(name);
  json schema = detail::fields_schema(all_fields(task));
  schema["properties"]["name"] = {{"const", task.name}};
  schema["description"] = task.description;
  schema["required"] = {"name"};
  for (const Field& field : task.fields)
    if (const auto* custom = std::get_if<detail::CustomField>(&field);
        custom && custom->fallback.is_null() && !custom->schema.contains("default"))
      schema["required"].push_back(custom->name);
  return schema;
}

json resolve_sequence_task(const json& spec) {
  const SequenceTaskDef& task = task_named(spec.at("name"));
  json resolved = detail::resolve_fields(spec, all_fields(task), {"task"},
                                         fmt::format("task \"{}\"", task.name));
  return task.complete ? task.complete(std::move(resolved)) : resolved;
}

Dataset make_sequence_task(const json& resolved_spec) {
  return task_named(resolved_spec.at("name")).make(resolved_spec);
}

Dataset sequence_dataset(Batch train, Batch test, std::vector<std::string> tokens,
                         const json& resolved_spec) {
  Dataset d;
  d.input_dim = train.x.size(1);
  d.x_train = std::move(train.x);
  d.y_train = std::move(train.y);
  d.x_test = std::move(test.x);
  d.y_test = std::move(test.y);
  d.kind = TaskKind::multiclass;
  d.sequence = true;
  d.num_classes = d.output_dim = static_cast<int64_t>(tokens.size());
  d.class_names = std::move(tokens);
  d.name = resolved_spec.at("name");
  d.spec = resolved_spec;
  return d;
}

TaskShape sequence_task_shape(const json& resolved_spec) {
  return task_named(resolved_spec.at("name")).shape(resolved_spec);
}

}  // namespace actlab::data
