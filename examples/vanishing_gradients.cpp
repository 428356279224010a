// Vanishing gradients, measured: the gradient norm ||dL/dW_l|| of every layer of a 20-layer
// MLP at initialisation, for sigmoid and tanh (Xavier init) and ReLU and GELU (He init). The
// sigmoid's derivative is at most 0.25, so its gradient shrinks layer after layer on the way
// back; ReLU with He init keeps it level (He et al. 2015). Exits 1 if that is not what we see.
#include <actlab/actlab.hpp>
#include <fmt/format.h>

#include <string>

int main() {
  actlab::VanishingOptions options;  // 20 layers of width 64, 5 seeds
  options.activations = {"sigmoid", "tanh", "relu", "gelu"};
  const actlab::VanishingResult result = actlab::vanishing_gradients(options);

  fmt::print("||dL/dW_l|| at initialisation, geometric mean over {} seeds\n", options.seeds);
  fmt::print("{:>5}", "layer");
  for (const actlab::VanishingNet& net : result.nets) fmt::print("  {:>14}", net.activation);
  fmt::print("\n{:>5}", "init");
  for (const actlab::VanishingNet& net : result.nets) fmt::print("  {:>14}", net.init);
  fmt::print("\n");
  for (int64_t l = 0; l < options.depth; ++l) {
    fmt::print("{:>5}", l + 1);
    for (const actlab::VanishingNet& net : result.nets)
      fmt::print("  {:>14.3e}", net.layer_norms[static_cast<size_t>(l)].geomean);
    fmt::print("\n");
  }
  fmt::print("{:>5}", "1/L");
  for (const actlab::VanishingNet& net : result.nets) fmt::print("  {:>14.3e}", net.ratio.geomean);
  fmt::print("\n");

  // The claims: sigmoid's first layer gets a millionth of the last one's gradient or less;
  // ReLU with He init keeps the two within a factor of 20.
  double sigmoid = 0, relu = 0;
  for (const actlab::VanishingNet& net : result.nets) {
    if (net.activation == "sigmoid") sigmoid = net.ratio.geomean;
    if (net.activation == "relu") relu = net.ratio.geomean;
  }
  const bool as_expected = sigmoid < 1e-6 && relu > 0.05 && relu < 20;
  fmt::print("first/last: sigmoid {:.1e} (vanishes), relu {:.2f} (flows): {}\n", sigmoid, relu,
             as_expected ? "as expected" : "NOT as expected");
  return as_expected ? 0 : 1;
}
