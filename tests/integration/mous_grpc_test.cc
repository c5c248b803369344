// The Mous gRPC API over real loopback TCP against RocksDB: an MOU from
// draft to deliveries, error codes, and the state after a restart.
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "ncm/mous/v1/mous.grpc.pb.h"
#include "ncm/ncmd/server.h"
#include "ncm/stakeholders/v1/stakeholders.grpc.pb.h"
#include "testing/date.h"
#include "testing/loopback_server.h"
#include "testing/temp_dir.h"

namespace ncm {
namespace {

namespace pb = ::ncm::mous::v1;
namespace spb = ::ncm::stakeholders::v1;
using ::testing::HasSubstr;

using ::ncm::testing::Day;

class MousGrpcTest : public ::testing::Test {
 protected:
  void SetUp() override { Connect(); }
  void TearDown() override {
    if (server_) server_->Shutdown(absl::Seconds(5));
  }
  void Connect() {
    server_ = ::ncm::testing::StartLoopbackServer(dir_.Sub("db"));
    ASSERT_NE(server_, nullptr);
    auto ch = ::ncm::testing::AdminChannel(*server_, dir_.Sub("db"));
    mous_ = pb::Mous::NewStub(ch);
    sh_ = spb::Stakeholders::NewStub(ch);
  }
  template <typename Req, typename Resp, typename Stub>
  grpc::Status Call(Stub* stub,
                    grpc::Status (Stub::*m)(grpc::ClientContext*, const Req&,
                                            Resp*),
                    const Req& req, Resp* resp) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
    return (stub->*m)(&ctx, req, resp);
  }

  ::ncm::testing::TempDir dir_;
  std::unique_ptr<ncmd::Server> server_;
  std::unique_ptr<pb::Mous::Stub> mous_;
  std::unique_ptr<spb::Stakeholders::Stub> sh_;
};

TEST_F(MousGrpcTest, DraftToDeliveriesAndRestart) {
  std::string orgs[2];
  const char* acronyms[2] = {"NCM", "DRS"};
  for (int i = 0; i < 2; ++i) {
    spb::RegisterOrganisationRequest r;
    r.mutable_profile()->set_name(acronyms[i]);
    r.mutable_profile()->set_acronym(acronyms[i]);
    r.mutable_profile()->set_kind(spb::DEPARTMENT_OR_AGENCY);
    r.mutable_profile()->set_level(spb::NATIONAL);
    r.set_role(spb::MEMBER);
    *r.mutable_options()->mutable_occurred_on() = Day(2020, 7, 1);
    ncm::common::v1::CommandResult out;
    ASSERT_TRUE(Call(sh_.get(), &spb::Stakeholders::Stub::RegisterOrganisation,
                     r, &out).ok());
    orgs[i] = out.aggregate_id();
  }
  spb::AppointFocalPointRequest ap;
  ap.set_organisation_id(orgs[1]);
  ap.mutable_new_person()->set_full_name("Commissioner for Refugee Affairs");
  ap.set_kind(spb::PRIMARY);
  spb::AppointFocalPointResponse person;
  ASSERT_TRUE(Call(sh_.get(), &spb::Stakeholders::Stub::AppointFocalPoint, ap,
                   &person).ok());

  pb::DraftMouRequest d;
  auto* t = d.mutable_terms();
  t->set_title("Refugee registration statistics MOU");
  auto* p0 = t->add_parties();
  p0->set_organisation_id(orgs[0]);
  p0->set_role(pb::SECRETARIAT);
  auto* p1 = t->add_parties();
  p1->set_organisation_id(orgs[1]);
  p1->set_role(pb::PROVIDER);
  auto* ds = t->add_datasets();
  ds->set_code("refugee-registrations");
  ds->set_name("Refugee and asylum-seeker registrations");
  ds->set_frequency(pb::QUARTERLY);
  ds->set_due_offset_days(30);
  t->set_purpose("Quarterly migration statistics");
  t->set_legal_basis("Refugees Act 2021");
  t->set_data_protection_terms("Aggregates by county and nationality only");
  *t->mutable_valid_from() = Day(2022, 1, 1);
  *t->mutable_valid_until() = Day(2024, 12, 31);
  *d.mutable_options()->mutable_occurred_on() = Day(2021, 11, 1);
  ncm::common::v1::CommandResult mou;
  grpc::Status s = Call(mous_.get(), &pb::Mous::Stub::DraftMou, d, &mou);
  ASSERT_TRUE(s.ok()) << s.error_message();

  ncm::common::v1::CommandResult ignored;
  pb::SignMouRequest sign;
  sign.set_mou_id(mou.aggregate_id());
  sign.set_organisation_id(orgs[1]);
  sign.set_signatory_person_id(person.person_id());
  s = Call(mous_.get(), &pb::Mous::Stub::SignMou, sign, &ignored);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(s.error_message(), HasSubstr("is DRAFT"));

  pb::MouChangeRequest sub;
  sub.set_mou_id(mou.aggregate_id());
  *sub.mutable_options()->mutable_occurred_on() = Day(2021, 11, 10);
  ASSERT_TRUE(Call(mous_.get(), &pb::Mous::Stub::SubmitForLegalReview, sub,
                   &ignored).ok());
  pb::RecordLegalReviewRequest rev;
  rev.set_mou_id(mou.aggregate_id());
  rev.set_outcome(pb::REVIEW_APPROVED);
  *rev.mutable_options()->mutable_occurred_on() = Day(2021, 12, 1);
  ASSERT_TRUE(Call(mous_.get(), &pb::Mous::Stub::RecordLegalReview, rev,
                   &ignored).ok());
  for (const std::string& org : orgs) {
    sign.set_organisation_id(org);
    *sign.mutable_options()->mutable_occurred_on() = Day(2021, 12, 15);
    s = Call(mous_.get(), &pb::Mous::Stub::SignMou, sign, &ignored);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }
  pb::RecordDeliveryRequest del;
  del.set_mou_id(mou.aggregate_id());
  del.set_dataset_code("refugee-registrations");
  del.mutable_period()->set_year(2022);
  del.mutable_period()->set_number(1);
  *del.mutable_options()->mutable_occurred_on() = Day(2022, 4, 25);
  ASSERT_TRUE(Call(mous_.get(), &pb::Mous::Stub::RecordDelivery, del,
                   &ignored).ok());
  del.mutable_period()->set_number(5);
  s = Call(mous_.get(), &pb::Mous::Stub::RecordDelivery, del, &ignored);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("period.number"));

  server_->Shutdown(absl::Seconds(5));
  server_.reset();
  Connect();
  pb::GetMouRequest g;
  g.set_mou_id(mou.aggregate_id());
  *g.mutable_as_of() = Day(2023, 6, 30);
  pb::Mou got;
  ASSERT_TRUE(Call(mous_.get(), &pb::Mous::Stub::GetMou, g, &got).ok());
  EXPECT_EQ(got.status(), pb::ACTIVE);
  ASSERT_EQ(got.deliveries_size(), 1);
  EXPECT_FALSE(got.deliveries(0).late());  // due 2022-04-30
  EXPECT_EQ(got.signatures_size(), 2);
  *g.mutable_as_of() = Day(2025, 1, 1);
  ASSERT_TRUE(Call(mous_.get(), &pb::Mous::Stub::GetMou, g, &got).ok());
  EXPECT_EQ(got.status(), pb::EXPIRED);

  // Compliance per provider from the read model, as of mid-2023: Q1 2022
  // on time, Q2 2022 to Q1 2023 missing (Q2 2023 is due 2023-07-30).
  pb::GetComplianceRequest c;
  c.set_provider_organisation_id(orgs[1]);
  *c.mutable_as_of() = Day(2023, 6, 30);
  c.set_min_position(server_->store()->HeadPosition());
  pb::GetComplianceResponse comp;
  grpc::Status cs = Call(mous_.get(), &pb::Mous::Stub::GetCompliance, c, &comp);
  ASSERT_TRUE(cs.ok()) << cs.error_message();
  EXPECT_EQ(comp.total().expected(), 5);
  EXPECT_EQ(comp.total().on_time(), 1);
  EXPECT_EQ(comp.total().missing(), 4);
  EXPECT_EQ(comp.total().on_time_basis_points(), 2000);
  ASSERT_EQ(comp.providers_size(), 1);
  ASSERT_EQ(comp.overdue_size(), 4);
  EXPECT_EQ(comp.overdue(0).period().number(), 2);  // the longest overdue
  EXPECT_EQ(comp.overdue(0).period().year(), 2022);
  EXPECT_GE(comp.position(), c.min_position());
  c.set_provider_organisation_id(orgs[0]);  // the secretariat provides none
  ASSERT_TRUE(Call(mous_.get(), &pb::Mous::Stub::GetCompliance, c, &comp).ok());
  EXPECT_EQ(comp.total().expected(), 0);
  c.set_mou_id(mou.aggregate_id());
  cs = Call(mous_.get(), &pb::Mous::Stub::GetCompliance, c, &comp);
  EXPECT_EQ(cs.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

}  // namespace
}  // namespace ncm
