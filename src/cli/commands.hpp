// The subcommands of `actlab`: each adds its options to the CLI11 app and runs from them.
#pragma once

#include <CLI/CLI.hpp>

#include <string>
#include <vector>

namespace actlab::cli {

constexpr int kDone = 0;
constexpr int kRunFailed = 1;
constexpr int kUsageError = 2;

struct TrainOptions {
  std::string config;
  std::string out;
  std::vector<std::string> sets;
  bool json = false;
};
void add_train_command(CLI::App& app, TrainOptions& options);
int run_train(const TrainOptions& options);

// `actlab schema`: the config's JSON Schema (what configs/schema.json holds).
void add_schema_command(CLI::App& app);
int run_schema();

}  // namespace actlab::cli
