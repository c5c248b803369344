// The Resolutions gRPC API over real loopback TCP against a RocksDB store
// in a temporary folder: a meeting adopts a resolution that is tracked to
// verification; wrong input gets the right status codes; retries are
// idempotent; everything survives a restart and the chain verifies.
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "ncm/eventstore/v1/eventstore.grpc.pb.h"
#include "ncm/ncmd/server.h"
#include "ncm/resolutions/v1/resolutions.grpc.pb.h"
#include "ncm/stakeholders/v1/stakeholders.grpc.pb.h"
#include "testing/date.h"
#include "testing/loopback_server.h"
#include "testing/temp_dir.h"

namespace ncm {
namespace {

namespace pb = ::ncm::resolutions::v1;
namespace spb = ::ncm::stakeholders::v1;
namespace espb = ::ncm::eventstore::v1;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

using ::ncm::testing::Day;

std::unique_ptr<grpc::ClientContext> Ctx() {
  auto c = std::make_unique<grpc::ClientContext>();
  c->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
  return c;
}

class ResolutionsGrpcTest : public ::testing::Test {
 protected:
  void SetUp() override { Connect(); }
  void TearDown() override {
    if (server_) server_->Shutdown(absl::Seconds(5));
  }
  void Connect() {
    server_ = ::ncm::testing::StartLoopbackServer(dir_.Sub("db"));
    ASSERT_NE(server_, nullptr);
    auto ch = ::ncm::testing::AdminChannel(*server_, dir_.Sub("db"));
    res_ = pb::Resolutions::NewStub(ch);
    sh_ = spb::Stakeholders::NewStub(ch);
    es_ = espb::EventStore::NewStub(ch);
  }

  std::string Register(const std::string& acronym, const std::string& name) {
    spb::RegisterOrganisationRequest r;
    r.mutable_profile()->set_name(name);
    r.mutable_profile()->set_acronym(acronym);
    r.mutable_profile()->set_kind(spb::DEPARTMENT_OR_AGENCY);
    r.mutable_profile()->set_level(spb::NATIONAL);
    r.set_role(spb::MEMBER);
    *r.mutable_options()->mutable_occurred_on() = Day(2020, 7, 1);
    ncm::common::v1::CommandResult out;
    grpc::Status s = sh_->RegisterOrganisation(Ctx().get(), r, &out);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return out.aggregate_id();
  }

  ::ncm::testing::TempDir dir_;
  std::unique_ptr<ncmd::Server> server_;
  std::unique_ptr<pb::Resolutions::Stub> res_;
  std::unique_ptr<spb::Stakeholders::Stub> sh_;
  std::unique_ptr<espb::EventStore::Stub> es_;
};

TEST_F(ResolutionsGrpcTest, MeetingToVerifiedResolutionAndBack) {
  const std::string nis = Register("NIS", "National Immigration Service");
  const std::string knbs = Register("KNBS", "Kenya National Bureau of Statistics");
  const std::string iom = Register("IOM", "International Organization for Migration");

  pb::ScheduleMeetingRequest sm;
  sm.mutable_options()->set_command_id("qsm-2021-1");
  auto* d = sm.mutable_details();
  d->set_kind(pb::QUARTERLY_STAKEHOLDER_MEETING);
  d->set_title("First quarterly stakeholders' meeting 2021");
  *d->mutable_date() = Day(2021, 3, 18);
  d->set_venue("Nyayo House");
  d->set_county_code("047");
  *sm.mutable_options()->mutable_occurred_on() = Day(2021, 2, 1);
  ncm::common::v1::CommandResult meeting;
  ASSERT_TRUE(res_->ScheduleMeeting(Ctx().get(), sm, &meeting).ok());
  ncm::common::v1::CommandResult again;
  ASSERT_TRUE(res_->ScheduleMeeting(Ctx().get(), sm, &again).ok());
  EXPECT_TRUE(again.replayed());
  EXPECT_EQ(again.aggregate_id(), meeting.aggregate_id());

  for (const std::string& org : {nis, knbs, iom}) {
    pb::RecordAttendanceRequest a;
    a.set_meeting_id(meeting.aggregate_id());
    a.set_organisation_id(org);
    ncm::common::v1::CommandResult out;
    ASSERT_TRUE(res_->RecordAttendance(Ctx().get(), a, &out).ok());
  }

  pb::AdoptResolutionRequest ad;
  ad.set_meeting_id(meeting.aggregate_id());
  *ad.mutable_options()->mutable_occurred_on() = Day(2021, 3, 18);
  auto* t = ad.mutable_terms();
  t->set_reference("QSM-2021-1/02");
  t->set_text("NIS and KNBS to publish harmonised border-crossing statistics.");
  t->set_lead_organisation_id(nis);
  t->add_supporting_organisation_ids(knbs);
  *t->mutable_due_date() = Day(2021, 12, 31);
  t->set_strategic_priority(1);
  t->set_pillar(2);
  t->add_gcm_objectives(1);
  t->add_gcm_objectives(11);
  t->set_indicator("Harmonised tables published");
  ncm::common::v1::CommandResult res;
  grpc::Status s = res_->AdoptResolution(Ctx().get(), ad, &res);
  ASSERT_TRUE(s.ok()) << s.error_message();

  // Wrong input: the right codes, with the field or the state named.
  pb::AdoptResolutionRequest bad = ad;
  bad.mutable_terms()->set_strategic_priority(7);
  ncm::common::v1::CommandResult ignored;
  s = res_->AdoptResolution(Ctx().get(), bad, &ignored);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("terms.strategic_priority"));
  pb::ResolutionChangeRequest ch;
  ch.set_resolution_id(res.aggregate_id());
  s = res_->UnblockResolution(Ctx().get(), ch, &ignored);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(s.error_message(), HasSubstr("is ADOPTED"));
  ch.set_resolution_id("5b2a9a4e-0000-4000-8000-000000000000");
  s = res_->StartImplementation(Ctx().get(), ch, &ignored);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);

  pb::ReportProgressRequest rp;
  rp.set_resolution_id(res.aggregate_id());
  rp.set_reporting_organisation_id(knbs);
  rp.set_percent_complete(40);
  rp.set_narrative("Joint team reconciled 2019 and 2020 tables");
  rp.add_evidence_references("KNBS/MIG/2021/14");
  *rp.mutable_options()->mutable_occurred_on() = Day(2021, 6, 10);
  ASSERT_TRUE(res_->ReportProgress(Ctx().get(), rp, &ignored).ok());
  rp.set_reporting_organisation_id(iom);
  s = res_->ReportProgress(Ctx().get(), rp, &ignored);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);

  pb::MarkImplementedRequest mi;
  mi.set_resolution_id(res.aggregate_id());
  *mi.mutable_options()->mutable_occurred_on() = Day(2021, 11, 30);
  mi.add_evidence_references("Economic Survey 2021, chapter 16");
  ASSERT_TRUE(res_->MarkImplemented(Ctx().get(), mi, &ignored).ok());
  pb::VerifyImplementationRequest v;
  v.set_resolution_id(res.aggregate_id());
  v.set_verified_by_organisation_id(iom);
  *v.mutable_options()->mutable_occurred_on() = Day(2022, 1, 20);
  ASSERT_TRUE(res_->VerifyImplementation(Ctx().get(), v, &ignored).ok());

  // Restart: the state is folded again from RocksDB.
  server_->Shutdown(absl::Seconds(5));
  server_.reset();
  Connect();
  pb::GetResolutionRequest g;
  g.set_resolution_id(res.aggregate_id());
  pb::Resolution r;
  ASSERT_TRUE(res_->GetResolution(Ctx().get(), g, &r).ok());
  EXPECT_EQ(r.status(), pb::VERIFIED);
  EXPECT_EQ(r.percent_complete(), 100);
  EXPECT_EQ(r.progress_reports_size(), 1);
  EXPECT_EQ(r.history_size(), 4);
  EXPECT_THAT(r.terms().gcm_objectives(), ElementsAre(1, 11));
  pb::GetMeetingRequest gm;
  gm.set_meeting_id(meeting.aggregate_id());
  pb::Meeting m;
  ASSERT_TRUE(res_->GetMeeting(Ctx().get(), gm, &m).ok());
  EXPECT_EQ(m.attendance_size(), 3);
  EXPECT_THAT(m.resolution_ids(), ElementsAre(res.aggregate_id()));

  espb::VerifyChainRequest vc;
  espb::VerifyChainResponse vr;
  ASSERT_TRUE(es_->VerifyChain(Ctx().get(), vc, &vr).ok());
  EXPECT_TRUE(vr.ok()) << vr.reason();
  EXPECT_GT(vr.verified_count(), 10u);
}

}  // namespace
}  // namespace ncm
