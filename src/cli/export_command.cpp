// `actlab export RUN_DIR --pytorch model.py [--test-outputs FILE.csv]`: writes the run's model as
// a PyTorch module that loads the run's model.safetensors, and, to check it by hand, the test
// split's raw inputs with actlab's outputs on them.
#include <fmt/format.h>

#include <filesystem>

#include "actlab/io/export.hpp"
#include "actlab/io/run.hpp"
#include "actlab/io/serialize.hpp"
#include "cli/commands.hpp"

namespace actlab::cli {
namespace {

class Export final : public Command {
 public:
  CLI::App* add(CLI::App& app) override {
    CLI::App* cmd = app.add_subcommand(
        "export", "write a run's model as a PyTorch module that loads its model.safetensors");
    cmd->add_option("run_dir", run_dir_, "a run directory written by actlab train")->required();
    cmd->add_option("--pytorch", pytorch_, "the Python file to write (e.g. model.py)")->required();
    cmd->add_option("--test-outputs", test_outputs_,
                    "also write the test split's raw inputs and actlab's outputs (CSV), to "
                    "check the export against");
    return cmd;
  }

  int run() override {
    SavedRun run = open_run(run_dir_);
    const std::string weights = weights_path(run_dir_);
    if (!std::filesystem::is_regular_file(weights))
      throw RunDirError(fmt::format("{}: missing model.safetensors (written with each checkpoint "
                                    "since this version of actlab: train the run again)",
                                    run_dir_));
    const std::string source = pytorch_source(*run.trainer, weights);
    write_file_atomically(pytorch_, source);
    if (!test_outputs_.empty()) write_file_atomically(test_outputs_, test_outputs_csv(*run.trainer));
    fmt::print("written: {}{}\n", pytorch_, test_outputs_.empty() ? "" : ", " + test_outputs_);
    return kDone;
  }

 private:
  std::string run_dir_;
  std::string pytorch_;
  std::string test_outputs_;
};

const CommandRegistration export_registration([] { return std::make_unique<Export>(); });

}  // namespace
}  // namespace actlab::cli
