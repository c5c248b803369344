// Dialling ncmd: TLS or plaintext (loopback), and the principal's bearer
// token sent with every call.
#ifndef NCM_CLIENTS_COMMON_CONNECT_H_
#define NCM_CLIENTS_COMMON_CONNECT_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "grpcpp/grpcpp.h"

namespace ncm::client {

struct ConnectOptions {
  std::string server = "127.0.0.1:50051";  // host:port
  // The bearer token; empty: none is sent (a client certificate may stand
  // for the principal).
  std::string token;
  // TLS: the CA that signed the server's certificate (PEM). Empty with no
  // client certificate: plaintext.
  std::string ca_file;
  // Mutual TLS: the client's certificate and key (PEM).
  std::string cert_file;
  std::string key_file;
  // Overrides the name checked against the server certificate.
  std::string server_name;
  int max_message_bytes = 32 << 20;
  // Further channel arguments (e.g. a channel id to get one connection per
  // channel).
  grpc::ChannelArguments args;
};

// A channel whose every call carries "authorization: Bearer <token>".
// INVALID_ARGUMENT when a PEM file cannot be read.
absl::StatusOr<std::shared_ptr<grpc::Channel>> Connect(
    const ConnectOptions& options);

// The token to use when none is given: $NCM_TOKEN, else the first line of
// $NCM_TOKEN_FILE, else of `default_file` when it exists; else "".
std::string TokenFromEnvironment(const std::string& default_file);

// True for 127.0.0.0/8, ::1 and localhost targets ("host:port",
// "[v6]:port", optionally with a dns:/ipv4:/ipv6: scheme).
bool IsLoopbackTarget(absl::string_view target);

// The first line of a token file, without surrounding blanks.
absl::StatusOr<std::string> ReadTokenFile(const std::string& path);

}  // namespace ncm::client

#endif  // NCM_CLIENTS_COMMON_CONNECT_H_
