// The example plugin: a shared library that `actlab --plugin` loads to add squareplus to the
// command's activations, usable in configs, sweeps, `actlab activations` and `diagnose`.
#include <actlab/plugin.hpp>

#include "squareplus.hpp"

namespace {
void register_all() { squareplus_example::register_squareplus(); }
}  // namespace

ACTLAB_PLUGIN(register_all)
