// libFuzzer target for the config loader: any byte string either loads as a config or fails
// with a FieldError; anything else (a crash, another exception, a sanitizer report) is a bug.
// Build with -DACTLAB_FUZZ=ON and CXX=clang++; run: build/tests/fuzz/config_fuzzer configs/
#include <cstddef>
#include <cstdint>
#include <string>

#include "actlab/train/config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    actlab::parse_config(actlab::parse_json_text(text, "fuzz.json"));
  } catch (const actlab::FieldError&) {
  }
  return 0;
}
