// Starts ncmd's server in-process on a free loopback port, for integration
// tests, and dials it as a principal.
#ifndef NCM_TESTING_LOOPBACK_SERVER_H_
#define NCM_TESTING_LOOPBACK_SERVER_H_

#include <memory>
#include <string>

#include "clients/common/connect.h"
#include "gtest/gtest.h"
#include "ncm/ncmd/server.h"

namespace ncm::testing {

// A server over a RocksDB store in `data_dir`; nullptr (and a test failure)
// when it cannot start.
inline std::unique_ptr<ncmd::Server> StartLoopbackServer(
    const std::string& data_dir) {
  ncmd::ServerOptions o;
  o.listen_address = "127.0.0.1:0";
  o.data_dir = data_dir;
  auto s = ncmd::StartServer(o);
  EXPECT_TRUE(s.ok()) << s.status();
  return s.ok() ? std::move(*s) : nullptr;
}

// The admin token the first start over `data_dir` wrote.
inline std::string AdminToken(const std::string& data_dir) {
  auto t = client::ReadTokenFile(data_dir + "/admin.token");
  EXPECT_TRUE(t.ok()) << t.status();
  return t.ok() ? *t : std::string();
}

// A plaintext channel to `address` carrying `token` ("" sends none).
inline std::shared_ptr<grpc::Channel> Dial(const std::string& address,
                                           const std::string& token) {
  client::ConnectOptions o;
  o.server = address;
  o.token = token;
  auto ch = client::Connect(o);
  EXPECT_TRUE(ch.ok()) << ch.status();
  return ch.ok() ? *ch : nullptr;
}

// A channel to `server` as the admin principal of its `data_dir`.
inline std::shared_ptr<grpc::Channel> AdminChannel(const ncmd::Server& server,
                                                   const std::string& data_dir) {
  return Dial(server.address(), AdminToken(data_dir));
}

}  // namespace ncm::testing

#endif  // NCM_TESTING_LOOPBACK_SERVER_H_
