// Config checking: defaults, every kind of error and its message, --set overrides, the ready
// configs in configs/.
#include <catch2/catch.hpp>

#include <filesystem>

#include "actlab/actlab.hpp"
#include "actlab/train/config.hpp"
#include "actlab/train/train.hpp"

using namespace actlab;
using nlohmann::json;

namespace {

// The message `actlab` prints for a bad config document.
std::string error_for(const json& doc) {
  try {
    parse_config(doc);
  } catch (const FieldError& e) {
    return config_error_message(e);
  }
  return "no error";
}

json base() { return {{"task", {{"name", "xor"}}}}; }

json with(json doc, const std::string& section, const json& fields) {
  doc[section] = fields;
  return doc;
}

}  // namespace

TEST_CASE("a minimal config gets PyTorch-like defaults", "[config]") {
  const Config c = parse_config(base());
  CHECK(c.model.kind == "mlp");
  CHECK(c.model.hidden == std::vector<int64_t>{64, 64});
  CHECK(c.model.activation == "relu");
  CHECK(c.model.init.name == "pytorch_default");
  CHECK(c.loss.name == "bce_with_logits");  // xor is binary
  CHECK(c.optimizer.name == "adam");
  CHECK(c.optimizer.lr == Approx(1e-3));
  CHECK(c.optimizer.beta2 == Approx(0.999));
  CHECK(c.train.epochs == 100);
  CHECK_FALSE(c.train.clip_grad_norm.has_value());
  CHECK(c.diagnostics.activation_stats);
  CHECK(c.resolved["task"]["n_train"] == 1000);
  CHECK(c.resolved["optimizer"]["weight_decay"] == 0.0);
}

TEST_CASE("the loss follows the task kind unless overridden", "[config]") {
  CHECK(parse_config({{"task", "spirals"}}).loss.name == "cross_entropy");
  CHECK(parse_config({{"task", "sine"}}).loss.name == "mse");
  CHECK(parse_config(with(base(), "loss", {{"name", "cross_entropy"}})).loss.name ==
        "cross_entropy");
  CHECK(error_for(with({{"task", "sine"}}, "loss", {{"name", "cross_entropy"}})) ==
        "config error at /loss/name: cross_entropy does not fit a regression task; use mse (or "
        "\"auto\")");
}

TEST_CASE("ffn models: standard and gated blocks with their own defaults", "[config]") {
  const Config standard = parse_config(with(base(), "model", {{"kind", "ffn"}}));
  CHECK(standard.model.block == "standard");
  CHECK(standard.model.activation == "gelu");
  CHECK(standard.model.blocks == 2);
  const Config gated = parse_config(with(base(), "model", {{"kind", "ffn"}, {"block", "gated"}}));
  CHECK(gated.model.activation == "swiglu");
  CHECK(error_for(with(base(), "model", {{"kind", "ffn"}, {"block", "gated"}, {"activation", "tanh"}}))
            .starts_with("config error at /model/activation: GatedFeedForward: unknown gate "
                         "activation \"tanh\""));
  CHECK(error_for(with(base(), "model", {{"kind", "ffn"}, {"hidden", {8}}})) ==
        "config error at /model/hidden: unknown field \"hidden\" for model \"ffn\"; known: kind, "
        "block, d_model, d_ff, blocks, activation, init, dropout");
}

TEST_CASE("init.bias starts every bias at a constant, as dead-ReLU experiments need", "[config]") {
  const Config plain = parse_config(base());
  CHECK_FALSE(plain.model.init.bias.has_value());
  CHECK(plain.resolved["model"]["init"]["bias"].is_null());
  const Config dead = parse_config(
      with(base(), "model", {{"hidden", {4, 3}}, {"init", {{"scheme", "kaiming_normal"}, {"bias", -5.0}}}}));
  REQUIRE(dead.model.init.bias == -5.f);
  Generator gen(1);
  const Model model = build_model(dead.model, 2, 1, gen);
  int biases = 0;
  for (const auto& [name, p] : model.net->named_parameters())
    if (name.ends_with("bias")) {
      INFO(name);
      for (float b : p.to_vector()) CHECK(b == -5.f);
      ++biases;
    }
  CHECK(biases == 3);  // the output layer's too: the scheme covers every layer
  CHECK(error_for(with(base(), "model", {{"init", {{"scheme", "zeros"}, {"bias", "low"}}}})) ==
        "config error at /model/init/bias: expected a number in [-100, 100], found \"low\"");
}

TEST_CASE("config errors name the JSON path, what was expected and what was found", "[config][errors]") {
  // Tests that register activations of their own may run first in one process: the list
  // starts with the built-in names, whatever follows them.
  const std::string unknown = error_for(with(base(), "model", {{"activation", "relu6"}}));
  CHECK(unknown.starts_with(
      "config error at /model/activation: unknown activation \"relu6\"; known: identity, relu, "
      "leaky_relu, prelu, elu, selu, celu, gelu, gelu_tanh, silu, swish, mish, softplus, "
      "sigmoid, tanh, hardswish"));
  CHECK(unknown.ends_with("; did you mean \"relu\"?"));
  CHECK(error_for(with(base(), "model", {{"activation", {{"name", "leaky_relu"}, {"slope", 0.2}}}}))
            .starts_with("config error at /model/activation/slope: unknown field \"slope\""));
  CHECK(error_for(with(base(), "model", {{"hidden", {64, -1}}})) ==
        "config error at /model/hidden/1: expected an integer in [1, 4096], found -1");
  CHECK(error_for(with(base(), "model", {{"hidden", "64"}})) ==
        "config error at /model/hidden: expected a list of at most 64 layer widths, found \"64\"");
  CHECK(error_for(with(base(), "model", {{"dropout", 1.0}})) ==
        "config error at /model/dropout: expected a number in [0, 1), found 1.0");
  CHECK(error_for(with(base(), "model", {{"init", "he"}})) ==
        "config error at /model/init/scheme: expected one of pytorch_default, xavier_uniform, "
        "xavier_normal, kaiming_uniform, kaiming_normal, normal, zeros, found \"he\"");
  CHECK(error_for(with(base(), "optimizer", {{"name", "adamw"}, {"lr", "fast"}})) ==
        "config error at /optimizer/lr: expected a number in (0, 1000000], found \"fast\"");
  CHECK(error_for(with(base(), "optimizer", {{"name", "adam"}, {"momentum", 0.9}})) ==
        "config error at /optimizer/momentum: unknown field \"momentum\" for optimizer \"adam\"; "
        "known: name, lr, beta1, beta2, eps, weight_decay");
  CHECK(error_for(with(base(), "optimizer", {{"name", "adagrad"}})) ==
        "config error at /optimizer/name: expected one of sgd, adam, adamw, found \"adagrad\"");
  CHECK(error_for(with(base(), "optimizer", {{"name", "sgd"}, {"nesterov", true}})) ==
        "config error at /optimizer/nesterov: expected momentum > 0 with nesterov, found "
        "momentum 0");
  CHECK(error_for(with(base(), "train", {{"epochs", 0}})) ==
        "config error at /train/epochs: expected an integer in [1, 100000], found 0");
  CHECK(error_for(with(base(), "train", {{"schedule", "cosin"}})) ==
        "config error at /train/schedule: expected one of constant, cosine, step, found "
        "\"cosin\"; did you mean \"cosine\"?");
  CHECK(error_for(with(base(), "train", {{"clip_grad_norm", -1}})) ==
        "config error at /train/clip_grad_norm: expected a number in (0, 1000000000], found -1");
  CHECK(error_for(with(base(), "diagnostics", {{"grad_norms", "yes"}})) ==
        "config error at /diagnostics/grad_norms: expected true or false, found \"yes\"");
  CHECK(error_for({{"task", "xor"}, {"modle", json::object()}}) ==
        "config error at /modle: unknown field \"modle\" for the config; known: task, model, "
        "loss, optimizer, train, diagnostics; did you mean \"model\"?");
  CHECK(error_for({{"model", json::object()}}).starts_with(
      "config error at /task: expected a task, found nothing; known: xor, moons"));
  CHECK(error_for({{"task", {{"name", "spirals"}, {"arms", 1}}}}) ==
        "config error at /task/arms: expected an integer in [2, 1024], found 1");
  CHECK(error_for(json::array()) == "config error: expected a config object, found []");
}

TEST_CASE("model checks that need more than one field", "[config][errors]") {
  CHECK(error_for(with(base(), "model", {{"hidden", {16, 8}},
                                         {"activation", {{"name", "prelu"}, {"num_parameters", 16}}}})) ==
        "config error at /model/activation/num_parameters: expected 1 or the width of every "
        "layer it follows (8), found 16");
  CHECK_NOTHROW(parse_config(with(base(), "model", {{"hidden", {16, 16}},
                                                    {"activation", {{"name", "prelu"}, {"num_parameters", 16}}}})));
  CHECK(error_for(with(base(), "optimizer", {{"eps", 0}})) ==
        "config error at /optimizer/eps: expected a number in (0, 1], found 0");
  CHECK(error_for(with(base(), "optimizer", {{"lr", 1e39}})).starts_with(
      "config error at /optimizer/lr: expected a number in (0, 1000000]"));
}

TEST_CASE("NaN and huge numbers are refused", "[config][errors]") {
  json doc = with(base(), "optimizer", {{"lr", std::nan("")}});
  CHECK(error_for(doc).starts_with("config error at /optimizer/lr: expected a number"));
  CHECK(error_for(with(base(), "model", {{"hidden", {1e12}}})).starts_with(
      "config error at /model/hidden/0: expected an integer in [1, 4096]"));
}

TEST_CASE("integer fields take whole numbers however written, in every field", "[config]") {
  const json doc = {{"task", {{"name", "spirals"}, {"arms", 3.0}}},
                    {"model", {{"hidden", {16.0, 1.6e1, 8}}}},
                    {"train", {{"epochs", 2.0}, {"batch_size", 3.2e1}}}};
  const Config c = parse_config(doc);
  CHECK(c.model.hidden == std::vector<int64_t>{16, 16, 8});
  CHECK(c.train.epochs == 2);
  CHECK(c.train.batch_size == 32);
  // The resolved config holds them as integers, as config.json then shows them.
  CHECK(c.resolved["model"]["hidden"].dump() == "[16,16,8]");
  CHECK(c.resolved["train"]["epochs"].is_number_integer());
  CHECK(c.resolved["task"]["arms"].dump() == "3");
}

TEST_CASE("a real field is checked as the float32 it is kept in", "[config][errors]") {
  // 1e-46 is below float32's smallest subnormal (1.4e-45) and becomes 0; 0.99999999999 is
  // within 2^-25 of 1 and rounds to it; 0.9999999 does not.
  CHECK(error_for(with(base(), "optimizer", {{"lr", 1e-46}})) ==
        "config error at /optimizer/lr: expected a number in (0, 1000000], found 1e-46: it "
        "underflows to 0 in float32, this field's type");
  CHECK(error_for(with(base(), "optimizer", {{"weight_decay", 1e-46}})) ==
        "config error at /optimizer/weight_decay: expected a number in [0, 1], found 1e-46: it "
        "underflows to 0 in float32, this field's type");
  CHECK(error_for(with(base(), "model", {{"dropout", 0.99999999999}})) ==
        "config error at /model/dropout: expected a number in [0, 1), found 0.99999999999: it "
        "rounds to 1 in float32, this field's type");
  CHECK(parse_config(with(base(), "model", {{"dropout", 0.9999999}})).model.dropout < 1.f);
  CHECK(parse_config(with(base(), "optimizer", {{"lr", 1e-40}})).optimizer.lr > 0.f);
}

TEST_CASE("a duplicate key is refused at its path", "[config][errors]") {
  try {
    parse_json_text(R"({"task": "xor", "model": {"hidden": [8, {"a": 1, "a": 2}]}})", "c.json");
    FAIL("no error");
  } catch (const FieldError& e) {
    CHECK(config_error_message(e) == "config error at /model/hidden/1/a: duplicate key \"a\" in "
                                     "c.json (an object names each key once)");
  }
  try {
    parse_json_text(R"([1, 2, 1e400])", "c.json");
    FAIL("no error");
  } catch (const FieldError& e) {
    CHECK(config_error_message(e) == "config error at /2: the number 1e400 in c.json overflows a double");
  }
}

TEST_CASE("invalid JSON is reported with line and column", "[config][errors]") {
  try {
    parse_json_text("{\n  \"task\": \"xor\",\n  \"model\": {\"hidden\": [64,, 64]}\n}", "c.json");
    FAIL("no error");
  } catch (const FieldError& e) {
    CHECK(config_error_message(e).starts_with("config error: c.json: invalid JSON at line 3, "
                                              "column 27: syntax error"));
  }
}

TEST_CASE("set overrides fields by dotted path", "[config][set]") {
  json doc = base();
  apply_override(doc, "model.activation=gelu");
  apply_override(doc, "train.epochs=3");
  apply_override(doc, "model.hidden=[8,8,8]");
  apply_override(doc, "optimizer.name=sgd");
  CHECK(doc["model"]["activation"] == "gelu");
  CHECK(doc["optimizer"]["name"] == "sgd");
  CHECK(doc["train"]["epochs"] == 3);
  CHECK(doc["model"]["hidden"] == json({8, 8, 8}));
  json plain = base();
  apply_override(plain, "model.activation=\"gelu\"");
  CHECK(parse_config(plain).model.activation == "gelu");
  CHECK_THROWS_WITH(apply_override(plain, "model.activation"), "--set model.activation: expected key.path=value");
  CHECK_THROWS_WITH(apply_override(plain, "model..x=1"), "--set model..x=1: empty name in the path \"model..x\"");
  CHECK_THROWS_WITH(apply_override(doc, "model.activation=" + std::string(100, '[') + std::string(100, ']')),
                    "--set model.activation: the value is nested deeper than 64 levels");
  CHECK_THROWS_WITH(apply_override(doc, "train.epochs.x=1"),
                    "--set train.epochs.x=1: train.epochs is not an object");
}

TEST_CASE("every ready config in configs/ is valid", "[config]") {
  // The csv configs name their files relative to the repository's root, where they are run.
  const std::filesystem::path was = std::filesystem::current_path();
  std::filesystem::current_path(std::string(ACTLAB_CONFIG_DIR) + "/..");
  struct Back {
    std::filesystem::path dir;
    ~Back() { std::filesystem::current_path(dir); }
  } back{was};
  int checked = 0;
  for (const auto& entry : std::filesystem::directory_iterator(ACTLAB_CONFIG_DIR)) {
    const std::string name = entry.path().filename().string();
    if (entry.path().extension() != ".json" || name == "schema.json" || name.starts_with("compare_"))
      continue;
    INFO(name);
    CHECK_NOTHROW(load_config(entry.path().string()));
    ++checked;
  }
  CHECK(checked >= 9);
}
