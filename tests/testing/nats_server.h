// nats-server run by the tests as child processes on loopback: one server
// with JetStream, or a three-node JetStream cluster. Each keeps its store
// in a folder of the test's, so that a server killed and started again
// finds its stream.
#ifndef NCM_TESTING_NATS_SERVER_H_
#define NCM_TESTING_NATS_SERVER_H_

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "testing/child_process.h"
#include "testing/read_file.h"

namespace ncm::testing {

// A free TCP port on 127.0.0.1 (the kernel's pick; free when asked).
inline int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  close(fd);
  return ntohs(a.sin_port);
}

class NatsServer {
 public:
  // `dir` holds the configuration, the log and the JetStream store.
  NatsServer(std::string dir, std::string name, int port, int cluster_port = 0,
             std::vector<int> routes = {})
      : dir_(std::move(dir)),
        name_(std::move(name)),
        port_(port),
        cluster_port_(cluster_port),
        routes_(std::move(routes)) {
    std::filesystem::create_directories(dir_);
    std::ofstream c(dir_ + "/nats.conf");
    c << "server_name: " << name_ << "\n"
      << "listen: 127.0.0.1:" << port_ << "\n"
      << "max_payload: 8MB\n"
      << "jetstream {\n  store_dir: \"" << dir_ << "/js\"\n"
      << "  max_memory_store: 64MB\n  max_file_store: 8GB\n}\n";
    if (cluster_port_ != 0) {
      std::vector<std::string> r;
      for (int p : routes_) r.push_back(absl::StrCat("nats-route://127.0.0.1:", p));
      c << "cluster {\n  name: ncm\n  listen: 127.0.0.1:" << cluster_port_
        << "\n  routes: [" << absl::StrJoin(r, ", ") << "]\n}\n";
    }
  }
  ~NatsServer() { Kill9(); }

  // Starts the server and waits until it accepts clients.
  bool Start() {
    const std::string log = dir_ + "/nats.log";
    const std::string::size_type before = ReadFile(log).size();
    pid_ = fork();
    if (pid_ == 0) {
      int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      dup2(fd, 1);
      dup2(fd, 2);
      const std::string conf = dir_ + "/nats.conf";
      execlp("nats-server", "nats-server", "-c", conf.c_str(),
             static_cast<char*>(nullptr));
      _exit(127);
    }
    int status = 0;
    return WaitForLogLine(&pid_, log, "Server is ready", before, &status,
                          500) != std::string::npos;
  }

  void Kill9() { Kill9Child(&pid_); }

  void Terminate() {
    if (pid_ <= 0) return;
    kill(pid_, SIGTERM);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }

  bool running() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }
  const std::string& name() const { return name_; }
  std::string url() const { return absl::StrCat("nats://127.0.0.1:", port_); }
  std::string log() const { return ReadFile(dir_ + "/nats.log"); }

 private:
  std::string dir_, name_;
  int port_, cluster_port_;
  std::vector<int> routes_;
  pid_t pid_ = -1;
};

// Three servers routed to each other: a JetStream cluster.
class NatsCluster {
 public:
  explicit NatsCluster(const std::string& dir) {
    std::vector<int> ports, cports;
    for (int i = 0; i < 3; ++i) {
      ports.push_back(FreePort());
      cports.push_back(FreePort());
    }
    for (int i = 0; i < 3; ++i) {
      std::vector<int> routes;
      for (int j = 0; j < 3; ++j) {
        if (j != i) routes.push_back(cports[j]);
      }
      servers_.push_back(std::make_unique<NatsServer>(
          absl::StrCat(dir, "/n", i + 1), absl::StrCat("n", i + 1), ports[i],
          cports[i], routes));
    }
  }

  bool Start() {
    for (auto& s : servers_) {
      if (!s->Start()) return false;
    }
    return true;
  }

  std::vector<std::string> urls() const {
    std::vector<std::string> out;
    for (const auto& s : servers_) out.push_back(s->url());
    return out;
  }
  NatsServer* server(size_t i) { return servers_[i].get(); }
  NatsServer* ByName(const std::string& name) {
    for (auto& s : servers_) {
      if (s->name() == name) return s.get();
    }
    return nullptr;
  }

 private:
  std::vector<std::unique_ptr<NatsServer>> servers_;
};

}  // namespace ncm::testing

#endif  // NCM_TESTING_NATS_SERVER_H_
