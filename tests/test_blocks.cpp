// FFN blocks (standard and gated) against PyTorch, gradcheck over every weight, parameter
// counts at equal size, and the MLP builder.
#include <catch2/catch.hpp>

#include "actlab/actlab.hpp"
#include "reference_data.hpp"

using namespace actlab;
using Catch::Matchers::Contains;

namespace {

std::unique_ptr<nn::Module> block_for(const nlohmann::json& c, int64_t d_model, int64_t d_ff) {
  if (c["kind"] == "standard")
    return std::make_unique<nn::FeedForward>(d_model, d_ff, c["activation"].get<std::string>());
  return std::make_unique<nn::GatedFeedForward>(d_model, d_ff, c["activation"].get<std::string>());
}

}  // namespace

TEST_CASE("FFN blocks match PyTorch: outputs and every gradient", "[blocks][reference]") {
  const nlohmann::json ref = reference::load("blocks.json");
  const int64_t d_model = ref["d_model"];
  const int64_t d_ff = ref["d_ff"];
  for (const auto& c : ref["cases"]) {
    INFO(c["kind"].get<std::string>() << " " << c["activation"].get<std::string>());
    auto block = block_for(c, d_model, d_ff);
    std::vector<std::string> names;
    for (auto& [name, p] : block->named_parameters()) {
      names.push_back(name);
      p.copy_(Tensor::from_vector(reference::numbers(c["params"][name]),
                                  c["param_shapes"][name].get<std::vector<int64_t>>()));
    }
    std::vector<std::string> want_names;
    for (auto& [name, v] : c["params"].items()) want_names.push_back(name);
    std::sort(want_names.begin(), want_names.end());
    std::vector<std::string> sorted = names;
    std::sort(sorted.begin(), sorted.end());
    CHECK(sorted == want_names);

    Tensor x = Tensor::from_vector(reference::numbers(c["x"]),
                                   c["x_shape"].get<std::vector<int64_t>>(), true);
    Tensor proj = Tensor::from_vector(reference::numbers(c["proj"]), x.shape());
    Tensor y = (*block)(x);
    // float32 products of length <= 10 and exact-GELU's erf: 1e-5 relative covers both.
    reference::check_close(y.to_vector(), reference::numbers(c["output"]), 1e-5, 1e-6, "output");
    sum(y * proj).backward();
    reference::check_close(x.grad().to_vector(), reference::numbers(c["grads"]["x"]), 1e-5, 1e-6,
                           "dx");
    for (auto& [name, p] : block->named_parameters())
      reference::check_close(p.grad().to_vector(), reference::numbers(c["grads"][name]), 1e-5,
                             1e-6, "d" + name);
  }
}

TEST_CASE("FFN blocks pass gradcheck over the input and every weight", "[blocks][gradcheck]") {
  for (const char* kind : {"standard", "gated"}) {
    for (const char* act : {"gelu", "silu", "sigmoid", "relu"}) {
      INFO(kind << " " << act);
      Generator gen(3);
      std::unique_ptr<nn::Module> block =
          std::string(kind) == "standard"
              ? std::unique_ptr<nn::Module>(std::make_unique<nn::FeedForward>(4, 6, act, true, gen))
              : std::make_unique<nn::GatedFeedForward>(4, 6, act, false, gen);
      std::vector<Tensor> inputs{Tensor::randn({3, 4}, gen).set_requires_grad(true)};
      for (Tensor& p : block->parameters()) inputs.push_back(p);
      // The block reads its own parameters; gradcheck perturbs the same storage.
      auto fn = [&](const std::vector<Tensor>& in) { return (*block)(in[0]); };
      GradcheckResult r = gradcheck(fn, inputs);
      INFO(r.message);
      CHECK(r.ok);
    }
  }
}

TEST_CASE("FeedForward's fused up + activation gives the bits of the two ops", "[blocks]") {
  // in_features 520: OpenBLAS adds a K > 512 product in blocks, so an order of the bias add
  // other than linear's would show in the bits; 70 x 1024 outputs split over threads.
  for (const char* act : {"gelu", "gelu_tanh", "relu", "silu", "mish"}) {
    INFO(act);
    const auto run = [act](bool watch_up) {
      Generator gen(11);
      nn::FeedForward block(520, 1024, act, true, gen);
      Tensor x = Tensor::randn({70, 520}, gen).set_requires_grad(true);
      const Tensor proj = Tensor::randn({70, 520}, gen);
      int watched = 0;  // a hook on up needs its output: the block runs the two ops
      if (watch_up) block.up.add_forward_hook([&](nn::Module&, const Tensor&, const Tensor& z) {
        watched += z.shape() == Shape{70, 1024};
      });
      const Tensor y = block(x);
      sum(y * proj).backward();
      CHECK(watched == (watch_up ? 1 : 0));
      std::vector<std::vector<float>> out{y.to_vector(), x.grad().to_vector()};
      for (const Tensor& p : block.parameters()) out.push_back(p.grad().to_vector());
      return out;
    };
    CHECK(run(false) == run(true));
  }
}

TEST_CASE("gated kinds name their gate activation", "[blocks]") {
  CHECK(nn::GatedFeedForward(4, 8, "swiglu").gate_activation() == "silu");
  CHECK(nn::GatedFeedForward(4, 8, "geglu").gate_activation() == "gelu");
  CHECK(nn::GatedFeedForward(4, 8, "reglu").gate_activation() == "relu");
  CHECK(nn::GatedFeedForward(4, 8, "glu").gate_activation() == "sigmoid");
  CHECK(nn::GatedFeedForward(4, 8).gate_activation() == "silu");
  CHECK_THROWS_WITH(nn::GatedFeedForward(4, 8, "tanh"),
                    "GatedFeedForward: unknown gate activation \"tanh\"; expected one of "
                    "relu, gelu, gelu_tanh, silu, swish, sigmoid or a kind: reglu, geglu, "
                    "swiglu, glu");
  CHECK_THROWS_WITH(nn::FeedForward(4, 8, "gleu"), Contains("did you mean \"gelu\""));
}

TEST_CASE("standard and gated blocks compared at equal parameters", "[blocks]") {
  CHECK(nn::matched_gated_d_ff(2048) == 1368);  // 2/3 of 2048 = 1365.3 -> nearest 8
  CHECK(nn::matched_gated_d_ff(256) == 168);    // 170.7 -> 168
  CHECK(nn::matched_gated_d_ff(6) == 8);
  nn::FeedForward standard(512, 2048, "gelu", false);
  nn::GatedFeedForward gated(512, nn::matched_gated_d_ff(2048), "silu", false);
  CHECK(nn::count_parameters(standard) == 2 * 512 * 2048);
  CHECK(nn::count_parameters(gated) == 3 * 512 * 1368);
  const double ratio = static_cast<double>(nn::count_parameters(gated)) /
                       static_cast<double>(nn::count_parameters(standard));
  CHECK(ratio == Approx(1.0).margin(0.005));
  nn::FeedForward with_bias(4, 8);
  CHECK(nn::count_parameters(with_bias) == 4 * 8 + 8 + 8 * 4 + 4);
  std::vector<std::string> names;
  for (auto& [name, p] : gated.named_parameters()) names.push_back(name);
  CHECK(names == std::vector<std::string>{"gate.weight", "up.weight", "down.weight"});
}

TEST_CASE("MLP builder: layers, activations, dropout, init", "[blocks][mlp]") {
  Generator gen(1);
  nn::MLP mlp(2, {8, 8}, 3, {{"name", "leaky_relu"}, {"negative_slope", 0.2}}, {}, 0.1f, gen);
  // Linear, act, dropout, Linear, act, dropout, Linear
  CHECK(mlp.size() == 7);
  CHECK(mlp.linears().size() == 3);
  CHECK(mlp[1].describe() == "LeakyReLU(negative_slope=0.2)");
  CHECK(mlp[2].describe() == "Dropout(p=0.1)");
  CHECK(mlp(Tensor::zeros({5, 2})).shape() == std::vector<int64_t>{5, 3});
  CHECK(nn::count_parameters(mlp) == (2 * 8 + 8) + (8 * 8 + 8) + (8 * 3 + 3));
  nn::MLP linear_only(2, {}, 1, "identity");
  CHECK(linear_only.size() == 1);
  nn::init::Scheme kaiming;
  kaiming.name = "kaiming_normal";
  nn::MLP wide(500, {400}, 2, "relu", kaiming, 0.f, gen);
  double sq = 0;
  for (float w : wide.linears()[0]->weight.to_vector()) sq += static_cast<double>(w) * w;
  CHECK(std::sqrt(sq / (400 * 500)) == Approx(std::sqrt(2.0 / 500)).epsilon(0.03));
  CHECK_THROWS_AS(nn::MLP(2, {4}, 1, "relu6"), FieldError);
}
