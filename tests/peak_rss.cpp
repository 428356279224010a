// actlab_peak_rss OUT PROGRAM ARGS...: runs PROGRAM as a child of this small process and
// writes the child's peak resident set size in bytes to the file OUT; exits as the child did.
// The test binary cannot measure its children itself: a child's ru_maxrss starts from the
// resident set of the process that forked it (Linux carries the old memory's high-water mark
// across exec), which for a test process can be larger than the child's own.
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: actlab_peak_rss OUT PROGRAM ARGS...\n");
    return 2;
  }
  const pid_t pid = fork();
  if (pid == 0) {
    execv(argv[2], argv + 2);
    std::perror("actlab_peak_rss: exec");
    _exit(127);
  }
  int status = 0;
  rusage usage{};
  if (pid < 0 || wait4(pid, &status, 0, &usage) != pid) return 2;
  std::FILE* out = std::fopen(argv[1], "w");
  if (out == nullptr) return 2;
  std::fprintf(out, "%lld\n", static_cast<long long>(usage.ru_maxrss) * 1024);
  std::fclose(out);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 2;
}
