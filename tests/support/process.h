#pragma once

#include <sys/types.h>

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace su::testing {

// A child process whose stdout is read line by line and whose stderr goes to a file, so tests can
// wait for a READY line, scan logs afterwards, and kill it at any moment.
class Process {
 public:
  struct Options {
    std::vector<std::string> argv;
    std::map<std::string, std::string> env;  // added to this process's environment
    std::string stderr_path;                 // empty: inherit
    std::string stdout_path;                 // copy of every stdout line; empty: none
  };

  explicit Process(Options options);
  ~Process();  // SIGKILL if still running
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  // Starts it; false with a message in `error` when exec fails.
  bool start(std::string* error);
  // The next stdout line within `timeout`, or nullopt on timeout or end of output.
  std::optional<std::string> readLine(std::chrono::milliseconds timeout);
  // Reads lines until one starts with `prefix`; returns it.
  std::optional<std::string> waitForLine(const std::string& prefix,
                                         std::chrono::milliseconds timeout);
  void signal(int sig);
  // Waits for exit up to timeout; the exit status as from waitpid, or nullopt.
  std::optional<int> wait(std::chrono::milliseconds timeout);
  // SIGTERM, then SIGKILL after `grace`.
  void stop(std::chrono::milliseconds grace = std::chrono::seconds(20));
  bool running();
  pid_t pid() const { return pid_; }

 private:
  Options options_;
  pid_t pid_ = -1;
  int stdout_fd_ = -1;
  std::string buffer_;
  std::optional<int> status_;
};

// Value of `key` in a line of space-separated key=value words.
std::string wordValue(const std::string& line, const std::string& key);

// Runs a shell command and returns its exit code and stdout (stderr goes to stdout too).
struct CommandResult {
  int exit_code = -1;
  std::string output;
};
CommandResult runCommand(const std::string& command);

std::string readFile(const std::string& path);
std::string makeTempDir(const std::string& prefix);
void removeTree(const std::string& path);

}  // namespace su::testing
