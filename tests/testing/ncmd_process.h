// ncmd run as a child process, for end-to-end tests: start, kill -9,
// SIGTERM, its log, and a channel as its admin principal.
#ifndef NCM_TESTING_NCMD_PROCESS_H_
#define NCM_TESTING_NCMD_PROCESS_H_

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "clients/common/connect.h"
#include "testing/child_process.h"
#include "testing/read_file.h"

namespace ncm::testing {

// One ncmd child process on a free loopback port, its log in a file.
// REQUIRES: the test binary defines NCMD_PATH, the ncmd binary's path.
class Ncmd {
 public:
  Ncmd(std::string data_dir, std::string log_path)
      : data_dir_(std::move(data_dir)), log_path_(std::move(log_path)) {}
  ~Ncmd() {
    if (pid_ > 0) Kill9();
  }

  // Flags given after --data_dir and --listen (e.g. --nats_url=...).
  void set_extra_args(std::vector<std::string> args) {
    extra_args_ = std::move(args);
  }

  // Starts ncmd and waits for it to listen (true) or exit (false).
  bool Start() {
    pid_ = fork();
    if (pid_ == 0) {
      int fd = open(log_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      dup2(fd, 2);
      dup2(fd, 1);
      std::string data = "--data_dir=" + data_dir_;
      std::vector<const char*> argv = {NCMD_PATH, data.c_str(), "--listen=127.0.0.1:0",
                                       "--metrics_listen=127.0.0.1:0"};
      for (const std::string& a : extra_args_) argv.push_back(a.c_str());
      argv.push_back(nullptr);
      execv(NCMD_PATH, const_cast<char* const*>(argv.data()));
      _exit(127);
    }
    const auto at =
        WaitForLogLine(&pid_, log_path_, "address=", 0, &exit_status_, 1000);
    if (at == std::string::npos) return false;
    const std::string log = ReadFile(log_path_);
    const auto end = log.find(' ', at);
    address_ = log.substr(at + 8, end - at - 8);
    return true;
  }

  void Kill9() { Kill9Child(&pid_); }

  // SIGTERM; returns the exit code, or -1 when it did not exit in time.
  int Terminate(absl::Duration timeout) {
    if (pid_ <= 0) return 0;  // not running
    kill(pid_, SIGTERM);
    const absl::Time deadline = absl::Now() + timeout;
    while (absl::Now() < deadline) {
      int status;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : -2;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return -1;
  }

  const std::string& address() const { return address_; }
  // The admin token the first start wrote in the data folder.
  std::string token() const {
    auto t = client::ReadTokenFile(data_dir_ + "/admin.token");
    return t.ok() ? *t : std::string();
  }
  // A channel as the admin principal.
  std::shared_ptr<grpc::Channel> channel() const {
    client::ConnectOptions o;
    o.server = address_;
    o.token = token();
    return *client::Connect(o);
  }
  int exit_status() const { return exit_status_; }
  std::string log() const { return ReadFile(log_path_); }

 private:
  std::string data_dir_, log_path_, address_;
  std::vector<std::string> extra_args_;
  pid_t pid_ = -1;
  int exit_status_ = 0;
};

}  // namespace ncm::testing

#endif  // NCM_TESTING_NCMD_PROCESS_H_
