// The demonstration dataset loads through the public API into a fresh
// server, reads back as a living system, and loading it again changes
// nothing.
#include <map>

#include "clients/demo/demo.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "ncm/eventstore/v1/eventstore.grpc.pb.h"
#include "ncm/mous/v1/mous.grpc.pb.h"
#include "ncm/stakeholders/v1/stakeholders.grpc.pb.h"
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
  auto channel = ::ncm::testing::AdminChannel(*server, dir.Sub("db"));
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

  // The read side over the demo data.
  grpc::ClientContext fctx;
  ncm::resources::v1::GetFundingPositionRequest fr;
  fr.set_fiscal_year(2020);
  fr.set_min_position(head);
  ncm::resources::v1::GetFundingPositionResponse fp;
  grpc::Status fs = budgets->GetFundingPosition(&fctx, fr, &fp);
  ASSERT_TRUE(fs.ok()) << fs.error_message();
  ASSERT_EQ(fp.budgets_size(), 1);
  const auto& pos = fp.budgets(0);
  // Received: KES 9,000,000 from the government (DIS); EUR 100,000 at
  // 129.15 and USD 40,000 at 109.80 from donors: KES 17,307,000.
  EXPECT_EQ(pos.government_received_minor(), 900000000);
  EXPECT_EQ(pos.donor_received_minor(), 1730700000);
  EXPECT_EQ(pos.government_share_basis_points(), 3421);  // 34.21 %
  EXPECT_EQ(pos.donor_share_basis_points(), 6579);
  EXPECT_EQ(pos.execution_rate_basis_points(), 1671);  // 9,525,000 / 57,005,000

  auto mous = ncm::mous::v1::Mous::NewStub(channel);
  grpc::ClientContext cctx;
  ncm::mous::v1::GetComplianceRequest cr;
  cr.mutable_as_of()->set_year(2022);
  cr.mutable_as_of()->set_month(3);
  cr.mutable_as_of()->set_day(31);
  cr.set_min_position(head);
  ncm::mous::v1::GetComplianceResponse comp;
  grpc::Status cs = mous->GetCompliance(&cctx, cr, &comp);
  ASSERT_TRUE(cs.ok()) << cs.error_message();
  // Border crossings July 2021 to February 2022: 4 on time, 2 late, 2
  // missing; work permits Q3 on time, Q4 late.
  EXPECT_EQ(comp.total().expected(), 10);
  EXPECT_EQ(comp.total().on_time(), 5);
  EXPECT_EQ(comp.total().late(), 3);
  EXPECT_EQ(comp.total().missing(), 2);
  EXPECT_EQ(comp.total().on_time_basis_points(), 5000);

  auto res = ncm::resolutions::v1::Resolutions::NewStub(channel);
  grpc::ClientContext rctx;
  ncm::resolutions::v1::ImplementationReportRequest rr;
  rr.mutable_as_of()->set_year(2022);
  rr.mutable_as_of()->set_month(1);
  rr.mutable_as_of()->set_day(31);
  rr.set_group_by(ncm::resolutions::v1::ImplementationReportRequest::MEETING);
  rr.set_min_position(head);
  ncm::resolutions::v1::ImplementationReportResponse rep;
  ASSERT_TRUE(res->ImplementationReport(&rctx, rr, &rep).ok());
  EXPECT_EQ(rep.total().resolutions(), 8);
  EXPECT_EQ(rep.groups_size(), 3);
  EXPECT_EQ(rep.total().implemented(), 1);  // verified on 2022-01-20

  namespace spb = ::ncm::stakeholders::v1;
  auto sh = spb::Stakeholders::NewStub(channel);
  spb::ListOrganisationsRequest lo;
  lo.set_kind(spb::COUNTY_GOVERNMENT);
  lo.set_min_position(head);
  spb::ListOrganisationsResponse orgs;
  {
    grpc::ClientContext c;
    ASSERT_TRUE(sh->ListOrganisations(&c, lo, &orgs).ok());
  }
  ASSERT_EQ(orgs.organisations_size(), 6);
  EXPECT_EQ(orgs.organisations(0).profile().acronym(), "CG-BUSIA");
  lo.Clear();
  lo.set_page_size(10);
  std::map<std::string, std::string> by_acronym;
  for (;;) {
    grpc::ClientContext c;
    ASSERT_TRUE(sh->ListOrganisations(&c, lo, &orgs).ok());
    for (const auto& o : orgs.organisations()) {
      by_acronym[o.profile().acronym()] = o.organisation_id();
    }
    if (orgs.next_page_token().empty()) break;
    lo.set_page_token(orgs.next_page_token());
  }
  ASSERT_EQ(by_acronym.size(), 22u);
  // IOM's focal point changed on 2021-05-01.
  spb::GetFocalPointsAsOfRequest fa;
  fa.set_organisation_id(by_acronym["IOM"]);
  fa.mutable_as_of()->set_year(2021);
  fa.mutable_as_of()->set_month(3);
  fa.mutable_as_of()->set_day(31);
  spb::GetFocalPointsAsOfResponse fps;
  {
    grpc::ClientContext c;
    ASSERT_TRUE(sh->GetFocalPointsAsOf(&c, fa, &fps).ok());
  }
  ASSERT_EQ(fps.focal_points_size(), 1);
  EXPECT_EQ(fps.focal_points(0).person().details().full_name(),
            "Daniel Kiprono (demo)");
  fa.mutable_as_of()->set_month(6);
  fa.mutable_as_of()->set_day(30);
  {
    grpc::ClientContext c;
    ASSERT_TRUE(sh->GetFocalPointsAsOf(&c, fa, &fps).ok());
  }
  ASSERT_EQ(fps.focal_points_size(), 1);
  EXPECT_EQ(fps.focal_points(0).person().details().full_name(),
            "Lucy Achieng (demo)");
  // Three closed meetings: IOM attended all, KNCHR and Busia one each.
  spb::GetAttendanceRatesRequest ar;
  ar.set_min_position(head);
  spb::GetAttendanceRatesResponse rates;
  {
    grpc::ClientContext c;
    ASSERT_TRUE(sh->GetAttendanceRates(&c, ar, &rates).ok());
  }
  std::map<std::string, spb::AttendanceRate> rate;
  for (const auto& r : rates.rates()) rate[r.acronym()] = r;
  EXPECT_EQ(rate["IOM"].meetings_held(), 3);
  EXPECT_EQ(rate["IOM"].rate_basis_points(), 10000);
  EXPECT_EQ(rate["KNCHR"].meetings_attended(), 1);
  EXPECT_EQ(rate["KNCHR"].rate_basis_points(), 3333);
  EXPECT_EQ(rate["CG-BUSIA"].rate_basis_points(), 3333);
  EXPECT_EQ(rate["ILO"].meetings_attended(), 1);

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
