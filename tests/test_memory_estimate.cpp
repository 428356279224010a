// The memory estimate (issue 14) without the command line: every built-in layer type's and
// model kind's reported parameters against the module it builds, a small run's estimate part by
// part against hand-computed bytes, the default cost of a layer that reports none, concurrent
// runs, and --max-memory's sizes. Against a real process's peak RSS: test_cli_memory.cpp.
#include <catch2/catch.hpp>

#include <memory>

#include "actlab/actlab.hpp"

using namespace actlab;
using nlohmann::json;

namespace {

// The parameters and output width of the module a layer spec builds at `in_width`.
std::pair<int64_t, int64_t> built(const json& spec, int64_t in_width) {
  Generator gen(1);
  const nn::Layer layer = nn::make_layer(spec, in_width, nn::BuildContext{gen});
  return {nn::count_parameters(*layer.module), layer.out_width};
}

}  // namespace

TEST_CASE("each built-in layer type reports the parameters and width it builds",
          "[memory][registry]") {
  const json formula{{"formula", "x * sigmoid(beta * x)"}, {"beta", 1.0}, {"learn", {"beta"}},
                     {"num_parameters", 5}};
  const std::vector<json> specs{
      {{"type", "linear"}, {"out", 7}},
      {{"type", "linear"}, {"out", 7}, {"bias", false}},
      "dropout",
      "layer_norm",
      {{"type", "layer_norm"}, {"bias", false}},
      "rms_norm",
      {{"type", "ffn"}, {"d_ff", 6}},
      {{"type", "ffn"}, {"d_ff", 6}, {"activation", {{"name", "prelu"}, {"num_parameters", 6}}}},
      {{"type", "gated_ffn"}, {"d_ff", 6}},
      {{"type", "gated_ffn"}, {"d_ff", 6}, {"bias", true}, {"activation", "geglu"}},
      {{"type", "residual"}, {"layers", {{{"type", "linear"}, {"out", 5}}, "gelu"}}},
      "gelu",
      {{"type", "prelu"}, {"num_parameters", 5}},
      formula,
  };
  for (const json& spec : specs) {
    INFO(spec.dump());
    const nn::MemoryCost cost = nn::layer_cost(spec, 5);
    CHECK(std::pair(cost.parameters, cost.out_width) == built(spec, 5));
    CHECK(cost.kept_per_example > 0);
    CHECK(cost.eval_per_example >= 5 + cost.out_width);
  }
}

TEST_CASE("each built-in model kind reports the parameters it builds", "[memory][registry]") {
  const std::vector<json> models{
      {{"kind", "mlp"}, {"hidden", {8, 6}}, {"activation", "gelu"}, {"dropout", 0.1}},
      {{"kind", "mlp"}, {"hidden", {8}}, {"activation", {{"name", "prelu"}, {"num_parameters", 8}}}},
      {{"kind", "ffn"}, {"d_model", 8}, {"d_ff", 12}, {"blocks", 2}},
      {{"kind", "ffn"}, {"block", "gated"}, {"d_model", 8}, {"d_ff", 12}, {"blocks", 3},
       {"dropout", 0.1}},
      {{"kind", "sequential"},
       {"layers",
        {{{"type", "linear"}, {"out", 9}}, "layer_norm", "silu", {{"type", "ffn"}, {"d_ff", 4}},
         {{"type", "dropout"}, {"p", 0.2}}}}},
  };
  for (const json& model : models) {
    INFO(model.dump());
    const Config config =
        parse_config({{"task", {{"name", "spirals"}, {"arms", 3}}}, {"model", model}});
    Generator gen(1);
    const Model built = build_model(config.model, 2, 3, gen);
    const std::optional<nn::MemoryCost> cost = nn::model_cost(config.model.spec, 2, 3);
    REQUIRE(cost);
    CHECK(cost->parameters == nn::count_parameters(*built.net));
    CHECK(cost->out_width == 3);
  }
}

TEST_CASE("a small run's estimate, part by part, against hand-computed bytes", "[memory]") {
  const Config config = parse_config(
      {{"task", {{"name", "xor"}, {"n_train", 16}, {"n_test", 8}}},
       {"model", {{"kind", "mlp"}, {"hidden", {8}}, {"activation", "relu"}}},
       {"loss", {{"name", "bce_with_logits"}}},
       {"optimizer", {{"name", "adam"}}},
       {"train", {{"batch_size", 4}, {"epochs", 1}}}});
  // Layers at input width 2: linear 2->8 (24 parameters; keeps its output, 8; evaluation holds
  // input and output, 10), relu (keeps 8; evaluation 16), the head 8->1 (9; keeps 1; 9). So
  // P = 33, kept 17 and evaluation 16 per example; the loss adds 2 * 1 of each.
  const MemoryEstimate e = estimate_memory(config);
  CHECK(e.parameters == 4 * 33);
  CHECK(e.gradients == 4 * 33);
  CHECK(e.optimizer_state == 4 * 2 * 33);                  // Adam's two moments
  CHECK(e.activations == 4 * 4 * (2 * (17 + 2) + 2 + 1));  // batch 4: kept twice, the batch once
  CHECK(e.data == 4 * (16 + 8) * (2 + 1));                 // x and y of both splits
  // Both splits' forwards, and the statistics' copy of the test split's activations.
  CHECK(e.evaluation == 4 * ((16 + 8) * (16 + 2) + 8 * 17));
  CHECK(e.checkpoint == 2 * (4 * 33 + 4 * 2 * 33));
  CHECK(e.total() == 132 + 132 + 264 + 656 + 288 + 2272 + 792);
  CHECK(e.left_out.empty());
  // Without checkpoints (compare's cells), with SGD without momentum, and without statistics.
  const Config sgd = parse_config({{"task", config.resolved["task"]},
                                   {"model", config.resolved["model"]},
                                   {"loss", {{"name", "bce_with_logits"}}},
                                   {"optimizer", {{"name", "sgd"}, {"lr", 0.1}}},
                                   {"train", {{"batch_size", 4}, {"epochs", 1}}},
                                   {"diagnostics", {{"activation_stats", false}}}});
  const MemoryEstimate plain = estimate_memory(sgd, false);
  CHECK(plain.optimizer_state == 0);
  CHECK(plain.checkpoint == 0);
  CHECK(plain.evaluation == 4 * (16 + 8) * (16 + 2));
  // A batch larger than the training split holds the split.
  const Config big_batch = parse_config({{"task", config.resolved["task"]},
                                         {"model", config.resolved["model"]},
                                         {"loss", {{"name", "bce_with_logits"}}},
                                         {"train", {{"batch_size", 1000}, {"epochs", 1}}}});
  CHECK(estimate_memory(big_batch).activations == e.activations * 16 / 4);
}

TEST_CASE("a csv task's shape is bounded from its file's size, before its data is made",
          "[memory][csv]") {
  const json spec{{"name", "csv"},
                  {"path", std::string(ACTLAB_CONFIG_DIR) + "/../data/iris.csv"},
                  {"target", "species"}};
  const data::TaskShape shape = data::task_shape(data::resolve_task(spec));
  const data::Dataset made = data::make_task(spec);
  CHECK(shape.input_dim == 4);
  CHECK(shape.kind == data::TaskKind::multiclass);
  CHECK(shape.num_classes == 3);
  CHECK(shape.output_dim == 3);
  // Bounds: a row of 5 fields takes at least 10 bytes.
  CHECK(shape.n_train >= made.x_train.size(0));
  CHECK(shape.n_test >= made.x_test.size(0));
  CHECK(shape.other_bytes > 0);
  // And not wildly above: iris's rows take about 30 bytes, so the bound is within 4x.
  CHECK(shape.n_train <= 4 * (made.x_train.size(0) + made.x_test.size(0)));
}

TEST_CASE("a layer that reports no cost gets the documented default, and a model that reports "
          "none is left out by name",
          "[memory][registry]") {
  nn::register_layer(
      "memory_test_widen",
      [](const json& spec, int64_t in_width) {
        const int64_t out = spec.at("out").get<int64_t>();
        return nn::Layer{std::make_unique<nn::Linear>(in_width, out), out};
      },
      "a linear layer without a cost",
      {NumberField{"out", true, 4, 1, 100, false, false, "output features"}});
  const nn::MemoryCost cost = nn::layer_cost({{"type", "memory_test_widen"}, {"out", 9}}, 3);
  CHECK(cost.out_width == 9);
  CHECK(cost.parameters == (3 + 1) * 9);  // a dense map's, which it is
  CHECK(cost.kept_per_example == 4 * 9);
  CHECK(cost.eval_per_example == 3 + 4 * 9);
  // Its "out" left to the default still gives its width: the resolved spec has it.
  CHECK(nn::layer_cost("memory_test_widen", 3).out_width == 4);

  nn::register_model(
      "memory_test_kind",
      [](const json&, int64_t in_width, int64_t out_width, const nn::BuildContext&) {
        return std::unique_ptr<nn::Module>(std::make_unique<nn::Linear>(in_width, out_width));
      },
      "a model kind without a cost");
  const Config config = parse_config(
      {{"task", "xor"}, {"model", {{"kind", "memory_test_kind"}}}, {"train", {{"batch_size", 4}}}});
  const MemoryEstimate e = estimate_memory(config);
  CHECK(e.left_out == "model kind \"memory_test_kind\" reports no memory cost");
  CHECK(e.parameters == 0);
  CHECK(e.total() == e.data);
  CHECK(e.to_json()["left_out"] == e.left_out);
}

TEST_CASE("concurrent runs add up the largest ones, as many as run at once", "[memory]") {
  MemoryEstimate small, medium, large;
  small.data = 10;
  medium.data = 100, medium.parameters = 5;
  large.data = 1000;
  const std::vector<MemoryEstimate> runs{small, large, medium, small};
  CHECK(estimate_concurrent(runs, 1).total() == 1000);
  CHECK(estimate_concurrent(runs, 2).total() == 1105);
  CHECK(estimate_concurrent(runs, 2).parameters == 5);
  CHECK(estimate_concurrent(runs, 64).total() == 1125);
}

TEST_CASE("sizes for --max-memory: bytes and binary suffixes, and what is refused", "[memory][cli]") {
  CHECK(parse_memory_size("1048576") == 1048576);
  CHECK(parse_memory_size("512M") == int64_t{512} << 20);
  CHECK(parse_memory_size("512m") == int64_t{512} << 20);
  CHECK(parse_memory_size("2G") == int64_t{2} << 30);
  CHECK(parse_memory_size("1.5G") == int64_t{3} << 29);
  CHECK(parse_memory_size("64K") == 65536);
  CHECK(parse_memory_size("1T") == int64_t{1} << 40);
  const std::string expected = "expected a size such as 512M, 2G or 1048576 (bytes; K, M, G and "
                               "T are powers of 1024), found ";
  for (const std::string bad : {"", "abc", "12Q", "-5", "1.5.2G", "G", "2GB", " 2G", "0x10", "1e3"}) {
    INFO(bad);
    CHECK_THROWS_WITH(parse_memory_size(bad), expected + "\"" + bad + "\"");
  }
  CHECK_THROWS_WITH(parse_memory_size("0"), "expected a size from 1 byte to 4096 PiB, found \"0\"");
  CHECK_THROWS_WITH(parse_memory_size("0.1"),
                    "expected a size from 1 byte to 4096 PiB, found \"0.1\"");
  CHECK_THROWS_WITH(parse_memory_size("5000000T"),
                    "expected a size from 1 byte to 4096 PiB, found \"5000000T\"");
}

TEST_CASE("byte counts read in binary units with three digits", "[memory]") {
  CHECK(format_bytes(512) == "512 B");
  CHECK(format_bytes(1536) == "1.50 KiB");
  CHECK(format_bytes(int64_t{12} << 20) == "12.0 MiB");
  CHECK(format_bytes(int64_t{512} << 20) == "512 MiB");
  CHECK(format_bytes(int64_t{17} << 30) == "17.0 GiB");
}

TEST_CASE("an estimate over its limit is refused with both in one line", "[memory]") {
  MemoryEstimate e;
  e.parameters = int64_t{3} << 30;
  CHECK_NOTHROW(check_memory(e, {int64_t{3} << 30, "--max-memory"}));
  CHECK_THROWS_WITH(check_memory(e, {int64_t{512} << 20, "--max-memory"}),
                    "the run's memory estimate is 3.00 GiB (3221225472 bytes), over the limit of "
                    "512 MiB (536870912 bytes, --max-memory)");
}
