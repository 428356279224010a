// Plugins: shared libraries that add activations (and layers) to the `actlab` command without
// rebuilding it. A plugin links actlab::actlab, registers as a built-in does, and names its
// registration function once:
//
//   void register_mine() { actlab::nn::register_activation("mine", ...); }
//   ACTLAB_PLUGIN(register_mine)
//
// `actlab --plugin libmine.so COMMAND` (or ACTLAB_PLUGINS) calls load_plugin on it. The
// registries live in libactlab.so, which the command and every plugin share, so what a plugin
// registers is what the command reads.
#pragma once

#include <string>

#include "actlab/core/tensor.hpp"

// The plugin interface's version: a plugin compiles it in, and the loader refuses any other.
// It changes whenever PluginEntry or the way it is called changes.
#define ACTLAB_PLUGIN_INTERFACE_VERSION 1

namespace actlab {

// What a plugin's entry point returns. `interface_version` stays the first member in every
// version, so that the loader can read it before trusting the rest.
struct PluginEntry {
  int interface_version;
  void (*register_all)();  // registers the plugin's activations and layers; may throw
};

// Defines the entry point, `extern "C" const actlab::PluginEntry* actlab_plugin_entry()`, which
// hands the loader the version this plugin was built with and its registration function.
#define ACTLAB_PLUGIN(register_fn)                                                        \
  extern "C" __attribute__((visibility("default"))) const ::actlab::PluginEntry*          \
  actlab_plugin_entry() {                                                                 \
    static const ::actlab::PluginEntry entry{ACTLAB_PLUGIN_INTERFACE_VERSION, register_fn}; \
    return &entry;                                                                        \
  }

// A plugin that cannot be loaded: bad input, which the command line reports with exit 2.
// what() is "plugin PATH: PROBLEM".
class PluginError : public InputError {
 public:
  PluginError(std::string path, std::string problem);
  const std::string& path() const { return path_; }
  const std::string& problem() const { return problem_; }

 private:
  std::string path_;
  std::string problem_;
};

// Loads the shared library at `path`, checks its interface version and calls its registration
// function. Throws PluginError when the file is missing or cannot be loaded, has no entry
// point, was built for another interface version, or its registration throws (a name that is
// already registered, for one). A library once opened stays loaded for the life of the process,
// even when it is refused: the registries may hold its code (a registration that failed part
// way, or one made by its static constructors).
void load_plugin(const std::string& path);

}  // namespace actlab
