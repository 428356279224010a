// Runs the `actlab` binary for the command-line tests: its exit status, stdout and stderr
// apart, and a scratch directory that is gone before and after each test.
#pragma once

#include <catch2/catch.hpp>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

namespace cli_runner {

namespace fs = std::filesystem;

struct Result {
  int status;
  std::string out, err;
};

inline std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  return {std::istreambuf_iterator<char>(in), {}};
}

// Runs `ENV actlab ARGS` (through the shell; ENV as NAME=value assignments, or empty) with
// stdout and stderr captured separately.
inline Result actlab_with_env(const std::string& env, const std::string& args) {
  const fs::path err = fs::temp_directory_path() / ("actlab_cli_err_" + std::to_string(::getpid()));
  const std::string command =
      env + " " + std::string(ACTLAB_CLI_PATH) + " " + args + " 2>" + err.string();
  FILE* pipe = ::popen(command.c_str(), "r");
  REQUIRE(pipe != nullptr);
  std::string out;
  char buffer[4096];
  for (size_t n; (n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0;) out.append(buffer, n);
  const int raw = ::pclose(pipe);
  Result r{WIFEXITED(raw) ? WEXITSTATUS(raw) : -1, out, slurp(err)};
  fs::remove(err);
  return r;
}

inline Result actlab(const std::string& args) { return actlab_with_env("", args); }

// A directory path unique to this process, removed when made and when dropped.
struct TempDir {
  fs::path path = fs::temp_directory_path() / ("actlab_cli_" + std::to_string(::getpid()));
  TempDir() { fs::remove_all(path); }
  ~TempDir() { fs::remove_all(path); }
};

}  // namespace cli_runner
