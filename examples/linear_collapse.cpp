// The seed document's first picture, made measurable: a deep network with no activation is
// one linear map. For each depth N we stack N layers y = x W^T + b, collapse them by hand into
// W' = W_N ... W_1 and b' = W_N(...(W_2 b_1 + b_2)...) + b_N, and print how far the deep net's
// output is from x W'^T + b' on random inputs.
#include <actlab/actlab.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <vector>

using namespace actlab;

namespace {

struct Layer {
  Tensor weight;  // [width, width]
  Tensor bias;    // [width]
};

Tensor apply(const Layer& layer, const Tensor& x) {  // x [batch, width]
  return matmul(x, transpose(layer.weight, 0, 1)) + layer.bias;
}

// Weights ~ N(0, 1/width) keep the output's scale steady across depth.
std::vector<Layer> random_layers(int depth, int64_t width, Generator& gen) {
  std::vector<Layer> layers;
  const float scale = 1.f / std::sqrt(static_cast<float>(width));
  for (int i = 0; i < depth; ++i)
    layers.push_back({Tensor::randn({width, width}, gen) * scale, Tensor::randn({width}, gen)});
  return layers;
}

// W' = W_N ... W_1 and b' = W_N (... (W_2 b_1 + b_2) ...) + b_N.
Layer collapse(const std::vector<Layer>& layers) {
  Layer total = layers.front();
  for (size_t i = 1; i < layers.size(); ++i) {
    const Layer& next = layers[i];
    total.weight = matmul(next.weight, total.weight);
    total.bias = apply(next, reshape(total.bias, {1, -1}));
    total.bias = reshape(total.bias, {-1});
  }
  return total;
}

float max_abs(const Tensor& t) {
  const auto v = t.to_vector();
  float m = 0.f;
  for (float x : v) m = std::max(m, std::abs(x));
  return m;
}

}  // namespace

int main() {
  const int64_t width = 32;
  const int64_t batch = 256;
  Generator gen(2024);
  NoGradGuard no_grad;
  fmt::print("Deep linear nets collapse: N layers y = x W^T + b, width {}, {} random inputs\n",
             width, batch);
  fmt::print("{:>6}  {:>22}  {:>18}\n", "depth", "max |deep - collapsed|", "relative to max|y|");
  float worst_relative = 0.f;
  for (int depth : {2, 4, 8, 16}) {
    const std::vector<Layer> layers = random_layers(depth, width, gen);
    const Tensor x = Tensor::randn({batch, width}, gen);
    Tensor deep = x;
    for (const Layer& layer : layers) deep = apply(layer, deep);
    const Tensor shallow = apply(collapse(layers), x);
    const float diff = max_abs(deep - shallow);
    fmt::print("{:>6}  {:>22.3e}  {:>18.3e}\n", depth, diff, diff / max_abs(deep));
    worst_relative = std::max(worst_relative, diff / max_abs(deep));
  }
  fmt::print(
      "The difference is float32 round-off (~1e-6 relative): without an activation, depth adds\n"
      "no expressive power; every stack equals one layer x W'^T + b'.\n");
  return worst_relative < 1e-5f ? 0 : 1;  // far above round-off would mean a bug
}
