// The formula parser: recursive descent over the text, building the expression graph as it
// goes. Every error names the problem and shows the formula with a caret under the column.
#include <fmt/format.h>

#include <cctype>
#include <charconv>
#include <cmath>
#include <numbers>

#include "actlab/detail/suggest.hpp"
#include "actlab/core/tensor.hpp"
#include "ops/formula_graph.hpp"

namespace actlab::formula {
namespace {

using enum ExprOp;

struct Function {
  const char* name;
  int arity;
  // Builds the call from its arguments.
  NodeId (*build)(Graph& g, const std::vector<NodeId>& args);
};

template <ExprOp O>
NodeId call(Graph& g, const std::vector<NodeId>& args) {
  return g.make(O, args[0], args.size() > 1 ? args[1] : -1, args.size() > 2 ? args[2] : -1);
}

NodeId silu(Graph& g, const std::vector<NodeId>& args) {
  return g.make(mul, args[0], g.make(sigmoid, args[0]));
}

const std::vector<Function>& functions() {
  static const std::vector<Function> table = {
      {"exp", 1, call<exp>},         {"expm1", 1, call<expm1>},   {"log", 1, call<log>},
      {"log1p", 1, call<log1p>},     {"sqrt", 1, call<sqrt>},     {"abs", 1, call<abs>},
      {"tanh", 1, call<tanh>},       {"sigmoid", 1, call<sigmoid>}, {"softplus", 1, call<softplus>},
      {"erf", 1, call<erf>},         {"erfc", 1, call<erfc>},     {"relu", 1, call<relu>},
      {"gelu", 1, call<gelu>},       {"silu", 1, silu},           {"min", 2, call<min>},
      {"max", 2, call<max>},         {"where", 3, call<where>},
  };
  return table;
}

std::vector<std::string> names_of_functions() {
  std::vector<std::string> names;
  for (const Function& f : functions()) names.emplace_back(f.name);
  return names;
}

class Parser {
 public:
  Parser(const std::string& text, Graph& graph, const NameResolver& resolve,
         const std::vector<std::string>& known)
      : text_(text), graph_(graph), resolve_(resolve), known_(known) {}

  NodeId parse() {
    skip_space();
    if (at_end()) fail(pos_, "the formula is empty");
    const NodeId root = comparison();
    if (!at_end()) {
      if (peek() == ')') fail(pos_, "unmatched \")\"");
      fail(pos_, fmt::format("expected an operator or the end, found {}", token_text()));
    }
    return root;
  }

 private:
  [[noreturn]] void fail(size_t column, const std::string& what) const {
    throw Error(fmt::format("formula \"{}\", column {}: {}\n  {}\n  {}^", text_, column + 1, what,
                            text_, std::string(column, ' ')));
  }

  bool at_end() const { return pos_ >= text_.size(); }
  char peek() const { return at_end() ? '\0' : text_[pos_]; }
  void skip_space() {
    while (!at_end() && std::isspace(static_cast<unsigned char>(text_[pos_]))) ++pos_;
  }
  // Consumes `op` (and the space after it) when the text continues with it.
  bool accept(std::string_view op) {
    if (text_.compare(pos_, op.size(), op) != 0) return false;
    pos_ += op.size();
    skip_space();
    return true;
  }
  std::string token_text() const {
    if (at_end()) return "the end";
    if (std::isalnum(static_cast<unsigned char>(peek())) || peek() == '_') {
      size_t end = pos_;
      while (end < text_.size() && (std::isalnum(static_cast<unsigned char>(text_[end])) || text_[end] == '_')) ++end;
      return fmt::format("\"{}\"", text_.substr(pos_, end - pos_));
    }
    return fmt::format("\"{}\"", peek());
  }

  NodeId comparison() {
    const NodeId left = additive();
    static const std::pair<const char*, ExprOp> kComparisons[] = {
        {"<=", le}, {">=", ge}, {"==", eq}, {"!=", ne}, {"<", lt}, {">", gt}};
    for (const auto& [op, code] : kComparisons)
      if (accept(op)) return graph_.make(code, left, additive());
    return left;
  }

  NodeId additive() {
    NodeId left = term();
    for (;;) {
      if (accept("+")) left = graph_.make(add, left, term());
      else if (accept("-")) left = graph_.make(sub, left, term());
      else return left;
    }
  }

  NodeId term() {
    NodeId left = unary();
    for (;;) {
      if (accept("*")) left = graph_.make(mul, left, unary());
      else if (accept("/")) left = graph_.make(div, left, unary());
      else return left;
    }
  }

  NodeId unary() {
    if (accept("-")) return graph_.make(neg, unary());
    if (accept("+")) return unary();
    return power();
  }

  NodeId power() {
    const NodeId base = primary();
    if (accept("^")) return graph_.pow(base, unary());
    return base;
  }

  NodeId primary() {
    const size_t start = pos_;
    if (accept("(")) {
      const NodeId inner = comparison();
      if (!accept(")")) fail(pos_, fmt::format("expected \")\" to close the \"(\" at column {}, found {}", start + 1, token_text()));
      return inner;
    }
    const char c = peek();
    if (std::isdigit(static_cast<unsigned char>(c)) || c == '.') return number();
    if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') return name();
    fail(pos_, fmt::format("expected a number, a name or \"(\", found {}", token_text()));
  }

  NodeId number() {
    const size_t start = pos_;
    double value = 0;
    const auto [end, error] = std::from_chars(text_.data() + pos_, text_.data() + text_.size(), value);
    if (error != std::errc() || !std::isfinite(value))
      fail(start, fmt::format("expected a finite number, found {}", token_text()));
    pos_ = static_cast<size_t>(end - text_.data());
    skip_space();
    return graph_.constant(value);
  }

  NodeId name() {
    const size_t start = pos_;
    while (!at_end() && (std::isalnum(static_cast<unsigned char>(peek())) || peek() == '_')) ++pos_;
    const std::string word = text_.substr(start, pos_ - start);
    skip_space();
    if (peek() == '(') return function_call(word, start);
    if (word == "pi") return graph_.constant(std::numbers::pi);
    if (word == "e") return graph_.constant(std::numbers::e);
    for (const Function& f : functions())
      if (word == f.name) fail(start, fmt::format("{} is a function: expected \"(\" after it", word));
    if (const std::optional<NodeId> node = resolve_(word)) return *node;
    fail(start, fmt::format("unknown name \"{}\"; {}", word, detail::known_names_hint(word, known_)));
  }

  NodeId function_call(const std::string& word, size_t start) {
    const Function* f = nullptr;
    for (const Function& candidate : functions())
      if (word == candidate.name) f = &candidate;
    if (f == nullptr)
      fail(start, fmt::format("unknown function \"{}\"; {}", word,
                              detail::known_names_hint(word, names_of_functions())));
    accept("(");
    std::vector<NodeId> args;
    if (!accept(")")) {
      do args.push_back(comparison());
      while (accept(","));
      if (!accept(")")) fail(pos_, fmt::format("expected \",\" or \")\" in the call of {}, found {}", word, token_text()));
    }
    if (static_cast<int>(args.size()) != f->arity)
      fail(start, fmt::format("{} takes {} argument{}, found {}", word, f->arity,
                              f->arity == 1 ? "" : "s", args.size()));
    return f->build(graph_, args);
  }

  const std::string& text_;
  Graph& graph_;
  const NameResolver& resolve_;
  const std::vector<std::string>& known_;
  size_t pos_ = 0;
};

}  // namespace

NodeId parse(const std::string& text, Graph& graph, const NameResolver& resolve,
             const std::vector<std::string>& known) {
  return Parser(text, graph, resolve, known).parse();
}

const std::vector<std::pair<std::string, int>>& function_names() {
  static const std::vector<std::pair<std::string, int>> names = [] {
    std::vector<std::pair<std::string, int>> list;
    for (const Function& f : functions()) list.emplace_back(f.name, f.arity);
    return list;
  }();
  return names;
}

}  // namespace actlab::formula
