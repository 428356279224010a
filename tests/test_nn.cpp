// Modules: Linear (values, gradients, init), Sequential, Dropout, registries, hooks, init
// schemes and gains.
#include <catch2/catch.hpp>

#include <cmath>

#include "actlab/actlab.hpp"

using namespace actlab;
using Catch::Matchers::Contains;

namespace {
double sample_std(const Tensor& t) {
  const auto v = t.to_vector();
  double mean = 0, sq = 0;
  for (float x : v) mean += x;
  mean /= v.size();
  for (float x : v) sq += (x - mean) * (x - mean);
  return std::sqrt(sq / v.size());
}
float max_abs(const Tensor& t) {
  float m = 0;
  for (float x : t.to_vector()) m = std::max(m, std::abs(x));
  return m;
}
}  // namespace

TEST_CASE("linear computes x W^T + b", "[nn][linear]") {
  Tensor x = Tensor::from_vector({1, 2, 3, 4, 5, 6}, {2, 3});
  Tensor w = Tensor::from_vector({1, 0, -1, 2, 1, 0}, {2, 3});
  Tensor b = Tensor::from_vector({10, 20}, {2});
  // row 0: [1-3, 2+2] = [-2, 4]; row 1: [4-6, 8+5] = [-2, 13]
  CHECK(linear(x, w, b).to_vector() == std::vector<float>{8, 24, 8, 33});
  CHECK(linear(x, w).to_vector() == std::vector<float>{-2, 4, -2, 13});
  // No input features: the output is the bias alone.
  CHECK(linear(Tensor::zeros({3, 0}), Tensor::zeros({2, 0}), b).to_vector() ==
        std::vector<float>{10, 20, 10, 20, 10, 20});
  Tensor x3 = reshape(Tensor::from_vector({1, 2, 3, 4, 5, 6}, {6}), {2, 1, 3});
  CHECK(linear(x3, w, b).shape() == std::vector<int64_t>{2, 1, 2});
  CHECK_THROWS_WITH(linear(Tensor::zeros({2, 4}), w, b),
                    "linear: input [2, 4], weight [2, 3] and bias [2] do not fit: expected "
                    "[..., in], [out, in], [out]");
}

TEST_CASE("linear passes gradcheck for x, weight and bias", "[nn][linear][gradcheck]") {
  Generator gen(5);
  auto p = [&](Shape s) { return Tensor::randn(s, gen).set_requires_grad(true); };
  auto with_bias = [](const std::vector<Tensor>& t) { return linear(t[0], t[1], t[2]); };
  auto no_bias = [](const std::vector<Tensor>& t) { return linear(t[0], t[1]); };
  GradcheckResult r = gradcheck(with_bias, {p({4, 3}), p({5, 3}), p({5})});
  INFO(r.message);
  CHECK(r.ok);
  CHECK(gradcheck(no_bias, {p({4, 3}), p({5, 3})}));
  CHECK(gradcheck(with_bias, {p({2, 2, 3}), p({4, 3}), p({4})}));
  CHECK(gradcheck(with_bias, {Tensor::randn({4, 3}, gen), p({5, 3}), p({5})}));
}

TEST_CASE("linear's backward gives dX the buffer of an input nothing else holds", "[nn][linear]") {
  // An op of our own makes x, and notes in its backward where dX arrived.
  Tensor a = Tensor::from_vector({1, 2, 3, 4, 5, 6}, {2, 3}, true);
  Tensor x = Tensor::from_vector({1, 2, 3, 4, 5, 6}, {2, 3});
  const float* x_buffer = x.data();
  const float* dx_buffer = nullptr;
  record("source", x, {a}, [&dx_buffer](const Tensor& g, GradSink& sink) {
    dx_buffer = g.data();
    sink.add(0, g);
  });
  Tensor w = Tensor::from_vector({1, 0, -1, 2, 1, 0}, {2, 3}, true);
  const Tensor y = linear(x, w);
  x = Tensor();  // only linear's node holds x's values now
  sum(y).backward();
  // dW used x and dropped it; dX then took its buffer from the cache.
  CHECK(dx_buffer == x_buffer);
  CHECK(a.grad().to_vector() == std::vector<float>{3, 1, -1, 3, 1, -1});  // ones W
  CHECK(w.grad().to_vector() == std::vector<float>{5, 7, 9, 5, 7, 9});    // ones^T x
}

TEST_CASE("Linear module: shapes, names, PyTorch default init bounds", "[nn][linear]") {
  Generator gen(1);
  nn::Linear layer(16, 8, true, gen);
  CHECK(layer.weight.shape() == std::vector<int64_t>{8, 16});
  CHECK(layer.bias.shape() == std::vector<int64_t>{8});
  CHECK(layer.weight.requires_grad());
  auto named = layer.named_parameters();
  REQUIRE(named.size() == 2);
  CHECK(named[0].first == "weight");
  CHECK(named[1].first == "bias");
  CHECK(max_abs(layer.weight) <= 0.25f);  // 1/sqrt(16)
  CHECK(max_abs(layer.bias) <= 0.25f);
  CHECK(nn::count_parameters(layer) == 16 * 8 + 8);
  CHECK(layer.describe() == "Linear(in=16, out=8, bias=true)");
  nn::Linear no_bias(4, 2, false, gen);
  CHECK(no_bias.parameters().size() == 1);
  CHECK(layer(Tensor::zeros({3, 16})).shape() == std::vector<int64_t>{3, 8});
  CHECK_THROWS_WITH(nn::Linear(0, 3), "Linear: sizes must be positive, got in=0 out=3");
}

TEST_CASE("calculate_gain follows torch.nn.init", "[nn][init]") {
  CHECK(nn::init::calculate_gain("linear") == 1.f);
  CHECK(nn::init::calculate_gain("sigmoid") == 1.f);
  CHECK(nn::init::calculate_gain("tanh") == Approx(5.0 / 3.0));
  CHECK(nn::init::calculate_gain("relu") == Approx(std::sqrt(2.0)));
  CHECK(nn::init::calculate_gain("leaky_relu", 0.2f) == Approx(std::sqrt(2.0 / 1.04)));
  CHECK(nn::init::calculate_gain("selu") == 0.75f);
  CHECK_THROWS_WITH(nn::init::calculate_gain("relu6"), Contains("'relu6'"));
}

TEST_CASE("init schemes give the documented spread", "[nn][init]") {
  Generator gen(3);
  nn::Linear layer(400, 300, true, gen);
  const auto scheme = [](const char* name, const char* nonlinearity) {
    nn::init::Scheme s;
    s.name = name;
    s.nonlinearity = nonlinearity;
    return s;
  };
  // Sample std over 120,000 weights is within ~0.5% of the true value; 3% is generous.
  nn::init::apply(layer, scheme("kaiming_normal", "relu"), gen);
  CHECK(sample_std(layer.weight) == Approx(std::sqrt(2.0 / 400)).epsilon(0.03));
  CHECK(max_abs(layer.bias) == 0.f);
  nn::init::apply(layer, scheme("kaiming_uniform", "relu"), gen);
  CHECK(sample_std(layer.weight) == Approx(std::sqrt(2.0 / 400)).epsilon(0.03));
  CHECK(max_abs(layer.weight) <= std::sqrt(6.f / 400));
  nn::init::apply(layer, scheme("xavier_uniform", "tanh"), gen);
  CHECK(sample_std(layer.weight) == Approx(5.0 / 3.0 * std::sqrt(2.0 / 700)).epsilon(0.03));
  nn::init::apply(layer, scheme("xavier_normal", "sigmoid"), gen);
  CHECK(sample_std(layer.weight) == Approx(std::sqrt(2.0 / 700)).epsilon(0.03));
  nn::init::apply(layer, scheme("pytorch_default", "relu"), gen);
  CHECK(sample_std(layer.weight) == Approx(1.0 / std::sqrt(3.0 * 400)).epsilon(0.03));
  CHECK(max_abs(layer.bias) > 0.f);
  nn::init::Scheme normal = scheme("normal", "relu");
  normal.std = 0.5f;
  nn::init::apply(layer, normal, gen);
  CHECK(sample_std(layer.weight) == Approx(0.5).epsilon(0.03));
  // No nonlinearity given: PyTorch's defaults (kaiming: relu's gain; xavier: gain 1).
  nn::init::apply(layer, scheme("kaiming_normal", ""), gen);
  CHECK(sample_std(layer.weight) == Approx(std::sqrt(2.0 / 400)).epsilon(0.03));
  nn::init::apply(layer, scheme("xavier_normal", ""), gen);
  CHECK(sample_std(layer.weight) == Approx(std::sqrt(2.0 / 700)).epsilon(0.03));
  nn::init::apply(layer, scheme("zeros", "relu"), gen);
  CHECK(max_abs(layer.weight) == 0.f);
  CHECK_THROWS_WITH(nn::init::apply(layer, scheme("he", "relu"), gen),
                    "init: unknown scheme 'he'; known: pytorch_default, xavier_uniform, "
                    "xavier_normal, kaiming_uniform, kaiming_normal, normal, zeros");
}

TEST_CASE("Sequential applies in order and names children by index", "[nn]") {
  Generator gen(2);
  nn::Sequential seq;
  auto& first = seq.emplace_back<nn::Linear>(3, 4, true, gen);
  seq.emplace_back<nn::Dropout>(0.5f, gen);
  seq.emplace_back<nn::Linear>(4, 2, true, gen);
  CHECK(seq.size() == 3);
  std::vector<std::string> names;
  for (auto& [name, p] : seq.named_parameters()) names.push_back(name);
  CHECK(names == std::vector<std::string>{"0.weight", "0.bias", "2.weight", "2.bias"});
  seq.eval();
  CHECK_FALSE(seq[1].is_training());
  Tensor x = Tensor::randn({5, 3}, gen);
  auto& last = dynamic_cast<nn::Linear&>(seq[2]);
  CHECK(seq(x).to_vector() == last(first(x)).to_vector());
  seq.train();
  CHECK(seq[1].is_training());
  auto modules = seq.named_modules();
  REQUIRE(modules.size() == 4);
  CHECK(modules[2].first == "1");
}

TEST_CASE("forward hooks see every call and can be removed", "[nn]") {
  nn::Linear layer(2, 2);
  int calls = 0;
  Shape seen;
  const int id = layer.add_forward_hook([&](nn::Module&, const Tensor&, const Tensor& y) {
    ++calls;
    seen = y.shape();
  });
  layer(Tensor::zeros({3, 2}));
  CHECK(calls == 1);
  CHECK(seen == Shape{3, 2});
  layer.remove_forward_hook(id);
  layer(Tensor::zeros({3, 2}));
  CHECK(calls == 1);
}

TEST_CASE("dropout: identity in eval, inverted scaling in training", "[nn][dropout]") {
  Generator gen(9);
  nn::Dropout drop(0.25f, gen);
  Tensor x = Tensor::ones({100000});
  const auto y = drop(x).to_vector();
  int64_t zeros = 0;
  for (float v : y) {
    if (v == 0.f)
      ++zeros;
    else
      CHECK(v == Approx(1.f / 0.75f));
  }
  // Binomial std of the zero fraction at n = 1e5 is 0.0014.
  CHECK(static_cast<double>(zeros) / y.size() == Approx(0.25).margin(0.01));
  drop.eval();
  CHECK(drop(x).data() == x.data());
  CHECK_THROWS_WITH(nn::Dropout(1.f), "Dropout: probability must be in [0, 1), got 1");
}

TEST_CASE("dropout passes gradcheck with a fixed mask", "[nn][dropout][gradcheck]") {
  auto fn = [](const std::vector<Tensor>& t) {
    Generator gen(4);  // the same mask at every evaluation
    return dropout(t[0], 0.3f, true, gen);
  };
  Generator gen(1);
  CHECK(gradcheck(fn, {Tensor::randn({6, 5}, gen).set_requires_grad(true)}));
}

TEST_CASE("manual_seed makes default-initialised layers repeat", "[nn]") {
  manual_seed(11);
  nn::Linear a(3, 3);
  manual_seed(11);
  nn::Linear b(3, 3);
  CHECK(a.weight.to_vector() == b.weight.to_vector());
}
