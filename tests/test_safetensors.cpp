// model.safetensors checked against the format's specification by a reader of our own (header
// length, JSON header, padding, offsets that tile the data), every tensor back to the bit, and
// names and shapes against the state_dict() of the documented torch.nn modules (worked out by
// hand from torch's naming: a Sequential's children are "0", "1", ...; a module's attributes
// name its parameters). Then `actlab export`: the module it writes and what it refuses.
#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <cstring>
#include <filesystem>
#include <map>

#include "actlab/actlab.hpp"
#include "actlab/io/export.hpp"
#include "actlab/io/safetensors.hpp"
#include "cli_runner.hpp"

using namespace actlab;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

struct SafeTensor {
  std::vector<int64_t> shape;
  std::vector<float> values;
};

struct SafeFile {
  std::string header_text;  // as stored, padding included
  json metadata;
  std::vector<std::pair<std::string, SafeTensor>> tensors;  // in data order
};

// Reads a safetensors file as its specification says, REQUIREing every rule on the way.
SafeFile read_safetensors(const std::string& bytes) {
  REQUIRE(bytes.size() >= 8);
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<unsigned char>(bytes[static_cast<size_t>(i)]);
  REQUIRE(8 + n <= bytes.size());
  SafeFile file;
  file.header_text = bytes.substr(8, n);
  CHECK((8 + n) % 8 == 0);  // the data starts aligned, as the reference writer pads it
  REQUIRE(file.header_text.front() == '{');
  const size_t close = file.header_text.rfind('}');
  CHECK(file.header_text.find_first_not_of(' ', close + 1) == std::string::npos);
  const json header = json::parse(file.header_text.substr(0, close + 1));
  REQUIRE(header.is_object());
  const std::string data = bytes.substr(8 + n);
  std::map<uint64_t, std::pair<std::string, json>> by_offset;
  for (const auto& [name, entry] : header.items()) {
    if (name == "__metadata__") {
      for (const auto& [key, value] : entry.items()) CHECK(value.is_string());
      file.metadata = entry;
      continue;
    }
    REQUIRE(entry.size() == 3);
    CHECK(entry.at("dtype") == "F32");
    const auto offsets = entry.at("data_offsets").get<std::vector<uint64_t>>();
    REQUIRE(offsets.size() == 2);
    REQUIRE(offsets[0] <= offsets[1]);
    by_offset[offsets[0]] = {name, entry};
  }
  uint64_t covered = 0;  // the tensors tile the data: no gap, no overlap, nothing after
  for (const auto& [begin, named] : by_offset) {
    const auto& [name, entry] = named;
    const auto offsets = entry.at("data_offsets").get<std::vector<uint64_t>>();
    REQUIRE(begin == covered);
    SafeTensor t{entry.at("shape").get<std::vector<int64_t>>(), {}};
    int64_t count = 1;
    for (int64_t d : t.shape) count *= d;
    REQUIRE(offsets[1] - offsets[0] == static_cast<uint64_t>(count) * 4);
    t.values.resize(static_cast<size_t>(count));
    std::memcpy(t.values.data(), data.data() + begin, offsets[1] - offsets[0]);
    covered = offsets[1];
    file.tensors.emplace_back(name, std::move(t));
  }
  CHECK(covered == data.size());
  return file;
}

std::vector<std::pair<std::string, std::vector<int64_t>>> names_and_shapes(const SafeFile& f) {
  std::vector<std::pair<std::string, std::vector<int64_t>>> out;
  for (const auto& [name, t] : f.tensors) out.emplace_back(name, t.shape);
  return out;
}

bool same_bits(const std::vector<float>& a, const Tensor& b) {
  return static_cast<int64_t>(a.size()) == b.numel() &&
         std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

// Trains a config into a scratch run directory; returns the trainer's parameters and the file.
struct TrainedRun {
  cli_runner::TempDir dir;
  std::vector<std::pair<std::string, Tensor>> parameters;
  SafeFile file;
};

std::unique_ptr<TrainedRun> train(const json& model) {
  auto run = std::make_unique<TrainedRun>();
  const Config config = parse_config({{"task", {{"name", "spirals"}, {"arms", 3}, {"n_train", 64},
                                                {"n_test", 32}}},
                                      {"model", model},
                                      {"train", {{"epochs", 2}, {"batch_size", 16}}}});
  Trainer trainer(config);
  train_run(trainer, run->dir.path.string());
  run->parameters = trainer.model().named_parameters();
  run->file = read_safetensors(cli_runner::slurp(weights_path(run->dir.path.string())));
  return run;
}

using Shapes = std::vector<std::pair<std::string, std::vector<int64_t>>>;

}  // namespace

TEST_CASE("safetensors: the bytes of a small file, as the format specifies", "[safetensors]") {
  const std::string bytes = safetensors_bytes(
      {{"w", Tensor::from_vector({1.f, -2.f, 0.5f, 3.f}, {2, 2})}, {"b", Tensor::from_vector({7.f}, {1})}});
  const std::string header =
      R"({"__metadata__":{"format":"pt"},"b":{"data_offsets":[16,20],"dtype":"F32","shape":[1]},)"
      R"("w":{"data_offsets":[0,16],"dtype":"F32","shape":[2,2]}})";
  const size_t padded = (header.size() + 7) / 8 * 8;
  REQUIRE(bytes.size() == 8 + padded + 20);
  CHECK(static_cast<unsigned char>(bytes[0]) == padded);  // little-endian length
  CHECK(bytes.substr(1, 7) == std::string(7, '\0'));
  CHECK(bytes.substr(8, padded) == header + std::string(padded - header.size(), ' '));
  const SafeFile f = read_safetensors(bytes);
  CHECK(f.metadata == json{{"format", "pt"}});
  REQUIRE(f.tensors.size() == 2);
  CHECK(f.tensors[0].first == "w");  // data in the order given
  CHECK(f.tensors[0].second.values == std::vector<float>{1.f, -2.f, 0.5f, 3.f});
  CHECK(f.tensors[1].second.values == std::vector<float>{7.f});
  CHECK_THROWS_WITH(safetensors_bytes({{"a", Tensor::ones({1})}, {"a", Tensor::ones({1})}}),
                    "safetensors: the tensor name \"a\" is taken");
}

TEST_CASE("safetensors: an MLP's weights are nn.Sequential's state_dict, to the bit",
          "[safetensors]") {
  // nn.Sequential(Linear(2, 16), PReLU(), Dropout(0.1), Linear(16, 8), PReLU(), Dropout(0.1),
  // Linear(8, 3)): parameters at children 0, 1, 3, 4 and 6.
  const auto run = train({{"hidden", {16, 8}}, {"activation", "prelu"}, {"dropout", 0.1}});
  CHECK(names_and_shapes(run->file) == Shapes{{"0.weight", {16, 2}}, {"0.bias", {16}},
                                              {"1.weight", {1}},     {"3.weight", {8, 16}},
                                              {"3.bias", {8}},       {"4.weight", {1}},
                                              {"6.weight", {3, 8}},  {"6.bias", {3}}});
  REQUIRE(run->file.tensors.size() == run->parameters.size());
  for (size_t i = 0; i < run->parameters.size(); ++i) {
    INFO(run->parameters[i].first);
    CHECK(same_bits(run->file.tensors[i].second.values, run->parameters[i].second));
  }
  // The weights are the checkpoint's model, saved with it.
  const TensorFile checkpoint = read_tensor_file((run->dir.path / "checkpoint.bin").string());
  for (const auto& [name, t] : run->file.tensors) {
    const auto it = std::find_if(checkpoint.tensors.begin(), checkpoint.tensors.end(),
                                 [&](const auto& e) { return e.first == "model." + name; });
    REQUIRE(it != checkpoint.tensors.end());
    CHECK(same_bits(t.values, it->second));
  }
}

TEST_CASE("safetensors: FFN models name their weights as the exported ResidualFFN does",
          "[safetensors]") {
  const auto gated = train({{"kind", "ffn"}, {"block", "gated"}, {"d_model", 8}, {"d_ff", 16},
                            {"blocks", 2}, {"activation", "swiglu"}});
  CHECK(names_and_shapes(gated->file) ==
        Shapes{{"in.weight", {8, 2}},           {"in.bias", {8}},
               {"blocks.0.gate.weight", {16, 8}}, {"blocks.0.up.weight", {16, 8}},
               {"blocks.0.down.weight", {8, 16}}, {"blocks.1.gate.weight", {16, 8}},
               {"blocks.1.up.weight", {16, 8}},   {"blocks.1.down.weight", {8, 16}},
               {"out.weight", {3, 8}},            {"out.bias", {3}}});
  const auto standard = train({{"kind", "ffn"}, {"d_model", 8}, {"d_ff", 16}, {"blocks", 1},
                               {"activation", {{"name", "prelu"}, {"num_parameters", 16}}}});
  CHECK(names_and_shapes(standard->file) ==
        Shapes{{"in.weight", {8, 2}},          {"in.bias", {8}},
               {"blocks.0.up.weight", {16, 8}}, {"blocks.0.up.bias", {16}},
               {"blocks.0.act.weight", {16}},   {"blocks.0.down.weight", {8, 16}},
               {"blocks.0.down.bias", {8}},     {"out.weight", {3, 8}},
               {"out.bias", {3}}});
  for (size_t i = 0; i < standard->parameters.size(); ++i)
    CHECK(same_bits(standard->file.tensors[i].second.values, standard->parameters[i].second));
}

TEST_CASE("export: the module's layers follow the config, with the csv standardisation",
          "[safetensors][export]") {
  cli_runner::TempDir dir;
  fs::create_directories(dir.path);
  const std::string data = (dir.path / "d.csv").string();
  std::ofstream(data) << "a,b,y\n1,10,u\n2,20,v\n3,30,u\n4,40,v\n5,50,u\n6,60,v\n";
  Trainer trainer(parse_config(
      {{"task", {{"name", "csv"}, {"path", data}, {"target", "y"}, {"test_fraction", 0.4}}},
       {"model", {{"hidden", {4}}, {"activation", {{"name", "leaky_relu"}, {"negative_slope", 0.2}}}}},
       {"train", {{"epochs", 1}}}}));
  const std::string source = pytorch_source(trainer, "run/model.safetensors");
  CHECK_THAT(source, Catch::Contains(R"(    return nn.Sequential(
        nn.Linear(2, 4),
        nn.LeakyReLU(negative_slope=0.2),
        nn.Linear(4, 1),
    ))"));
  CHECK_THAT(source, Catch::Contains(R"(FEATURES = ["a", "b"]  # the input columns, in order)"));
  CHECK_THAT(source, Catch::Contains(R"(CLASSES = ["u", "v"]  # label k is CLASSES[k])"));
  const data::Dataset& d = trainer.dataset();  // training rows: 4 of the 6
  CHECK_THAT(source, Catch::Contains(fmt::format("MEAN = [{}, {}]", d.input_mean[0], d.input_mean[1])));
  CHECK_THAT(source, Catch::Contains("return self.network((x - self.mean) / self.scale)"));
  CHECK_THAT(source, Catch::Contains(R"(model = load("run/model.safetensors"))"));
  // The check file: raw test inputs (as the file holds them), then the model's outputs.
  const std::string csv = test_outputs_csv(trainer);
  CHECK(csv.substr(0, csv.find('\n')) == "x0,x1,out0");
  CHECK(std::count(csv.begin(), csv.end(), '\n') == 3);
}

TEST_CASE("export: activations without a torch.nn layer are refused by name", "[safetensors][export]") {
  const auto source_for = [](const json& activation) {
    Trainer trainer(parse_config({{"task", "xor"}, {"model", {{"hidden", {4}}, {"activation", activation}}}}));
    return pytorch_source(trainer, "model.safetensors");
  };
  CHECK_THROWS_WITH(source_for({{"formula", "x * sigmoid(x)"}}),
                    "the activation is a formula (\"x * sigmoid(x)\"), which torch.nn has no "
                    "layer for; export writes models of built-in activations only");
  // On a gated FFN's gate too.
  Trainer gated(parse_config({{"task", "xor"},
                              {"model", {{"kind", "ffn"}, {"block", "gated"}, {"d_model", 4}, {"d_ff", 6},
                                         {"activation", {{"formula", "x * sigmoid(x)"}}}}}}));
  CHECK_THROWS_WITH(pytorch_source(gated, "model.safetensors"),
                    "the activation is a formula (\"x * sigmoid(x)\"), which torch.nn has no "
                    "layer for; export writes models of built-in activations only");
  nn::register_formula("export_test_swish", "x * sigmoid(x)", json::object());
  CHECK_THROWS_WITH(source_for("export_test_swish"),
                    "the activation \"export_test_swish\" has no torch.nn equivalent that export "
                    "knows (its registry entry gives no torch_module)");
}

TEST_CASE("export: each activation's torch.nn module carries its resolved parameters",
          "[safetensors][export]") {
  const auto source_for = [](const json& activation) {
    Trainer trainer(parse_config({{"task", "xor"}, {"model", {{"hidden", {4}}, {"activation", activation}}}}));
    return pytorch_source(trainer, "model.safetensors");
  };
  CHECK_THAT(source_for({{"name", "softplus"}, {"beta", 2}}),
             Catch::Contains("nn.Softplus(beta=2, threshold=20)"));
  CHECK_THAT(source_for({{"name", "leaky_relu"}, {"negative_slope", 0.2}}),
             Catch::Contains("nn.LeakyReLU(negative_slope=0.2)"));
  CHECK_THAT(source_for({{"name", "gelu"}, {"approximate", "tanh"}}),
             Catch::Contains("nn.GELU(approximate=\"tanh\")"));
  CHECK_THAT(source_for("gelu"), Catch::Contains("nn.GELU(approximate=\"none\")"));
  CHECK_THAT(source_for("swish"), Catch::Contains("nn.SiLU()"));
  // Every built-in has its module, in its own field of the entry.
  for (const char* name : {"identity", "relu", "leaky_relu", "prelu", "elu", "selu", "celu",
                           "gelu", "gelu_tanh", "silu", "swish", "mish", "softplus", "sigmoid",
                           "tanh", "hardswish"}) {
    INFO(name);
    const nn::ActivationInfo info = nn::activation_info(name);
    CHECK(info.torch_module.rfind("nn.", 0) == 0);
    CHECK(info.gated_kind.find("nn.") == std::string::npos);
  }
}

TEST_CASE("export through the command line: the files, and exit 2 naming what cannot be done",
          "[safetensors][export][cli]") {
  cli_runner::TempDir dir;
  fs::create_directories(dir.path);
  const std::string run = (dir.path / "run").string();
  const std::string config = (dir.path / "c.json").string();
  std::ofstream(config) << json{{"task", "xor"}, {"model", {{"hidden", {4}}, {"activation", {{"formula", "x * tanh(x)"}}}}},
                                {"train", {{"epochs", 1}}}}.dump();
  REQUIRE(cli_runner::actlab("train " + config + " --out " + run).status == 0);
  CHECK(fs::is_regular_file(fs::path(run) / "model.safetensors"));
  const std::string py = (dir.path / "model.py").string();
  const cli_runner::Result refused = cli_runner::actlab("export " + run + " --pytorch " + py);
  CHECK(refused.status == 2);
  CHECK(refused.err == "actlab: the activation is a formula (\"x * tanh(x)\"), which torch.nn has "
                       "no layer for; export writes models of built-in activations only\n");
  CHECK_FALSE(fs::exists(py));
  const cli_runner::Result missing = cli_runner::actlab("export " + dir.path.string() + "/nope --pytorch " + py);
  CHECK(missing.status == 2);
  CHECK(missing.err == "actlab: " + dir.path.string() + "/nope: not a run directory\n");
}
