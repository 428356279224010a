// Squareplus (Barron 2021), a smooth ReLU without exponentials: (x + sqrt(x^2 + b)) / 2, b > 0.
// The op with its hand-written backward, its module, and its registration with a parameter
// b (default 4, b > 0), written with actlab's public headers only. The plugin in this folder
// registers it into the `actlab` command; examples/custom_layer.cpp into a program of its own.
#pragma once

#include <actlab/actlab.hpp>
#include <fmt/format.h>

#include <cmath>
#include <limits>
#include <memory>
#include <utility>

namespace squareplus_example {

using actlab::GradSink;
using actlab::Tensor;

// Below 0, x + s (s = sqrt(x^2 + b)) cancels to nothing for large |x|; there its equal
// b / (s - x) keeps every digit. y = (x + s) / 2, so for x < 0, y = b / (2 (s - x)).
// The derivative (1 + x / s) / 2 gets the same rewrite: 1 + x / s = b / (s (s - x)).
inline Tensor squareplus(const Tensor& x, float b) {
  Tensor y = Tensor::empty(x.shape());
  const int64_t n = x.numel();
  const float* xv = x.data();
  float* yv = y.mutable_data();
  for (int64_t k = 0; k < n; ++k) {
    const float s = std::sqrt(xv[k] * xv[k] + b);
    yv[k] = xv[k] >= 0.f ? 0.5f * (xv[k] + s) : 0.5f * b / (s - xv[k]);
  }
  actlab::record("squareplus", y, {x}, [xs = actlab::save(x), b](const Tensor& g, GradSink& sink) {
    const float* gv = g.data();
    const float* xv = xs.data();
    sink.target(0).write(g.numel(), [&](int64_t k) {
      const float s = std::sqrt(xv[k] * xv[k] + b);
      const float slope = xv[k] >= 0.f ? 0.5f * (1.f + xv[k] / s) : 0.5f * b / (s * (s - xv[k]));
      return gv[k] * slope;
    });
  });
  return y;
}

class Squareplus final : public actlab::nn::Module {
 public:
  explicit Squareplus(float b = 4.f) : b_(b) {}
  Tensor forward(const Tensor& x) override { return squareplus(x, b_); }
  std::string describe() const override { return fmt::format("Squareplus(b={})", b_); }

 private:
  float b_;
};

// "squareplus" in configs, sweeps and `actlab activations`: a name, or {"name": "squareplus",
// "b": 1}. The registry checks b against its field (a number > 0, 4 when left out) and hands
// the factory the resolved spec. Its recommended init gain is ReLU's, sqrt(2): squareplus is
// ReLU as b goes to 0, and like softplus (whose gain PyTorch also leaves to ReLU's) it passes
// about half of a zero-mean input's variance. With it, kaiming and xavier init need no
// init.nonlinearity in a config.
inline void register_squareplus() {
  actlab::NumberField b{"b", false, 4.0, 0.0, std::numeric_limits<double>::infinity(), true, false,
                        "smoothness: b = 0 would be ReLU; larger is smoother"};
  actlab::nn::ActivationInfo info{"a smooth ReLU without exponentials (Barron 2021)",
                                  "(x + sqrt(x^2 + b)) / 2 (b = 4)",
                                  "(0, inf)",
                                  "hidden layers, as softplus, where exp is costly",
                                  {b}};
  info.gain = [](const nlohmann::json&) { return std::sqrt(2.f); };
  actlab::nn::register_activation(
      "squareplus",
      [](const nlohmann::json& spec) { return std::make_unique<Squareplus>(spec.at("b").get<float>()); },
      std::move(info));
}

}  // namespace squareplus_example
