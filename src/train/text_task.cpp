// The text task: a UTF-8 file read as characters (code points), split by position (the last
// test_fraction of its characters is the test part), a vocabulary of the training part's
// characters, n_train training windows at seeded random positions of the training part and
// n_test windows evenly spaced over the test part.
#include "train/text_task.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "actlab/detail/hash.hpp"
#include "actlab/train/sequence_tasks.hpp"

namespace actlab::data {

namespace {

using detail::FieldPath;
using nlohmann::json;

FieldPath at(const char* field) { return {"task", field}; }

// The tokens the windows may hold at most (x and y together take 8 bytes a token).
constexpr int64_t kMaxWindowTokens = int64_t{1} << 26;
// The stream of the seed that places the training windows.
constexpr uint64_t kWindowStream = 1;
// The token a test character outside the training part's vocabulary becomes.
constexpr const char* kUnknown = "<unk>";

std::string read_text_file(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code error;
  if (fs::is_directory(path, error))
    throw FieldError(at("path"), fmt::format("cannot read {}: it is a directory", path));
  const auto size = fs::file_size(path, error);
  if (error) throw FieldError(at("path"), fmt::format("cannot read {}: {}", path, error.message()));
  if (size > static_cast<uintmax_t>(kMaxTextBytes))
    throw FieldError(at("path"), fmt::format("{} holds {} bytes, over the {} MiB a text task reads",
                                             path, size, kMaxTextBytes >> 20));
  std::ifstream in(path, std::ios::binary);
  std::string bytes(static_cast<size_t>(size), '\0');
  if (!in.read(bytes.data(), static_cast<std::streamsize>(size)))
    throw FieldError(at("path"), fmt::format("cannot read {}: {}", path, std::strerror(errno)));
  return bytes;
}

// The file's characters, split into the training and the test part.
struct Parts {
  std::vector<char32_t> train, test;
};

Parts split(const std::string& bytes, const json& r) {
  std::vector<char32_t> text = decode_text(bytes, r["path"]);
  const auto n = static_cast<int64_t>(text.size());
  const int64_t n_test = std::llround(static_cast<double>(n) * r["test_fraction"].get<double>());
  Parts parts;
  parts.train.assign(text.begin(), text.end() - n_test);
  parts.test.assign(text.end() - n_test, text.end());
  return parts;
}

void check_length(const std::vector<char32_t>& part, const char* which, const json& r) {
  const int64_t context = r["context"];
  if (static_cast<int64_t>(part.size()) < context + 1)
    throw FieldError(at("context"),
                     fmt::format("{} characters need {} of text (a window and its next "
                                 "character), and the {} part of {} holds {} (test_fraction "
                                 "{}); use a shorter context or a longer text",
                                 context, context + 1, which, r["path"].get<std::string>(),
                                 part.size(), r["test_fraction"].get<double>()));
}

// Windows of `context` + 1 characters starting at `starts`, as ids: x the first context, y the
// last context.
Batch windows(const std::vector<int64_t>& ids, const std::vector<int64_t>& starts, int64_t context) {
  const auto n = static_cast<int64_t>(starts.size());
  Batch b{Tensor::empty({n, context}), Tensor::empty({n, context})};
  float* x = b.x.mutable_data();
  float* y = b.y.mutable_data();
  for (int64_t i = 0; i < n; ++i)
    for (int64_t t = 0; t < context; ++t) {
      const size_t at = static_cast<size_t>(starts[static_cast<size_t>(i)] + t);
      x[i * context + t] = static_cast<float>(ids[at]);
      y[i * context + t] = static_cast<float>(ids[at + 1]);
    }
  return b;
}

}  // namespace

std::string utf8(char32_t c) {
  std::string out;
  if (c < 0x80) {
    out += static_cast<char>(c);
  } else if (c < 0x800) {
    out += static_cast<char>(0xC0 | (c >> 6));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else if (c < 0x10000) {
    out += static_cast<char>(0xE0 | (c >> 12));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (c >> 18));
    out += static_cast<char>(0x80 | ((c >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  }
  return out;
}

// UTF-8 as RFC 3629 defines it: no overlong forms, no surrogates, nothing above U+10FFFF.
std::vector<char32_t> decode_text(const std::string& bytes, const std::string& path) {
  std::vector<char32_t> out;
  out.reserve(bytes.size());
  const auto bad = [&](size_t offset, const char* what) {
    return FieldError(at("path"),
                      fmt::format("{} is not UTF-8 text: {} at byte offset {} (byte 0x{:02x})",
                                  path, what, offset, static_cast<unsigned char>(bytes[offset])));
  };
  size_t i = 0;
  while (i < bytes.size()) {
    const auto lead = static_cast<unsigned char>(bytes[i]);
    if (lead == 0)
      throw FieldError(at("path"), fmt::format("{} is not text: a NUL byte at byte offset {}",
                                               path, i));
    if (lead < 0x80) {
      out.push_back(lead);
      ++i;
      continue;
    }
    const int extra = lead >= 0xF0 && lead <= 0xF4 ? 3 : lead >= 0xE0 ? 2 : lead >= 0xC2 ? 1 : -1;
    if (extra < 0 || lead > 0xF4) throw bad(i, "an invalid lead byte");
    char32_t c = lead & (0x3F >> extra);
    for (int k = 1; k <= extra; ++k) {
      if (i + static_cast<size_t>(k) >= bytes.size())
        throw bad(i, "a character cut off by the end of the file");
      const auto next = static_cast<unsigned char>(bytes[i + static_cast<size_t>(k)]);
      if ((next & 0xC0) != 0x80) throw bad(i + static_cast<size_t>(k), "a missing continuation byte");
      c = (c << 6) | (next & 0x3F);
    }
    const bool overlong = (extra == 2 && c < 0x800) || (extra == 3 && c < 0x10000);
    if (overlong || (c >= 0xD800 && c <= 0xDFFF) || c > 0x10FFFF)
      throw bad(i, "an overlong form, a surrogate or a code point above U+10FFFF");
    out.push_back(c);
    i += static_cast<size_t>(extra) + 1;
  }
  return out;
}

namespace text_task {

std::vector<detail::Field> fields() {
  using detail::CustomField;
  using detail::NumberField;
  return {
      CustomField{"path", nullptr,
                  {{"type", "string"},
                   {"description", "the UTF-8 text file (relative to the working directory)"}},
                  [](const json& v, const FieldPath& p) {
                    if (v.is_string() && !v.get<std::string>().empty()) return v;
                    throw FieldError(p, fmt::format("expected the path of a text file, found {}",
                                                    v.is_null() ? "nothing"
                                                                : detail::found_text(v)));
                  }},
      NumberField{.name = "context", .integer = true, .fallback = 64, .lo = 1, .hi = 4096,
                  .help = "characters a window holds (the model's sequence length)"},
      NumberField{.name = "test_fraction", .fallback = 0.1, .lo = 0, .hi = 1, .lo_open = true,
                  .hi_open = true,
                  .help = "the share of the file's characters, at its end, held out for testing"},
      NumberField{.name = "n_train", .integer = true, .fallback = 2000, .lo = 1, .hi = 1e6,
                  .help = "training windows, each at a random position of the training part"},
      NumberField{.name = "n_test", .integer = true, .fallback = 200, .lo = 1, .hi = 1e6,
                  .help = "test windows, evenly spaced over the test part"},
      NumberField{.name = "seed", .integer = true, .fallback = 0, .lo = 0,
                  .help = "seeds the training windows' positions"},
      CustomField{"checksum", nullptr,
                  {{"type", {"string", "null"}},
                   {"default", nullptr},
                   {"description", "FNV-1a of the file's bytes, filled in: a run's config.json "
                                   "refuses a file changed since"}},
                  [](const json& v, const FieldPath& p) {
                    if (v.is_null() || v.is_string()) return v;
                    throw FieldError(p, fmt::format("expected a checksum or null, found {}",
                                                    detail::found_text(v)));
                  }},
  };
}

json complete(json r) {
  const std::string path = r["path"];
  const std::string bytes = read_text_file(path);
  const std::string checksum = fmt::format("{:016x}", detail::fnv1a(bytes));
  if (!r["checksum"].is_null() && r["checksum"] != checksum)
    throw FieldError(at("checksum"),
                     fmt::format("{} has changed since this config was resolved: {} is "
                                 "expected, the file now gives {}",
                                 path, r["checksum"].get<std::string>(), checksum));
  r["checksum"] = checksum;
  const Parts parts = split(bytes, r);
  check_length(parts.train, "training", r);
  check_length(parts.test, "test", r);
  const int64_t context = r["context"];
  for (const char* field : {"n_train", "n_test"})
    if (r[field].get<int64_t>() * context > kMaxWindowTokens)
      throw FieldError(at(field), fmt::format("{} windows of {} characters hold more than {} "
                                              "tokens",
                                              r[field].get<int64_t>(), context, kMaxWindowTokens));
  return r;
}

Dataset make(const json& r) {
  const Parts parts = split(read_text_file(r["path"]), r);
  const int64_t context = r["context"];
  // The vocabulary: the training part's characters in code point order; a test character
  // outside it becomes <unk>, a token added only then (the model never sees it in training).
  std::map<char32_t, int64_t> id;
  for (char32_t c : parts.train) id.emplace(c, 0);
  std::vector<std::string> tokens;
  for (auto& [c, k] : id) {
    k = static_cast<int64_t>(tokens.size());
    tokens.push_back(utf8(c));
  }
  const auto ids_of = [&](const std::vector<char32_t>& text) {
    std::vector<int64_t> ids;
    ids.reserve(text.size());
    for (char32_t c : text) {
      const auto it = id.find(c);
      if (it != id.end()) {
        ids.push_back(it->second);
        continue;
      }
      if (tokens.back() != kUnknown) tokens.push_back(kUnknown);
      ids.push_back(static_cast<int64_t>(tokens.size()) - 1);
    }
    return ids;
  };
  const std::vector<int64_t> train_ids = ids_of(parts.train), test_ids = ids_of(parts.test);

  const int64_t n_train = r["n_train"], n_test = r["n_test"];
  Generator gen(r["seed"].get<uint64_t>(), kWindowStream);
  std::vector<int64_t> starts(static_cast<size_t>(n_train));
  const auto train_positions = static_cast<uint64_t>(train_ids.size()) - context;  // >= 1
  for (int64_t& s : starts) s = static_cast<int64_t>(gen.below(train_positions));
  const Batch train = windows(train_ids, starts, context);
  // Evenly spaced from the first position to the last: window i starts at
  // floor(i * last / (n_test - 1)) (one window starts at 0).
  const int64_t last = static_cast<int64_t>(test_ids.size()) - context - 1;
  starts.assign(static_cast<size_t>(n_test), 0);
  for (int64_t i = 1; i < n_test; ++i)
    starts[static_cast<size_t>(i)] = i * last / (n_test - 1);
  const Batch test = windows(test_ids, starts, context);

  return sequence_dataset(train, test, std::move(tokens), r);
}

TaskShape shape(const json& r) {
  const std::string bytes = read_text_file(r["path"]);
  const Parts parts = split(bytes, r);
  const std::set<char32_t> characters(parts.train.begin(), parts.train.end());
  const auto vocab = static_cast<int64_t>(characters.size()) + 1;  // and perhaps <unk>
  const auto n = static_cast<int64_t>(parts.train.size() + parts.test.size());
  const int64_t context = r["context"];
  return {r["n_train"], r["n_test"], context, context, TaskKind::multiclass, vocab, vocab,
          static_cast<int64_t>(bytes.size()) + n * static_cast<int64_t>(sizeof(char32_t) + sizeof(int64_t)),
          true};
}

}  // namespace text_task
}  // namespace actlab::data
