// Writing safetensors files: the JSON header with each tensor's dtype, shape and byte range,
// padded to 8 bytes as the reference implementation pads it, then the raw data.
#include "actlab/io/safetensors.hpp"

#include <fmt/format.h>

#include <bit>
#include <cstring>
#include <set>

#include <nlohmann/json.hpp>

#include "actlab/io/serialize.hpp"
#include "actlab/nn/module.hpp"

namespace actlab {

static_assert(std::endian::native == std::endian::little,
              "safetensors holds little-endian data, written here as it lies in memory");

std::string safetensors_bytes(const std::vector<std::pair<std::string, Tensor>>& tensors,
                              const std::map<std::string, std::string>& metadata) {
  nlohmann::json header = nlohmann::json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::set<std::string> names;
  size_t offset = 0;
  for (const auto& [name, tensor] : tensors) {
    if (name == "__metadata__" || !names.insert(name).second)
      throw Error(fmt::format("safetensors: the tensor name \"{}\" is taken", name));
    const size_t bytes = static_cast<size_t>(tensor.numel()) * sizeof(float);
    header[name] = {{"dtype", "F32"},
                    {"shape", std::vector<int64_t>(tensor.shape())},
                    {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');
  std::string out(sizeof(uint64_t), '\0');
  const uint64_t length = text.size();
  std::memcpy(out.data(), &length, sizeof length);
  out += text;
  out.reserve(out.size() + offset);
  for (const auto& [name, tensor] : tensors)
    out.append(reinterpret_cast<const char*>(tensor.data()),
               static_cast<size_t>(tensor.numel()) * sizeof(float));
  return out;
}

void save_safetensors(const std::string& path, const nn::Module& model) {
  write_file_atomically(path, safetensors_bytes(model.named_parameters()));
}

}  // namespace actlab
