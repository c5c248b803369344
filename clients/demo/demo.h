// Loads a realistic demonstration dataset into a running server through
// its public gRPC API: the organisations the NCM action plan names and
// county governments from the County Outreach Program, focal points, a
// working group, quarterly meetings and a county forum with resolutions
// at various stages, a data-sharing MOU with deliveries, and the 2020
// budget with pledges, receipts and spending. Every command carries a
// fixed command id, so loading twice changes nothing.
#ifndef NCM_CLIENTS_DEMO_H_
#define NCM_CLIENTS_DEMO_H_

#include <memory>
#include <ostream>
#include <string>

#include "absl/status/statusor.h"
#include "grpcpp/grpcpp.h"

namespace ncm::demo {

struct DemoOptions {
  // The budget sheet (services/resources/data/ncm-budget-2020.csv).
  std::string budget_csv;
  // Progress lines go here when set.
  std::ostream* log = nullptr;
};

struct DemoSummary {
  int organisations = 0;
  int meetings = 0;
  int resolutions = 0;
  int deliveries = 0;
  int budget_lines = 0;
  int transactions = 0;
  int commands = 0;          // sent
  int replayed = 0;          // answered as retries of earlier commands
  std::string budget_id;
};

absl::StatusOr<DemoSummary> LoadDemo(std::shared_ptr<grpc::Channel> channel,
                                     const DemoOptions& options);

}  // namespace ncm::demo

#endif  // NCM_CLIENTS_DEMO_H_
