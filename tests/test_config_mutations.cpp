// Thousands of deterministically mutated configs through the config loader: each one either
// loads or fails with a FieldError that has a message, never a crash, hang or huge allocation.
// (tests/fuzz/config_fuzzer.cpp drives the same loader with libFuzzer.)
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include "actlab/actlab.hpp"

using namespace actlab;
using nlohmann::json;

namespace {

std::vector<std::string> seed_corpus() {
  std::vector<std::string> corpus;
  for (const auto& entry : std::filesystem::directory_iterator(ACTLAB_CONFIG_DIR)) {
    if (entry.path().extension() != ".json" || entry.path().filename() == "schema.json") continue;
    std::ifstream in(entry.path());
    corpus.emplace_back(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  std::sort(corpus.begin(), corpus.end());  // directory order is not fixed
  return corpus;
}

// Values of every JSON type, and the numbers that break careless code.
const std::vector<json> kReplacements = {
    nullptr, true, false, 0, -1, -1000000000000LL, 1e308, -1e308, 1e-320, 0.5, 4097, 1e9,
    "", "relu", "\xc3\xa9t\xc3\xa9", json::array(), json::array({1, 2}), json::object(),
    json::object({{"name", "gelu"}}), "NaN", 9223372036854775807LL, 18446744073709551615ULL};

// One text-level mutation: cut, duplicate, or overwrite a span, or inject bytes.
std::string mutate_text(const std::string& text, Generator& gen) {
  const size_t n = text.size();
  const size_t at = static_cast<size_t>(gen.below(n + 1));
  const size_t len = static_cast<size_t>(gen.below(16)) + 1;
  switch (gen.below(5)) {
    case 0: return text.substr(0, at);                                            // truncate
    case 1: return text.substr(0, at) + text.substr(at, len) + text.substr(at);   // duplicate
    case 2: return text.substr(0, at) + text.substr(std::min(n, at + len));       // delete
    case 3: return text.substr(0, at) + "\xff\xfe" + text.substr(at);             // bad UTF-8
    default: return text.substr(0, at) + std::string(1, "{}[]:,\"-e.0"[gen.below(11)]) + text.substr(at);
  }
}

// One structural mutation: replace a random value somewhere in the document.
void mutate_value(json& doc, Generator& gen) {
  json* node = &doc;
  while ((node->is_object() || node->is_array()) && !node->empty() && gen.below(4) != 0) {
    auto it = node->begin();
    std::advance(it, static_cast<long>(gen.below(node->size())));
    node = &*it;
  }
  *node = kReplacements[gen.below(kReplacements.size())];
}

// Loads text as a config; true when it was accepted, false for a proper FieldError.
bool accepted(const std::string& text) {
  try {
    parse_config(parse_json_text(text, "mutant.json"));
    return true;
  } catch (const FieldError& e) {
    CHECK(std::string(e.what()).size() > 0);
    return false;
  }
}

}  // namespace

TEST_CASE("mutated configs load or fail with a FieldError, never crash", "[config][fuzz]") {
  const std::vector<std::string> corpus = seed_corpus();
  REQUIRE(corpus.size() >= 10);
  Generator gen(2024);
  int loaded = 0, rejected = 0;
  for (int i = 0; i < 4000; ++i) {
    const std::string& original = corpus[gen.below(corpus.size())];
    std::string text;
    if (gen.below(2) == 0) {
      text = mutate_text(original, gen);
    } else {
      json doc = json::parse(original);
      for (int k = 0, edits = 1 + static_cast<int>(gen.below(3)); k < edits; ++k) mutate_value(doc, gen);
      text = doc.dump();
    }
    INFO("mutant " << i << ": " << text.substr(0, 300));
    (accepted(text) ? loaded : rejected)++;
  }
  // Both outcomes must occur, or the mutations test nothing. (Configs whose task reads a file,
  // csv's and text's, are refused here whatever the mutation: their paths are relative to the
  // repository's root, and the tests run elsewhere. 46 of 4000 load with today's corpus.)
  CHECK(loaded > 40);
  CHECK(rejected > 1000);
}

TEST_CASE("pathological documents are refused cleanly", "[config][fuzz]") {
  CHECK_FALSE(accepted(std::string(100000, '[') + std::string(100000, ']')));  // deep nesting
  try {
    parse_json_text("{\"a\": " + std::string(65, '[') + std::string(65, ']') + "}", "deep.json");
    FAIL("no error");
  } catch (const FieldError& e) {
    CHECK(std::string(e.what()) == "deep.json: JSON nested deeper than 64 levels at line 1, column 71");
  }
  CHECK_NOTHROW(parse_json_text("\"[[[[[\"", "a string is not nesting"));
  CHECK_FALSE(accepted("{\"task\": \"xor\", \"model\": {\"hidden\": [4096, 4096, 4097]}}"));
  CHECK_FALSE(accepted("{\"task\": {\"name\": \"xor\", \"n_train\": 1e12}}"));
  CHECK_FALSE(accepted("{\"task\": \"xor\", \"train\": {\"batch_size\": -64}}"));
  CHECK_FALSE(accepted("{\"task\": \"xor\", \"optimizer\": {\"lr\": NaN}}"));
  CHECK_FALSE(accepted(""));
  CHECK_FALSE(accepted("\xef\xbb\xbf\xff"));
}
