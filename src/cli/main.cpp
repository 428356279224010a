// The `actlab` command line: parses arguments, calls the library, prints. Exit status 0 when
// done, 2 for bad usage or a bad config (one line on stderr naming the JSON path), 1 for a run
// that failed (diverged to NaN/Inf, or could not write its files).
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <cstdio>

#include "actlab/config.hpp"
#include "cli/commands.hpp"

int main(int argc, char** argv) {
  CLI::App app{"actlab: train small networks and study activation functions", "actlab"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "actlab 0.1.0");
  actlab::cli::TrainOptions train;
  actlab::cli::add_train_command(app, train);
  actlab::cli::add_schema_command(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // CLI11 prints help on stdout (status 0) and usage errors on stderr; both end here.
    const int status = app.exit(e);
    return status == 0 ? 0 : actlab::cli::kUsageError;
  }
  try {
    if (app.got_subcommand("train")) return actlab::cli::run_train(train);
    if (app.got_subcommand("schema")) return actlab::cli::run_schema();
  } catch (const actlab::FieldError& e) {
    std::fprintf(stderr, "%s\n", actlab::config_error_message(e).c_str());
    return actlab::cli::kUsageError;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "actlab: %s\n", e.what());
    return actlab::cli::kRunFailed;
  }
  return actlab::cli::kUsageError;
}
