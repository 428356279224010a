// FNV-1a (64-bit) of a byte string: the checksum of checkpoints, of csv data files and of a
// resolved sweep. Fast and dependency-free; it detects damage and change, not tampering.
#pragma once

#include <cstdint>
#include <string_view>

namespace actlab::detail {

inline uint64_t fnv1a(std::string_view bytes) {
  uint64_t h = 14695981039346656037ULL;
  for (const char c : bytes) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ULL;
  }
  return h;
}

}  // namespace actlab::detail
