// The `actlab` command line: parses arguments, calls the library, prints. Exit status 0 when
// done, 2 for bad usage, a bad config (one line on stderr naming the JSON path) or a plugin that
// cannot be loaded, 1 for a run that failed (diverged to NaN/Inf, or could not write its files).
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <string_view>

#include "actlab/core/threads.hpp"
#include "actlab/plugin.hpp"
#include "actlab/train/config.hpp"
#include "cli/commands.hpp"

namespace actlab::cli {
namespace {
std::vector<CommandFactory>& factories() {
  static std::vector<CommandFactory> all;
  return all;
}
}  // namespace

CommandRegistration::CommandRegistration(CommandFactory make) {
  factories().push_back(std::move(make));
}

std::vector<std::unique_ptr<Command>> make_commands() {
  std::vector<std::unique_ptr<Command>> commands;
  for (const CommandFactory& make : factories()) commands.push_back(make());
  return commands;
}

namespace {
// Prints one line on stderr, whatever the message holds (a value quoted from a config, a path).
void print_error(const std::string& line) {
  fmt::print(stderr, "{}\n", actlab::detail::escape_control_characters(line));
}

// CLI11's message for a usage error, on one line: its lines joined, its advice to run --help
// kept as a hint.
std::string one_line(const CLI::ParseError& e) {
  std::string text = e.what();
  for (size_t at; (at = text.find('\n')) != std::string::npos;) text.replace(at, 1, "; ");
  return fmt::format("actlab: {} (see --help)", text);
}

// Where a plugin's path came from, as its error line names it.
struct PluginSource {
  std::string origin;  // "--plugin " or "ACTLAB_PLUGINS: "
  std::string path;
};

// ACTLAB_PLUGINS (colon-separated; empty entries skipped), then each --plugin, in order.
std::vector<PluginSource> plugin_sources(const std::vector<std::string>& flags) {
  std::vector<PluginSource> sources;
  if (const char* env = std::getenv("ACTLAB_PLUGINS")) {
    std::string_view rest = env;
    while (!rest.empty()) {
      const size_t colon = std::min(rest.find(':'), rest.size());
      if (colon > 0) sources.push_back({"ACTLAB_PLUGINS: ", std::string(rest.substr(0, colon))});
      rest.remove_prefix(std::min(colon + 1, rest.size()));
    }
  }
  for (const std::string& path : flags) sources.push_back({"--plugin ", path});
  return sources;
}

// Loads every plugin before the command runs; false (after one line on stderr) at the first
// that fails.
bool load_plugins(const std::vector<std::string>& flags) {
  for (const auto& [origin, path] : plugin_sources(flags)) {
    try {
      actlab::load_plugin(path);
    } catch (const actlab::PluginError& e) {
      print_error(fmt::format("actlab: {}{}: {}", origin, e.path(), e.problem()));
      return false;
    }
  }
  return true;
}
}  // namespace

}  // namespace actlab::cli

int main(int argc, char** argv) {
  using namespace actlab::cli;
  CLI::App app{"actlab: train small networks and study activation functions", "actlab"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "actlab 0.1.0");
  int threads = 0;
  app.add_option("--threads", threads,
                 "threads for matrix products and large elementwise loops, one OpenMP pool "
                 "(default: ACTLAB_NUM_THREADS, else OpenMP's: OMP_NUM_THREADS or the core count)")
      ->check(CLI::Range(1, 1024));
  std::vector<std::string> plugins;
  app.add_option("--plugin", plugins,
                 "load a plugin (a shared library built against actlab) before the command; "
                 "repeatable; ACTLAB_PLUGINS (colon-separated) are loaded first")
      ->type_name("LIB.so")
      ->expected(1)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  std::vector<std::unique_ptr<Command>> commands = make_commands();
  std::vector<std::pair<CLI::App*, Command*>> subcommands;
  for (auto& command : commands) subcommands.emplace_back(command->add(app), command.get());
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // Help and the version go to stdout with status 0; a usage error is one line on stderr.
    if (e.get_exit_code() == 0) return app.exit(e);
    print_error(one_line(e));
    return kUsageError;
  }
  if (!load_plugins(plugins)) return kUsageError;
  try {
    if (threads > 0)
      actlab::set_num_threads(threads);
    else
      actlab::apply_num_threads_from_env();
  } catch (const std::exception& e) {
    print_error(fmt::format("actlab: {}", e.what()));
    return kUsageError;
  }
  try {
    for (auto& [sub, command] : subcommands)
      if (sub->parsed()) return command->run();
  } catch (const actlab::FieldError& e) {
    print_error(actlab::config_error_message(e));
    return kUsageError;
  } catch (const UsageError& e) {
    print_error(fmt::format("actlab: {}", e.what()));
    return kUsageError;
  } catch (const actlab::InputError& e) {
    print_error(fmt::format("actlab: {}", e.what()));
    return kUsageError;
  } catch (const std::filesystem::filesystem_error& e) {
    // A path given on the command line that cannot be used, said without the library's prefix.
    print_error(fmt::format("actlab: {}: {}", e.path1().string(), e.code().message()));
    return kUsageError;
  } catch (const std::exception& e) {
    print_error(fmt::format("actlab: {}", e.what()));
    return kRunFailed;
  }
  return kUsageError;
}
