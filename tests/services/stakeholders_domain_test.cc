// decide() of the stakeholders domain: every rule and transition, legal and
// illegal, without any store.
#include "absl/strings/escaping.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ncm/stakeholders/domain.h"
#include "testing/status_matchers.h"

namespace ncm::stakeholders {
namespace {

using ::ncm::testing::IsOk;
using ::ncm::testing::StatusIs;
using ::testing::HasSubstr;
using Code = absl::StatusCode;

constexpr char kOrg[] = "0b7c1f1e-2a3b-4c5d-8e9f-001122334455";
constexpr char kPerson[] = "1b7c1f1e-2a3b-4c5d-8e9f-001122334455";
const absl::CivilDay kDay(2021, 3, 31);

pb::OrganisationProfile Iom() {
  pb::OrganisationProfile p;
  p.set_name("  International Organization for Migration ");
  p.set_acronym("IOM");
  p.set_kind(pb::INTERNATIONAL_ORGANISATION);
  p.set_level(pb::INTERNATIONAL);
  p.add_thematic_areas("labour migration");
  p.add_thematic_areas("Labour Migration");
  p.add_thematic_areas("counter-trafficking");
  return p;
}

// Folds `events` into `s` as if recorded on `day`.
template <typename E, typename S>
void Fold(const std::vector<E>& events, S* s, absl::CivilDay day = kDay) {
  EventMeta m;
  m.occurred_on = day;
  for (const E& e : events) Apply(e, m, s);
}

OrganisationState Registered(absl::CivilDay on = absl::CivilDay(2020, 7, 1)) {
  OrganisationState s;
  auto ev = DecideRegister(s, kOrg, Iom(), pb::PARTNER, CountyList::Kenya());
  EXPECT_THAT(ev, IsOk());
  Fold(*ev, &s, on);
  return s;
}

PersonState Person() {
  PersonState p;
  p.exists = true;
  p.person_id = kPerson;
  return p;
}

TEST(CountyListTest, KenyaHasFortySevenCountiesInConstitutionOrder) {
  const auto& k = CountyList::Kenya().entries();
  ASSERT_EQ(k.size(), 47u);
  EXPECT_EQ(k.front(), std::make_pair(std::string("001"), std::string("Mombasa")));
  EXPECT_EQ(k.back(),
            std::make_pair(std::string("047"), std::string("Nairobi City")));
  EXPECT_EQ(*CountyList::Kenya().Find("042"), "Kisumu");
  EXPECT_EQ(CountyList::Kenya().Find("KE-30"), nullptr);
}

TEST(CountyListTest, OtherCountriesLoadTheirOwnListAndBadListsAreRefused) {
  auto uganda = CountyList::Parse("code,name\nUG-102,Kampala\nUG-303,Gulu\n");
  ASSERT_THAT(uganda, IsOk());
  EXPECT_EQ(uganda->entries().size(), 2u);
  EXPECT_THAT(CountyList::Parse("001,A\n001,B\n"),
              StatusIs(Code::kInvalidArgument, HasSubstr("repeats code 001")));
  EXPECT_THAT(CountyList::Parse("# nothing\n"),
              StatusIs(Code::kInvalidArgument, HasSubstr("empty")));
  EXPECT_THAT(CountyList::Parse("no comma here\n"),
              StatusIs(Code::kInvalidArgument, HasSubstr("line 1")));
}

TEST(RegisterTest, NormalisesTheProfileAndStartsActive) {
  OrganisationState s = Registered();
  EXPECT_TRUE(s.exists);
  EXPECT_EQ(s.profile.name(), "International Organization for Migration");
  ASSERT_EQ(s.profile.thematic_areas_size(), 2);  // de-duplicated
  EXPECT_EQ(s.status, pb::ACTIVE);
  EXPECT_EQ(s.role, pb::PARTNER);
  EXPECT_EQ(s.registered_on, absl::CivilDay(2020, 7, 1));
}

TEST(RegisterTest, EveryProfileRuleNamesItsField) {
  const CountyList& ke = CountyList::Kenya();
  OrganisationState s;
  auto with = [](auto edit) {
    pb::OrganisationProfile p = Iom();
    edit(&p);
    return p;
  };
  EXPECT_THAT(DecideRegister(s, kOrg, with([](auto* p) { p->set_name(" "); }),
                             pb::MEMBER, ke),
              StatusIs(Code::kInvalidArgument, HasSubstr("profile.name is required")));
  EXPECT_THAT(
      DecideRegister(s, kOrg, with([](auto* p) { p->set_name(std::string(201, 'x')); }),
                     pb::MEMBER, ke),
      StatusIs(Code::kInvalidArgument, HasSubstr("the limit is 200")));
  EXPECT_THAT(DecideRegister(s, kOrg,
                             with([](auto* p) { p->set_name("A\x01" "B"); }),
                             pb::MEMBER, ke),
              StatusIs(Code::kInvalidArgument, HasSubstr("control character")));
  EXPECT_THAT(DecideRegister(s, kOrg, with([](auto* p) { p->set_acronym(""); }),
                             pb::MEMBER, ke),
              StatusIs(Code::kInvalidArgument, HasSubstr("profile.acronym")));
  EXPECT_THAT(
      DecideRegister(s, kOrg, with([](auto* p) { p->set_acronym("I O M"); }),
                     pb::MEMBER, ke),
      StatusIs(Code::kInvalidArgument, HasSubstr("letters, digits")));
  EXPECT_THAT(DecideRegister(s, kOrg,
                             with([](auto* p) {
                               p->set_kind(pb::ORGANISATION_KIND_UNSPECIFIED);
                             }),
                             pb::MEMBER, ke),
              StatusIs(Code::kInvalidArgument, HasSubstr("profile.kind")));
  EXPECT_THAT(DecideRegister(
                  s, kOrg,
                  with([](auto* p) { p->set_kind(static_cast<pb::OrganisationKind>(99)); }),
                  pb::MEMBER, ke),
              StatusIs(Code::kInvalidArgument, HasSubstr("profile.kind")));
  EXPECT_THAT(DecideRegister(s, kOrg,
                             with([](auto* p) { p->set_level(pb::LEVEL_UNSPECIFIED); }),
                             pb::MEMBER, ke),
              StatusIs(Code::kInvalidArgument, HasSubstr("profile.level")));
  EXPECT_THAT(DecideRegister(s, kOrg,
                             with([](auto* p) { p->set_level(pb::COUNTY); }),
                             pb::MEMBER, ke),
              StatusIs(Code::kInvalidArgument,
                       HasSubstr("county_code is required")));
  EXPECT_THAT(DecideRegister(s, kOrg,
                             with([](auto* p) {
                               p->set_kind(pb::COUNTY_GOVERNMENT);
                               p->set_level(pb::COUNTY);
                               p->set_county_code("KE-30");
                             }),
                             pb::MEMBER, ke),
              StatusIs(Code::kInvalidArgument,
                       HasSubstr("\"KE-30\" is not in the county list")));
  EXPECT_THAT(DecideRegister(s, kOrg,
                             with([](auto* p) {
                               p->set_kind(pb::COUNTY_GOVERNMENT);
                               p->set_level(pb::COUNTY);
                               p->set_county_code("047");
                             }),
                             pb::MEMBER, ke),
              IsOk());
  EXPECT_THAT(DecideRegister(s, kOrg,
                             with([](auto* p) { p->add_thematic_areas(""); }),
                             pb::MEMBER, ke),
              StatusIs(Code::kInvalidArgument,
                       HasSubstr("profile.thematic_areas[3] is required")));
  EXPECT_THAT(DecideRegister(s, kOrg, Iom(), pb::MEMBERSHIP_ROLE_UNSPECIFIED, ke),
              StatusIs(Code::kInvalidArgument, HasSubstr("role must be")));
  OrganisationState existing = Registered();
  EXPECT_THAT(DecideRegister(existing, kOrg, Iom(), pb::MEMBER, ke),
              StatusIs(Code::kAlreadyExists));
}

TEST(AmendTest, ChangesOnlyMaskedFieldsAndRecordsWhatChanged) {
  OrganisationState s = Registered();
  pb::OrganisationProfile c;
  c.set_name("IOM Kenya");
  c.set_acronym("SHOULD-NOT-APPLY");
  auto ev = DecideAmend(s, c, {"name"}, CountyList::Kenya());
  ASSERT_THAT(ev, IsOk());
  ASSERT_EQ(ev->size(), 1u);
  EXPECT_EQ((*ev)[0].amended().profile().name(), "IOM Kenya");
  EXPECT_EQ((*ev)[0].amended().profile().acronym(), "IOM");
  EXPECT_THAT((*ev)[0].amended().changed_fields(), ::testing::ElementsAre("name"));

  c.set_name(s.profile.name());  // the same name: nothing to record
  ev = DecideAmend(s, c, {"name"}, CountyList::Kenya());
  ASSERT_THAT(ev, IsOk());
  EXPECT_TRUE(ev->empty());

  EXPECT_THAT(DecideAmend(s, c, {}, CountyList::Kenya()),
              StatusIs(Code::kInvalidArgument, HasSubstr("update_mask is empty")));
  EXPECT_THAT(DecideAmend(s, c, {"status"}, CountyList::Kenya()),
              StatusIs(Code::kInvalidArgument, HasSubstr("not a profile field")));
  pb::OrganisationProfile bad;
  bad.set_level(pb::COUNTY);
  EXPECT_THAT(DecideAmend(s, bad, {"level"}, CountyList::Kenya()),
              StatusIs(Code::kInvalidArgument, HasSubstr("county_code")));
  EXPECT_THAT(DecideAmend(OrganisationState{}, c, {"name"}, CountyList::Kenya()),
              StatusIs(Code::kNotFound));
}

TEST(MembershipTest, LegalTransitions) {
  OrganisationState s = Registered();
  auto ev = DecideChangeRole(s, pb::MEMBER, kDay);
  ASSERT_THAT(ev, IsOk());
  Fold(*ev, &s);
  EXPECT_EQ(s.role, pb::MEMBER);
  ev = DecideSuspend(s, "missed four quarterly meetings", kDay);
  ASSERT_THAT(ev, IsOk());
  Fold(*ev, &s);
  EXPECT_EQ(s.status, pb::SUSPENDED);
  ev = DecideReinstate(s, "", kDay + 30);
  ASSERT_THAT(ev, IsOk());
  Fold(*ev, &s, kDay + 30);
  EXPECT_EQ(s.status, pb::ACTIVE);
  ev = DecideWithdraw(s, "mandate ended", kDay + 60);
  ASSERT_THAT(ev, IsOk());
  Fold(*ev, &s, kDay + 60);
  EXPECT_EQ(s.status, pb::WITHDRAWN);
  ev = DecideReinstate(s, "re-admitted", kDay + 90);  // re-admission
  ASSERT_THAT(ev, IsOk());
  Fold(*ev, &s, kDay + 90);
  EXPECT_EQ(s.status, pb::ACTIVE);
  ASSERT_EQ(s.history.size(), 6u);
  EXPECT_EQ(s.history[2].status, pb::SUSPENDED);
  EXPECT_EQ(s.history[2].reason, "missed four quarterly meetings");
}

TEST(MembershipTest, IllegalTransitionsNameTheStateAndWhatItAllows) {
  OrganisationState active = Registered();
  EXPECT_THAT(DecideReinstate(active, "", kDay),
              StatusIs(Code::kFailedPrecondition,
                       HasSubstr("is ACTIVE; cannot be reinstated. From ACTIVE "
                                 "it can be amended")));
  EXPECT_THAT(DecideSuspend(active, "", kDay),
              StatusIs(Code::kInvalidArgument, HasSubstr("reason is required")));
  EXPECT_THAT(DecideChangeRole(active, pb::MEMBERSHIP_ROLE_UNSPECIFIED, kDay),
              StatusIs(Code::kInvalidArgument));

  OrganisationState suspended = active;
  Fold(*DecideSuspend(active, "r", kDay), &suspended);
  EXPECT_THAT(DecideSuspend(suspended, "again", kDay),
              StatusIs(Code::kFailedPrecondition,
                       HasSubstr("From SUSPENDED it can be reinstated or withdrawn")));
  EXPECT_THAT(DecideChangeRole(suspended, pb::MEMBER, kDay),
              StatusIs(Code::kFailedPrecondition, HasSubstr("is SUSPENDED")));
  EXPECT_THAT(DecideAppoint(suspended, "a", Person(), pb::PRIMARY, kDay),
              StatusIs(Code::kFailedPrecondition, HasSubstr("is SUSPENDED")));

  OrganisationState withdrawn = active;
  Fold(*DecideWithdraw(active, "r", kDay), &withdrawn);
  EXPECT_THAT(DecideWithdraw(withdrawn, "again", kDay),
              StatusIs(Code::kFailedPrecondition,
                       HasSubstr("From WITHDRAWN it can only be reinstated")));
  EXPECT_THAT(DecideSuspend(withdrawn, "r", kDay),
              StatusIs(Code::kFailedPrecondition));
  EXPECT_THAT(DecideChangeRole(withdrawn, pb::MEMBER, kDay),
              StatusIs(Code::kFailedPrecondition));
  pb::OrganisationProfile c;
  c.set_name("x");
  EXPECT_THAT(DecideAmend(withdrawn, c, {"name"}, CountyList::Kenya()),
              StatusIs(Code::kFailedPrecondition, HasSubstr("cannot be amended")));

  // Back-dated before the last change.
  EXPECT_THAT(DecideSuspend(suspended.history.empty() ? active : active, "r",
                            absl::CivilDay(2020, 6, 30)),
              StatusIs(Code::kInvalidArgument, HasSubstr("date order")));
  EXPECT_THAT(DecideSuspend(OrganisationState{}, "r", kDay),
              StatusIs(Code::kNotFound));
}

TEST(FocalPointTest, AppointEndAndKeepHistory) {
  OrganisationState s = Registered();
  auto ev = DecideAppoint(s, "appt-1", Person(), pb::PRIMARY, kDay);
  ASSERT_THAT(ev, IsOk());
  Fold(*ev, &s);
  // The same person twice at once is refused; another appointment is fine.
  EXPECT_THAT(DecideAppoint(s, "appt-2", Person(), pb::ALTERNATE, kDay),
              StatusIs(Code::kFailedPrecondition, HasSubstr("already a focal point")));
  PersonState other = Person();
  other.person_id = "someone-else";
  ev = DecideAppoint(s, "appt-2", other, pb::ALTERNATE, kDay);
  ASSERT_THAT(ev, IsOk());
  Fold(*ev, &s);
  EXPECT_THAT(DecideEndAppointment(s, "appt-1", "", kDay - 1),
              StatusIs(Code::kInvalidArgument, HasSubstr("before the appointment began")));
  ev = DecideEndAppointment(s, "appt-1", "transferred", kDay + 100);
  ASSERT_THAT(ev, IsOk());
  Fold(*ev, &s, kDay + 100);
  ASSERT_EQ(s.appointments.size(), 2u);
  EXPECT_EQ(s.appointments[0].until, kDay + 100);
  EXPECT_FALSE(s.appointments[1].until.has_value());
  EXPECT_THAT(DecideEndAppointment(s, "appt-1", "", kDay + 101),
              StatusIs(Code::kFailedPrecondition, HasSubstr("already ended")));
  EXPECT_THAT(DecideEndAppointment(s, "nope", "", kDay),
              StatusIs(Code::kNotFound));
  // Re-appointing after the end is allowed.
  EXPECT_THAT(DecideAppoint(s, "appt-3", Person(), pb::PRIMARY, kDay + 200), IsOk());
}

TEST(FocalPointTest, AppointmentRules) {
  OrganisationState s = Registered(absl::CivilDay(2021, 1, 1));
  EXPECT_THAT(DecideAppoint(s, "a", PersonState{}, pb::PRIMARY, kDay),
              StatusIs(Code::kNotFound));
  PersonState forgotten = Person();
  forgotten.forgotten = true;
  EXPECT_THAT(DecideAppoint(s, "a", forgotten, pb::PRIMARY, kDay),
              StatusIs(Code::kFailedPrecondition, HasSubstr("forgotten")));
  EXPECT_THAT(DecideAppoint(s, "a", Person(), pb::FOCAL_POINT_KIND_UNSPECIFIED, kDay),
              StatusIs(Code::kInvalidArgument, HasSubstr("kind")));
  EXPECT_THAT(DecideAppoint(s, "a", Person(), pb::PRIMARY, absl::CivilDay(2020, 12, 31)),
              StatusIs(Code::kInvalidArgument, HasSubstr("before the organisation was registered")));
}

TEST(FocalPointTest, WithdrawalEndsOpenAppointments) {
  OrganisationState s = Registered();
  Fold(*DecideAppoint(s, "appt-1", Person(), pb::PRIMARY, kDay), &s);
  auto ev = DecideWithdraw(s, "left", kDay + 1);
  ASSERT_THAT(ev, IsOk());
  ASSERT_EQ(ev->size(), 2u);
  EXPECT_TRUE((*ev)[0].has_focal_point_ended());
  EXPECT_TRUE((*ev)[1].has_withdrawn());
  // A withdrawal back-dated before an open appointment began would end it
  // before it started.
  OrganisationState t = Registered();
  Fold(*DecideAppoint(t, "appt-2", Person(), pb::PRIMARY, kDay + 30), &t,
       kDay + 30);
  EXPECT_THAT(DecideWithdraw(t, "left", kDay + 10),
              StatusIs(Code::kInvalidArgument, HasSubstr("before focal-point appointment appt-2 began")));
  EXPECT_THAT(DecideWithdraw(t, "left", kDay + 30), IsOk());
}

TEST(PersonTest, DetailsRulesRectifyAndForget) {
  pb::PersonDetails d;
  d.set_full_name("Jane Wanjiru");
  d.set_email("jane@example.org");
  d.set_phone("+254 20 1234567");
  EXPECT_THAT(ValidatePersonDetails(d, "p"), IsOk());
  pb::PersonDetails bad = d;
  bad.set_full_name("");
  EXPECT_THAT(ValidatePersonDetails(bad, "p"),
              StatusIs(Code::kInvalidArgument, HasSubstr("p.full_name is required")));
  bad = d;
  bad.set_email("jane at example");
  EXPECT_THAT(ValidatePersonDetails(bad, "p"),
              StatusIs(Code::kInvalidArgument, HasSubstr("p.email")));
  bad = d;
  bad.set_phone("call me");
  EXPECT_THAT(ValidatePersonDetails(bad, "p"),
              StatusIs(Code::kInvalidArgument, HasSubstr("p.phone")));

  PersonState p;
  ncm::common::v1::Sealed sealed;
  sealed.set_subject_id(kPerson);
  EXPECT_THAT(DecideRectifyPerson(p, sealed), StatusIs(Code::kNotFound));
  EXPECT_THAT(DecideForgetPerson(p, "r"), StatusIs(Code::kNotFound));
  Fold(*DecideRegisterPerson(p, kPerson, sealed), &p);
  EXPECT_THAT(DecideRegisterPerson(p, kPerson, sealed), StatusIs(Code::kAlreadyExists));
  EXPECT_THAT(DecideRectifyPerson(p, sealed), IsOk());
  EXPECT_THAT(DecideForgetPerson(p, ""),
              StatusIs(Code::kInvalidArgument, HasSubstr("reason is required")));
  Fold(*DecideForgetPerson(p, "erasure request"), &p);
  EXPECT_TRUE(p.forgotten);
  EXPECT_THAT(DecideForgetPerson(p, "again"),
              StatusIs(Code::kFailedPrecondition, HasSubstr("already forgotten")));
  EXPECT_THAT(DecideRectifyPerson(p, sealed),
              StatusIs(Code::kFailedPrecondition, HasSubstr("cannot be changed")));
}

TEST(WorkingGroupTest, CreateAddRemove) {
  WorkingGroupState g;
  EXPECT_THAT(DecideCreateWorkingGroup(g, "wg", "", "", {}),
              StatusIs(Code::kInvalidArgument, HasSubstr("name is required")));
  auto ev = DecideCreateWorkingGroup(g, "wg", "TWG on migration data",
                                     "Harmonise data", {"data"});
  ASSERT_THAT(ev, IsOk());
  Fold(*ev, &g);
  EXPECT_THAT(DecideCreateWorkingGroup(g, "wg", "x", "", {}),
              StatusIs(Code::kAlreadyExists));
  OrganisationState org = Registered();
  EXPECT_THAT(DecideAddMember(g, OrganisationState{}), StatusIs(Code::kNotFound));
  auto add = DecideAddMember(g, org);
  ASSERT_THAT(add, IsOk());
  Fold(*add, &g);
  EXPECT_THAT(g.members, ::testing::ElementsAre(kOrg));
  add = DecideAddMember(g, org);  // already a member
  ASSERT_THAT(add, IsOk());
  EXPECT_TRUE(add->empty());
  OrganisationState withdrawn = org;
  Fold(*DecideWithdraw(org, "r", kDay), &withdrawn);
  WorkingGroupState g2 = g;
  g2.members.clear();
  EXPECT_THAT(DecideAddMember(g2, withdrawn),
              StatusIs(Code::kFailedPrecondition, HasSubstr("WITHDRAWN")));
  EXPECT_THAT(DecideRemoveMember(g, "other", ""), StatusIs(Code::kNotFound));
  auto rm = DecideRemoveMember(g, kOrg, "left");
  ASSERT_THAT(rm, IsOk());
  Fold(*rm, &g);
  EXPECT_TRUE(g.members.empty());
  EXPECT_THAT(DecideAddMember(WorkingGroupState{}, org), StatusIs(Code::kNotFound));
}

TEST(AcronymTest, ClaimsAreExclusiveUntilReleased) {
  AcronymState a;
  auto ev = DecideClaimAcronym(a, "IOM", kOrg);
  ASSERT_THAT(ev, IsOk());
  Fold(*ev, &a);
  EXPECT_EQ(a.holder, kOrg);
  ev = DecideClaimAcronym(a, "IOM", kOrg);
  ASSERT_THAT(ev, IsOk());
  EXPECT_TRUE(ev->empty());
  EXPECT_THAT(DecideClaimAcronym(a, "iom", "other"),
              StatusIs(Code::kAlreadyExists, HasSubstr(kOrg)));
  EXPECT_EQ(AcronymStream("iom"), AcronymStream("IOM"));
  auto none = DecideReleaseAcronym(a, "IOM", "other");
  ASSERT_THAT(none, IsOk());
  EXPECT_TRUE(none->empty());
  auto released = DecideReleaseAcronym(a, "IOM", kOrg);
  ASSERT_THAT(released, IsOk());
  ASSERT_EQ(released->size(), 1u);
  Fold(*released, &a);
  EXPECT_TRUE(a.holder.empty());
}

TEST(CleanTextTest, InvisibleCharactersAreNoText) {
  for (const char* blank :
       {"   ", "\u200b", "\u00a0\u00a0", " \u200b\u00a0\ufeff\u2060 ",
        "\u200e\u200f", "\u3000", "\u00ad"}) {
    EXPECT_THAT(CleanText(blank, "narrative", 1000, true),
                StatusIs(Code::kInvalidArgument, HasSubstr("narrative is required")))
        << absl::CEscape(blank);
    auto optional = CleanText(blank, "note", 1000, false);
    ASSERT_THAT(optional, IsOk());
    EXPECT_EQ(*optional, "");
  }
  auto t = CleanText("\u200b\u00a0 Border data \u00a0\u200b", "text", 100, true);
  ASSERT_THAT(t, IsOk());
  EXPECT_EQ(*t, "Border data");
  // Inside the text they stay; so do letters beyond ASCII.
  t = CleanText("Mombasa\u00a0County – Pwani", "text", 100, true);
  ASSERT_THAT(t, IsOk());
  EXPECT_EQ(*t, "Mombasa\u00a0County – Pwani");
  EXPECT_THAT(CleanText("a\u0085b", "text", 100, true),
              StatusIs(Code::kInvalidArgument, HasSubstr("control character")));
  EXPECT_THAT(CleanText("\u00e9\u00e9\u00e9", "text", 2, true),
              StatusIs(Code::kInvalidArgument, HasSubstr("3 characters")));
}

}  // namespace
}  // namespace ncm::stakeholders
