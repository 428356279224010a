// A small XML well-formedness checker for the HTML reports actlab writes (they are XHTML-style
// after the doctype), and a check that a page is self-contained. Shared by the report tests.
#pragma once

#include <catch2/catch.hpp>

#include <algorithm>
#include <cctype>
#include <map>
#include <string>
#include <vector>

namespace html_check {

struct Element {
  std::string name;
  std::map<std::string, std::string> attrs;
  std::string text;  // the element's own text, entities decoded (not its children's)
  int parent;        // index into Parsed::elements, -1 for the root
};

struct Parsed {
  std::string error;  // empty when the page is well-formed
  std::vector<Element> elements;

  // Elements named `name`, with class `cls` when one is given.
  std::vector<int> find(const std::string& name, const std::string& cls = "") const {
    std::vector<int> found;
    for (size_t i = 0; i < elements.size(); ++i) {
      const Element& e = elements[i];
      const auto c = e.attrs.find("class");
      if (e.name == name && (cls.empty() || (c != e.attrs.end() && c->second == cls)))
        found.push_back(static_cast<int>(i));
    }
    return found;
  }
  std::vector<int> children(int parent, const std::string& name) const {
    std::vector<int> found;
    for (size_t i = 0; i < elements.size(); ++i)
      if (elements[i].parent == parent && elements[i].name == name)
        found.push_back(static_cast<int>(i));
    return found;
  }
  std::vector<std::string> texts(const std::string& name, const std::string& cls = "") const {
    std::vector<std::string> out;
    for (int i : find(name, cls)) out.push_back(elements[static_cast<size_t>(i)].text);
    return out;
  }
};

inline bool is_name_char(char ch) {
  return std::isalnum(static_cast<unsigned char>(ch)) || ch == '-' || ch == ':' || ch == '_';
}

// Decodes &amp; &lt; &gt; &quot; &#39; and other numeric entities below 128; false when an '&'
// starts anything else (a bare '&' is not XML).
inline bool decode(const std::string& raw, std::string& out) {
  static const std::map<std::string, char> named = {
      {"amp", '&'}, {"lt", '<'}, {"gt", '>'}, {"quot", '"'}, {"apos", '\''}};
  for (size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] != '&') {
      out += raw[i];
      continue;
    }
    const size_t semi = raw.find(';', i);
    if (semi == std::string::npos || semi - i > 8) return false;
    const std::string entity = raw.substr(i + 1, semi - i - 1);
    if (named.count(entity)) {
      out += named.at(entity);
    } else if (entity.size() > 1 && entity[0] == '#') {
      const bool hex = entity[1] == 'x';
      const std::string digits = entity.substr(hex ? 2 : 1);
      if (digits.empty() || digits.find_first_not_of(hex ? "0123456789abcdefABCDEF"
                                                         : "0123456789") != std::string::npos)
        return false;
      const long code = std::stol(digits, nullptr, hex ? 16 : 10);
      out += code < 128 ? static_cast<char>(code) : '?';
    } else {
      return false;
    }
    i = semi;
  }
  return true;
}

// Parses a page: "<!DOCTYPE html>" and then one root element, every element closed, attributes
// quoted, '<' and '&' only as markup or entities, comments skipped.
inline Parsed parse(const std::string& page) {
  Parsed p;
  size_t i = 0;
  std::vector<int> open;
  bool seen_root = false;
  const auto fail = [&](const std::string& what) {
    p.error = what + " at offset " + std::to_string(i) + ": " + page.substr(i, 60);
    return p;
  };
  const auto skip_space = [&] {
    while (i < page.size() && std::isspace(static_cast<unsigned char>(page[i]))) ++i;
  };
  const auto read_name = [&] {
    const size_t start = i;
    while (i < page.size() && is_name_char(page[i])) ++i;
    return page.substr(start, i - start);
  };
  const std::string doctype = "<!DOCTYPE html>";
  if (page.compare(0, doctype.size(), doctype) != 0) return fail("no <!DOCTYPE html>");
  i = doctype.size();
  while (i < page.size()) {
    if (page.compare(i, 4, "<!--") == 0) {
      const size_t end = page.find("-->", i);
      if (end == std::string::npos) return fail("unclosed comment");
      i = end + 3;
    } else if (page.compare(i, 2, "</") == 0) {
      i += 2;
      const std::string name = read_name();
      skip_space();
      if (i >= page.size() || page[i] != '>') return fail("bad closing tag");
      if (open.empty() || p.elements[static_cast<size_t>(open.back())].name != name)
        return fail("</" + name + "> closes nothing open");
      open.pop_back();
      ++i;
    } else if (page[i] == '<') {
      ++i;
      Element e{read_name(), {}, "", open.empty() ? -1 : open.back()};
      if (e.name.empty()) return fail("a '<' that starts no tag");
      if (open.empty() && seen_root) return fail("a second root element");
      seen_root = true;
      bool closed = false;
      for (;;) {
        const size_t before = i;
        skip_space();
        if (page.compare(i, 2, "/>") == 0) {
          closed = true, i += 2;
          break;
        }
        if (i < page.size() && page[i] == '>') {
          ++i;
          break;
        }
        if (i == before) return fail("attributes must be separated by spaces");
        const std::string name = read_name();
        if (name.empty() || i >= page.size() || page[i] != '=') return fail("bad attribute");
        ++i;
        if (i >= page.size() || (page[i] != '"' && page[i] != '\'')) return fail("unquoted value");
        const size_t end = page.find(page[i], i + 1);
        if (end == std::string::npos) return fail("unterminated value");
        const std::string raw = page.substr(i + 1, end - i - 1);
        std::string value;
        if (raw.find('<') != std::string::npos || !decode(raw, value))
          return fail("'<' or a bad entity in a value");
        if (!e.attrs.emplace(name, value).second) return fail("attribute " + name + " twice");
        i = end + 1;
      }
      p.elements.push_back(std::move(e));
      if (!closed) open.push_back(static_cast<int>(p.elements.size()) - 1);
    } else {
      const size_t end = std::min(page.find('<', i), page.size());
      const std::string raw = page.substr(i, end - i);
      std::string text;
      if (!decode(raw, text)) return fail("a bare '&' in text");
      if (open.empty() && raw.find_first_not_of(" \t\r\n") != std::string::npos)
        return fail("text outside the root element");
      if (!open.empty()) p.elements[static_cast<size_t>(open.back())].text += text;
      i = end;
    }
  }
  if (!open.empty())
    return fail("<" + p.elements[static_cast<size_t>(open.back())].name + "> never closed");
  if (!seen_root) return fail("no root element");
  return p;
}

inline Parsed parse_ok(const std::string& page) {
  Parsed p = parse(page);
  INFO(p.error);
  REQUIRE(p.error.empty());
  return p;
}

inline bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

inline void require_self_contained(const std::string& page) {
  for (const char* banned : {"http://", "https://", "<script", "src=", "url("}) {
    INFO(banned);
    CHECK_FALSE(contains(page, banned));
  }
}

}  // namespace html_check
