// Starts ncmd's server in-process on a free loopback port, for integration
// tests.
#ifndef NCM_TESTING_LOOPBACK_SERVER_H_
#define NCM_TESTING_LOOPBACK_SERVER_H_

#include <memory>
#include <string>

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

}  // namespace ncm::testing

#endif  // NCM_TESTING_LOOPBACK_SERVER_H_
