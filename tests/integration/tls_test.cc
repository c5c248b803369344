// TLS and mutual TLS on ncmd's listener, with certificates made by
// deploy/make-dev-certs.sh: a client that trusts the development CA gets
// in; a plaintext client or one trusting another CA does not; with a
// client CA, only clients showing a certificate it signed get in; plaintext
// on a non-loopback address is refused at start, TLS there is served.
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "ncm/ncmd/server.h"
#include "ncm/stakeholders/v1/stakeholders.grpc.pb.h"
#include "testing/temp_dir.h"

namespace ncm {
namespace {

namespace spb = ::ncm::stakeholders::v1;
using ::testing::HasSubstr;

std::string Read(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class TlsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    certs_ = new ::ncm::testing::TempDir();
    other_ = new ::ncm::testing::TempDir();
    const std::string make = MAKE_CERTS;
    ASSERT_EQ(std::system((make + " " + certs_->path() + " iom >/dev/null 2>&1").c_str()), 0);
    ASSERT_EQ(std::system((make + " " + other_->path() + " >/dev/null 2>&1").c_str()), 0);
  }
  static void TearDownTestSuite() {
    delete certs_;
    delete other_;
  }

  std::unique_ptr<ncmd::Server> Start(bool mutual,
                                      const std::string& listen = "127.0.0.1:0") {
    ncmd::ServerOptions o;
    o.listen_address = listen;
    o.data_dir = dir_.Sub(absl::StrCat("db", ++servers_));
    o.tls.cert_file = certs_->path() + "/server.pem";
    o.tls.key_file = certs_->path() + "/server.key";
    if (mutual) o.tls.client_ca_file = certs_->path() + "/ca.pem";
    auto s = ncmd::StartServer(o);
    EXPECT_TRUE(s.ok()) << s.status();
    return s.ok() ? std::move(*s) : nullptr;
  }

  // Calls ListCounties; the status says whether the handshake let it in.
  static grpc::Status Probe(const std::string& address,
                            std::shared_ptr<grpc::ChannelCredentials> creds) {
    grpc::ChannelArguments args;
    args.SetSslTargetNameOverride("localhost");
    auto ch = grpc::CreateCustomChannel(address, creds, args);
    auto stub = spb::Stakeholders::NewStub(ch);
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    spb::ListCountiesRequest r;
    spb::ListCountiesResponse out;
    return stub->ListCounties(&ctx, r, &out);
  }

  static std::shared_ptr<grpc::ChannelCredentials> Trusting(
      const ::ncm::testing::TempDir& ca, const std::string& client = "") {
    grpc::SslCredentialsOptions o;
    o.pem_root_certs = Read(ca.path() + "/ca.pem");
    if (!client.empty()) {
      o.pem_cert_chain = Read(ca.path() + "/" + client + ".pem");
      o.pem_private_key = Read(ca.path() + "/" + client + ".key");
    }
    return grpc::SslCredentials(o);
  }

  static ::ncm::testing::TempDir* certs_;
  static ::ncm::testing::TempDir* other_;
  ::ncm::testing::TempDir dir_;
  int servers_ = 0;
};

::ncm::testing::TempDir* TlsTest::certs_ = nullptr;
::ncm::testing::TempDir* TlsTest::other_ = nullptr;

TEST_F(TlsTest, OnlyClientsTrustingTheCaGetIn) {
  auto server = Start(/*mutual=*/false);
  ASSERT_NE(server, nullptr);
  EXPECT_TRUE(Probe(server->address(), Trusting(*certs_)).ok());
  EXPECT_EQ(Probe(server->address(), grpc::InsecureChannelCredentials())
                .error_code(),
            grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(Probe(server->address(), Trusting(*other_)).error_code(),
            grpc::StatusCode::UNAVAILABLE);
  server->Shutdown(absl::Seconds(5));
}

TEST_F(TlsTest, MutualTlsWantsAClientCertificateFromTheCa) {
  auto server = Start(/*mutual=*/true);
  ASSERT_NE(server, nullptr);
  EXPECT_TRUE(Probe(server->address(), Trusting(*certs_, "iom")).ok());
  EXPECT_FALSE(Probe(server->address(), Trusting(*certs_)).ok());
  // A client certificate from another CA is refused.
  grpc::SslCredentialsOptions o;
  o.pem_root_certs = Read(certs_->path() + "/ca.pem");
  o.pem_cert_chain = Read(other_->path() + "/secretariat.pem");
  o.pem_private_key = Read(other_->path() + "/secretariat.key");
  EXPECT_FALSE(Probe(server->address(), grpc::SslCredentials(o)).ok());
  server->Shutdown(absl::Seconds(5));
}

TEST_F(TlsTest, NonLoopbackNeedsTls) {
  ncmd::ServerOptions plain;
  plain.listen_address = "0.0.0.0:0";
  auto refused = ncmd::StartServer(plain);
  ASSERT_FALSE(refused.ok());
  EXPECT_THAT(std::string(refused.status().message()),
              HasSubstr("refusing to serve plaintext gRPC on 0.0.0.0:0"));
  auto server = Start(/*mutual=*/false, "0.0.0.0:0");
  ASSERT_NE(server, nullptr);
  EXPECT_TRUE(Probe(absl::StrCat("127.0.0.1:", server->port()),
                    Trusting(*certs_))
                  .ok());
  server->Shutdown(absl::Seconds(5));
  // Bad TLS settings fail at start with the flag named.
  ncmd::ServerOptions half;
  half.listen_address = "127.0.0.1:0";
  half.tls.cert_file = certs_->path() + "/server.pem";
  auto no_key = ncmd::StartServer(half);
  ASSERT_FALSE(no_key.ok());
  EXPECT_THAT(std::string(no_key.status().message()), HasSubstr("--tls_key"));
  half.tls.key_file = certs_->path() + "/missing.key";
  auto missing = ncmd::StartServer(half);
  ASSERT_FALSE(missing.ok());
  EXPECT_THAT(std::string(missing.status().message()),
              HasSubstr("--tls_key: cannot read"));
}

}  // namespace
}  // namespace ncm
