// LayerScale (Touvron et al. 2021, "Going deeper with image transformers"): y = x * gamma, a
// learned factor per feature, started small. Put after an activation, each factor learns how
// much of that unit the next layer gets, so a sweep can read off (from its gradient norms and
// results) whether an activation's output scale needs correcting: squareplus, whose output at
// 0 is sqrt(b) / 2 rather than 0, against GELU. The op with its hand-written backward, its
// module, and its registration as the layer type "layer_scale" with a field and a memory cost,
// written with actlab's public headers only.
#pragma once

#include <actlab/actlab.hpp>
#include <fmt/format.h>

#include <memory>
#include <utility>

namespace squareplus_example {

using actlab::GradSink;
using actlab::Tensor;

// x [..., features] times gamma [features], gamma broadcast over the leading dimensions.
inline Tensor layer_scale(const Tensor& x, const Tensor& gamma) {
  const int64_t features = gamma.numel();
  const int64_t rows = x.numel() / features;
  Tensor y = Tensor::empty(x.shape());
  const float *xv = x.data(), *gv = gamma.data();
  float* yv = y.mutable_data();
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t f = 0; f < features; ++f) yv[r * features + f] = xv[r * features + f] * gv[f];
  actlab::record("layer_scale", y, {x, gamma},
                 [xs = actlab::save(x), gs = actlab::save(gamma), rows, features](
                     const Tensor& g, GradSink& sink) {
                   const float *dy = g.data(), *xv = xs.data(), *gv = gs.data();
                   if (sink.needs(0))  // dx = dy * gamma
                     sink.target(0).write(g.numel(),
                                          [=](int64_t k) { return dy[k] * gv[k % features]; });
                   if (!sink.needs(1)) return;
                   // dgamma = the sum over rows of dy * x
                   Tensor dgamma = Tensor::zeros({features});
                   float* dg = dgamma.mutable_data();
                   for (int64_t r = 0; r < rows; ++r)
                     for (int64_t f = 0; f < features; ++f)
                       dg[f] += dy[r * features + f] * xv[r * features + f];
                   sink.add(1, std::move(dgamma));
                 });
  return y;
}

class LayerScale final : public actlab::nn::Module {
 public:
  LayerScale(int64_t features, float init) : gamma(Tensor::full({features}, init)) {
    register_parameter("gamma", &gamma);
  }
  Tensor forward(const Tensor& x) override { return layer_scale(x, gamma); }
  std::string describe() const override {
    return fmt::format("LayerScale(features={})", gamma.numel());
  }

  Tensor gamma;  // [features]
};

// "layer_scale" in a sequential model's layers: {"type": "layer_scale", "init": 0.1}. Its width
// is its input's; it holds one factor per feature and keeps its output for backward (its input
// is the previous layer's output, counted there).
inline void register_layer_scale() {
  actlab::NumberField init{"init", false, 0.1, 0.0, 10.0, true, false,
                           "each factor's initial value (CaiT uses 0.1 to 1e-6 by depth)"};
  actlab::nn::register_layer(
      "layer_scale",
      [](const nlohmann::json& spec, int64_t in_width) {
        return actlab::nn::Layer{std::make_unique<LayerScale>(in_width, spec.at("init").get<float>()),
                                 in_width};
      },
      actlab::nn::LayerInfo{"y = x * gamma, a learned factor per feature started at `init` "
                            "(LayerScale, Touvron et al. 2021)",
                            {init},
                            [](const nlohmann::json&, int64_t in_width) {
                              return actlab::nn::MemoryCost{in_width, in_width, in_width, 0};
                            }});
}

}  // namespace squareplus_example
