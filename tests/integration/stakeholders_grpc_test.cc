// The Stakeholders gRPC API over real loopback TCP against a RocksDB store
// in a temporary folder: commands, reads, error codes, idempotent retries
// and the personal-data erasure path end to end.
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "ncm/eventstore/v1/eventstore.grpc.pb.h"
#include "ncm/ncmd/server.h"
#include "ncm/stakeholders/v1/stakeholders.grpc.pb.h"
#include "testing/grpc_log.h"
#include "testing/loopback_server.h"
#include "testing/temp_dir.h"

namespace ncm {
namespace {

namespace pb = ::ncm::stakeholders::v1;
namespace espb = ::ncm::eventstore::v1;
using ::testing::HasSubstr;

class StakeholdersGrpcTest : public ::testing::Test {
 protected:
  void SetUp() override { Connect(); }

  // Starts the server over the test's folder and connects the stubs.
  void Connect() {
    server_ = ::ncm::testing::StartLoopbackServer(dir_.Sub("db"));
    ASSERT_NE(server_, nullptr);
    channel_ = ::ncm::testing::AdminChannel(*server_, dir_.Sub("db"));
    stub_ = pb::Stakeholders::NewStub(channel_);
    es_ = espb::EventStore::NewStub(channel_);
  }
  void TearDown() override {
    if (server_) server_->Shutdown(absl::Seconds(5));
  }

  template <typename Req, typename Resp>
  grpc::Status Call(grpc::Status (pb::Stakeholders::Stub::*method)(
                        grpc::ClientContext*, const Req&, Resp*),
                    const Req& req, Resp* resp) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
    return (stub_.get()->*method)(&ctx, req, resp);
  }

  pb::RegisterOrganisationRequest Iom() {
    pb::RegisterOrganisationRequest r;
    auto* p = r.mutable_profile();
    p->set_name("International Organization for Migration");
    p->set_acronym("IOM");
    p->set_kind(pb::INTERNATIONAL_ORGANISATION);
    p->set_level(pb::INTERNATIONAL);
    p->add_thematic_areas("labour migration");
    r.set_role(pb::PARTNER);
    r.mutable_options()->mutable_occurred_on()->set_year(2020);
    r.mutable_options()->mutable_occurred_on()->set_month(7);
    r.mutable_options()->mutable_occurred_on()->set_day(1);
    return r;
  }

  ::ncm::testing::TempDir dir_;
  std::unique_ptr<ncmd::Server> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<pb::Stakeholders::Stub> stub_;
  std::unique_ptr<espb::EventStore::Stub> es_;
};

TEST_F(StakeholdersGrpcTest, RegisterAppointAndReadBack) {
  ncm::common::v1::CommandResult reg;
  grpc::Status s = Call(&pb::Stakeholders::Stub::RegisterOrganisation, Iom(), &reg);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(reg.revision(), 0u);
  EXPECT_GT(reg.position(), 0u);

  pb::AppointFocalPointRequest a;
  a.set_organisation_id(reg.aggregate_id());
  a.set_kind(pb::PRIMARY);
  a.mutable_new_person()->set_full_name("Grace Njeri");
  a.mutable_new_person()->set_email("grace@example.org");
  pb::AppointFocalPointResponse appointed;
  s = Call(&pb::Stakeholders::Stub::AppointFocalPoint, a, &appointed);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(appointed.result().revision(), 1u);

  pb::GetOrganisationRequest g;
  g.set_organisation_id(reg.aggregate_id());
  pb::Organisation org;
  s = Call(&pb::Stakeholders::Stub::GetOrganisation, g, &org);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(org.profile().acronym(), "IOM");
  ASSERT_EQ(org.focal_points_size(), 1);
  EXPECT_EQ(org.focal_points(0).person().details().full_name(), "Grace Njeri");
  g.set_min_position(appointed.result().position() + 1000);
  s = Call(&pb::Stakeholders::Stub::GetOrganisation, g, &org);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::OUT_OF_RANGE);
  EXPECT_THAT(s.error_message(), HasSubstr("beyond the log's head"));

  pb::ListCountiesResponse counties;
  s = Call(&pb::Stakeholders::Stub::ListCounties, pb::ListCountiesRequest(),
           &counties);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(counties.counties_size(), 47);
}

TEST_F(StakeholdersGrpcTest, RefusalsCarryTheRightCodeAndWriteNothing) {
  ncm::common::v1::CommandResult reg;
  ASSERT_TRUE(Call(&pb::Stakeholders::Stub::RegisterOrganisation, Iom(), &reg).ok());
  const uint64_t head = server_->store()->HeadPosition();

  ncm::common::v1::CommandResult out;
  grpc::Status s = Call(&pb::Stakeholders::Stub::RegisterOrganisation, Iom(), &out);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_THAT(s.error_message(), HasSubstr("acronym \"IOM\""));

  pb::RegisterOrganisationRequest bad = Iom();
  bad.mutable_profile()->set_acronym("KCG");
  bad.mutable_profile()->set_level(pb::COUNTY);
  bad.mutable_profile()->set_county_code("999");
  s = Call(&pb::Stakeholders::Stub::RegisterOrganisation, bad, &out);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("profile.county_code"));

  pb::MembershipChangeRequest m;
  m.set_organisation_id(reg.aggregate_id());
  s = Call(&pb::Stakeholders::Stub::ReinstateMembership, m, &out);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(s.error_message(), HasSubstr("is ACTIVE"));

  m.set_organisation_id("7d0c9a7e-1111-4222-8333-944455556666");
  m.set_reason("r");
  s = Call(&pb::Stakeholders::Stub::SuspendMembership, m, &out);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);

  pb::GetPersonRequest gp;
  gp.set_person_id("not-a-uuid");
  pb::Person person;
  s = Call(&pb::Stakeholders::Stub::GetPerson, gp, &person);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("person_id"));

  // Bytes that are not a request at all.
  grpc::GenericStub generic(channel_);
  grpc::CompletionQueue cq;
  grpc::ClientContext ctx;
  grpc::Slice slice(std::string("\xff\xff\xff\xff", 4));
  grpc::ByteBuffer request(&slice, 1), response;
  auto call = generic.PrepareUnaryCall(
      &ctx, "/ncm.stakeholders.v1.Stakeholders/RegisterOrganisation", request,
      &cq);
  call->StartCall();
  call->Finish(&response, &s, reinterpret_cast<void*>(1));
  void* tag;
  bool ok;
  ASSERT_TRUE(cq.Next(&tag, &ok));
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("RegisterOrganisationRequest"));
  cq.Shutdown();
  while (cq.Next(&tag, &ok)) {
  }
  EXPECT_EQ(server_->store()->HeadPosition(), head);
}

TEST_F(StakeholdersGrpcTest, RetryWithTheSameCommandIdIsAnsweredOnce) {
  pb::RegisterOrganisationRequest r = Iom();
  r.mutable_options()->set_command_id("register-iom-2020");
  ncm::common::v1::CommandResult first, second;
  ASSERT_TRUE(Call(&pb::Stakeholders::Stub::RegisterOrganisation, r, &first).ok());
  const uint64_t head = server_->store()->HeadPosition();
  grpc::Status s = Call(&pb::Stakeholders::Stub::RegisterOrganisation, r, &second);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(second.aggregate_id(), first.aggregate_id());
  EXPECT_EQ(second.position(), first.position());
  EXPECT_TRUE(second.replayed());
  EXPECT_EQ(server_->store()->HeadPosition(), head);
}

TEST_F(StakeholdersGrpcTest, ForgottenPersonIsErasedEverywhereAndTheChainVerifies) {
  ncm::common::v1::CommandResult reg;
  ASSERT_TRUE(Call(&pb::Stakeholders::Stub::RegisterOrganisation, Iom(), &reg).ok());
  pb::AppointFocalPointRequest a;
  a.set_organisation_id(reg.aggregate_id());
  a.set_kind(pb::PRIMARY);
  a.mutable_new_person()->set_full_name("Wafula Chebukati Example");
  a.mutable_new_person()->set_phone("+254 700 000000");
  pb::AppointFocalPointResponse appointed;
  ASSERT_TRUE(Call(&pb::Stakeholders::Stub::AppointFocalPoint, a, &appointed).ok());

  // The log, as any reader of the EventStore API sees it, has no clear text.
  for (const auto& e : ::ncm::testing::ReadWholeLog(es_.get())) {
    EXPECT_EQ(e.payload().find("Wafula"), std::string::npos);
    EXPECT_EQ(e.payload().find("700 000000"), std::string::npos);
  }
  pb::ForgetPersonRequest f;
  f.set_person_id(appointed.person_id());
  f.set_reason("erasure request");
  ncm::common::v1::CommandResult forgotten;
  grpc::Status s = Call(&pb::Stakeholders::Stub::ForgetPerson, f, &forgotten);
  ASSERT_TRUE(s.ok()) << s.error_message();

  pb::GetPersonRequest gp;
  gp.set_person_id(appointed.person_id());
  pb::Person person;
  ASSERT_TRUE(Call(&pb::Stakeholders::Stub::GetPerson, gp, &person).ok());
  EXPECT_TRUE(person.erased());
  EXPECT_TRUE(person.details().full_name().empty());
  pb::GetOrganisationRequest g;
  g.set_organisation_id(reg.aggregate_id());
  pb::Organisation org;
  ASSERT_TRUE(Call(&pb::Stakeholders::Stub::GetOrganisation, g, &org).ok());
  ASSERT_EQ(org.focal_points_size(), 1);
  EXPECT_TRUE(org.focal_points(0).person().erased());

  grpc::ClientContext ctx;
  espb::VerifyChainRequest vr;
  espb::VerifyChainResponse v;
  ASSERT_TRUE(es_->VerifyChain(&ctx, vr, &v).ok());
  EXPECT_TRUE(v.ok()) << v.reason();
  EXPECT_EQ(v.verified_count(), server_->store()->HeadPosition());

  // Erased survives a restart.
  server_->Shutdown(absl::Seconds(5));
  Connect();
  person.Clear();
  ASSERT_TRUE(Call(&pb::Stakeholders::Stub::GetPerson, gp, &person).ok());
  EXPECT_TRUE(person.erased());
}

}  // namespace
}  // namespace ncm
