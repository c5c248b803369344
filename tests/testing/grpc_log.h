// Reads a server's whole log over the EventStore gRPC API.
#ifndef NCM_TESTING_GRPC_LOG_H_
#define NCM_TESTING_GRPC_LOG_H_

#include <vector>

#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "ncm/eventstore/v1/eventstore.grpc.pb.h"

namespace ncm::testing {

// Every event from position 1 to the head, paging forward; a failed call
// fails the test and returns what was read so far.
inline std::vector<ncm::eventstore::v1::RecordedEvent> ReadWholeLog(
    ncm::eventstore::v1::EventStore::Stub* stub) {
  std::vector<ncm::eventstore::v1::RecordedEvent> out;
  uint64_t from = 0;
  for (;;) {
    grpc::ClientContext ctx;
    ncm::eventstore::v1::ReadAllRequest req;
    req.set_from_position(from);
    req.set_max_count(10000);
    ncm::eventstore::v1::ReadAllResponse resp;
    grpc::Status s = stub->ReadAll(&ctx, req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    if (!s.ok()) return out;
    for (auto& e : resp.events()) out.push_back(e);
    if (resp.end_of_log()) return out;
    from = resp.next_position();
  }
}

}  // namespace ncm::testing

#endif  // NCM_TESTING_GRPC_LOG_H_
