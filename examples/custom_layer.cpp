// Extending actlab from outside the library, with its public headers only: a new activation
// (squareplus, Barron 2021: (x + sqrt(x^2 + b)) / 2, a smooth ReLU without exp, from
// plugin/squareplus.hpp) with a hand-written backward, and a new layer (a learned per-feature
// scale and shift) with one too.
// Both are gradchecked; the activation is registered by name and then trained from a config,
// exactly like a built-in one. Exits non-zero if a check fails.
#include <actlab/actlab.hpp>
#include <fmt/format.h>

#include "plugin/squareplus.hpp"

using namespace actlab;

// The new activation, squareplus, is the op, backward and module of plugin/squareplus.hpp,
// which the example plugin shares.
using squareplus_example::squareplus;

// ---- a new layer: y = x * scale + shift per feature, with its own backward --------------------

class ScaleShift : public nn::Module {
 public:
  explicit ScaleShift(int64_t features)
      : scale(Tensor::ones({features})), shift(Tensor::zeros({features})) {
    register_parameter("scale", &scale);
    register_parameter("shift", &shift);
  }

  Tensor forward(const Tensor& x) override {  // x [rows, features]
    const int64_t features = scale.numel();
    const int64_t rows = x.numel() / features;
    Tensor y = Tensor::empty(x.shape());
    const float *xv = x.data(), *s = scale.data(), *t = shift.data();
    float* yv = y.mutable_data();
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t f = 0; f < features; ++f)
        yv[r * features + f] = xv[r * features + f] * s[f] + t[f];
    record("scale_shift", y, {x, scale, shift},
           [xs = save(x), ss = save(scale), rows, features](const Tensor& g, GradSink& sink) {
             const float *gv = g.data(), *xv = xs.data(), *s = ss.data();
             if (sink.needs(0))  // dx = g * scale
               sink.target(0).write(g.numel(), [&](int64_t k) { return gv[k] * s[k % features]; });
             // dscale = sum over rows of g * x; dshift = sum over rows of g
             Tensor dscale = Tensor::zeros({features}), dshift = Tensor::zeros({features});
             float *ds = dscale.mutable_data(), *dt = dshift.mutable_data();
             for (int64_t r = 0; r < rows; ++r)
               for (int64_t f = 0; f < features; ++f) {
                 ds[f] += gv[r * features + f] * xv[r * features + f];
                 dt[f] += gv[r * features + f];
               }
             if (sink.needs(1)) sink.add(1, std::move(dscale));
             if (sink.needs(2)) sink.add(2, std::move(dshift));
           });
    return y;
  }
  std::string describe() const override {
    return fmt::format("ScaleShift(features={})", scale.numel());
  }

  Tensor scale;  // [features]
  Tensor shift;  // [features]
};

bool check(const char* what, const GradcheckResult& r) {
  fmt::print("gradcheck {:<12} {}\n", what, r.ok ? "ok" : r.message);
  return r.ok;
}

int main() {
  Generator gen(7);
  bool ok = check("squareplus", gradcheck([](const std::vector<Tensor>& x) { return squareplus(x[0], 4.f); },
                                          {Tensor::randn({4, 5}, gen).set_requires_grad(true)}));
  ScaleShift layer(5);
  layer.scale.copy_(Tensor::randn({5}, gen));
  ok = check("scale_shift", gradcheck([&](const std::vector<Tensor>& x) { return layer(x[0]); },
                                      {Tensor::randn({4, 5}, gen).set_requires_grad(true),
                                       layer.scale, layer.shift})) && ok;

  // One call makes "squareplus" a name that configs, sweeps and `actlab activations` know.
  squareplus_example::register_squareplus();

  const Config config = parse_config({{"task", {{"name", "moons"}, {"noise", 0.1}, {"seed", 1}}},
                                      {"model", {{"hidden", {32, 32}}, {"activation", "squareplus"}}},
                                      {"optimizer", {{"name", "adam"}, {"lr", 0.01}}},
                                      {"train", {{"epochs", 60}, {"eval_every", 100}}}});
  const TrainResult result = Trainer(config).run();
  const double accuracy = result.history.back().test_accuracy.value();
  fmt::print("moons with squareplus from a config: test accuracy {:.3f}\n", accuracy);

  // The new layer inside a model built by hand.
  nn::Sequential model;
  model.emplace_back<nn::Linear>(2, 16, true, gen);
  model.emplace_back<ScaleShift>(16);
  model.push_back(std::shared_ptr<nn::Module>(nn::make_activation("squareplus")));
  model.emplace_back<nn::Linear>(16, 1, true, gen);
  fmt::print("{}\n{} parameters\n", model.describe(), nn::count_parameters(model));
  return ok && accuracy > 0.9 ? 0 : 1;
}
