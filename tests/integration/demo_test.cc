// The demonstration dataset loads through the public API into a fresh
// server, reads back as a living system, and loading it again changes
// nothing.
#include "clients/demo/demo.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "ncm/eventstore/v1/eventstore.grpc.pb.h"
#include "ncm/ncmd/server.h"
#include "ncm/resolutions/v1/resolutions.grpc.pb.h"
#include "ncm/resources/v1/resources.grpc.pb.h"
#include "testing/loopback_server.h"
#include "testing/temp_dir.h"

namespace ncm {
namespace {

TEST(DemoTest, LoadsOnceAndAgainWithoutChange) {
  ::ncm::testing::TempDir dir;
  auto server = ::ncm::testing::StartLoopbackServer(dir.Sub("db"));
  ASSERT_NE(server, nullptr);
  auto channel = grpc::CreateChannel(server->address(),
                                     grpc::InsecureChannelCredentials());
  demo::DemoOptions options;
  options.budget_csv = NCM_BUDGET_2020_CSV;
  auto first = demo::LoadDemo(channel, options);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->organisations, 22);
  EXPECT_EQ(first->meetings, 3);
  EXPECT_EQ(first->resolutions, 8);
  EXPECT_EQ(first->deliveries, 8);
  EXPECT_EQ(first->budget_lines, 47);
  EXPECT_EQ(first->replayed, 0);
  const uint64_t head = server->store()->HeadPosition();

  auto second = demo::LoadDemo(channel, options);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(second->replayed, second->commands);
  EXPECT_EQ(server->store()->HeadPosition(), head);

  auto budgets = ncm::resources::v1::Resources::NewStub(channel);
  grpc::ClientContext ctx;
  ncm::resources::v1::GetBudgetRequest g;
  g.set_budget_id(first->budget_id);
  ncm::resources::v1::Budget b;
  ASSERT_TRUE(budgets->GetBudget(&ctx, g, &b).ok());
  EXPECT_EQ(b.total().current_minor(), 5700500000);
  // EUR 150,000 at 128.40 + USD 40,000 at 108.65.
  EXPECT_EQ(b.total().pledged_minor(), int64_t{1926000000} + 434600000);
  EXPECT_EQ(b.total().spent_minor(), int64_t{265000000} + 512500000 + 175000000);

  auto es = ncm::eventstore::v1::EventStore::NewStub(channel);
  grpc::ClientContext vctx;
  ncm::eventstore::v1::VerifyChainRequest vr;
  ncm::eventstore::v1::VerifyChainResponse v;
  ASSERT_TRUE(es->VerifyChain(&vctx, vr, &v).ok());
  EXPECT_TRUE(v.ok()) << v.reason();
  EXPECT_EQ(v.verified_count(), head);
  server->Shutdown(absl::Seconds(5));
}

}  // namespace
}  // namespace ncm
