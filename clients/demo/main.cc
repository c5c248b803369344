// ncm_demo: loads the demonstration dataset into a running ncmd through
// its gRPC API. Safe to run again: every command carries a fixed id.
#include <cstdio>
#include <iostream>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "clients/demo/demo.h"
#include "ncm/resources/money.h"

ABSL_FLAG(std::string, server, "127.0.0.1:50051", "ncmd's host:port.");
ABSL_FLAG(std::string, budget_csv, "services/resources/data/ncm-budget-2020.csv",
          "The budget sheet to load.");
ABSL_FLAG(int, wait_seconds, 30, "How long to wait for the server to answer.");

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "Loads the NCM demonstration dataset through the gRPC API.");
  absl::ParseCommandLine(argc, argv);
  auto channel = grpc::CreateChannel(absl::GetFlag(FLAGS_server),
                                     grpc::InsecureChannelCredentials());
  if (!channel->WaitForConnected(
          std::chrono::system_clock::now() +
          std::chrono::seconds(absl::GetFlag(FLAGS_wait_seconds)))) {
    std::fprintf(stderr, "ncm_demo: no server answers at %s\n",
                 absl::GetFlag(FLAGS_server).c_str());
    return 1;
  }
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
