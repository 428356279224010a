// The subcommands of `actlab`. Each lives in its own file and registers itself, so adding a
// command touches no other file:
//
//   namespace {
//   class Hello final : public Command {
//     CLI::App* add(CLI::App& app) override { return app.add_subcommand("hello", "..."); }
//     int run() override { ...; return kDone; }
//   };
//   const CommandRegistration hello_registration([] { return std::make_unique<Hello>(); });
//   }
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <memory>
#include <stdexcept>
#include <vector>

#include "actlab/detail/fields.hpp"

namespace actlab::cli {

constexpr int kDone = 0;
constexpr int kRunFailed = 1;   // a run that failed: diverged, or its files could not be written
constexpr int kUsageError = 2;  // bad usage or a bad config

// A flag's value that the command cannot use (found after parsing, e.g. `--temperatures 0`).
// main prints "actlab: <message>" on stderr and exits 2: unlike a FieldError, it names a flag,
// not a path in a config file. The message starts with the flag: "--logits: expected ...".
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Runs `step`; an actlab::Error it throws becomes a UsageError of `flag` ("--out: runs/x: in
// use by another actlab process (pid 1234); ..."), but a FieldError, which names its JSON path.
template <class Step>
auto for_flag(const char* flag, Step step) {
  try {
    return step();
  } catch (const FieldError&) {
    throw;
  } catch (const Error& e) {
    throw UsageError(std::string(flag) + ": " + e.what());
  }
}

class Command {
 public:
  virtual ~Command() = default;
  // Adds the subcommand and its options (bound to members) to the app.
  virtual CLI::App* add(CLI::App& app) = 0;
  // Runs after a successful parse; returns the exit status. Errors propagate as exceptions:
  // FieldError -> 2 with a config error line, UsageError and InputError -> 2, others -> 1.
  virtual int run() = 0;
};

using CommandFactory = std::function<std::unique_ptr<Command>()>;

// Registers a command at static initialisation (one object per command file).
struct CommandRegistration {
  explicit CommandRegistration(CommandFactory make);
};

// One instance of every registered command, in registration order.
std::vector<std::unique_ptr<Command>> make_commands();

}  // namespace actlab::cli
