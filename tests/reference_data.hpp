// Reads the PyTorch reference data under tests/reference/ (written by make_reference.py, whose
// docstring describes the format) and compares actlab's numbers with it.
#pragma once

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <cmath>
#include <fstream>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

namespace reference {

inline nlohmann::json load(const std::string& file) {
  const std::string path = std::string(ACTLAB_REFERENCE_DIR) + "/" + file;
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot open reference data " + path);
  return nlohmann::json::parse(in);
}

// A number as the script writes it: a JSON number, or "inf", "-inf" or "nan" (JSON has none).
inline float number(const nlohmann::json& v) {
  if (!v.is_string()) return v.get<float>();
  const std::string s = v.get<std::string>();
  if (s == "nan") return std::numeric_limits<float>::quiet_NaN();
  if (s == "inf") return std::numeric_limits<float>::infinity();
  if (s == "-inf") return -std::numeric_limits<float>::infinity();
  throw std::runtime_error("reference data: unexpected string " + s);
}

inline std::vector<float> numbers(const nlohmann::json& array) {
  std::vector<float> out;
  for (const auto& v : array) out.push_back(number(v));
  return out;
}

// Each element within atol + rtol * |want| of the reference (non-finite values must match
// exactly); `what` names the quantity in failure messages.
inline void check_close(const std::vector<float>& got, const std::vector<float>& want,
                        double rtol, double atol, const std::string& what) {
  INFO(what);
  REQUIRE(got.size() == want.size());
  for (size_t k = 0; k < want.size(); ++k) {
    INFO("element " << k << ": got " << got[k] << ", PyTorch " << want[k]);
    if (!std::isfinite(want[k])) {
      CHECK((std::isnan(want[k]) ? std::isnan(got[k]) : got[k] == want[k]));
      continue;
    }
    CHECK(std::abs(static_cast<double>(got[k]) - want[k]) <= atol + rtol * std::abs(want[k]));
  }
}

}  // namespace reference
