// The Resources gRPC API over real loopback TCP against RocksDB: the NCM
// 2020 budget loaded through the API, its totals, a foreign-currency
// pledge, a refused expenditure, and the same figures after a restart.
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "ncm/ncmd/server.h"
#include "ncm/resources/budget_csv.h"
#include "ncm/resources/v1/resources.grpc.pb.h"
#include "ncm/stakeholders/v1/stakeholders.grpc.pb.h"
#include "testing/loopback_server.h"
#include "testing/temp_dir.h"

namespace ncm {
namespace {

namespace pb = ::ncm::resources::v1;
namespace spb = ::ncm::stakeholders::v1;
using ::testing::HasSubstr;

std::unique_ptr<grpc::ClientContext> Ctx() {
  auto c = std::make_unique<grpc::ClientContext>();
  c->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
  return c;
}

class ResourcesGrpcTest : public ::testing::Test {
 protected:
  void SetUp() override { Connect(); }
  void TearDown() override {
    if (server_) server_->Shutdown(absl::Seconds(5));
  }
  void Connect() {
    server_ = ::ncm::testing::StartLoopbackServer(dir_.Sub("db"));
    ASSERT_NE(server_, nullptr);
    auto ch = ::ncm::testing::AdminChannel(*server_, dir_.Sub("db"));
    res_ = pb::Resources::NewStub(ch);
    sh_ = spb::Stakeholders::NewStub(ch);
  }
  std::string Register(const std::string& acronym) {
    spb::RegisterOrganisationRequest r;
    r.mutable_profile()->set_name(acronym);
    r.mutable_profile()->set_acronym(acronym);
    r.mutable_profile()->set_kind(spb::DEVELOPMENT_PARTNER);
    r.mutable_profile()->set_level(spb::INTERNATIONAL);
    r.set_role(spb::PARTNER);
    ncm::common::v1::CommandResult out;
    EXPECT_TRUE(sh_->RegisterOrganisation(Ctx().get(), r, &out).ok());
    return out.aggregate_id();
  }

  ::ncm::testing::TempDir dir_;
  std::unique_ptr<ncmd::Server> server_;
  std::unique_ptr<pb::Resources::Stub> res_;
  std::unique_ptr<spb::Stakeholders::Stub> sh_;
};

TEST_F(ResourcesGrpcTest, The2020BudgetThroughTheApi) {
  const std::string owner = Register("NCM");
  const std::string giz = Register("GIZ");
  pb::OpenBudgetRequest open;
  open.set_title("NCM 2020 budget");
  open.set_fiscal_year(2020);
  open.set_currency("KES");
  open.set_owner_organisation_id(owner);
  ncm::common::v1::CommandResult budget;
  ASSERT_TRUE(res_->OpenBudget(Ctx().get(), open, &budget).ok());
  grpc::Status s = res_->OpenBudget(Ctx().get(), open, &budget);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::ALREADY_EXISTS);

  auto sheet = resources::LoadBudgetCsv(NCM_BUDGET_2020_CSV, 2);
  ASSERT_TRUE(sheet.ok()) << sheet.status();
  for (auto line : sheet->lines) {
    line.set_budget_id(budget.aggregate_id());
    pb::AddBudgetLineResponse out;
    s = res_->AddBudgetLine(Ctx().get(), line, &out);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }
  for (auto total : sheet->totals) {
    total.set_budget_id(budget.aggregate_id());
    ncm::common::v1::CommandResult out;
    ASSERT_TRUE(res_->RecordDeclaredTotal(Ctx().get(), total, &out).ok());
  }

  pb::RecordTransactionRequest t;
  t.set_budget_id(budget.aggregate_id());
  t.set_type(pb::INCOMING_PLEDGE);
  t.set_organisation_id(giz);
  t.mutable_amount()->set_minor_units(5000000);  // USD 50,000.00
  t.mutable_amount()->set_currency("USD");
  t.set_exchange_rate("108.65");
  t.mutable_value_date()->set_year(2020);
  t.mutable_value_date()->set_month(9);
  t.mutable_value_date()->set_day(1);
  t.add_activity_codes("1.1");
  pb::RecordTransactionResponse tr;
  ASSERT_TRUE(res_->RecordTransaction(Ctx().get(), t, &tr).ok());
  EXPECT_EQ(tr.budget_amount_minor(), 543250000);  // KES 5,432,500.00
  t.set_type(pb::EXPENDITURE);
  t.clear_activity_codes();
  t.add_activity_codes("9.9");
  s = res_->RecordTransaction(Ctx().get(), t, &tr);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("activity_codes[0]"));

  server_->Shutdown(absl::Seconds(5));
  server_.reset();
  Connect();
  pb::GetBudgetRequest g;
  g.set_budget_id(budget.aggregate_id());
  pb::Budget b;
  ASSERT_TRUE(res_->GetBudget(Ctx().get(), g, &b).ok());
  EXPECT_EQ(b.lines_size(), 47);
  EXPECT_EQ(b.total().current_minor(), 5700500000);   // KES 57,005,000.00
  EXPECT_EQ(b.total().declared_minor(), 5694500000);  // as printed
  EXPECT_TRUE(b.total().declared_mismatch());
  EXPECT_EQ(b.total().pledged_minor(), 543250000);
  EXPECT_EQ(b.transactions_size(), 1);
}

}  // namespace
}  // namespace ncm
