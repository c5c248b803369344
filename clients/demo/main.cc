// ncm_demo: loads the demonstration dataset into a running ncmd through
// its gRPC API. Safe to run again: every command carries a fixed id.
#include <cstdio>
#include <iostream>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "clients/common/connect.h"
#include "clients/demo/demo.h"
#include "ncm/resources/money.h"

ABSL_FLAG(std::string, server, "127.0.0.1:50051", "ncmd's host:port.");
ABSL_FLAG(std::string, budget_csv, "services/resources/data/ncm-budget-2020.csv",
          "The budget sheet to load.");
ABSL_FLAG(int, wait_seconds, 30, "How long to wait for the server to answer.");
ABSL_FLAG(std::string, token_file, "var/ncm/admin.token",
          "File holding the bearer token, used when $NCM_TOKEN and "
          "$NCM_TOKEN_FILE are unset (the default is the admin token of a "
          "local deploy/run.sh server).");
ABSL_FLAG(std::string, tls_ca, "", "PEM CA of the server's certificate (TLS).");
ABSL_FLAG(std::string, tls_cert, "", "PEM client certificate (mutual TLS).");
ABSL_FLAG(std::string, tls_key, "", "PEM key of --tls_cert.");

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "Loads the NCM demonstration dataset through the gRPC API.");
  absl::ParseCommandLine(argc, argv);
  ncm::client::ConnectOptions connect;
  connect.server = absl::GetFlag(FLAGS_server);
  connect.ca_file = absl::GetFlag(FLAGS_tls_ca);
  connect.cert_file = absl::GetFlag(FLAGS_tls_cert);
  connect.key_file = absl::GetFlag(FLAGS_tls_key);
  // Waits before reading the token: at a first start the token file
  // appears only as the server comes up.
  auto probe = ncm::client::Connect(connect);
  if (!probe.ok()) {
    std::fprintf(stderr, "ncm_demo: %s\n",
                 std::string(probe.status().message()).c_str());
    return 2;
  }
  if (!(*probe)->WaitForConnected(
          std::chrono::system_clock::now() +
          std::chrono::seconds(absl::GetFlag(FLAGS_wait_seconds)))) {
    std::fprintf(stderr, "ncm_demo: no server answers at %s\n",
                 connect.server.c_str());
    return 1;
  }
  connect.token =
      ncm::client::TokenFromEnvironment(absl::GetFlag(FLAGS_token_file));
  if (connect.token.empty() && connect.cert_file.empty()) {
    std::fprintf(stderr,
                 "ncm_demo: no token: set NCM_TOKEN or NCM_TOKEN_FILE, or "
                 "give --token_file (ncmd writes admin.token in its data "
                 "folder at its first start)\n");
    return 2;
  }
  auto connected = ncm::client::Connect(connect);
  if (!connected.ok()) {
    std::fprintf(stderr, "ncm_demo: %s\n",
                 std::string(connected.status().message()).c_str());
    return 2;
  }
  auto channel = *connected;
  ncm::demo::DemoOptions options;
  options.budget_csv = absl::GetFlag(FLAGS_budget_csv);
  options.log = &std::cerr;
  auto summary = ncm::demo::LoadDemo(channel, options);
  if (!summary.ok()) {
    std::fprintf(stderr, "ncm_demo: %s\n", summary.status().ToString().c_str());
    return 1;
  }
  std::printf(
      "demo data loaded: %d organisations, %d meetings, %d resolutions, "
      "%d MOU deliveries, %d budget lines, %d funding flows "
      "(%d commands, %d already recorded)\nbudget id: %s\n",
      summary->organisations, summary->meetings, summary->resolutions,
      summary->deliveries, summary->budget_lines, summary->transactions,
      summary->commands, summary->replayed, summary->budget_id.c_str());
  return 0;
}
