// The example plugin: a shared library that `actlab --plugin` loads to add squareplus to the
// command's activations and layer_scale to its layer types, usable in configs, sweeps,
// `actlab activations`, `schema` and `diagnose`.
#include <actlab/plugin.hpp>

#include "layer_scale.hpp"
#include "squareplus.hpp"

namespace {
void register_all() {
  squareplus_example::register_squareplus();
  squareplus_example::register_layer_scale();
}
}  // namespace

ACTLAB_PLUGIN(register_all)
