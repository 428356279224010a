// The csv task: reading a CSV file into cells (RFC 4180 quotes, a detected delimiter), checking
// it with errors that name the file, line and column, the seeded train/test split, the class
// mapping and the standardisation by the training split's statistics.
#include "actlab/train/csv_task.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <numeric>
#include <optional>
#include <set>

#include "actlab/detail/fields.hpp"
#include "actlab/detail/hash.hpp"
#include "actlab/detail/suggest.hpp"

namespace actlab::data {
namespace {

using detail::FieldPath;
using nlohmann::json;

constexpr int64_t kMaxRows = 1'000'000;
constexpr int64_t kMaxFeatures = 4096;
constexpr int64_t kMaxClasses = 1024;
constexpr uint64_t kSplitStream = 3;  // the seed's stream that shuffles rows into the splits
const std::vector<std::string> kDelimiters = {",", ";", "\t", "|"};

FieldPath at(const std::string& field) { return {"task", field}; }

// ---- the fields ------------------------------------------------------------------------------

json optional_string(const json& value, const FieldPath& path, const char* what) {
  if (value.is_null() || (value.is_string() && !value.get<std::string>().empty())) return value;
  throw FieldError(path, fmt::format("expected {} or null, found {}", what,
                                     detail::found_text(value)));
}

json required_string(const json& value, const FieldPath& path, const char* what) {
  if (value.is_string() && !value.get<std::string>().empty()) return value;
  throw FieldError(path, fmt::format("expected {}, found {}", what,
                                     value.is_null() ? "nothing" : detail::found_text(value)));
}

json optional_names(const json& value, const FieldPath& path, const char* what) {
  if (value.is_null()) return value;
  if (!value.is_array() || value.empty())
    throw FieldError(path, fmt::format("expected a non-empty list of {} or null, found {}", what,
                                       detail::found_text(value)));
  std::set<std::string> seen;
  for (size_t i = 0; i < value.size(); ++i) {
    const json& name = value[i];
    if (!name.is_string() || name.get<std::string>().empty())
      throw FieldError(detail::child(path, std::to_string(i)),
                       fmt::format("expected a non-empty string, found {}",
                                   detail::found_text(name)));
    if (!seen.insert(name.get<std::string>()).second)
      throw FieldError(detail::child(path, std::to_string(i)),
                       fmt::format("\"{}\" is listed twice", name.get<std::string>()));
  }
  return value;
}

const std::vector<detail::Field>& fields() {
  using detail::BoolField;
  using detail::ChoiceField;
  using detail::CustomField;
  using detail::NumberField;
  static const std::vector<detail::Field> table{
      ChoiceField{"name", {"csv"}, "csv", "a CSV file of your own"},
      CustomField{"path", nullptr,
                  {{"type", "string"},
                   {"description", "the CSV file (relative to the working directory): a header "
                                   "row, then one example a row"}},
                  [](const json& v, const FieldPath& p) {
                    return required_string(v, p, "the path of a CSV file");
                  }},
      CustomField{"target", nullptr,
                  {{"type", "string"}, {"description", "the column to predict"}},
                  [](const json& v, const FieldPath& p) {
                    return required_string(v, p, "the name of the target column");
                  }},
      CustomField{"features", nullptr,
                  {{"type", {"array", "null"}},
                   {"items", {{"type", "string"}}},
                   {"default", nullptr},
                   {"description", "the input columns; null: every column but the target"}},
                  [](const json& v, const FieldPath& p) {
                    return optional_names(v, p, "column names");
                  }},
      ChoiceField{"kind", {"auto", "binary", "multiclass", "regression"}, "auto",
                  "auto: regression when every target is a number and some is not a whole "
                  "number, else classification (binary for 2 classes)"},
      CustomField{"test_fraction", nullptr,
                  {{"type", {"number", "null"}},
                   {"exclusiveMinimum", 0},
                   {"exclusiveMaximum", 1},
                   {"default", nullptr},
                   {"description", "the share of rows held out for testing; null: 0.2, or none "
                                   "with test_path"}},
                  [](const json& v, const FieldPath& p) {
                    if (v.is_null() || (v.is_number() && v.get<double>() > 0 && v.get<double>() < 1))
                      return v;
                    throw FieldError(p, fmt::format("expected a number in (0, 1) or null, found {}",
                                                    detail::found_text(v)));
                  }},
      CustomField{"test_path", nullptr,
                  {{"type", {"string", "null"}},
                   {"default", nullptr},
                   {"description", "a CSV file with the same columns to test on, instead of "
                                   "holding out test_fraction"}},
                  [](const json& v, const FieldPath& p) {
                    return optional_string(v, p, "the path of a CSV file");
                  }},
      BoolField{"standardize", true,
                "scale each feature to mean 0 and std 1 with the training split's statistics"},
      ChoiceField{"delimiter", {"auto", ",", ";", "\t", "|"}, "auto",
                  "auto: the one of , ; tab | found most often in the header row"},
      NumberField{.name = "seed", .integer = true, .fallback = 0, .lo = 0,
                  .help = "seeds the shuffle that splits rows into training and test"},
      CustomField{"classes", nullptr,
                  {{"type", {"array", "null"}},
                   {"items", {{"type", "string"}}},
                   {"default", nullptr},
                   {"description", "the class labels in label order (label k is classes[k]); "
                                   "null: sorted (numerically when all are numbers), and "
                                   "recorded in the run's config.json"}},
                  [](const json& v, const FieldPath& p) {
                    return optional_names(v, p, "class labels");
                  }},
      CustomField{"checksum", nullptr,
                  {{"type", {"string", "null"}},
                   {"default", nullptr},
                   {"description", "FNV-1a of the data files' bytes, filled in: a run's "
                                   "config.json refuses a file changed since"}},
                  [](const json& v, const FieldPath& p) {
                    return optional_string(v, p, "a checksum");
                  }},
  };
  return table;
}

// ---- reading a file into cells ---------------------------------------------------------------

struct Row {
  int64_t line;                     // 1-based line of the file
  std::vector<std::string> cells;
};

struct Table {
  std::string path;
  std::vector<std::string> header;
  std::vector<Row> rows;
};

std::string read_bytes(const std::string& path, const FieldPath& where) {
  namespace fs = std::filesystem;
  std::error_code error;
  if (fs::is_directory(path, error))
    throw FieldError(where, fmt::format("cannot read {}: it is a directory", path));
  const auto size = fs::file_size(path, error);
  if (error)
    throw FieldError(where, fmt::format("cannot read {}: {}", path, error.message()));
  if (size > static_cast<uintmax_t>(kMaxCsvBytes))
    throw FieldError(where, fmt::format("{} holds {} bytes, over the {} MiB a csv task reads",
                                        path, size, kMaxCsvBytes >> 20));
  std::ifstream in(path, std::ios::binary);
  std::string bytes(static_cast<size_t>(size), '\0');
  if (!in.read(bytes.data(), static_cast<std::streamsize>(size)))
    throw FieldError(where, fmt::format("cannot read {}: {}", path, std::strerror(errno)));
  return bytes;
}

std::string trim(std::string_view s) {
  const auto first = s.find_first_not_of(" \t");
  if (first == std::string_view::npos) return {};
  return std::string(s.substr(first, s.find_last_not_of(" \t") - first + 1));
}

// The cells of one line: fields split at `delimiter`, unquoted ones trimmed, quoted ones
// ("a, b", with "" for a quote) taken as written.
std::vector<std::string> split_line(std::string_view line, char delimiter, const std::string& path,
                                    int64_t line_number, const FieldPath& where) {
  std::vector<std::string> cells;
  size_t i = 0;
  for (;;) {
    while (i < line.size() && line[i] == ' ' && delimiter != ' ') ++i;
    std::string cell;
    if (i < line.size() && line[i] == '"') {
      const size_t open = i++;
      for (;;) {
        if (i >= line.size())
          throw FieldError(where, fmt::format("{} line {}, column {}: a quote opened at "
                                              "character {} is never closed",
                                              path, line_number, cells.size() + 1, open + 1));
        if (line[i] == '"' && i + 1 < line.size() && line[i + 1] == '"') {
          cell += '"';
          i += 2;
        } else if (line[i] == '"') {
          ++i;
          break;
        } else {
          cell += line[i++];
        }
      }
      while (i < line.size() && line[i] == ' ') ++i;
      if (i < line.size() && line[i] != delimiter)
        throw FieldError(where, fmt::format("{} line {}, column {}: text after a closing quote",
                                            path, line_number, cells.size() + 1));
    } else {
      const size_t end = std::min(line.find(delimiter, i), line.size());
      cell = trim(line.substr(i, end - i));
      i = end;
    }
    cells.push_back(std::move(cell));
    if (i >= line.size()) return cells;
    ++i;  // the delimiter
  }
}

// The delimiter that occurs most often in the header line (outside quotes); ',' on a tie or
// when none does (a single column).
char detect_delimiter(std::string_view header) {
  char best = ',';
  int64_t most = 0;
  for (const std::string& d : kDelimiters) {
    int64_t count = 0;
    bool quoted = false;
    for (char c : header) {
      if (c == '"') quoted = !quoted;
      else if (!quoted && c == d[0]) ++count;
    }
    if (count > most) most = count, best = d[0];
  }
  return best;
}

Table parse_table(const std::string& path, const std::string& bytes, char delimiter,
                  const FieldPath& where) {
  Table table{path, {}, {}};
  size_t pos = 0;
  int64_t line_number = 0;
  bool header_seen = false;
  while (pos < bytes.size()) {
    const size_t end = std::min(bytes.find('\n', pos), bytes.size());
    std::string_view line(bytes.data() + pos, end - pos);
    pos = end + 1;
    ++line_number;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (trim(line).empty()) continue;  // blank lines, such as a last one, hold no row
    std::vector<std::string> cells = split_line(line, delimiter, path, line_number, where);
    if (!header_seen) {
      header_seen = true;
      table.header = std::move(cells);
      continue;
    }
    if (cells.size() != table.header.size())
      throw FieldError(where, fmt::format("{} line {}, column {}: the row has {} fields where the "
                                          "header has {}",
                                          path, line_number,
                                          std::min(cells.size(), table.header.size()) + 1,
                                          cells.size(), table.header.size()));
    if (static_cast<int64_t>(table.rows.size()) == kMaxRows)
      throw FieldError(where, fmt::format("{} holds more than {} rows", path, kMaxRows));
    table.rows.push_back({line_number, std::move(cells)});
  }
  if (!header_seen)
    throw FieldError(where, fmt::format("{} is empty; expected a header row, then one example "
                                        "a row",
                                        path));
  for (size_t c = 0; c < table.header.size(); ++c) {
    if (table.header[c].empty())
      throw FieldError(where, fmt::format("{} line 1, column {}: the column has no name", path,
                                          c + 1));
    for (size_t d = 0; d < c; ++d)
      if (table.header[d] == table.header[c])
        throw FieldError(where, fmt::format("{} line 1, column {}: the name \"{}\" is already "
                                            "column {}'s",
                                            path, c + 1, table.header[c], d + 1));
  }
  if (table.rows.empty())
    throw FieldError(where, fmt::format("{} holds a header row but no examples", path));
  return table;
}

// ---- from cells to numbers -------------------------------------------------------------------

enum class Number { ok, not_a_number, not_finite };

Number parse_number(const std::string& text, float& value) {
  const char* first = text.data();
  const char* last = first + text.size();
  if (first != last && *first == '+') ++first;  // from_chars takes no '+'
  const auto [end, error] = std::from_chars(first, last, value);
  if (first == last || end != last || error == std::errc::invalid_argument)
    return Number::not_a_number;
  if (error == std::errc::result_out_of_range || !std::isfinite(value)) return Number::not_finite;
  return Number::ok;
}

std::string cell_place(const Table& t, const Row& row, size_t column) {
  return fmt::format("{} line {}, column {} (\"{}\")", t.path, row.line, column + 1,
                     t.header[column]);
}

size_t column_of(const Table& t, const std::string& name, const FieldPath& where) {
  const auto it = std::find(t.header.begin(), t.header.end(), name);
  if (it == t.header.end())
    throw FieldError(where, fmt::format("{} has no column \"{}\" (line 1); {}", t.path, name,
                                        detail::known_names_hint(name, t.header)));
  return static_cast<size_t>(it - t.header.begin());
}

// The features of every row, [rows, features] row-major.
std::vector<float> feature_values(const Table& t, const std::vector<std::string>& features) {
  std::vector<size_t> columns;
  for (size_t f = 0; f < features.size(); ++f)
    columns.push_back(column_of(t, features[f], detail::child(at("features"), std::to_string(f))));
  std::vector<float> values;
  values.reserve(t.rows.size() * features.size());
  for (const Row& row : t.rows)
    for (size_t column : columns) {
      const std::string& text = row.cells[column];
      float v = 0.f;
      switch (parse_number(text, v)) {
        case Number::ok: break;
        case Number::not_a_number:
          throw FieldError(at("path"), fmt::format("{}: expected a number, found \"{}\"",
                                                   cell_place(t, row, column), text));
        case Number::not_finite:
          throw FieldError(at("path"), fmt::format("{}: expected a finite number, found \"{}\"",
                                                   cell_place(t, row, column), text));
      }
      values.push_back(v);
    }
  return values;
}

bool whole_number(float v) { return std::floor(v) == v; }

// The class labels found in the target columns, sorted: numerically when every one is a
// number, else as text.
std::vector<std::string> sorted_classes(const std::vector<std::pair<const Table*, size_t>>& columns) {
  std::set<std::string> distinct;
  for (const auto& [table, column] : columns)
    for (const Row& row : table->rows) distinct.insert(row.cells[column]);
  std::vector<std::string> classes(distinct.begin(), distinct.end());
  const auto number = [](const std::string& text) {
    float v = 0.f;
    return parse_number(text, v) == Number::ok ? std::optional<float>(v) : std::nullopt;
  };
  if (std::all_of(classes.begin(), classes.end(), [&](const std::string& c) { return number(c); }))
    std::stable_sort(classes.begin(), classes.end(), [&](const std::string& a, const std::string& b) {
      return *number(a) < *number(b);
    });
  return classes;
}

// What the target column asks for under kind "auto": regression when every value is a finite
// number and some is not whole, else classification.
bool looks_like_regression(const Table& t, size_t column) {
  bool fractional = false;
  for (const Row& row : t.rows) {
    float v = 0.f;
    if (parse_number(row.cells[column], v) != Number::ok) return false;
    fractional = fractional || !whole_number(v);
  }
  return fractional;
}

// The targets of a table: class indices by `classes`, or numbers for regression.
std::vector<float> target_values(const Table& t, size_t column, const std::vector<std::string>& classes,
                                 bool regression) {
  std::map<std::string, float> index;
  for (size_t k = 0; k < classes.size(); ++k) index[classes[k]] = static_cast<float>(k);
  std::vector<float> values;
  for (const Row& row : t.rows) {
    const std::string& text = row.cells[column];
    if (text.empty())
      throw FieldError(at("target"), fmt::format("{}: the target is empty",
                                                 cell_place(t, row, column)));
    float v = 0.f;
    if (regression) {
      const Number n = parse_number(text, v);
      if (n != Number::ok)
        throw FieldError(at("target"),
                         fmt::format("{}: expected a {}number (task.kind is regression), found "
                                     "\"{}\"",
                                     cell_place(t, row, column),
                                     n == Number::not_finite ? "finite " : "", text));
    } else {
      const auto it = index.find(text);
      if (it == index.end())
        throw FieldError(at("classes"),
                         fmt::format("{}: the label \"{}\" is not one of the classes [{}]",
                                     cell_place(t, row, column), text, fmt::join(classes, ", ")));
      v = it->second;
    }
    values.push_back(v);
  }
  return values;
}

// ---- the task ------------------------------------------------------------------------------

// A spec's files read and checked, with everything resolve and make need.
struct Loaded {
  json resolved;
  TaskKind kind = TaskKind::binary;
  std::vector<std::string> features, classes;
  std::vector<float> x_train, y_train, x_test, y_test;  // x: [rows, features]
};

std::string hex(uint64_t h) { return fmt::format("{:016x}", h); }

// Which rows of a table of n are held out for testing: a seeded shuffle's first
// round(n * fraction) (at least 1, at most n - 1), in file order.
std::vector<char> held_out_rows(int64_t n, double fraction, uint64_t seed) {
  if (n < 2)
    throw FieldError(at("path"), "a file split into training and test needs at least 2 rows; "
                                 "give test_path, or more rows");
  const int64_t n_test =
      std::clamp<int64_t>(std::llround(static_cast<double>(n) * fraction), 1, n - 1);
  std::vector<int64_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), int64_t{0});
  Generator gen(seed, kSplitStream);
  for (int64_t i = n - 1; i > 0; --i)  // Fisher-Yates
    std::swap(order[static_cast<size_t>(i)], order[gen.below(static_cast<uint64_t>(i + 1))]);
  std::vector<char> test(static_cast<size_t>(n), 0);
  for (int64_t i = 0; i < n_test; ++i) test[static_cast<size_t>(order[static_cast<size_t>(i)])] = 1;
  return test;
}

// Rows of a [n, width] block whose flag equals `pick`, in order.
std::vector<float> rows_where(const std::vector<float>& values, int64_t width,
                              const std::vector<char>& flags, char pick) {
  std::vector<float> out;
  for (size_t r = 0; r < flags.size(); ++r)
    if (flags[r] == pick)
      out.insert(out.end(), values.begin() + static_cast<int64_t>(r) * width,
                 values.begin() + static_cast<int64_t>(r + 1) * width);
  return out;
}

void check_classes(const Loaded& d, const std::string& path) {
  if (d.kind == TaskKind::regression) return;
  const FieldPath where = at("target");
  if (d.classes.size() < 2)
    throw FieldError(where, fmt::format("{}: the column \"{}\" holds a single class (\"{}\"); a "
                                        "classifier needs at least 2",
                                        path, d.resolved["target"].get<std::string>(),
                                        d.classes.empty() ? "" : d.classes.front()));
  if (static_cast<int64_t>(d.classes.size()) > kMaxClasses)
    throw FieldError(where, fmt::format("{}: the column \"{}\" holds {} classes, more than {}; "
                                        "for numbers to predict, set task.kind to \"regression\"",
                                        path, d.resolved["target"].get<std::string>(),
                                        d.classes.size(), kMaxClasses));
  if (d.kind == TaskKind::binary && d.classes.size() != 2)
    throw FieldError(at("kind"), fmt::format("binary needs 2 classes; the column \"{}\" holds {}",
                                             d.resolved["target"].get<std::string>(),
                                             d.classes.size()));
  std::set<float> in_training(d.y_train.begin(), d.y_train.end());
  if (in_training.size() < 2)
    throw FieldError(where, fmt::format("{}: the training split holds a single class; use more "
                                        "rows, another task.seed or a test_path",
                                        path));
}

// The spec `r` (its fields checked) applied to the bytes of its file and test file.
Loaded load(json r, const std::string& bytes, const std::string& test_bytes) {
  Loaded d;
  const std::string path = r["path"];
  const std::string first_line = bytes.substr(0, bytes.find('\n'));
  const char delimiter = r["delimiter"] == "auto" ? detect_delimiter(first_line)
                                                  : r["delimiter"].get<std::string>()[0];
  r["delimiter"] = std::string(1, delimiter);
  const Table train = parse_table(path, bytes, delimiter, at("path"));
  const bool test_file = !r["test_path"].is_null();
  const Table test = test_file ? parse_table(r["test_path"], test_bytes, delimiter, at("test_path"))
                               : Table{};

  const std::string target = r["target"];
  const size_t target_column = column_of(train, target, at("target"));
  if (r["features"].is_null()) {
    json all = json::array();
    for (const std::string& name : train.header)
      if (name != target) all.push_back(name);
    if (all.empty())
      throw FieldError(at("path"), fmt::format("{} holds only the target column \"{}\"; "
                                               "expected feature columns too",
                                               path, target));
    r["features"] = all;
  }
  d.features = r["features"].get<std::vector<std::string>>();
  for (size_t f = 0; f < d.features.size(); ++f)
    if (d.features[f] == target)
      throw FieldError(detail::child(at("features"), std::to_string(f)),
                       fmt::format("\"{}\" is the target column; it cannot be a feature too",
                                   target));
  if (static_cast<int64_t>(d.features.size()) > kMaxFeatures)
    throw FieldError(at("features"), fmt::format("{} features, more than {}", d.features.size(),
                                                 kMaxFeatures));

  const std::string kind = r["kind"];
  if (kind == "regression" && !r["classes"].is_null())
    throw FieldError(at("classes"), "classes are for classification, and task.kind is regression");
  const bool regression = kind == "regression" ||
                          (kind == "auto" && r["classes"].is_null() &&
                           looks_like_regression(train, target_column));
  std::vector<std::pair<const Table*, size_t>> target_columns{{&train, target_column}};
  if (test_file) target_columns.emplace_back(&test, column_of(test, target, at("target")));
  if (!regression)
    d.classes = r["classes"].is_null() ? sorted_classes(target_columns)
                                       : r["classes"].get<std::vector<std::string>>();
  d.kind = regression ? TaskKind::regression
           : kind == "binary" || (kind == "auto" && d.classes.size() == 2) ? TaskKind::binary
                                                                            : TaskKind::multiclass;
  r["kind"] = to_string(d.kind);
  r["classes"] = regression ? json(nullptr) : json(d.classes);

  const std::vector<float> x = feature_values(train, d.features);
  const std::vector<float> y = target_values(train, target_column, d.classes, regression);
  if (test_file) {
    d.x_train = x;
    d.y_train = y;
    d.x_test = feature_values(test, d.features);
    d.y_test = target_values(test, target_columns.back().second, d.classes, regression);
  } else {
    const double fraction = r["test_fraction"].is_null() ? 0.2 : r["test_fraction"].get<double>();
    r["test_fraction"] = fraction;
    const std::vector<char> held_out = held_out_rows(static_cast<int64_t>(train.rows.size()),
                                                     fraction, r["seed"].get<uint64_t>());
    const auto width = static_cast<int64_t>(d.features.size());
    d.x_train = rows_where(x, width, held_out, 0);
    d.y_train = rows_where(y, 1, held_out, 0);
    d.x_test = rows_where(x, width, held_out, 1);
    d.y_test = rows_where(y, 1, held_out, 1);
  }
  d.resolved = std::move(r);
  check_classes(d, path);
  return d;
}

// Loading a file again for every cell of a sweep and every trainer would parse a large file
// thousands of times: the last few loads are kept, keyed by the spec and the checksum of the
// bytes, which are read again every time, so a changed file is never served from here.
std::shared_ptr<const Loaded> load_cached(const json& spec) {
  json r = detail::resolve_fields(spec, fields(), {"task"}, "task \"csv\"");
  if (!r["test_path"].is_null() && !r["test_fraction"].is_null())
    throw FieldError(at("test_fraction"), "give test_fraction or test_path, not both");
  const std::string bytes = read_bytes(r["path"], at("path"));
  const std::string test_bytes =
      r["test_path"].is_null() ? "" : read_bytes(r["test_path"], at("test_path"));
  const std::string checksum = hex(detail::fnv1a(bytes + test_bytes));
  if (!r["checksum"].is_null() && r["checksum"] != checksum)
    throw FieldError(at("checksum"),
                     fmt::format("the data has changed since this config was resolved: {} is "
                                 "expected, the data now gives {}",
                                 r["checksum"].get<std::string>(), checksum));
  r["checksum"] = checksum;

  static std::mutex lock;
  static std::vector<std::pair<std::string, std::shared_ptr<const Loaded>>> recent;
  constexpr size_t kKept = 8;
  const std::string key = r.dump();
  {
    std::lock_guard<std::mutex> guard(lock);
    for (const auto& [k, loaded] : recent)
      if (k == key) return loaded;
  }
  auto loaded = std::make_shared<const Loaded>(load(std::move(r), bytes, test_bytes));
  std::lock_guard<std::mutex> guard(lock);
  if (recent.size() == kKept) recent.erase(recent.begin());
  recent.emplace_back(key, loaded);
  return loaded;
}

Tensor matrix(const std::vector<float>& values, int64_t width) {
  return Tensor::from_vector(values, {static_cast<int64_t>(values.size()) / width, width});
}

// Feature means and population stds over the training rows (in double), a constant column's
// scale 1, as sklearn's StandardScaler.
void standardise(Dataset& d) {
  const int64_t n = d.x_train.size(0), width = d.input_dim;
  std::vector<double> sum(static_cast<size_t>(width), 0.0), sum_sq(static_cast<size_t>(width), 0.0);
  const float* x = d.x_train.data();
  for (int64_t r = 0; r < n; ++r)
    for (int64_t c = 0; c < width; ++c) sum[static_cast<size_t>(c)] += x[r * width + c];
  for (int64_t c = 0; c < width; ++c) {
    const double mean = sum[static_cast<size_t>(c)] / static_cast<double>(n);
    for (int64_t r = 0; r < n; ++r) {
      const double dev = x[r * width + c] - mean;
      sum_sq[static_cast<size_t>(c)] += dev * dev;
    }
    const double std = std::sqrt(sum_sq[static_cast<size_t>(c)] / static_cast<double>(n));
    d.input_mean.push_back(static_cast<float>(mean));
    d.input_scale.push_back(std > 0 ? static_cast<float>(std) : 1.f);
  }
  for (Tensor* split : {&d.x_train, &d.x_test}) {
    Tensor scaled = split->clone();
    float* v = scaled.mutable_data();
    for (int64_t i = 0; i < scaled.numel(); ++i) {
      const auto c = static_cast<size_t>(i % width);
      v[i] = (v[i] - d.input_mean[c]) / d.input_scale[c];
    }
    *split = scaled;
  }
}

}  // namespace

json resolve_csv_task(const json& spec) { return load_cached(spec)->resolved; }

Dataset read_csv_task(const json& resolved_spec) {
  const std::shared_ptr<const Loaded> d = load_cached(resolved_spec);
  Dataset data;
  const auto width = static_cast<int64_t>(d->features.size());
  data.x_train = matrix(d->x_train, width);
  data.x_test = matrix(d->x_test, width);
  const auto labels = [&](const std::vector<float>& y) {
    const auto n = static_cast<int64_t>(y.size());
    return Tensor::from_vector(y, d->kind == TaskKind::multiclass ? Shape{n} : Shape{n, 1});
  };
  data.y_train = labels(d->y_train);
  data.y_test = labels(d->y_test);
  data.kind = d->kind;
  data.num_classes = static_cast<int64_t>(d->classes.size());
  data.input_dim = width;
  data.output_dim = d->kind == TaskKind::multiclass ? data.num_classes : 1;
  data.name = "csv";
  data.spec = d->resolved;
  data.feature_names = d->features;
  data.class_names = d->classes;
  return data;
}

Dataset make_csv_task(const json& resolved_spec) {
  Dataset data = read_csv_task(resolved_spec);
  if (data.spec["standardize"].get<bool>()) standardise(data);
  return data;
}

TaskShape csv_task_shape(const json& resolved_spec) {
  namespace fs = std::filesystem;
  const auto bytes_of = [](const json& path) -> int64_t {
    std::error_code error;
    const auto size = path.is_string() ? fs::file_size(path.get<std::string>(), error) : 0;
    return error ? kMaxCsvBytes : static_cast<int64_t>(size);
  };
  const int64_t fields = static_cast<int64_t>(resolved_spec.at("features").size()) + 1;
  const auto rows_in = [&](int64_t bytes) { return bytes / (2 * fields) + 1; };
  const int64_t train_bytes = bytes_of(resolved_spec.at("path"));
  const int64_t test_bytes = bytes_of(resolved_spec.at("test_path"));
  const int64_t rows = rows_in(train_bytes);
  const bool test_file = !resolved_spec.at("test_path").is_null();
  const double fraction =
      test_file ? 0.0 : resolved_spec.value("test_fraction", json(0.2)).get<double>();
  TaskShape shape;
  shape.n_train = rows;
  shape.n_test = test_file ? rows_in(test_bytes)
                           : static_cast<int64_t>(std::ceil(static_cast<double>(rows) * fraction)) + 1;
  shape.input_dim = fields - 1;
  shape.label_width = 1;
  const std::string kind = resolved_spec.at("kind");
  shape.kind = kind == "binary" ? TaskKind::binary
               : kind == "multiclass" ? TaskKind::multiclass
                                      : TaskKind::regression;
  shape.num_classes =
      shape.kind == TaskKind::regression ? 0 : static_cast<int64_t>(resolved_spec.at("classes").size());
  shape.output_dim = shape.kind == TaskKind::multiclass ? shape.num_classes : 1;
  // The bytes, read again to check them, and the parsed values kept for later runs, with the
  // inputs before they are standardised.
  shape.other_bytes = train_bytes + test_bytes +
                      2 * (shape.n_train + shape.n_test) * fields * static_cast<int64_t>(sizeof(float));
  return shape;
}

std::string csv_task_description() {
  return "a CSV file of your own: a header row, numeric features, a target column of class "
         "labels (strings or integers) or numbers";
}

std::vector<std::string> csv_task_fields() {
  std::vector<std::string> names;
  for (const detail::Field& field : fields()) names.push_back(detail::field_name(field));
  return names;
}

json csv_task_schema() {
  json schema = detail::fields_schema(fields());
  schema["properties"]["name"] = {{"const", "csv"}};
  schema["description"] = csv_task_description();
  schema["required"] = {"name", "path", "target"};
  return schema;
}

}  // namespace actlab::data
