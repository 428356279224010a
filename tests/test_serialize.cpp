// Checkpoints: round trips, damaged and mismatched files rejected without touching the model,
// and a save killed mid-write leaving the previous file intact.
#include <catch2/catch.hpp>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "actlab/actlab.hpp"

using namespace actlab;
using Catch::Matchers::Contains;
namespace fs = std::filesystem;

namespace {

struct TempDir {
  fs::path path;
  TempDir() {
    path = fs::temp_directory_path() /
           ("actlab_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter()++));
    fs::create_directories(path);
  }
  ~TempDir() { fs::remove_all(path); }
  std::string file(const char* name) const { return (path / name).string(); }
  static int& counter() {
    static int n = 0;
    return n;
  }
};

// A two-layer model with distinct values in every parameter.
struct TinyModel : nn::Module {
  explicit TinyModel(int64_t hidden = 4, uint64_t seed = 1)
      : gen(seed), first(3, hidden, true, gen), second(hidden, 2, true, gen) {
    register_module("first", &first);
    register_module("second", &second);
  }
  Tensor forward(const Tensor& x) override { return second(first(x)); }
  std::string describe() const override { return "TinyModel"; }
  Generator gen;
  nn::Linear first;
  nn::Linear second;
};

std::vector<std::vector<float>> values(const nn::Module& m) {
  std::vector<std::vector<float>> out;
  for (auto& [name, p] : m.named_parameters()) out.push_back(p.to_vector());
  return out;
}

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}
void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

// The files in `dir` named like temp files (*.tmp), sorted.
std::vector<fs::path> temp_files(const fs::path& dir) {
  std::vector<fs::path> temps;
  for (const auto& entry : fs::directory_iterator(dir))
    if (entry.path().extension() == ".tmp") temps.push_back(entry.path());
  std::sort(temps.begin(), temps.end());
  return temps;
}

}  // namespace

TEST_CASE("checkpoint round trip: parameters, optimiser state and metadata", "[serialize]") {
  TempDir dir;
  TinyModel a(4, 1);
  optim::Adam opt(a.parameters(), 0.01f);
  Tensor x = Tensor::ones({5, 3});
  for (int i = 0; i < 3; ++i) {
    opt.zero_grad();
    mean(square(a(x))).backward();
    opt.step();
  }
  save_checkpoint(dir.file("ck.bin"), a, &opt, {{"step", 3}});

  TinyModel b(4, 2);
  optim::Adam opt_b(b.parameters(), 0.01f);
  REQUIRE(values(a) != values(b));
  const nlohmann::json meta = load_checkpoint(dir.file("ck.bin"), b, &opt_b);
  CHECK(meta.at("step") == 3);
  CHECK(values(a) == values(b));
  auto sa = opt.named_state();
  auto sb = opt_b.named_state();
  REQUIRE(sa.size() == sb.size());
  for (size_t i = 0; i < sa.size(); ++i) CHECK(sa[i].second.to_vector() == sb[i].second.to_vector());
  // The same next step from both.
  opt.zero_grad();
  mean(square(a(x))).backward();
  opt.step();
  opt_b.zero_grad();
  mean(square(b(x))).backward();
  opt_b.step();
  CHECK(values(a) == values(b));
  CHECK_FALSE(fs::exists(dir.file("ck.bin.tmp")));
}

TEST_CASE("damaged checkpoints are rejected and leave the model untouched", "[serialize][errors]") {
  TempDir dir;
  TinyModel a(4, 1);
  const std::string path = dir.file("ck.bin");
  save_checkpoint(path, a);
  const std::string good = read_bytes(path);
  TinyModel b(4, 2);
  const auto before = values(b);

  SECTION("truncated") {
    for (size_t keep : {size_t{0}, size_t{5}, good.size() / 2, good.size() - 1}) {
      write_bytes(path, good.substr(0, keep));
      CHECK_THROWS_AS(load_checkpoint(path, b), Error);
    }
    write_bytes(path, good.substr(0, good.size() / 2));
    CHECK_THROWS_WITH(load_checkpoint(path, b), Contains("checksum mismatch"));
  }
  SECTION("one bit flipped anywhere") {
    for (size_t at : {size_t{3}, size_t{40}, good.size() / 2, good.size() - 3}) {
      std::string bad = good;
      bad[at] ^= 0x10;
      write_bytes(path, bad);
      CHECK_THROWS_AS(load_checkpoint(path, b), Error);
    }
  }
  SECTION("missing file") {
    CHECK_THROWS_WITH(load_checkpoint(dir.file("nope.bin"), b), Contains("cannot open"));
  }
  CHECK(values(b) == before);
}

TEST_CASE("mismatched checkpoints name the parameter and both shapes", "[serialize][errors]") {
  TempDir dir;
  const std::string path = dir.file("ck.bin");
  TinyModel wide(5, 1);
  save_checkpoint(path, wide);
  TinyModel narrow(4, 2);
  const auto before = values(narrow);
  CHECK_THROWS_WITH(load_checkpoint(path, narrow),
                    "checkpoint " + path +
                        ": 'model.first.weight' has shape [5, 3] in the file but [4, 3] in the "
                        "model");
  CHECK(values(narrow) == before);
  nn::Linear other(3, 4);
  CHECK_THROWS_WITH(load_checkpoint(path, other), Contains("'model.weight' is missing"));
  optim::SGD sgd(narrow.parameters(), 0.1f, 0.9f);
  TinyModel same(5, 3);
  optim::SGD sgd_same(same.parameters(), 0.1f, 0.9f);
  CHECK_THROWS_WITH(load_checkpoint(path, same, &sgd_same), Contains("'optim."));
}

TEST_CASE("a save killed mid-write leaves the previous checkpoint intact", "[serialize]") {
  TempDir dir;
  const std::string path = dir.file("ck.bin");
  // Big enough (16 MiB) that a write is in progress when the kill lands.
  Tensor big = Tensor::zeros({4 << 20});
  write_tensor_file(path, {{{"version", 0}}, {{"big", big}}});
  int interrupted_writes = 0;
  for (int attempt = 0; attempt < 4; ++attempt) {
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {  // keeps overwriting the checkpoint until killed
      for (int v = 1;; ++v) {
        Tensor t = Tensor::full({4 << 20}, static_cast<float>(v));
        write_tensor_file(path, {{{"version", v}}, {{"big", t}}});
      }
    }
    // Kill as soon as the writer has a half-written temp file (or after 5 s at most).
    for (int spin = 0; spin < 500000; ++spin) {
      const std::vector<fs::path> temps = temp_files(dir.path);
      std::error_code ec;
      if (!temps.empty() && fs::file_size(temps.front(), ec) > 0 && !ec) break;
      ::usleep(10);
    }
    ::kill(child, SIGKILL);
    ::waitpid(child, nullptr, 0);
    interrupted_writes += !temp_files(dir.path).empty();
    const TensorFile file = read_tensor_file(path);  // complete, whichever version it is
    const float v = file.meta.at("version").get<float>();
    const auto data = file.tensors.at(0).second.to_vector();
    CHECK(data.front() == v);
    CHECK(data.back() == v);
  }
  // Most of the writer's time is spent between opening the temp file and renaming it, so
  // some kill must have landed mid-write, or this test proves nothing.
  CHECK(interrupted_writes > 0);
  // Temp files left by killed writers take no part in the next save, and are removed (by the
  // one writer that holds the directory's lock) with remove_temp_files.
  write_tensor_file(path, {{{"version", -1}}, {{"big", big}}});
  CHECK(read_tensor_file(path).meta.at("version") == -1);
  std::ofstream(dir.file("ck.bin.notes.tmp")) << "not a temp file of ck.bin";
  remove_temp_files(dir.path.string(), {"ck.bin"});
  CHECK(temp_files(dir.path) == std::vector<fs::path>{fs::path(dir.file("ck.bin.notes.tmp"))});
}

TEST_CASE("an unwritable path gives a clear error", "[serialize][errors]") {
  nn::Linear layer(2, 2);
  CHECK_THROWS_WITH(save_checkpoint("/nonexistent-dir/ck.bin", layer),
                    Contains("cannot write /nonexistent-dir/ck.bin: open failed"));
}
