// A plugin that registers "gelu", which actlab already has.
#include <actlab/actlab.hpp>

#include <memory>

namespace {
void register_gelu() {
  actlab::nn::register_activation(
      "gelu", [](const nlohmann::json&) { return std::make_unique<actlab::nn::GELU>(); },
      "a second gelu");
}
}  // namespace

ACTLAB_PLUGIN(register_gelu)
