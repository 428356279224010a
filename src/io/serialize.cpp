// Checkpoint files: encoding, verification, atomic writes, and loading into a model.
#include "actlab/io/serialize.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <string_view>

#include "actlab/detail/fields.hpp"
#include "actlab/detail/hash.hpp"
#include "actlab/nn/module.hpp"
#include "actlab/train/optim.hpp"

namespace actlab {
namespace {

static_assert(std::endian::native == std::endian::little,
              "checkpoints store raw little-endian values");

constexpr char kMagic[8] = {'A', 'C', 'T', 'L', 'A', 'B', 'C', 'K'};
constexpr uint32_t kVersion = 1;

template <class T>
void put(std::string& out, const T& value) {
  out.append(reinterpret_cast<const char*>(&value), sizeof(T));
}

// Takes the meta and tensors apart, so that saving a checkpoint copies neither.
// The string is reserved at its final size: grown by doubling, a large checkpoint would hold
// two copies at once, which the memory estimate would have to count.
std::string encode(const nlohmann::json& meta_doc,
                   const std::vector<std::pair<std::string, Tensor>>& tensors) {
  const std::string meta = meta_doc.dump();
  size_t size = sizeof kMagic + 2 * sizeof(uint32_t) + sizeof(uint64_t) + meta.size() +
                sizeof(uint32_t) + sizeof(uint64_t);
  for (const auto& [name, t] : tensors)
    size += 2 * sizeof(uint32_t) + name.size() + static_cast<size_t>(t.dim()) * sizeof(int64_t) +
            static_cast<size_t>(t.numel()) * sizeof(float);
  std::string out;
  out.reserve(size);
  out.append(kMagic, sizeof kMagic);
  put(out, kVersion);
  put(out, uint32_t{0});
  put(out, static_cast<uint64_t>(meta.size()));
  out += meta;
  put(out, static_cast<uint32_t>(tensors.size()));
  for (const auto& [name, t] : tensors) {
    put(out, static_cast<uint32_t>(name.size()));
    out += name;
    put(out, static_cast<uint32_t>(t.dim()));
    for (int64_t d : t.shape()) put(out, d);
    out.append(reinterpret_cast<const char*>(t.data()),
               static_cast<size_t>(t.numel()) * sizeof(float));
  }
  put(out, detail::fnv1a(out));
  return out;
}

// Reads values from a verified buffer, refusing to run past its end.
class Reader {
 public:
  Reader(const std::string& path, const std::string& bytes, size_t end)
      : path_(path), bytes_(bytes), end_(end) {}

  template <class T>
  T get(const char* what) {
    T value;
    std::memcpy(&value, take(sizeof(T), what), sizeof(T));
    return value;
  }
  const char* take(size_t n, const char* what) {
    if (n > end_ - pos_)
      throw CheckpointError(path_, fmt::format("{} runs past the end of the data", what));
    const char* p = bytes_.data() + pos_;
    pos_ += n;
    return p;
  }
  bool at_end() const { return pos_ == end_; }
  int64_t remaining() const { return static_cast<int64_t>(end_ - pos_); }

 private:
  const std::string& path_;
  const std::string& bytes_;
  size_t end_;
  size_t pos_ = 0;
};

// Read at its size in one string (a stream's buffer would grow by doubling and then be copied).
std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) throw CheckpointError(path, fmt::format("cannot open: {}", std::strerror(errno)));
  const std::streamoff size = in.tellg();
  if (size < 0) throw CheckpointError(path, fmt::format("cannot read: {}", std::strerror(errno)));
  std::string bytes(static_cast<size_t>(size), '\0');
  in.seekg(0);
  if (!in.read(bytes.data(), static_cast<std::streamsize>(bytes.size())))
    throw CheckpointError(path, fmt::format("cannot read: {}", std::strerror(errno)));
  return bytes;
}

Tensor decode_tensor(Reader& r, const std::string& path, const std::string& name) {
  const auto ndim = r.get<uint32_t>("a tensor's rank");
  if (ndim > static_cast<uint32_t>(Shape::kMaxDims))
    throw CheckpointError(path, fmt::format("tensor '{}' has {} dimensions (at most {})", name,
                                            ndim, Shape::kMaxDims));
  Shape shape;
  int64_t numel = 1;
  for (uint32_t d = 0; d < ndim; ++d) {
    const auto dim = r.get<int64_t>("a tensor's shape");
    // Bounded by the file's size before multiplying, so no shape can overflow.
    if (dim < 0 || (dim > 0 && numel > r.remaining() / dim))
      throw CheckpointError(path, fmt::format("tensor '{}' has an impossible shape", name));
    numel *= dim;
    shape.push_back(dim);
  }
  const size_t bytes = static_cast<size_t>(numel) * sizeof(float);
  const char* values = r.take(bytes, "a tensor's values");
  Tensor t = Tensor::empty(shape);
  std::memcpy(t.mutable_data(), values, bytes);
  return t;
}

}  // namespace

namespace {

constexpr const char* kTempSuffix = ".tmp";

// Whether `file` is a temp file of write_file_atomically for `name`: NAME.PID-COUNT.tmp.
bool is_temp_file_of(std::string_view file, std::string_view name) {
  if (!file.starts_with(name) || !file.ends_with(kTempSuffix)) return false;
  std::string_view middle = file.substr(name.size());
  middle.remove_suffix(std::strlen(kTempSuffix));
  const size_t dash = middle.find('-');
  const auto digits = [](std::string_view s) {
    return !s.empty() &&
           std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
  };
  return middle.starts_with('.') && dash != std::string_view::npos &&
         digits(middle.substr(1, dash - 1)) && digits(middle.substr(dash + 1));
}

// Writes all of data[0, size) to fd; false (with errno set) on an error.
bool write_all(int fd, const char* data, size_t size) {
  for (size_t done = 0; done < size;) {
    const ssize_t n = ::write(fd, data + done, size - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

// The test hook of serialize.hpp: whether this write of `path` is the one
// ACTLAB_TEST_STOP_MID_WRITE=NAME:K names (the K-th write of a file named NAME).
bool stop_mid_write_requested(const std::string& path) {
  static const char* const spec = std::getenv("ACTLAB_TEST_STOP_MID_WRITE");
  if (spec == nullptr) return false;
  const std::string_view hook(spec);
  const size_t colon = hook.rfind(':');
  if (colon == std::string_view::npos ||
      std::filesystem::path(path).filename().string() != hook.substr(0, colon))
    return false;
  static std::atomic<int> writes{0};
  return ++writes == std::atoi(spec + colon + 1);
}

}  // namespace

CheckpointError::CheckpointError(const std::string& path, const std::string& reason)
    : InputError(fmt::format("checkpoint {}: {}", path, reason)) {}

void write_file_atomically(const std::string& path, const std::string& bytes) {
  std::string temp;
  const auto fail = [&](const char* step) {
    const std::string reason = std::strerror(errno);
    if (!temp.empty()) ::unlink(temp.c_str());
    throw Error(fmt::format("cannot write {}: {} failed: {}", path, step, reason));
  };
  // A name no other writer uses: this process's pid and a count. O_EXCL skips one that a dead
  // process of the same pid left behind.
  static std::atomic<uint64_t> temp_count{0};
  int fd = -1;
  while (fd < 0) {
    const std::string candidate =
        fmt::format("{}.{}-{}{}", path, ::getpid(), temp_count++, kTempSuffix);
    fd = ::open(candidate.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd >= 0) temp = candidate;
    else if (errno != EEXIST) fail("open");
  }
  const size_t first_part = stop_mid_write_requested(path) ? bytes.size() / 2 : bytes.size();
  bool written = write_all(fd, bytes.data(), first_part);
  if (written && first_part < bytes.size()) {
    ::raise(SIGSTOP);
    written = write_all(fd, bytes.data() + first_part, bytes.size() - first_part);
  }
  if (!written) {
    ::close(fd);
    fail("write");
  }
  if (::fsync(fd) != 0) {
    ::close(fd);
    fail("fsync");
  }
  if (::close(fd) != 0) fail("close");
  if (::rename(temp.c_str(), path.c_str()) != 0) fail("rename");
  const std::string folder = std::filesystem::path(path).parent_path().string();
  const int dir = ::open(folder.empty() ? "." : folder.c_str(), O_RDONLY | O_DIRECTORY);
  if (dir >= 0) {  // make the rename itself durable
    ::fsync(dir);
    ::close(dir);
  }
}

void remove_temp_files(const std::string& dir, const std::vector<std::string>& names) {
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    const std::string file = entry.path().filename().string();
    if (std::any_of(names.begin(), names.end(),
                    [&](const std::string& name) { return is_temp_file_of(file, name); }))
      std::filesystem::remove(entry.path(), ec);
  }
}

void write_tensor_file(const std::string& path, const TensorFile& file) {
  write_file_atomically(path, encode(file.meta, file.tensors));
}

TensorFile read_tensor_file(const std::string& path) {
  const std::string bytes = read_all(path);
  constexpr size_t kSmallest = sizeof kMagic + 4 + 4 + 8 + 4 + 8;
  if (bytes.size() < kSmallest || std::memcmp(bytes.data(), kMagic, sizeof kMagic) != 0)
    throw CheckpointError(path, fmt::format("not an actlab checkpoint (no ACTLABCK header, or "
                                            "truncated to {} bytes)",
                                            bytes.size()));
  const size_t body = bytes.size() - sizeof(uint64_t);
  uint64_t stored;
  std::memcpy(&stored, bytes.data() + body, sizeof stored);
  if (stored != detail::fnv1a(std::string_view(bytes).substr(0, body)))
    throw CheckpointError(path, "checksum mismatch: the file is truncated or corrupted");
  Reader r(path, bytes, body);
  r.take(sizeof kMagic, "the header");
  const auto version = r.get<uint32_t>("the version");
  if (version != kVersion)
    throw CheckpointError(path, fmt::format("format version {} is not supported (this build "
                                            "reads version {})",
                                            version, kVersion));
  r.get<uint32_t>("the header");
  TensorFile file;
  try {
    const auto meta_size = r.get<uint64_t>("the metadata size");
    const std::string meta(r.take(meta_size, "the metadata"), meta_size);
    if (detail::json_nesting_depth(meta).depth > detail::kMaxJsonDepth)
      throw CheckpointError(path, "its metadata is nested too deeply");
    file.meta = nlohmann::json::parse(meta);
    const auto count = r.get<uint32_t>("the tensor count");
    for (uint32_t i = 0; i < count; ++i) {
      const auto name_size = r.get<uint32_t>("a tensor name's size");
      std::string name(r.take(name_size, "a tensor name"), name_size);
      Tensor t = decode_tensor(r, path, name);
      file.tensors.emplace_back(std::move(name), std::move(t));
    }
  } catch (const nlohmann::json::exception& e) {
    throw CheckpointError(path, fmt::format("bad metadata: {}", e.what()));
  }
  if (!r.at_end()) throw CheckpointError(path, "unexpected bytes after the data");
  return file;
}

namespace {

constexpr const char* kModelPrefix = "model.";
constexpr const char* kOptimizerPrefix = "optim.";

// The tensors a checkpoint of this model (and optimiser) holds, under their stored names.
std::vector<std::pair<std::string, Tensor>> checkpoint_entries(const nn::Module& model,
                                                               const optim::Optimizer* optimizer) {
  std::vector<std::pair<std::string, Tensor>> entries;
  for (auto& [name, p] : model.named_parameters()) entries.emplace_back(kModelPrefix + name, p);
  if (optimizer != nullptr)
    for (auto& [name, s] : optimizer->named_state())
      entries.emplace_back(kOptimizerPrefix + name, s);
  return entries;
}

}  // namespace

void save_checkpoint(const std::string& path, const nn::Module& model,
                     const optim::Optimizer* optimizer, const nlohmann::json& meta) {
  write_file_atomically(path, encode(meta, checkpoint_entries(model, optimizer)));
}

nlohmann::json load_checkpoint(const std::string& path, nn::Module& model,
                               optim::Optimizer* optimizer) {
  return load_checkpoint(read_tensor_file(path), path, model, optimizer);
}

nlohmann::json load_checkpoint(const TensorFile& file, const std::string& path, nn::Module& model,
                               optim::Optimizer* optimizer) {
  std::map<std::string, Tensor> stored(file.tensors.begin(), file.tensors.end());
  auto targets = checkpoint_entries(model, optimizer);
  // Check everything first: a file that does not fit changes nothing.
  for (auto& [name, target] : targets) {
    auto it = stored.find(name);
    if (it == stored.end())
      throw CheckpointError(path, fmt::format("'{}' is missing from the file", name));
    if (it->second.shape() != target.shape())
      throw CheckpointError(path, fmt::format("'{}' has shape {} in the file but {} in the model", name,
                                              it->second.shape().str(), target.shape().str()));
  }
  for (auto& [name, t] : stored) {
    const bool expected = std::any_of(targets.begin(), targets.end(),
                                      [&](const auto& e) { return e.first == name; });
    const bool optimizer_state = name.starts_with(kOptimizerPrefix);
    if (!expected && !(optimizer_state && optimizer == nullptr))
      throw CheckpointError(path, fmt::format("'{}' in the file has no place in the model", name));
  }
  for (auto& [name, target] : targets) target.copy_(stored.at(name));
  return file.meta;
}

}  // namespace actlab
