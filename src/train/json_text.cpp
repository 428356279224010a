// Reading JSON documents (configs, sweeps) strictly: a size cap checked before reading, one key
// once per object, numbers a double can hold, bounded strings, and errors that say where.
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "actlab/train/config.hpp"

namespace actlab {
namespace {

using detail::FieldPath;
using nlohmann::json;

// "line L, column C" of a byte offset: people look for lines and columns, not offsets.
std::string line_and_column(const std::string& text, size_t offset) {
  int64_t line = 1;
  size_t line_start = 0;
  for (size_t i = 0; i < std::min(offset, text.size()); ++i)
    if (text[i] == '\n') {
      ++line;
      line_start = i + 1;
    }
  return fmt::format("line {}, column {}", line, offset - line_start + 1);
}

// Builds a document from nlohmann's SAX events (json::sax_parse calls these members), knowing
// the JSON path of the value being read, so that a duplicate key or a number that overflows is
// reported where it is. The containers being filled are a stack of pointers: only the top one
// grows, so the pointers below it stay valid.
class DocumentBuilder {
 public:
  DocumentBuilder(json& root, const std::string& source) : root_(root), source_(source) {}

  bool null() { return add(nullptr); }
  bool boolean(bool value) { return add(value); }
  bool number_integer(json::number_integer_t value) { return add(value); }
  bool number_unsigned(json::number_unsigned_t value) { return add(value); }
  bool number_float(json::number_float_t value, const json::string_t&) { return add(value); }
  bool string(json::string_t& value) { return add(std::move(value)); }
  bool binary(json::binary_t& value) { return add(json::binary(std::move(value))); }
  bool start_object(std::size_t) { return open(json::object()); }
  bool start_array(std::size_t) { return open(json::array()); }
  bool end_object() { return close(); }
  bool end_array() { return close(); }

  bool key(json::string_t& name) {
    Open& top = open_.back();
    if (top.node->contains(name)) {
      FieldPath where = path();
      where.back() = name;  // the key read again, not the one before it
      error_ = FieldError(std::move(where),
                          fmt::format("duplicate key {} in {} (an object names each key once)",
                                      detail::quoted_excerpt(name), source_));
      return false;
    }
    top.key = std::move(name);
    return true;
  }

  bool parse_error(std::size_t, const std::string& last_token,
                   const nlohmann::detail::exception& e) {
    constexpr int kNumberOverflow = 406;  // nlohmann's id for a number beyond a double
    if (e.id == kNumberOverflow) {
      error_ = FieldError(path(), fmt::format("the number {} in {} overflows a double",
                                              detail::excerpt(last_token), source_));
    } else {
      syntax_error_ = e.what();
      if (const auto* parse = dynamic_cast<const json::parse_error*>(&e))
        syntax_byte_ = parse->byte;
    }
    return false;
  }

  std::optional<FieldError> error_;  // at a JSON path
  std::string syntax_error_;         // nlohmann's message, at syntax_byte_
  size_t syntax_byte_ = 0;

 private:
  struct Open {
    json* node;
    std::string key;  // an object's key being read
  };

  // Where the value being read goes: the root, the next element, or the current key.
  json& slot() {
    if (open_.empty()) return root_;
    Open& top = open_.back();
    if (top.node->is_array()) return top.node->emplace_back(nullptr);
    return (*top.node)[top.key];
  }
  bool add(json value) {
    slot() = std::move(value);
    return true;
  }
  bool open(json container) {
    json& node = slot();
    node = std::move(container);
    open_.push_back({&node, {}});
    return true;
  }
  bool close() {
    open_.pop_back();
    return true;
  }
  // The path of the value being read: in each open container the key or index of the one
  // open inside it, then, in the innermost, the current key or the next index.
  FieldPath path() const {
    FieldPath path;
    for (const Open& o : open_) {
      const bool innermost = &o == &open_.back();
      path.push_back(!o.node->is_array() ? o.key
                                         : std::to_string(o.node->size() - (innermost ? 0 : 1)));
    }
    return path;
  }

  json& root_;
  const std::string& source_;
  std::vector<Open> open_;
};

void check_strings_below(const json& node, FieldPath& path) {
  const auto refuse = [&](const char* what, size_t bytes) {
    return FieldError(path, fmt::format("expected {} of at most {} bytes, found one of {} bytes",
                                        what, kMaxJsonStringBytes, bytes));
  };
  if (node.is_string() && node.get_ref<const std::string&>().size() > kMaxJsonStringBytes)
    throw refuse("a string", node.get_ref<const std::string&>().size());
  if (node.is_object())
    for (const auto& [key, value] : node.items()) {
      path.push_back(key);
      if (key.size() > kMaxJsonStringBytes) throw refuse("a key", key.size());
      check_strings_below(value, path);
      path.pop_back();
    }
  if (node.is_array())
    for (size_t i = 0; i < node.size(); ++i) {
      path.push_back(std::to_string(i));
      check_strings_below(node[i], path);
      path.pop_back();
    }
}

}  // namespace

void check_string_sizes(const json& doc) {
  FieldPath path;
  check_strings_below(doc, path);
}

json parse_json_text(const std::string& text, const std::string& source) {
  const auto invalid = [&](size_t offset, const std::string& why) {
    return FieldError({}, fmt::format("{}: invalid JSON at {}: {}", source,
                                      line_and_column(text, offset), why));
  };
  const detail::JsonDepth depth = detail::json_nesting_depth(text);
  if (depth.depth > detail::kMaxJsonDepth)
    throw FieldError({}, fmt::format("{}: JSON nested deeper than {} levels at {}", source,
                                     detail::kMaxJsonDepth, line_and_column(text, depth.offset)));
  // nlohmann's lexer takes a NUL for the end of the text, and would ignore what follows it.
  if (const size_t nul = text.find('\0'); nul != std::string::npos)
    throw invalid(nul, "a NUL byte (JSON text holds none; are there bytes after the document?)");
  json doc;
  DocumentBuilder builder(doc, source);
  if (!json::sax_parse(text, &builder)) {
    if (builder.error_) throw *builder.error_;
    const std::string& reason = builder.syntax_error_;
    const size_t detail_at = reason.find("syntax error");
    throw invalid(builder.syntax_byte_ == 0 ? 0 : builder.syntax_byte_ - 1,
                  detail_at == std::string::npos ? reason : reason.substr(detail_at));
  }
  check_string_sizes(doc);
  return doc;
}

json read_json_file(const std::string& path, const std::string& what) {
  const auto refuse = [&](const std::string& why) {
    return FieldError({}, fmt::format("cannot read {} {}: {}", what, path, why));
  };
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw refuse(std::strerror(errno));
  constexpr const char* kTooLarge = "larger than 16 MiB, the most it may hold";
  std::string text, problem;
  struct stat st {};
  if (::fstat(fd, &st) == 0 && S_ISDIR(st.st_mode))
    problem = "it is a directory";
  else if (S_ISREG(st.st_mode) && static_cast<size_t>(st.st_size) > kMaxJsonFileBytes)
    problem = kTooLarge;
  // Read at most one buffer past the cap: a device with no end (/dev/zero) stops there.
  for (char buffer[65536]; problem.empty();) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) problem = std::strerror(errno);
    if (n <= 0) break;
    text.append(buffer, static_cast<size_t>(n));
    if (text.size() > kMaxJsonFileBytes) problem = kTooLarge;
  }
  ::close(fd);
  if (!problem.empty()) throw refuse(problem);
  return parse_json_text(text, path);
}

}  // namespace actlab
