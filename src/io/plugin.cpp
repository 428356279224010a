// Loading a plugin: open the shared library, find its entry point, check the interface version,
// call its registration. Each way this can fail is a PluginError naming the path.
#include "actlab/plugin.hpp"

#include <dlfcn.h>
#include <fmt/format.h>

#include <filesystem>

namespace actlab {
namespace {

namespace fs = std::filesystem;

constexpr const char* kEntryName = "actlab_plugin_entry";

// dlerror()'s text without the "PATH: " it starts with when it is about the file itself.
std::string dl_problem(const std::string& opened) {
  const char* error = dlerror();
  std::string text = error ? error : "unknown error";
  const std::string prefix = opened + ": ";
  if (text.starts_with(prefix)) text.erase(0, prefix.size());
  return text;
}

// The library open, with its symbols resolved now (a symbol that this actlab lacks is an error
// here, not a crash at its first call). RTLD_LOCAL is enough: the plugin names libactlab.so as
// a dependency, and the dynamic linker binds it to the copy the command already loaded (one
// soname, one copy), so its registrations land in the command's registries; and two plugins'
// own symbols never clash.
void* open_library(const std::string& path) {
  std::error_code error;
  if (!fs::exists(path, error)) throw PluginError(path, "no such file");
  if (!fs::is_regular_file(path, error)) throw PluginError(path, "not a file");
  // An absolute path, so that dlopen opens this file rather than searching the library path
  // for a bare name.
  const std::string opened = fs::absolute(path).string();
  void* handle = dlopen(opened.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) throw PluginError(path, "cannot load it: " + dl_problem(opened));
  return handle;
}

const PluginEntry& entry_of(void* handle, const std::string& path) {
  using EntryPoint = const PluginEntry* (*)();
  const auto entry_point = reinterpret_cast<EntryPoint>(dlsym(handle, kEntryName));
  if (!entry_point)
    throw PluginError(path, fmt::format("not an actlab plugin: it has no {} (define one with "
                                        "ACTLAB_PLUGIN from <actlab/plugin.hpp>)",
                                        kEntryName));
  const PluginEntry* entry = entry_point();
  if (!entry) throw PluginError(path, fmt::format("its {} returned nothing", kEntryName));
  if (entry->interface_version != ACTLAB_PLUGIN_INTERFACE_VERSION)
    throw PluginError(path, fmt::format("built for plugin interface version {}, but this actlab "
                                        "loads version {}: rebuild it against this actlab",
                                        entry->interface_version,
                                        ACTLAB_PLUGIN_INTERFACE_VERSION));
  if (!entry->register_all) throw PluginError(path, "its entry names no registration function");
  return *entry;
}

}  // namespace

PluginError::PluginError(std::string path, std::string problem)
    : InputError(fmt::format("plugin {}: {}", path, problem)),
      path_(std::move(path)),
      problem_(std::move(problem)) {}

void load_plugin(const std::string& path) {
  const PluginEntry& entry = entry_of(open_library(path), path);
  try {
    entry.register_all();
  } catch (const std::exception& e) {
    throw PluginError(path, fmt::format("its registration failed: {}", e.what()));
  } catch (...) {
    throw PluginError(path, "its registration failed with an exception that is not a std::exception");
  }
}

}  // namespace actlab
