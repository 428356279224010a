// The layer and model registries (issue 12): every built-in layer type from JSON, gradchecked
// and trained; sequential specs that equal an mlp config give its bits; an activation
// registered from its entry alone reaches the catalog, init, configs, gated FFNs and the
// statistics; users' layers and models; and the config errors of sequential specs.
#include <catch2/catch.hpp>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "actlab/actlab.hpp"
#include "cli_runner.hpp"

using namespace actlab;
using nlohmann::json;

namespace {

json spirals() { return {{"name", "spirals"}, {"n_train", 64}, {"n_test", 32}, {"seed", 3}}; }

json doc_with(json model, int64_t epochs = 2) {
  return {{"task", spirals()},
          {"model", std::move(model)},
          {"train", {{"epochs", epochs}, {"batch_size", 16}, {"eval_every", 4}, {"seed", 7}}}};
}

json sequential(json layers, json init = "pytorch_default") {
  return {{"kind", "sequential"}, {"layers", std::move(layers)}, {"init", std::move(init)}};
}

// The config error a document gets, whether parse_config or building the model finds it.
std::string config_error(const json& doc) {
  try {
    Trainer trainer(parse_config(doc));
  } catch (const FieldError& e) {
    return config_error_message(e);
  }
  return "no error";
}

std::string known_layers() { return fmt::format("known: {}", fmt::join(nn::layer_types(), ", ")); }

// The checks of the built-in layers: every type, with the width it keeps or changes to.
struct LayerCase {
  json spec;
  int64_t out_width;
};

std::vector<LayerCase> builtin_layer_cases() {
  std::vector<LayerCase> cases = {
      {{{"type", "linear"}, {"out", 5}}, 5},
      {{{"type", "linear"}, {"out", 3}, {"bias", false}}, 3},
      {{{"type", "ffn"}, {"d_ff", 8}}, 4},
      {{{"type", "ffn"}, {"d_ff", 6}, {"activation", "tanh"}, {"dropout", 0.25}}, 4},
      {{{"type", "gated_ffn"}, {"d_ff", 8}}, 4},
      {{{"type", "gated_ffn"}, {"d_ff", 8}, {"activation", "geglu"}, {"bias", true}}, 4},
      {{{"type", "residual"},
        {"layers", {{{"type", "linear"}, {"out", 6}}, "tanh", {{"type", "linear"}, {"out", 4}}}}},
       4},
      {{{"type", "layer_norm"}}, 4},
      {{{"type", "layer_norm"}, {"eps", 1e-3}, {"bias", false}}, 4},
      {{{"type", "rms_norm"}}, 4},
      {{{"type", "leaky_relu"}, {"negative_slope", 0.2}}, 4},
      {{{"type", "prelu"}, {"num_parameters", 4}}, 4},
      {{{"formula", "x * sigmoid(beta * x)"}, {"beta", 1.5}, {"learn", {"beta"}}}, 4},
  };
  for (const std::string& name : nn::activation_names()) cases.push_back({name, 4});
  return cases;
}

}  // namespace

TEST_CASE("every built-in layer type is built from JSON and gradchecked", "[registry][layers]") {
  for (const LayerCase& c : builtin_layer_cases()) {
    INFO(c.spec.dump());
    Generator gen(5);
    const nn::BuildContext context{gen};
    nn::Layer layer = nn::make_layer(c.spec, 4, context);
    CHECK(layer.out_width == c.out_width);
    layer.module->eval();  // dropout off: gradcheck needs the same function at every call
    std::vector<Tensor> inputs{Tensor::randn({3, 4}, gen).set_requires_grad(true)};
    for (Tensor& p : layer.module->parameters()) inputs.push_back(p);
    nn::Module& module = *layer.module;
    const GradcheckResult r =
        gradcheck([&](const std::vector<Tensor>& in) { return module(in[0]); }, inputs);
    INFO(r.message);
    CHECK(r.ok);
    CHECK(module(inputs[0]).size(1) == c.out_width);
  }
}

TEST_CASE("dropout layers zero or rescale in training, pass through in eval", "[registry][layers]") {
  Generator gen(2);
  nn::Layer layer = nn::make_layer({{"type", "dropout"}, {"p", 0.25}}, 4, nn::BuildContext{gen});
  const Tensor x = Tensor::ones({50, 4});
  int64_t zeros = 0;
  for (float y : (*layer.module)(x).to_vector()) {
    CHECK((y == 0.f || y == 1.f / 0.75f));
    zeros += y == 0.f;
  }
  CHECK(zeros > 0);
  CHECK(zeros < 200);
  layer.module->eval();
  CHECK((*layer.module)(x).to_vector() == x.to_vector());
}

TEST_CASE("every built-in layer type trains through Trainer", "[registry][layers][train]") {
  for (const LayerCase& c : builtin_layer_cases()) {
    INFO(c.spec.dump());
    // A linear to width 4 first, so that every case sees the width it was written for.
    Trainer trainer(parse_config(doc_with(sequential({{{"type", "linear"}, {"out", 4}}, c.spec}), 30)));
    std::vector<std::vector<float>> before;
    for (const Tensor& p : trainer.model().parameters()) before.push_back(p.to_vector());
    const TrainResult result = trainer.run();
    REQUIRE_FALSE(result.diverged);
    REQUIRE(result.history.size() >= 2);
    CHECK(result.history.back().train_loss < result.history.front().train_loss);
    // Every parameter, the layer's own included, was reached by a gradient and moved.
    const std::vector<Tensor> after = trainer.model().parameters();
    for (size_t i = 0; i < after.size(); ++i) CHECK(after[i].to_vector() != before[i]);
  }
}

TEST_CASE("a sequential spec equal to an mlp config gives the same bits",
          "[registry][models][bits]") {
  struct Pair {
    json mlp, layers, init;
  };
  const json leaky = {{"name", "leaky_relu"}, {"negative_slope", 0.2}};
  const json leaky_layer = {{"type", "leaky_relu"}, {"negative_slope", 0.2}};
  const json linear16 = {{"type", "linear"}, {"out", 16}}, linear12 = {{"type", "linear"}, {"out", 12}};
  const json drop = {{"type", "dropout"}, {"p", 0.1}};
  const std::vector<Pair> pairs = {
      {{{"hidden", {16, 12}}, {"activation", leaky}, {"init", "kaiming_normal"}, {"dropout", 0.1}},
       {linear16, leaky_layer, drop, linear12, leaky_layer, drop},
       "kaiming_normal"},
      {{{"hidden", {16}}, {"activation", "tanh"}, {"init", "xavier_uniform"}},
       {linear16, "tanh"},
       "xavier_uniform"},
      {{{"hidden", {16, 12}}}, {linear16, "relu", linear12, "relu"}, "pytorch_default"},
  };
  for (const Pair& pair : pairs) {
    INFO(pair.mlp.dump());
    Trainer mlp(parse_config(doc_with(pair.mlp, 3)));
    Trainer seq(parse_config(doc_with(sequential(pair.layers, pair.init), 3)));
    const TrainResult a = mlp.run(), b = seq.run();
    const auto pa = mlp.model().named_parameters(), pb = seq.model().named_parameters();
    REQUIRE(pa.size() == pb.size());
    for (size_t i = 0; i < pa.size(); ++i) {
      INFO(pa[i].first);
      CHECK(pa[i].first == pb[i].first);
      REQUIRE(pa[i].second.numel() == pb[i].second.numel());
      CHECK(std::memcmp(pa[i].second.data(), pb[i].second.data(),
                        sizeof(float) * static_cast<size_t>(pa[i].second.numel())) == 0);
    }
    REQUIRE(a.history.size() == b.history.size());
    for (size_t i = 0; i < a.history.size(); ++i) {
      const EvalRecord &x = a.history[i], &y = b.history[i];
      CHECK(x.step == y.step);
      CHECK(x.lr == y.lr);
      CHECK(x.train_loss == y.train_loss);
      CHECK(x.test_loss == y.test_loss);
      CHECK(x.train_accuracy == y.train_accuracy);
      CHECK(x.test_accuracy == y.test_accuracy);
      REQUIRE(x.layers.size() == y.layers.size());
      for (size_t l = 0; l < x.layers.size(); ++l) {
        CHECK(x.layers[l].name == y.layers[l].name);
        CHECK(x.layers[l].activation == y.layers[l].activation);
        CHECK(x.layers[l].mean == y.layers[l].mean);
        CHECK(x.layers[l].std == y.layers[l].std);
        CHECK(x.layers[l].zero_fraction == y.layers[l].zero_fraction);
        CHECK(x.layers[l].dead_fraction == y.layers[l].dead_fraction);
        CHECK(x.layers[l].saturated_fraction == y.layers[l].saturated_fraction);
      }
      REQUIRE(x.grad_norms.size() == y.grad_norms.size());
      for (size_t g = 0; g < x.grad_norms.size(); ++g) {
        CHECK(x.grad_norms[g].name == y.grad_norms[g].name);
        CHECK(x.grad_norms[g].norm == y.grad_norms[g].norm);
      }
    }
  }
}

TEST_CASE("activation sites are found by walking the module tree", "[registry][train]") {
  const json layers = {{{"type", "linear"}, {"out", 8}},
                       "gelu",
                       {{"type", "gated_ffn"}, {"d_ff", 8}},
                       {{"type", "residual"},
                        {"layers", {{{"type", "linear"}, {"out", 8}}, "tanh",
                                    {{"type", "linear"}, {"out", 8}}, "relu"}}}};
  Trainer trainer(parse_config(doc_with(sequential(layers))));
  const std::vector<ActivationSite>& sites = trainer.sites();
  REQUIRE(sites.size() == 4);
  CHECK(sites[0].name == "layer 1");
  CHECK(sites[0].activation == "gelu");
  CHECK(sites[0].weights == std::vector<std::string>{"0.weight"});
  CHECK(sites[1].name == "block 1");
  CHECK(sites[1].activation == "swiglu");
  CHECK(sites[1].watch_input);
  CHECK(sites[1].weights == std::vector<std::string>{"2.body.gate.weight", "2.body.up.weight"});
  CHECK(sites[2].name == "block 2.1");
  CHECK(sites[2].weights == std::vector<std::string>{"3.body.0.weight"});
  CHECK(sites[3].name == "block 2.2");
  CHECK(sites[3].activation == "relu");
  CHECK(sites[3].weights == std::vector<std::string>{"3.body.2.weight"});
}

namespace {

// 2 tanh(x): an activation of a test's own, with flat tails past |y| = 1.98.
class DoubleTanh : public nn::Module {
 public:
  Tensor forward(const Tensor& x) override { return actlab::tanh(x) * 2.f; }
  std::string describe() const override { return "DoubleTanh()"; }
};

constexpr float kDoubleTanhGain = 1.25f;

void register_double_tanh() {
  static const bool once = [] {
    nn::register_activation(
        "test_double_tanh", [](const json&) { return std::make_unique<DoubleTanh>(); },
        nn::ActivationInfo{"2 tanh(x)", "2 tanh(x)", "(-2, 2)", "a test", {}, {},
                           [](const json&) { return kDoubleTanhGain; },
                           [](float y) { return std::abs(y) > 1.98f; },
                           [](const Tensor& gate, const Tensor& up) {
                             return actlab::tanh(gate) * 2.f * up;
                           },
                           "test_tanhglu"});
    return true;
  }();
  (void)once;
}

}  // namespace

TEST_CASE("an activation registered from its entry alone reaches every reader",
          "[registry][activations]") {
  register_double_tanh();
  // The catalog draws it.
  const std::vector<ActivationCurve> catalog = activation_catalog(-2, 2, 5);
  const auto drawn = std::find_if(catalog.begin(), catalog.end(),
                                  [](const ActivationCurve& c) { return c.name == "test_double_tanh"; });
  REQUIRE(drawn != catalog.end());
  CHECK(drawn->y[0] == Approx(2 * std::tanh(-2.0)).epsilon(1e-6));

  // Init: its gain, in calculate_gain and in a model's kaiming init.
  CHECK(nn::init::calculate_gain("test_double_tanh") == kDoubleTanhGain);
  {
    Generator gen(11), expected_gen(11);
    nn::init::Scheme kaiming;
    kaiming.name = "kaiming_normal";
    nn::MLP mlp(3, {5}, 2, "test_double_tanh", kaiming, 0.f, gen);
    nn::Linear expected(3, 5, true, expected_gen);  // draws its default init, as the MLP's does
    nn::init::kaiming_normal_(expected.weight, kDoubleTanhGain, expected_gen);
    CHECK(mlp.linears()[0]->weight.to_vector() == expected.weight.to_vector());
  }

  // Configs: an activation, the kaiming init with no nonlinearity, a layer, a gated kind, and
  // the schema's list of nonlinearities.
  const json mlp = {{"hidden", {6}}, {"activation", "test_double_tanh"}, {"init", "kaiming_normal"}};
  CHECK_NOTHROW(parse_config(doc_with(mlp)));
  CHECK_NOTHROW(parse_config(doc_with(sequential({{{"type", "linear"}, {"out", 4}}, "test_double_tanh"}))));
  CHECK_NOTHROW(parse_config(doc_with({{"kind", "ffn"}, {"block", "gated"}, {"activation", "test_tanhglu"}})));
  const json names = config_schema()["$defs"]["activation"]["anyOf"][0]["enum"];
  CHECK(std::find(names.begin(), names.end(), "test_double_tanh") != names.end());

  // Gated FFNs: its kind names it, and the block runs its gate kernel.
  nn::GatedFeedForward block(3, 4, "test_tanhglu", false);
  CHECK(block.gate_activation() == "test_double_tanh");
  Generator gen(4);
  const Tensor x = Tensor::randn({2, 3}, gen);
  const Tensor expected = block.down(actlab::tanh(block.gate(x)) * 2.f * block.up(x));
  CHECK(block(x).to_vector() == expected.to_vector());

  // Statistics: the site's label, and "% saturated" by its own test.
  json big_init = {{"scheme", "normal"}, {"std", 3.0}};
  Trainer trainer(parse_config(doc_with({{"hidden", {16}}, {"activation", "test_double_tanh"}, {"init", big_init}})));
  REQUIRE(trainer.sites().size() == 1);
  Tensor seen;
  const int hook = trainer.sites()[0].module->add_forward_hook(
      [&](nn::Module&, const Tensor&, const Tensor& y) { seen = y; });
  trainer.predict(trainer.dataset().x_test);
  trainer.sites()[0].module->remove_forward_hook(hook);
  int64_t saturated = 0;
  for (float y : seen.to_vector()) saturated += std::abs(y) > 1.98f;
  const LayerStats stats = trainer.activation_stats(trainer.dataset().x_test).at(0);
  CHECK(stats.activation == "test_double_tanh");
  CHECK(saturated > 0);
  CHECK(stats.saturated_fraction == static_cast<double>(saturated) / static_cast<double>(seen.numel()));
}

namespace {

// y = x * scale, one learned scale per feature: a user's layer.
class Scale : public nn::Module {
 public:
  Scale(int64_t width, float init) : scale(Tensor::full({width}, init)) {
    register_parameter("scale", &scale);
  }
  Tensor forward(const Tensor& x) override { return x * scale; }
  std::string describe() const override { return "Scale()"; }
  Tensor scale;
};

void register_user_entries() {
  static const bool once = [] {
    nn::register_layer(
        "test_scale",
        [](const json& spec, int64_t in_width) {
          return nn::Layer{std::make_unique<Scale>(in_width, spec.at("init").get<float>()), in_width};
        },
        "multiplies each feature by a learned factor",
        {NumberField{"init", false, 1.0, -10, 10, false, false, "the factors' initial value"}});
    // A model kind of a user's own: an input projection, the user's layer, a head.
    nn::register_model(
        "test_scaled_linear",
        [](const json& spec, int64_t in_width, int64_t out_width, const nn::BuildContext& context) {
          const json layers = {{{"type", "linear"}, {"out", spec["width"]}},
                               {{"type", "test_scale"}, {"init", 0.5}},
                               {{"type", "linear"}, {"out", out_width}}};
          return nn::make_layers(layers, in_width, context).module;
        },
        "a test's model", {NumberField{"width", true, 8, 1, 64, false, false, "hidden width"}});
    return true;
  }();
  (void)once;
}

}  // namespace

TEST_CASE("users' layers and models train like built-in ones", "[registry][user]") {
  register_user_entries();
  const nn::LayerInfo info = nn::layer_info("test_scale");
  CHECK(info.description == "multiplies each feature by a learned factor");
  CHECK(nn::layer_schema("test_scale")["properties"]["init"]["default"] == 1.0);

  Trainer layered(parse_config(doc_with(sequential({{{"type", "linear"}, {"out", 4}},
                                                    {{"type", "test_scale"}, {"init", 2.0}}}))));
  CHECK(layered.model().named_parameters()[2].first == "1.scale");
  CHECK(layered.model().named_parameters()[2].second.to_vector() == std::vector<float>(4, 2.f));
  CHECK_FALSE(layered.run().diverged);

  const Config config = parse_config(doc_with({{"kind", "test_scaled_linear"}, {"width", 6}}));
  CHECK(config.model.spec == json{{"kind", "test_scaled_linear"}, {"width", 6}});
  Trainer modelled(config);
  CHECK(nn::count_parameters(modelled.model()) == 2 * 6 + 6 + 6 + 6 * 2 + 2);
  const TrainResult result = modelled.run();
  CHECK_FALSE(result.diverged);
  // Two runs of one config and seed give the same bits: the user's layer drew nothing of its
  // own, and the linears drew from the run's generator.
  Trainer again(config);
  CHECK(again.run().history.back().test_loss == result.history.back().test_loss);

  CHECK_THROWS_WITH(nn::register_layer("linear", [](const json&, int64_t w) { return nn::Layer{nullptr, w}; }, ""),
                    "register_layer: \"linear\" is already registered");
  CHECK_THROWS_WITH(nn::register_layer("relu", [](const json&, int64_t w) { return nn::Layer{nullptr, w}; }, ""),
                    "register_layer: \"relu\" is already registered");
  CHECK_THROWS_WITH(nn::register_model("mlp", nullptr, ""), "register_model: \"mlp\" has no factory");
}

TEST_CASE("sequential config errors name the layer, the field and what was expected",
          "[registry][config][errors]") {
  const json linear4 = {{"type", "linear"}, {"out", 4}};
  CHECK(config_error(doc_with(sequential({{{"type", "lineer"}, {"out", 4}}}))) ==
        "config error at /model/layers/0/type: unknown layer type \"lineer\"; " + known_layers() +
            "; did you mean \"linear\"?");
  CHECK(config_error(doc_with(sequential({linear4, "gleu"}))) ==
        "config error at /model/layers/1: unknown layer type \"gleu\"; " + known_layers() +
            "; did you mean \"gelu\"?");
  CHECK(config_error(doc_with(sequential({{{"type", "linear"}, {"outs", 4}}}))) ==
        "config error at /model/layers/0/outs: unknown field \"outs\" for layer \"linear\"; "
        "known: out, bias; did you mean \"out\"?");
  CHECK(config_error(doc_with(sequential({{{"type", "linear"}}}))) ==
        "config error at /model/layers/0/out: expected an integer in [1, 4096], found nothing");
  CHECK(config_error(doc_with(sequential({{{"type", "linear"}, {"out", 0}}}))) ==
        "config error at /model/layers/0/out: expected an integer in [1, 4096], found 0");
  CHECK(config_error(doc_with(sequential({linear4, {{"type", "leaky_relu"}, {"negative_slope", "x"}}}))) ==
        "config error at /model/layers/1/negative_slope: in activation \"leaky_relu\", expected a "
        "number, found \"x\"");
  CHECK(config_error(doc_with(sequential({{{"type", "residual"}, {"layers", {{{"type", "linear"}, {"oot", 2}}}}}}))) ==
        "config error at /model/layers/0/layers/0/oot: unknown field \"oot\" for layer \"linear\"; "
        "known: out, bias; did you mean \"out\"?");
  CHECK(config_error(doc_with(sequential({linear4, {{"type", "residual"}, {"layers", {{{"type", "linear"}, {"out", 6}}}}}}))) ==
        "config error at /model/layers/1/layers: expected the layers to end at the width they "
        "start from (4), found 6");
  CHECK(config_error(doc_with(sequential({{{"type", "linear"}, {"out", 8}}, {{"type", "prelu"}, {"num_parameters", 16}}}))) ==
        "config error at /model/layers/1/num_parameters: expected 1 or the width of its input "
        "(8), found 16");
  CHECK(config_error(doc_with(sequential({linear4, {{"formula", "x * beta"}, {"beta", 1}}}, "kaiming_normal"))) ==
        "config error at /model/init/nonlinearity: kaiming_normal needs a gain, and none is known "
        "for activation \"x * beta\"; set init.nonlinearity (e.g. \"relu\" or \"linear\") (layers.1)");
  CHECK(config_error(doc_with({{"kind", "sequentail"}})) ==
        fmt::format("config error at /model/kind: expected one of {}, found \"sequentail\"; did you "
                    "mean \"sequential\"?",
                    fmt::join(nn::model_kinds(), ", ")));
}

TEST_CASE("set_field, --set and sweeps address a layer by its index", "[registry][config]") {
  json doc = doc_with(sequential({{{"type", "linear"}, {"out", 4}}, "relu"}));
  apply_override(doc, "model.layers.0.out=9");
  apply_override(doc, "model.layers.1=gelu");
  CHECK(doc["model"]["layers"] == json{{{"type", "linear"}, {"out", 9}}, "gelu"});
  CHECK_THROWS_WITH(apply_override(doc, "model.layers.2.out=3"),
                    "--set model.layers.2.out=3: model.layers is not an object or a list holding "
                    "item 2");
  CHECK_THROWS_WITH(apply_override(doc, "model.layers.x=3"),
                    "--set model.layers.x=3: model.layers is not an object or a list holding "
                    "item x");
}

TEST_CASE("a layer that does not fit is refused by the command line, nothing written",
          "[registry][cli][errors]") {
  cli_runner::TempDir dir;
  const std::filesystem::path config = std::filesystem::temp_directory_path() / ("actlab_registry_" + std::to_string(::getpid()) + ".json");
  std::ofstream(config) << doc_with(sequential({{{"type", "linear"}, {"out", 8}},
                                                {{"type", "prelu"}, {"num_parameters", 3}}}))
                               .dump();
  const cli_runner::Result r =
      cli_runner::actlab("train " + config.string() + " --out " + dir.path.string());
  std::filesystem::remove(config);
  CHECK(r.status == 2);
  CHECK(r.err ==
        "config error at /model/layers/1/num_parameters: expected 1 or the width of its input "
        "(8), found 3\n");
  CHECK(r.out.empty());
  CHECK_FALSE(std::filesystem::exists(dir.path));
}
