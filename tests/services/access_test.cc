// The principal registry, the access table, field limits and the
// withholding of personal data, without a server.
#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "google/protobuf/descriptor.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ncm/admin/v1/admin.pb.h"
#include "ncm/access/policy.h"
#include "ncm/access/registry.h"
#include "ncm/eventstore/memory_event_store.h"
#include "ncm/eventstore/v1/eventstore.pb.h"
#include "ncm/eventstore/v1/transparency.pb.h"
#include "ncm/mous/v1/mous.pb.h"
#include "ncm/readside/v1/readside.pb.h"
#include "ncm/resolutions/v1/resolutions.pb.h"
#include "ncm/resources/v1/resources.pb.h"
#include "ncm/services/gate.h"
#include "ncm/services/limits.h"
#include "ncm/stakeholders/v1/stakeholders.pb.h"
#include "testing/read_file.h"
#include "testing/status_matchers.h"

namespace ncm::access {
namespace {

using ::ncm::testing::IsOk;
using ::ncm::testing::StatusIs;
using ::testing::HasSubstr;
using ::testing::Not;
using Code = absl::StatusCode;
namespace spb = ::ncm::stakeholders::v1;

absl::CivilDay today(2021, 9, 30);

services::Clock TestClock() {
  services::Clock c;
  c.now = [] { return absl::FromCivil(today, absl::UTCTimeZone()); };
  return c;
}

class RegistryTest : public ::testing::Test {
 protected:
  std::string Organisation(const std::string& acronym) {
    spb::RegisterOrganisationRequest r;
    r.mutable_profile()->set_name(absl::StrCat("Organisation ", acronym));
    r.mutable_profile()->set_acronym(acronym);
    r.mutable_profile()->set_kind(spb::INTERNATIONAL_ORGANISATION);
    r.mutable_profile()->set_level(spb::NATIONAL);
    r.set_role(spb::PARTNER);
    auto o = stakeholders_.RegisterOrganisation(r, "admin");
    EXPECT_THAT(o, IsOk());
    return o.ok() ? o->aggregate_id : "";
  }

  pb::IssueTokenRequest Token(const std::string& id, pb::Role role,
                              const std::string& org = "") {
    pb::IssueTokenRequest r;
    r.set_principal_id(id);
    r.set_role(role);
    r.set_organisation_id(org);
    return r;
  }

  std::unique_ptr<eventstore::EventStore> store_ =
      eventstore::NewMemoryEventStore();
  stakeholders::StakeholdersHandler stakeholders_{
      store_.get(), &stakeholders::CountyList::Kenya(), TestClock()};
  PrincipalRegistry registry_{store_.get(), &stakeholders_, TestClock()};
};

TEST_F(RegistryTest, AnIssuedTokenAuthenticatesUntilRevoked) {
  EXPECT_TRUE(registry_.Empty());
  const std::string iom = Organisation("IOM");
  auto issued = registry_.IssueToken(Token("iom-sync", pb::ROLE_PARTNER, iom),
                                     "admin");
  ASSERT_THAT(issued, IsOk());
  EXPECT_FALSE(registry_.Empty());
  EXPECT_EQ(issued->result().aggregate_id(), "iom-sync");
  EXPECT_THAT(issued->token(), ::testing::StartsWith("ncm_"));
  EXPECT_EQ(issued->token().size(), 4u + 43u);

  auto p = registry_.ByToken(issued->token());
  ASSERT_THAT(p, IsOk());
  EXPECT_EQ(p->id, "iom-sync");
  EXPECT_EQ(p->role, pb::ROLE_PARTNER);
  EXPECT_EQ(p->organisation_id, iom);
  EXPECT_THAT(registry_.ByToken(issued->token() + "x"),
              StatusIs(Code::kUnauthenticated, HasSubstr("not one")));

  // The log holds the hash, never the token.
  auto all = store_->ReadAll({});
  ASSERT_THAT(all, IsOk());
  for (const auto& e : all->events) {
    EXPECT_THAT(e.payload, Not(HasSubstr(issued->token())));
  }
  auto listed = registry_.Get("iom-sync");
  ASSERT_THAT(listed, IsOk());
  EXPECT_EQ(listed->issued_by(), "admin");
  EXPECT_EQ(listed->credential(), pb::CREDENTIAL_KIND_TOKEN);
  EXPECT_FALSE(listed->reads_personal_data());

  pb::RevokePrincipalRequest rv;
  rv.set_principal_id("iom-sync");
  EXPECT_THAT(registry_.RevokePrincipal(rv, "admin"),
              StatusIs(Code::kInvalidArgument, HasSubstr("reason")));
  rv.set_reason("leaked");
  ASSERT_THAT(registry_.RevokePrincipal(rv, "admin"), IsOk());
  EXPECT_THAT(registry_.ByToken(issued->token()),
              StatusIs(Code::kUnauthenticated, HasSubstr("revoked")));
  EXPECT_THAT(registry_.RevokePrincipal(rv, "admin"),
              StatusIs(Code::kFailedPrecondition, HasSubstr("already")));
  pb::ListPrincipalsRequest lr;
  EXPECT_EQ(registry_.ListPrincipals(lr)->principals_size(), 0);
  lr.set_include_revoked(true);
  EXPECT_EQ(registry_.ListPrincipals(lr)->principals_size(), 1);

  // A registry loaded from the log knows the same.
  PrincipalRegistry again(store_.get(), &stakeholders_, TestClock());
  ASSERT_THAT(again.Load(), IsOk());
  EXPECT_THAT(again.ByToken(issued->token()),
              StatusIs(Code::kUnauthenticated, HasSubstr("revoked")));
  EXPECT_TRUE(again.Get("iom-sync")->revoked());
}

TEST_F(RegistryTest, IssuingChecksIdRoleOrganisationAndExpiry) {
  const std::string iom = Organisation("IOM");
  const uint64_t head = store_->HeadPosition();
  EXPECT_THAT(registry_.IssueToken(Token("IOM Sync", pb::ROLE_READER), "admin"),
              StatusIs(Code::kInvalidArgument, HasSubstr("principal_id")));
  EXPECT_THAT(registry_.IssueToken(Token("x", pb::ROLE_UNSPECIFIED), "admin"),
              StatusIs(Code::kInvalidArgument, HasSubstr("role")));
  EXPECT_THAT(registry_.IssueToken(Token("x", pb::ROLE_PARTNER), "admin"),
              StatusIs(Code::kInvalidArgument,
                       HasSubstr("organisation_id is required")));
  EXPECT_THAT(registry_.IssueToken(Token("x", pb::ROLE_READER, iom), "admin"),
              StatusIs(Code::kInvalidArgument, HasSubstr("only for")));
  EXPECT_THAT(
      registry_.IssueToken(
          Token("x", pb::ROLE_DATA_PROVIDER, "0b0e8c7e-7a53-4d1e-9c55-1f1f5b1f0000"),
          "admin"),
      StatusIs(Code::kNotFound));
  auto expired = Token("x", pb::ROLE_READER);
  *expired.mutable_expires_on() = services::ToProto(today - 1);
  EXPECT_THAT(registry_.IssueToken(expired, "admin"),
              StatusIs(Code::kInvalidArgument, HasSubstr("in the past")));
  EXPECT_EQ(store_->HeadPosition(), head);  // nothing written

  ASSERT_THAT(registry_.IssueToken(Token("x", pb::ROLE_READER), "admin"), IsOk());
  EXPECT_THAT(registry_.IssueToken(Token("x", pb::ROLE_AUDITOR), "admin"),
              StatusIs(Code::kAlreadyExists, HasSubstr("never reused")));
  pb::RevokePrincipalRequest self;
  self.set_principal_id("x");
  self.set_reason("tidy up");
  EXPECT_THAT(registry_.RevokePrincipal(self, "x"),
              StatusIs(Code::kFailedPrecondition, HasSubstr("itself")));
}

TEST_F(RegistryTest, AnExpiredTokenIsRefused) {
  auto r = Token("short", pb::ROLE_READER);
  *r.mutable_expires_on() = services::ToProto(today);
  auto issued = registry_.IssueToken(r, "admin");
  ASSERT_THAT(issued, IsOk());
  auto admitted = registry_.ByToken(issued->token());  // valid today
  ASSERT_THAT(admitted, IsOk());
  EXPECT_THAT(registry_.CheckActing(*admitted), IsOk());
  today += 1;
  EXPECT_THAT(registry_.ByToken(issued->token()),
              StatusIs(Code::kUnauthenticated, HasSubstr("expired on")));
  // A principal admitted before (an open subscription's) loses its standing.
  EXPECT_THAT(registry_.CheckActing(*admitted),
              StatusIs(Code::kUnauthenticated, HasSubstr("expired on")));
  today -= 1;
}

TEST_F(RegistryTest, CertificatesBindBySubjectOrCommonName) {
  pb::BindCertificateRequest r;
  r.set_principal_id("giz-sync");
  r.set_role(pb::ROLE_AUDITOR);
  r.set_certificate_subject("CN=giz,O=GIZ");
  ASSERT_THAT(registry_.BindCertificate(r, "admin"), IsOk());
  auto giz = registry_.ByCertificate("CN=giz,O=GIZ", "giz");
  ASSERT_THAT(giz, IsOk());
  EXPECT_EQ(giz->id, "giz-sync");
  EXPECT_THAT(registry_.ByCertificate("CN=other,O=GIZ", "other"),
              StatusIs(Code::kUnauthenticated, HasSubstr("bound to no")));
  r.set_principal_id("giz-again");
  EXPECT_THAT(registry_.BindCertificate(r, "admin"),
              StatusIs(Code::kAlreadyExists, HasSubstr("giz-sync")));
  r.set_certificate_subject("giz");  // the common name alone
  r.set_principal_id("giz-cn");
  ASSERT_THAT(registry_.BindCertificate(r, "admin"), IsOk());
  auto by_cn = registry_.ByCertificate("CN=giz2,O=GIZ", "giz");
  ASSERT_THAT(by_cn, IsOk());
  EXPECT_EQ(by_cn->id, "giz-cn");
  // A certificate whose common name spells a bound subject is not that
  // principal, and a subject spelling a bound common name is not either.
  EXPECT_THAT(registry_.ByCertificate("CN=CN\\=giz\\,O\\=GIZ,O=Evil",
                                      "CN=giz,O=GIZ"),
              StatusIs(Code::kUnauthenticated, HasSubstr("bound to no")));
  auto cn_only = registry_.ByCertificate("giz", "x");
  EXPECT_FALSE(cn_only.ok() && cn_only->id == "giz-cn");
}

TEST_F(RegistryTest, ARevokedBindingNeverShadowsTheLiveOneAfterARestart) {
  for (const char* id : {"a-1", "a-2", "a-3", "a-4", "a-5"}) {
    // Bind the subject, then revoke, four times; the fifth stays.
    pb::BindCertificateRequest r;
    r.set_principal_id(id);
    r.set_role(pb::ROLE_READER);
    r.set_certificate_subject("CN=unhcr");
    ASSERT_THAT(registry_.BindCertificate(r, "admin"), IsOk()) << id;
    if (std::string(id) == "a-5") break;
    pb::RevokePrincipalRequest rv;
    rv.set_principal_id(id);
    rv.set_reason("rotated");
    ASSERT_THAT(registry_.RevokePrincipal(rv, "admin"), IsOk());
  }
  PrincipalRegistry again(store_.get(), &stakeholders_, TestClock());
  ASSERT_THAT(again.Load(), IsOk());
  auto p = again.ByCertificate("CN=unhcr", "unhcr");
  ASSERT_THAT(p, IsOk());
  EXPECT_EQ(p->id, "a-5");
}

TEST_F(RegistryTest, ReservedIdsAreRefused) {
  for (const char* id : {"ncmd", "anonymous"}) {
    EXPECT_THAT(registry_.IssueToken(Token(id, pb::ROLE_READER), "admin"),
                StatusIs(Code::kInvalidArgument, HasSubstr("reserved")));
  }
}

// The README's access table is the policy the server applies.
TEST(AccessTableTest, TheReadmeShowsThePolicy) {
  const std::string table = AccessTableMarkdown();
  EXPECT_NE(::ncm::testing::ReadFile(NCM_README).find(table), std::string::npos)
      << "README.md must hold this table (the policy in "
         "services/access/src/policy.cc):\n"
      << table;
}

// Links the descriptors of every served .proto into the pool.
void LinkServedProtos() {
  (void)ncm::eventstore::v1::AppendRequest::descriptor();
  (void)ncm::eventstore::v1::GetCheckpointRequest::descriptor();
  (void)ncm::readside::v1::ListReadModelsRequest::descriptor();
  (void)ncm::mous::v1::GetMouRequest::descriptor();
  (void)ncm::resources::v1::GetBudgetRequest::descriptor();
  (void)ncm::resolutions::v1::GetMeetingRequest::descriptor();
  (void)ncm::admin::v1::GetStatusRequest::descriptor();
}

TEST(AccessTableTest, EveryRuleIsWellFormed) {
  LinkServedProtos();
  for (const MethodRule& r : AccessRules()) {
    EXPECT_EQ(FindRule("/" + r.method), &r) << r.method;
    EXPECT_EQ(r.For(pb::ROLE_ADMIN), Access::kAllowed) << r.method;
    for (pb::Role role : kRoles) {
      // Only partners and data providers act within an organisation.
      if (!NeedsOrganisation(role)) {
        EXPECT_NE(r.For(role), Access::kOwn) << r.method;
      }
    }
    // Auditors and readers never write: no command is open to them.
    const auto* m = google::protobuf::DescriptorPool::generated_pool()
                        ->FindMethodByName(absl::StrReplaceAll(r.method, {{"/", "."}}));
    ASSERT_NE(m, nullptr) << r.method;
    const bool writes =
        m->output_type()->full_name() == "ncm.common.v1.CommandResult" ||
        absl::StrContains(m->output_type()->full_name(), "Token") ||
        m->name() == "AddBudgetLine" || m->name() == "RecordTransaction" ||
        m->name() == "AppointFocalPoint" || m->name() == "Append" ||
        m->name() == "RebuildReadModel";
    if (writes) {
      EXPECT_EQ(r.For(pb::ROLE_AUDITOR), Access::kDenied) << r.method;
      EXPECT_EQ(r.For(pb::ROLE_READER), Access::kDenied) << r.method;
    }
  }
  EXPECT_EQ(FindRule("/ncm.nothing.v1.Nothing/Call"), nullptr);
}

// What a read node refuses: every call that appends, and nothing else.
TEST(AccessTableTest, WritesLogNamesEveryCallThatAppends) {
  LinkServedProtos();
  int writers = 0;
  for (const MethodRule& r : AccessRules()) {
    const auto* m = google::protobuf::DescriptorPool::generated_pool()
                        ->FindMethodByName(absl::StrReplaceAll(r.method, {{"/", "."}}));
    ASSERT_NE(m, nullptr) << r.method;
    // Every command answers with a CommandResult or its own response, and
    // every query's name says it reads.
    const bool reads = absl::StartsWith(m->name(), "Get") ||
                       absl::StartsWith(m->name(), "List") ||
                       absl::StartsWith(m->name(), "Read") ||
                       m->name() == "Subscribe" || m->name() == "VerifyChain" ||
                       m->name() == "WhoAmI" ||
                       m->name() == "ImplementationReport" ||
                       m->name() == "RebuildReadModel" ||  // local to each node
                       m->name() == "Backup" ||            // copies, appends nothing
                       // Kept beside the log, not in it; a read node's
                       // handler refuses it (it holds no checkpoints).
                       m->name() == "AddCosignature";
    EXPECT_EQ(WritesLog("/" + r.method), !reads) << r.method;
    EXPECT_EQ(WritesLog(r.method), !reads) << r.method;
    writers += !reads;
  }
  EXPECT_GE(writers, 48);  // commands of the five domains, Append, principals
  EXPECT_TRUE(WritesLog("/ncm.eventstore.v1.EventStore/Append"));
  EXPECT_TRUE(WritesLog("/ncm.access.v1.Access/IssueToken"));
  EXPECT_FALSE(WritesLog("/ncm.nothing.v1.Nothing/Call"));
  EXPECT_FALSE(WritesLog("no slash"));
}

TEST(LimitsTest, OversizedFieldsAreNamedWithTheirLimit) {
  ncm::resolutions::v1::ReportProgressRequest r;
  r.set_narrative(std::string(services::kMaxProseBytes, 'n'));
  EXPECT_THAT(services::CheckFieldLimits(r), IsOk());
  r.set_narrative(std::string(services::kMaxProseBytes + 1, 'n'));
  EXPECT_THAT(services::CheckFieldLimits(r),
              StatusIs(Code::kInvalidArgument,
                       HasSubstr("narrative is 32769 bytes; the limit")));
  r.clear_narrative();
  r.set_reporting_organisation_id(std::string(services::kMaxTextBytes + 1, 'x'));
  EXPECT_THAT(services::CheckFieldLimits(r),
              StatusIs(Code::kInvalidArgument,
                       HasSubstr("reporting_organisation_id is 2049 bytes")));
  r.clear_reporting_organisation_id();
  for (int i = 0; i <= services::kMaxRepeated; ++i) r.add_evidence_references("e");
  EXPECT_THAT(services::CheckFieldLimits(r),
              StatusIs(Code::kInvalidArgument,
                       HasSubstr("evidence_references has 1001 elements")));
  spb::AppointFocalPointRequest a;
  a.mutable_new_person()->set_full_name(std::string(5000, 'x'));
  EXPECT_THAT(services::CheckFieldLimits(a),
              StatusIs(Code::kInvalidArgument, HasSubstr("new_person.full_name")));
}

TEST(WithholdTest, PersonsLoseTheirDetailsButNotTheirIds) {
  spb::Organisation o;
  auto* fp = o.add_focal_points();
  fp->mutable_person()->set_person_id("p1");
  fp->mutable_person()->mutable_details()->set_full_name("Jane Wanjiru");
  auto* gone = o.add_focal_points();
  gone->mutable_person()->set_person_id("p2");
  gone->mutable_person()->set_erased(true);
  services::WithholdPersonalData(&o);
  EXPECT_EQ(o.focal_points(0).person().person_id(), "p1");
  EXPECT_FALSE(o.focal_points(0).person().has_details());
  EXPECT_TRUE(o.focal_points(0).person().withheld());
  EXPECT_TRUE(o.focal_points(1).person().erased());
  EXPECT_FALSE(o.focal_points(1).person().withheld());
  spb::Person p;
  p.mutable_details()->set_email("jane@example.org");
  services::WithholdPersonalData(&p);
  EXPECT_FALSE(p.has_details());
}

}  // namespace
}  // namespace ncm::access
