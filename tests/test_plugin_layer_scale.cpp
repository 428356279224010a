// The example plugin's layer type (examples/plugin/layer_scale.hpp): values and gradients
// against hand-computed ones, gradcheck, and its registry entry: its field, its memory cost
// against the module it builds, and a sequential model with it trained through Trainer.
// Loading it through `actlab --plugin` is tests/plugin/run.cmake.
#include <catch2/catch.hpp>

#include "actlab/actlab.hpp"
#include "plugin/layer_scale.hpp"

using namespace actlab;
using squareplus_example::layer_scale;

TEST_CASE("layer_scale values and gradients match hand-computed ones", "[plugin][layer_scale]") {
  // x = [[1, 2], [3, 4]], gamma = [0.5, -2]: y = [[0.5, -4], [1.5, -8]]. With the loss sum(y),
  // dx = gamma on every row, and dgamma = the column sums of x, [4, 6].
  const Tensor x = Tensor::from_vector({1, 2, 3, 4}, {2, 2}, true);
  const Tensor gamma = Tensor::from_vector({0.5f, -2.f}, {2}, true);
  const Tensor y = layer_scale(x, gamma);
  CHECK(y.to_vector() == std::vector<float>{0.5f, -4.f, 1.5f, -8.f});
  sum(y).backward();
  CHECK(x.grad().to_vector() == std::vector<float>{0.5f, -2.f, 0.5f, -2.f});
  CHECK(gamma.grad().to_vector() == std::vector<float>{4.f, 6.f});
}

TEST_CASE("layer_scale passes gradcheck over batch, time and features",
          "[plugin][layer_scale][gradcheck]") {
  Generator gen(3);
  const GradcheckResult r = gradcheck(
      [](const std::vector<Tensor>& in) { return layer_scale(in[0], in[1]); },
      {Tensor::randn({3, 4, 5}, gen).set_requires_grad(true),
       Tensor::randn({5}, gen).set_requires_grad(true)});
  INFO(r.message);
  CHECK(r.ok);
}

TEST_CASE("layer_scale registers with its field and cost, and trains in a sequential model",
          "[plugin][layer_scale][registry]") {
  squareplus_example::register_layer_scale();
  CHECK(nn::resolve_layer("layer_scale") ==
        nlohmann::json{{"type", "layer_scale"}, {"init", 0.1}});
  Generator gen(1);
  const nlohmann::json spec{{"type", "layer_scale"}, {"init", 0.25}};
  const nn::Layer layer = nn::make_layer(spec, 6, nn::BuildContext{gen});
  CHECK(layer.out_width == 6);
  CHECK(layer.module->describe() == "LayerScale(features=6)");
  CHECK(layer.module->parameters().at(0).to_vector() == std::vector<float>(6, 0.25f));
  const nn::MemoryCost cost = nn::layer_cost(spec, 6);
  CHECK(cost.parameters == nn::count_parameters(*layer.module));
  CHECK(cost.out_width == 6);
  CHECK(cost.kept_per_example == 6);
  try {
    nn::resolve_layer({{"type", "layer_scale"}, {"init", 0}});
    FAIL("init = 0 was accepted");
  } catch (const FieldError& e) {
    CHECK(std::string(e.what()) ==
          "init: expected a number in (0, 10], found 0");
  }

  const Config config = parse_config(
      {{"task", {{"name", "moons"}, {"n_train", 200}, {"n_test", 100}}},
       {"model",
        {{"kind", "sequential"},
         {"layers", {{{"type", "linear"}, {"out", 16}}, "tanh", {{"type", "layer_scale"}, {"init", 0.5}}}}}},
       {"train", {{"epochs", 30}, {"batch_size", 32}, {"eval_every", 1000}, {"seed", 2}}}});
  Trainer trainer(config);
  const TrainResult result = trainer.run();
  REQUIRE_FALSE(result.diverged);
  // 2*16+16 + 16 + 16*1+1: the factors are parameters, trained with the rest.
  CHECK(result.parameter_count == 81);
  CHECK(*result.history.back().test_accuracy > 0.8);  // chance is 0.5
  const Tensor factors = trainer.model().named_parameters().at(2).second;
  CHECK(factors.to_vector() != std::vector<float>(16, 0.5f));
}
