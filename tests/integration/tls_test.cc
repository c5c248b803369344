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
#include "ncm/access/v1/access.grpc.pb.h"
#include "ncm/stakeholders/v1/stakeholders.grpc.pb.h"
#include "testing/read_file.h"
#include "testing/temp_dir.h"

namespace ncm {
namespace {

namespace spb = ::ncm::stakeholders::v1;
namespace apb = ::ncm::access::v1;
using ::testing::HasSubstr;

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
    token_ = "";
    o.tls.cert_file = certs_->path() + "/server.pem";
    o.tls.key_file = certs_->path() + "/server.key";
    if (mutual) o.tls.client_ca_file = certs_->path() + "/ca.pem";
    auto s = ncmd::StartServer(o);
    EXPECT_TRUE(s.ok()) << s.status();
    if (s.ok()) token_ = ::ncm::testing::ReadFile((*s)->admin_token_file());
    if (!token_.empty() && token_.back() == '\n') token_.pop_back();
    return s.ok() ? std::move(*s) : nullptr;
  }

  static std::shared_ptr<grpc::Channel> Channel(
      const std::string& address,
      std::shared_ptr<grpc::ChannelCredentials> creds) {
    grpc::ChannelArguments args;
    args.SetSslTargetNameOverride("localhost");
    return grpc::CreateCustomChannel(address, creds, args);
  }

  // Calls ListCounties (with `token` unless empty); the status says whether
  // the handshake, then the principal, let it in.
  static grpc::Status Probe(const std::string& address,
                            std::shared_ptr<grpc::ChannelCredentials> creds,
                            const std::string& token = "") {
    auto stub = spb::Stakeholders::NewStub(Channel(address, creds));
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    if (!token.empty()) ctx.AddMetadata("authorization", "Bearer " + token);
    spb::ListCountiesRequest r;
    spb::ListCountiesResponse out;
    return stub->ListCounties(&ctx, r, &out);
  }

  static std::shared_ptr<grpc::ChannelCredentials> Trusting(
      const ::ncm::testing::TempDir& ca, const std::string& client = "") {
    grpc::SslCredentialsOptions o;
    o.pem_root_certs = ::ncm::testing::ReadFile(ca.path() + "/ca.pem");
    if (!client.empty()) {
      o.pem_cert_chain = ::ncm::testing::ReadFile(ca.path() + "/" + client + ".pem");
      o.pem_private_key = ::ncm::testing::ReadFile(ca.path() + "/" + client + ".key");
    }
    return grpc::SslCredentials(o);
  }

  static ::ncm::testing::TempDir* certs_;
  static ::ncm::testing::TempDir* other_;
  ::ncm::testing::TempDir dir_;
  int servers_ = 0;
  std::string token_;  // the admin token of the last server started
};

::ncm::testing::TempDir* TlsTest::certs_ = nullptr;
::ncm::testing::TempDir* TlsTest::other_ = nullptr;

TEST_F(TlsTest, OnlyClientsTrustingTheCaGetIn) {
  auto server = Start(/*mutual=*/false);
  ASSERT_NE(server, nullptr);
  EXPECT_TRUE(Probe(server->address(), Trusting(*certs_), token_).ok());
  // In over TLS, but a call needs a principal too.
  EXPECT_EQ(Probe(server->address(), Trusting(*certs_)).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(Probe(server->address(), grpc::InsecureChannelCredentials(), token_)
                .error_code(),
            grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(Probe(server->address(), Trusting(*other_), token_).error_code(),
            grpc::StatusCode::UNAVAILABLE);
  server->Shutdown(absl::Seconds(5));
}

TEST_F(TlsTest, MutualTlsWantsAClientCertificateFromTheCa) {
  auto server = Start(/*mutual=*/true);
  ASSERT_NE(server, nullptr);
  EXPECT_TRUE(Probe(server->address(), Trusting(*certs_, "iom"), token_).ok());
  EXPECT_EQ(Probe(server->address(), Trusting(*certs_), token_).error_code(),
            grpc::StatusCode::UNAVAILABLE);
  // A client certificate from another CA is refused.
  grpc::SslCredentialsOptions o;
  o.pem_root_certs = ::ncm::testing::ReadFile(certs_->path() + "/ca.pem");
  o.pem_cert_chain = ::ncm::testing::ReadFile(other_->path() + "/secretariat.pem");
  o.pem_private_key = ::ncm::testing::ReadFile(other_->path() + "/secretariat.key");
  EXPECT_EQ(Probe(server->address(), grpc::SslCredentials(o), token_).error_code(),
            grpc::StatusCode::UNAVAILABLE);
  server->Shutdown(absl::Seconds(5));
}

TEST_F(TlsTest, AClientCertificateBoundToAPrincipalStandsForIt) {
  auto server = Start(/*mutual=*/true);
  ASSERT_NE(server, nullptr);
  // The handshake passes, but the certificate is bound to no principal yet.
  grpc::Status unbound = Probe(server->address(), Trusting(*certs_, "iom"));
  EXPECT_EQ(unbound.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_THAT(unbound.error_message(), HasSubstr("bound to no principal"));

  auto admin = apb::Access::NewStub(
      Channel(server->address(), Trusting(*certs_, "iom")));
  {
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", "Bearer " + token_);
    apb::BindCertificateRequest r;
    r.set_principal_id("iom-sync");
    r.set_role(apb::ROLE_READER);
    r.set_certificate_subject("iom");  // its common name
    ncm::common::v1::CommandResult out;
    grpc::Status s = admin->BindCertificate(&ctx, r, &out);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }
  EXPECT_TRUE(Probe(server->address(), Trusting(*certs_, "iom")).ok());
  {
    grpc::ClientContext ctx;  // no token: the certificate speaks
    apb::Principal me;
    ASSERT_TRUE(admin->WhoAmI(&ctx, apb::WhoAmIRequest(), &me).ok());
    EXPECT_EQ(me.principal_id(), "iom-sync");
    EXPECT_EQ(me.role(), apb::ROLE_READER);
    EXPECT_EQ(me.credential(), apb::CREDENTIAL_KIND_CERTIFICATE);
    EXPECT_FALSE(me.reads_personal_data());
  }
  {
    grpc::ClientContext ctx;  // a reader may not issue tokens
    apb::IssueTokenRequest r;
    r.set_principal_id("x");
    r.set_role(apb::ROLE_ADMIN);
    apb::IssueTokenResponse out;
    EXPECT_EQ(admin->IssueToken(&ctx, r, &out).error_code(),
              grpc::StatusCode::PERMISSION_DENIED);
  }
  {
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", "Bearer " + token_);
    apb::RevokePrincipalRequest r;
    r.set_principal_id("iom-sync");
    r.set_reason("certificate rotated");
    ncm::common::v1::CommandResult out;
    ASSERT_TRUE(admin->RevokePrincipal(&ctx, r, &out).ok());
  }
  grpc::Status revoked = Probe(server->address(), Trusting(*certs_, "iom"));
  EXPECT_EQ(revoked.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_THAT(revoked.error_message(), HasSubstr("revoked"));
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
                    Trusting(*certs_), token_)
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
