#include "clients/common/connect.h"

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "grpcpp/support/client_interceptor.h"

namespace ncm::client {
namespace {

class BearerInterceptor final : public grpc::experimental::Interceptor {
 public:
  explicit BearerInterceptor(const std::string* header) : header_(header) {}
  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(
            grpc::experimental::InterceptionHookPoints::
                PRE_SEND_INITIAL_METADATA)) {
      methods->GetSendInitialMetadata()->emplace("authorization", *header_);
    }
    methods->Proceed();
  }

 private:
  const std::string* header_;
};

class BearerFactory final
    : public grpc::experimental::ClientInterceptorFactoryInterface {
 public:
  explicit BearerFactory(std::string token)
      : header_(absl::StrCat("Bearer ", token)) {}
  grpc::experimental::Interceptor* CreateClientInterceptor(
      grpc::experimental::ClientRpcInfo*) override {
    return new BearerInterceptor(&header_);
  }

 private:
  const std::string header_;  // lives as long as the channel
};

absl::StatusOr<std::string> ReadAll(const std::string& path,
                                    const char* what) {
  std::ifstream in(path);
  if (!in) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot read ", what, " ", path));
  }
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

bool IsLoopbackTarget(absl::string_view target) {
  for (absl::string_view scheme : {"dns:///", "dns:", "ipv4:", "ipv6:"}) {
    if (absl::ConsumePrefix(&target, scheme)) break;
  }
  absl::string_view host = target;
  if (absl::ConsumePrefix(&host, "[")) {
    host = host.substr(0, host.find(']'));
  } else if (auto colon = host.rfind(':'); colon != absl::string_view::npos) {
    host = host.substr(0, colon);
  }
  return host == "localhost" || host == "::1" || absl::StartsWith(host, "127.");
}

absl::StatusOr<std::shared_ptr<grpc::Channel>> Connect(
    const ConnectOptions& options) {
  std::shared_ptr<grpc::ChannelCredentials> creds;
  grpc::ChannelArguments args = options.args;
  args.SetMaxReceiveMessageSize(options.max_message_bytes);
  args.SetMaxSendMessageSize(options.max_message_bytes);
  if (!options.ca_file.empty() || !options.cert_file.empty()) {
    grpc::SslCredentialsOptions ssl;
    if (!options.ca_file.empty()) {
      auto ca = ReadAll(options.ca_file, "the CA certificate");
      if (!ca.ok()) return ca.status();
      ssl.pem_root_certs = *ca;
    }
    if (!options.cert_file.empty()) {
      auto cert = ReadAll(options.cert_file, "the client certificate");
      if (!cert.ok()) return cert.status();
      auto key = ReadAll(options.key_file, "the client key");
      if (!key.ok()) return key.status();
      ssl.pem_cert_chain = *cert;
      ssl.pem_private_key = *key;
    }
    creds = grpc::SslCredentials(ssl);
    if (!options.server_name.empty()) {
      args.SetSslTargetNameOverride(options.server_name);
    }
  } else {
    if (!options.token.empty() && !IsLoopbackTarget(options.server)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "refusing to send a token in plaintext to ", options.server,
          ", which is not a loopback address; give the server's CA "
          "certificate for TLS"));
    }
    creds = grpc::InsecureChannelCredentials();
  }
  std::vector<std::unique_ptr<
      grpc::experimental::ClientInterceptorFactoryInterface>>
      interceptors;
  if (!options.token.empty()) {
    interceptors.push_back(std::make_unique<BearerFactory>(options.token));
  }
  return grpc::experimental::CreateCustomChannelWithInterceptors(
      options.server, creds, args, std::move(interceptors));
}

absl::StatusOr<std::string> ReadTokenFile(const std::string& path) {
  auto text = ReadAll(path, "the token file");
  if (!text.ok()) return text.status();
  std::string line = text->substr(0, text->find('\n'));
  return std::string(absl::StripAsciiWhitespace(line));
}

std::string TokenFromEnvironment(const std::string& default_file) {
  if (const char* t = std::getenv("NCM_TOKEN"); t != nullptr && *t != '\0') {
    return std::string(absl::StripAsciiWhitespace(t));
  }
  if (const char* f = std::getenv("NCM_TOKEN_FILE");
      f != nullptr && *f != '\0') {
    auto t = ReadTokenFile(f);
    return t.ok() ? *t : std::string();
  }
  if (!default_file.empty()) {
    auto t = ReadTokenFile(default_file);
    if (t.ok()) return *t;
  }
  return "";
}

}  // namespace ncm::client
