// Helpers for tests that run servers as child processes with their output
// in a log file.
#ifndef NCM_TESTING_CHILD_PROCESS_H_
#define NCM_TESTING_CHILD_PROCESS_H_

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>

#include "absl/strings/string_view.h"
#include "testing/read_file.h"

namespace ncm::testing {

// Waits (up to about `tries` x 20 ms) until the file at `log_path` holds
// `needle` at or after byte `from`: its offset there. npos when the child
// `*pid` exits first (then *pid = -1 and *exit_status is its status) or
// the time runs out.
inline std::string::size_type WaitForLogLine(pid_t* pid,
                                             const std::string& log_path,
                                             absl::string_view needle,
                                             std::string::size_type from,
                                             int* exit_status,
                                             int tries = 300) {
  for (int i = 0; i < tries; ++i) {
    const std::string text = ReadFile(log_path);
    if (text.size() > from) {
      const auto at = text.find(std::string(needle), from);
      if (at != std::string::npos) return at;
    }
    int status;
    if (waitpid(*pid, &status, WNOHANG) == *pid) {
      *exit_status = status;
      *pid = -1;
      return std::string::npos;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return std::string::npos;
}

// kill -9 and reap; *pid = -1. Nothing when it is not running.
inline void Kill9Child(pid_t* pid) {
  if (*pid <= 0) return;
  kill(*pid, SIGKILL);
  waitpid(*pid, nullptr, 0);
  *pid = -1;
}

}  // namespace ncm::testing

#endif  // NCM_TESTING_CHILD_PROCESS_H_
