// Runs the `actlab` binary for the command-line tests: its exit status, stdout and stderr
// apart, and a scratch directory that is gone before and after each test.
#pragma once

#include <catch2/catch.hpp>
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <vector>

extern char** environ;

namespace cli_runner {

namespace fs = std::filesystem;

// The ready configs (configs/), which the command-line tests train.
inline const std::string kConfigs = ACTLAB_CONFIG_DIR;

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

// Starts `actlab ARGS...` with `assignment` (NAME=value, or empty) added to its environment,
// its stdout discarded and its stderr written to `err`; returns its pid.
inline pid_t spawn_actlab(const std::vector<std::string>& args, const std::string& assignment,
                          const std::string& err = "/dev/null") {
  std::vector<char*> argv{const_cast<char*>(ACTLAB_CLI_PATH)};
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::vector<char*> envp;
  for (char** e = environ; *e != nullptr; ++e) envp.push_back(*e);
  if (!assignment.empty()) envp.push_back(const_cast<char*>(assignment.c_str()));
  envp.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  ::posix_spawn_file_actions_init(&actions);
  ::posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  ::posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, err.c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0644);
  pid_t pid = 0;
  const int rc = ::posix_spawn(&pid, ACTLAB_CLI_PATH, &actions, nullptr, argv.data(), envp.data());
  ::posix_spawn_file_actions_destroy(&actions);
  REQUIRE(rc == 0);
  return pid;
}

// A directory path unique to this process, removed when made and when dropped.
struct TempDir {
  fs::path path = fs::temp_directory_path() / ("actlab_cli_" + std::to_string(::getpid()));
  TempDir() { fs::remove_all(path); }
  ~TempDir() { fs::remove_all(path); }
};

// Every file under a directory with its bytes: what "nothing written" compares. The lock file
// is left out: a refused command held the lock too, and it names the last holder.
inline std::map<std::string, std::string> contents(const fs::path& dir) {
  std::map<std::string, std::string> files;
  for (const auto& entry : fs::recursive_directory_iterator(dir))
    if (entry.is_regular_file() && entry.path().filename() != ".actlab.lock")
      files[entry.path().string()] = slurp(entry.path());
  return files;
}

}  // namespace cli_runner
