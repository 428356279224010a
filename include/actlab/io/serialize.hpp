// Checkpoints: a module's parameters (and an optimiser's state) in one file.
//
// Format (version 1, little-endian): "ACTLABCK", u32 version, u32 zero, u64 n + n bytes of JSON
// metadata, u32 tensor count, then per tensor u32 n + n bytes of name, u32 ndim, i64 dims,
// float32 values; last, u64 FNV-1a of every byte before it. Files are written atomically
// (temp file, fsync, rename), so an interrupted save leaves the previous checkpoint intact.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "actlab/core/tensor.hpp"

namespace actlab {

namespace nn {
class Module;
}
namespace optim {
class Optimizer;
}

// A checkpoint that cannot be opened, is damaged, or does not fit the model or config it is
// loaded into; what() reads "checkpoint PATH: why".
class CheckpointError : public InputError {
 public:
  CheckpointError(const std::string& path, const std::string& reason);
};

struct TensorFile {
  nlohmann::json meta;
  std::vector<std::pair<std::string, Tensor>> tensors;
};

// The raw file: any named tensors and metadata.
void write_tensor_file(const std::string& path, const TensorFile& file);
// Reads and verifies (magic, version, checksum, bounds) a whole file; throws CheckpointError
// naming the path and what is wrong.
TensorFile read_tensor_file(const std::string& path);

// Saves the model's parameters as "model.<name>" and, if given, the optimiser's state as
// "optim.<name>", with `meta` alongside.
void save_checkpoint(const std::string& path, const nn::Module& model,
                     const optim::Optimizer* optimizer = nullptr,
                     const nlohmann::json& meta = nlohmann::json::object());
// Loads a checkpoint into the model (and optimiser): every name and shape is checked before
// anything is copied, so a mismatched or damaged file leaves them untouched. Returns the meta.
nlohmann::json load_checkpoint(const std::string& path, nn::Module& model,
                               optim::Optimizer* optimizer = nullptr);
// The same from a file already read (read_tensor_file(path)), e.g. after checking its meta.
nlohmann::json load_checkpoint(const TensorFile& file, const std::string& path, nn::Module& model,
                               optim::Optimizer* optimizer = nullptr);

// Writes `bytes` to `path` atomically: a temp file beside it, fsync, rename, fsync the folder.
// The temp file's name is unique to the call (PATH.PID-COUNT.tmp), so writers of one path in
// several threads or processes never write into each other's temp file.
//
// A test hook, for tests that kill a process mid-write at a known point instead of racing it:
// with ACTLAB_TEST_STOP_MID_WRITE=NAME:K in the environment, the K-th write in this process of a
// file named NAME (e.g. "checkpoint.bin:2") stops the process (SIGSTOP) after writing half of the
// temp file; SIGCONT lets the write finish. Unset, it is never looked at again after one getenv.
void write_file_atomically(const std::string& path, const std::string& bytes);

// Removes the temp files that killed atomic writes of DIR/NAME left behind, for each NAME of
// `names`. Only while no other process writes there: holding the directory's DirLock.
void remove_temp_files(const std::string& dir, const std::vector<std::string>& names);

}  // namespace actlab
