// A model's weights as a safetensors file (huggingface/safetensors' format), which PyTorch
// loads with safetensors.torch.load_file: an 8-byte little-endian header length N, N bytes of
// JSON header, {"<name>": {"dtype": "F32", "shape": [...], "data_offsets": [begin, end]}, ...,
// "__metadata__": {"format": "pt"}}, padded with spaces so that the data starts at a multiple
// of 8, then every tensor's raw little-endian float32 values, back to back in the order given
// (offsets count from the data's start). Weights only: checkpoints keep the optimiser's state.
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "actlab/core/tensor.hpp"

namespace actlab {

namespace nn {
class Module;
}

// The file's bytes for named float32 tensors (names must be unique; throws Error otherwise).
std::string safetensors_bytes(const std::vector<std::pair<std::string, Tensor>>& tensors,
                              const std::map<std::string, std::string>& metadata = {{"format", "pt"}});

// Writes the module's parameters under their names in named_parameters() (for actlab's MLP and
// FFN models, the names of the equivalent torch.nn module's state_dict(): see README, Export),
// atomically.
void save_safetensors(const std::string& path, const nn::Module& model);

}  // namespace actlab
