// Vanishing gradients across depth, measured: the gradient norm ||dL/dW_l|| of every layer of a
// deep MLP at initialisation, per activation and init scheme, summarised over seeds; and, on
// request, the same nets trained to show what the norms mean for learning (He et al. 2015: a
// 30-layer ReLU net trains with He init and stalls with gain-1 Xavier).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "actlab/detail/fields.hpp"  // FieldError, thrown for bad options
#include "actlab/nn/init.hpp"
#include "actlab/report/report.hpp"

namespace actlab {

struct VanishingOptions {
  int64_t depth = 20;  // Linear layers, the output layer included (2..64)
  int64_t width = 64;  // every layer is width x width, and width classes: 2..4096
  std::vector<std::string> activations = {"sigmoid", "tanh", "relu", "gelu"};
  // Init schemes to compare, each with every activation (see vanishing_init); empty: each
  // activation's usual one (vanishing_default_init).
  std::vector<std::string> inits;
  int64_t seeds = 5;    // independent nets per (activation, init)
  int64_t batch = 256;  // random inputs N(0, 1) per net
  uint64_t seed = 0;    // nets k = 0 .. seeds-1 draw from Generator(seed, k)
  // > 0: also train each (activation, init) this many steps (see vanishing_gradients).
  int64_t train_steps = 0;
};

// Per-layer values summarised over seeds: the geometric mean (seed-to-seed spread is
// log-normal-like, so the arithmetic mean would follow the luckiest seed), with min and max.
struct Spread {
  double geomean = 0, min = 0, max = 0;
};
// The geometric mean, min and max of positive values (a zero gives a geometric mean of 0).
Spread summarise(const std::vector<double>& values);

struct LossPoint {
  int64_t step = 0;
  double train_loss = 0;  // mean over the steps since the previous point
  double test_loss = 0;
};

struct VanishingNet {
  std::string activation;
  std::string init;                   // the scheme's name as given, e.g. "he", "xavier_normal"
  std::vector<Spread> layer_norms;    // ||dL/dW_l|| for l = 1 .. depth (input to output)
  Spread ratio;                       // ||dL/dW_1|| / ||dL/dW_L|| over seeds
  std::string verdict;                // "vanishes", "flows" or "explodes" (see verdict_for)
  std::vector<LossPoint> loss_curve;  // empty unless trained
  double test_accuracy = 0;           // at the end of training
};

struct VanishingResult {
  VanishingOptions options;
  std::vector<VanishingNet> nets;  // per activation, then per init, in the options' order
};

// Measures every (activation, init) pair. The loss is cross-entropy of the width outputs
// against random labels: its gradient at the output, (softmax - onehot) / batch, has about the
// same size whatever the forward pass did, so the norms show what the backward pass does to it.
// With train_steps, each pair is also trained on "circles" (2-D inputs, depth - 1 hidden layers
// of width, one logit and BCE) with full-batch SGD at lr 0.01 and no momentum, so that a step is
// the gradient itself and a tiny gradient makes a tiny step (Adam would rescale it and hide the
// stall); those nets are initialised from options.seed. Bad options throw FieldError with the
// option's name as path ("depth", "activations", ...).
VanishingResult vanishing_gradients(const VanishingOptions& options = {});

// An init scheme by name: any of nn::init::kSchemeNames, with the activation's gain as PyTorch's
// calculate_gain gives it (xavier_normal with tanh has gain 5/3); and the papers' own forms:
// "xavier" (Glorot & Bengio 2010: N(0, 2/(fan_in + fan_out)), gain 1 whatever the activation)
// and "he" (He et al. 2015: N(0, 2/fan_in), relu's gain whatever the activation). Unknown names
// throw FieldError at "init", suggesting the closest.
nn::init::Scheme vanishing_init(const std::string& name);
std::vector<std::string> vanishing_init_names();
// xavier_normal for sigmoid and tanh (gain 1 and 5/3), kaiming_normal (He) for the rest.
std::string vanishing_default_init(const std::string& activation);

// "vanishes" below 0.1, "explodes" above 10, else "flows": within an order of magnitude.
std::string verdict_for(double first_over_last);

nlohmann::json to_json(const VanishingResult& result);
// A log-scale chart of the norms per layer (one line per net), the ratio table, and the loss
// curves of trained nets.
report::Document vanishing_report(const VanishingResult& result);

}  // namespace actlab
