// A plugin built for the next interface version, its entry point written out by hand.
#include <actlab/plugin.hpp>

namespace {
void register_nothing() {}
}  // namespace

extern "C" const actlab::PluginEntry* actlab_plugin_entry() {
  static const actlab::PluginEntry entry{ACTLAB_PLUGIN_INTERFACE_VERSION + 1, register_nothing};
  return &entry;
}
