// decide() of the meetings and resolutions domain: every transition from
// every status, legal and illegal, and every validation, without a store.
#include <functional>
#include <map>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ncm/resolutions/domain.h"
#include "testing/status_matchers.h"

namespace ncm::resolutions {
namespace {

using ::ncm::testing::IsOk;
using ::ncm::testing::IsOkAndHolds;
using ::ncm::testing::StatusIs;
using ::testing::HasSubstr;
using Code = absl::StatusCode;
namespace spb = ::ncm::stakeholders::v1;

constexpr char kMeeting[] = "2a7c1f1e-2a3b-4c5d-8e9f-001122334455";
constexpr char kRes[] = "3a7c1f1e-2a3b-4c5d-8e9f-001122334455";
constexpr char kOther[] = "3b7c1f1e-2a3b-4c5d-8e9f-001122334455";
constexpr char kLead[] = "4a7c1f1e-2a3b-4c5d-8e9f-001122334455";
constexpr char kSupport[] = "4b7c1f1e-2a3b-4c5d-8e9f-001122334455";
constexpr char kThird[] = "4c7c1f1e-2a3b-4c5d-8e9f-001122334455";
constexpr char kGone[] = "4d7c1f1e-2a3b-4c5d-8e9f-001122334455";
constexpr char kMissing[] = "4e7c1f1e-2a3b-4c5d-8e9f-001122334455";
constexpr char kPerson[] = "5a7c1f1e-2a3b-4c5d-8e9f-001122334455";

const absl::CivilDay kMeetingDay(2021, 3, 18);
const absl::CivilDay kToday(2021, 6, 30);

template <typename E, typename S>
void Fold(const std::vector<E>& events, S* s, absl::CivilDay day) {
  EventMeta m;
  m.occurred_on = day;
  for (const E& e : events) Apply(e, m, s);
}

OrganisationState Org(const std::string& id,
                      spb::MembershipStatus status = spb::ACTIVE) {
  OrganisationState o;
  o.exists = true;
  o.organisation_id = id;
  o.profile.set_acronym(id.substr(0, 2));
  o.status = status;
  return o;
}

Organisations Orgs() {
  Organisations m;
  for (const char* id : {kLead, kSupport, kThird}) m[id] = Org(id);
  m[kGone] = Org(kGone, spb::WITHDRAWN);
  OrganisationState missing;
  missing.organisation_id = kMissing;
  m[kMissing] = missing;
  return m;
}

pb::MeetingDetails Details(
    pb::MeetingKind kind = pb::QUARTERLY_STAKEHOLDER_MEETING) {
  pb::MeetingDetails d;
  d.set_kind(kind);
  d.set_title(" First quarterly stakeholders' meeting 2021 ");
  *d.mutable_date() = services::ToProto(kMeetingDay);
  d.set_venue("Nyayo House, Nairobi");
  d.set_county_code("047");
  return d;
}

MeetingState Meeting() {
  MeetingState s;
  auto ev = DecideSchedule(s, kMeeting, Details(), CountyList::Kenya());
  EXPECT_THAT(ev, IsOk());
  Fold(*ev, &s, absl::CivilDay(2021, 2, 1));
  return s;
}

pb::ResolutionTerms Terms() {
  pb::ResolutionTerms t;
  t.set_reference("QSM-2021-1/04");
  t.set_text("Develop a data-sharing MOU template for all MDAs.");
  t.set_lead_organisation_id(kLead);
  t.add_supporting_organisation_ids(kSupport);
  *t.mutable_due_date() = services::ToProto(absl::CivilDay(2021, 9, 30));
  t.set_strategic_priority(1);
  t.set_pillar(2);
  t.add_gcm_objectives(23);
  t.add_gcm_objectives(1);
  t.set_indicator("MOU template adopted by the NCM");
  return t;
}

ResolutionState Adopted(const std::string& id = kRes) {
  ResolutionState s;
  auto ev = DecideAdopt(s, id, Meeting(), Terms(), Orgs(), CodeLists(),
                        kMeetingDay);
  EXPECT_THAT(ev, IsOk());
  Fold(*ev, &s, kMeetingDay);
  return s;
}

// ------------------------------------------------------------ meetings

TEST(MeetingTest, ScheduleValidatesAndTrims) {
  MeetingState s = Meeting();
  EXPECT_TRUE(s.exists);
  EXPECT_EQ(s.status, pb::SCHEDULED);
  EXPECT_EQ(s.details.title(), "First quarterly stakeholders' meeting 2021");
  EXPECT_THAT(DecideSchedule(s, kMeeting, Details(), CountyList::Kenya()),
              StatusIs(Code::kAlreadyExists));

  MeetingState none;
  auto bad = [&](auto mutate, const std::string& msg) {
    pb::MeetingDetails d = Details();
    mutate(&d);
    EXPECT_THAT(DecideSchedule(none, kMeeting, d, CountyList::Kenya()),
                StatusIs(Code::kInvalidArgument, HasSubstr(msg)));
  };
  bad([](pb::MeetingDetails* d) { d->set_kind(pb::MEETING_KIND_UNSPECIFIED); },
      "details.kind");
  bad([](pb::MeetingDetails* d) { d->set_kind(static_cast<pb::MeetingKind>(9)); },
      "details.kind");
  bad([](pb::MeetingDetails* d) { d->set_title("  "); }, "details.title is required");
  bad([](pb::MeetingDetails* d) { d->clear_date(); }, "details.date is required");
  bad([](pb::MeetingDetails* d) { d->mutable_date()->set_day(31); d->mutable_date()->set_month(2); },
      "details.date");
  bad([](pb::MeetingDetails* d) { d->set_county_code("KE-30"); },
      "details.county_code \"KE-30\" is not in the county list");
  bad([](pb::MeetingDetails* d) {
        d->set_kind(pb::COUNTY_OUTREACH_FORUM);
        d->clear_county_code();
      },
      "details.county_code is required for a COUNTY_OUTREACH_FORUM");
  pb::MeetingDetails ws = Details(pb::WORKSHOP);
  ws.clear_county_code();
  EXPECT_THAT(DecideSchedule(none, kMeeting, ws, CountyList::Kenya()), IsOk());
}

TEST(MeetingTest, RescheduleOnlyBeforeItIsHeld) {
  MeetingState s = Meeting();
  pb::MeetingDetails d = Details();
  EXPECT_THAT(DecideReschedule(s, d, "", CountyList::Kenya()),
              IsOkAndHolds(::testing::IsEmpty()));  // nothing changes
  d.set_venue("Kenya School of Government, Mombasa");
  d.set_county_code("001");
  auto ev = DecideReschedule(s, d, "venue booked out", CountyList::Kenya());
  ASSERT_THAT(ev, IsOk());
  Fold(*ev, &s, kMeetingDay);
  EXPECT_EQ(s.details.county_code(), "001");

  Fold(*DecideRecordAttendance(s, Org(kLead), "", nullptr, kToday), &s,
       kMeetingDay);
  EXPECT_THAT(DecideReschedule(s, Details(), "", CountyList::Kenya()),
              StatusIs(Code::kFailedPrecondition, HasSubstr("has been held")));
  MeetingState missing;
  EXPECT_THAT(DecideReschedule(missing, Details(), "", CountyList::Kenya()),
              StatusIs(Code::kNotFound));
}

TEST(MeetingTest, AttendanceRules) {
  MeetingState s = Meeting();
  EXPECT_THAT(DecideRecordAttendance(s, Org(kLead), "", nullptr,
                                     absl::CivilDay(2021, 3, 17)),
              StatusIs(Code::kFailedPrecondition,
                       HasSubstr("takes place on 2021-03-18")));
  EXPECT_THAT(DecideRecordAttendance(s, Org(kGone, spb::WITHDRAWN), "",
                                     nullptr, kToday),
              StatusIs(Code::kFailedPrecondition, HasSubstr("WITHDRAWN")));
  OrganisationState missing;
  missing.organisation_id = kMissing;
  EXPECT_THAT(DecideRecordAttendance(s, missing, "", nullptr, kToday),
              StatusIs(Code::kNotFound, HasSubstr("no such organisation")));
  PersonState nobody;
  EXPECT_THAT(DecideRecordAttendance(s, Org(kLead), kPerson, &nobody, kToday),
              StatusIs(Code::kNotFound, HasSubstr("no such person")));
  PersonState forgotten;
  forgotten.exists = true;
  forgotten.forgotten = true;
  EXPECT_THAT(DecideRecordAttendance(s, Org(kLead), kPerson, &forgotten, kToday),
              StatusIs(Code::kFailedPrecondition, HasSubstr("forgotten")));
  PersonState person;
  person.exists = true;
  auto ev = DecideRecordAttendance(s, Org(kLead), kPerson, &person, kToday);
  ASSERT_THAT(ev, IsOk());
  ASSERT_EQ(ev->size(), 1u);
  Fold(*ev, &s, kMeetingDay);
  // A repeat records nothing; the same organisation without a person does.
  EXPECT_THAT(DecideRecordAttendance(s, Org(kLead), kPerson, &person, kToday),
              IsOkAndHolds(::testing::IsEmpty()));
  EXPECT_THAT(DecideRecordAttendance(s, Org(kLead), "", nullptr, kToday),
              IsOkAndHolds(::testing::SizeIs(1)));
}

TEST(MeetingTest, CloseAndCancel) {
  MeetingState s = Meeting();
  EXPECT_THAT(DecideClose(s, "", absl::CivilDay(2021, 3, 17)),
              StatusIs(Code::kInvalidArgument, HasSubstr("before the meeting")));
  EXPECT_THAT(DecideCancel(s, " "),
              StatusIs(Code::kInvalidArgument, HasSubstr("reason is required")));
  MeetingState closed = s;
  Fold(*DecideClose(s, "MIN/2021/1", kMeetingDay), &closed, kMeetingDay);
  EXPECT_EQ(closed.status, pb::CLOSED);
  EXPECT_EQ(closed.minutes_reference, "MIN/2021/1");
  for (auto st : {closed}) {
    EXPECT_THAT(DecideClose(st, "", kToday),
                StatusIs(Code::kFailedPrecondition, HasSubstr("is CLOSED")));
    EXPECT_THAT(DecideCancel(st, "x"), StatusIs(Code::kFailedPrecondition));
    EXPECT_THAT(DecideRecordAttendance(st, Org(kLead), "", nullptr, kToday),
                StatusIs(Code::kFailedPrecondition));
    EXPECT_THAT(DecideReschedule(st, Details(), "", CountyList::Kenya()),
                StatusIs(Code::kFailedPrecondition));
  }
  // A closed meeting still takes resolutions from its minutes.
  EXPECT_THAT(DecideRecordAdoption(closed, kRes, kToday), IsOk());

  MeetingState cancelled = s;
  Fold(*DecideCancel(s, "no quorum"), &cancelled, kMeetingDay);
  EXPECT_EQ(cancelled.status, pb::CANCELLED);
  EXPECT_THAT(DecideRecordAdoption(cancelled, kRes, kToday),
              StatusIs(Code::kFailedPrecondition, HasSubstr("is CANCELLED")));
  EXPECT_THAT(DecideClose(cancelled, "", kToday),
              StatusIs(Code::kFailedPrecondition, HasSubstr("final")));

  MeetingState with_resolution = s;
  Fold(*DecideRecordAdoption(s, kRes, kMeetingDay), &with_resolution,
       kMeetingDay);
  EXPECT_THAT(DecideCancel(with_resolution, "x"),
              StatusIs(Code::kFailedPrecondition, HasSubstr("1 resolution")));
}

// ---------------------------------------------------------- adoption

TEST(AdoptTest, RecordsNormalisedTerms) {
  ResolutionState s = Adopted();
  EXPECT_EQ(s.status, pb::ADOPTED);
  EXPECT_EQ(s.meeting_id, kMeeting);
  EXPECT_EQ(s.meeting_date, kMeetingDay);
  EXPECT_EQ(s.adopted_on, kMeetingDay);
  EXPECT_THAT(s.terms.gcm_objectives(), ::testing::ElementsAre(1, 23));
  EXPECT_EQ(s.DueDate(), absl::CivilDay(2021, 9, 30));
  EXPECT_THAT(DecideAdopt(s, kRes, Meeting(), Terms(), Orgs(), CodeLists(),
                          kMeetingDay),
              StatusIs(Code::kAlreadyExists));
}

TEST(AdoptTest, EveryTermIsChecked) {
  struct Case {
    std::function<void(pb::ResolutionTerms*)> mutate;
    Code code;
    std::string message;
  };
  const std::vector<Case> cases = {
      {[](auto* t) { t->set_text(""); }, Code::kInvalidArgument,
       "terms.text is required"},
      {[](auto* t) { t->set_text(std::string(4001, 'a')); },
       Code::kInvalidArgument, "terms.text has 4001 characters"},
      {[](auto* t) { t->set_reference(std::string(65, 'r')); },
       Code::kInvalidArgument, "terms.reference"},
      {[](auto* t) { t->set_lead_organisation_id(""); }, Code::kInvalidArgument,
       "terms.lead_organisation_id"},
      {[](auto* t) { t->set_lead_organisation_id(kMissing); },
       Code::kNotFound, "terms.lead_organisation_id"},
      {[](auto* t) { t->set_lead_organisation_id(kGone); },
       Code::kFailedPrecondition, "WITHDRAWN"},
      {[](auto* t) { t->add_supporting_organisation_ids(kGone); },
       Code::kFailedPrecondition, "terms.supporting_organisation_ids[1]"},
      {[](auto* t) { t->add_supporting_organisation_ids(kMissing); },
       Code::kNotFound, "terms.supporting_organisation_ids[1]"},
      {[](auto* t) { t->add_supporting_organisation_ids(kLead); },
       Code::kInvalidArgument, "is the lead organisation"},
      {[](auto* t) { t->add_supporting_organisation_ids(kSupport); },
       Code::kInvalidArgument, "repeats an organisation"},
      {[](auto* t) { t->clear_due_date(); }, Code::kInvalidArgument,
       "terms.due_date is required"},
      {[](auto* t) {
         *t->mutable_due_date() = services::ToProto(absl::CivilDay(2021, 3, 17));
       },
       Code::kInvalidArgument, "2021-03-17 is before the meeting (2021-03-18)"},
      {[](auto* t) { t->set_strategic_priority(0); }, Code::kInvalidArgument,
       "terms.strategic_priority must be 1 to 6 (SP1-SP6); got 0"},
      {[](auto* t) { t->set_strategic_priority(7); }, Code::kInvalidArgument,
       "terms.strategic_priority"},
      {[](auto* t) { t->set_pillar(5); }, Code::kInvalidArgument,
       "terms.pillar must be 1 to 4; got 5"},
      {[](auto* t) { t->set_pillar(0); }, Code::kInvalidArgument,
       "terms.pillar"},
      {[](auto* t) { t->add_gcm_objectives(24); }, Code::kInvalidArgument,
       "terms.gcm_objectives[2] must be 1 to 23; got 24"},
      {[](auto* t) { t->add_gcm_objectives(0); }, Code::kInvalidArgument,
       "terms.gcm_objectives[2]"},
      {[](auto* t) { t->add_gcm_objectives(1); }, Code::kInvalidArgument,
       "repeats objective 1"},
  };
  for (const Case& c : cases) {
    pb::ResolutionTerms t = Terms();
    c.mutate(&t);
    EXPECT_THAT(DecideAdopt(ResolutionState(), kRes, Meeting(), t, Orgs(),
                            CodeLists(), kMeetingDay),
                StatusIs(c.code, HasSubstr(c.message)))
        << c.message;
  }
  // The due date may be the meeting's day; the code lists are data.
  pb::ResolutionTerms t = Terms();
  *t.mutable_due_date() = services::ToProto(kMeetingDay);
  t.set_pillar(5);
  CodeLists five_pillars;
  five_pillars.pillars = 5;
  EXPECT_THAT(DecideAdopt(ResolutionState(), kRes, Meeting(), t, Orgs(),
                          five_pillars, kMeetingDay),
              IsOk());
}

TEST(AdoptTest, MeetingMustExistBeHeldAndNotCancelled) {
  EXPECT_THAT(DecideAdopt(ResolutionState(), kRes, MeetingState(), Terms(),
                          Orgs(), CodeLists(), kToday),
              StatusIs(Code::kNotFound, HasSubstr("meeting_id")));
  EXPECT_THAT(DecideAdopt(ResolutionState(), kRes, Meeting(), Terms(), Orgs(),
                          CodeLists(), absl::CivilDay(2021, 3, 1)),
              StatusIs(Code::kFailedPrecondition,
                       HasSubstr("takes place on 2021-03-18")));
}

// ------------------------------------------------------- the lifecycle

enum class Cmd {
  kStart, kReport, kImplement, kVerify, kReject, kDefer, kResume, kBlock,
  kUnblock, kRescind, kSupersede, kReassign
};

const std::map<Cmd, std::string>& CmdNames() {
  static const auto* m = new std::map<Cmd, std::string>{
      {Cmd::kStart, "start"},       {Cmd::kReport, "report"},
      {Cmd::kImplement, "implement"}, {Cmd::kVerify, "verify"},
      {Cmd::kReject, "reject"},     {Cmd::kDefer, "defer"},
      {Cmd::kResume, "resume"},     {Cmd::kBlock, "block"},
      {Cmd::kUnblock, "unblock"},   {Cmd::kRescind, "rescind"},
      {Cmd::kSupersede, "supersede"}, {Cmd::kReassign, "reassign"}};
  return *m;
}

absl::StatusOr<ResolutionEvents> RunCmd(Cmd c, const ResolutionState& s,
                                     absl::CivilDay on = kToday) {
  static const OrganisationState third = Org(kThird);
  switch (c) {
    case Cmd::kStart: return DecideStart(s, "kick-off", on);
    case Cmd::kReport:
      return DecideReportProgress(s, "r1", kSupport, 40, "Draft circulated",
                                  {"DOC/1"}, on);
    case Cmd::kImplement:
      return DecideMarkImplemented(s, "Template adopted", {"MIN/2021/3"}, on);
    case Cmd::kVerify: return DecideVerify(s, nullptr, "checked", on);
    case Cmd::kReject: return DecideRejectVerification(s, "unsigned", on);
    case Cmd::kDefer:
      return DecideDefer(s, s.DueDate() + 90, "elections", on);
    case Cmd::kResume: return DecideResume(s, "", on);
    case Cmd::kBlock: return DecideBlock(s, "no budget", on);
    case Cmd::kUnblock: return DecideUnblock(s, "funds found", on);
    case Cmd::kRescind: return DecideRescind(s, "overtaken by events", on);
    case Cmd::kSupersede: return DecideSupersede(s, Adopted(kOther), "", on);
    case Cmd::kReassign:
      return DecideReassignLead(s, third, false, "mandate moved", on);
  }
  return absl::InternalError("unreachable");
}

// A resolution brought to `status` through legal transitions.
ResolutionState InStatus(pb::ResolutionStatus status) {
  ResolutionState s = Adopted();
  auto step = [&](Cmd c) {
    auto ev = RunCmd(c, s, absl::CivilDay(2021, 4, 1));
    ASSERT_THAT(ev, IsOk()) << CmdNames().at(c);
    Fold(*ev, &s, absl::CivilDay(2021, 4, 1));
  };
  switch (status) {
    case pb::ADOPTED: break;
    case pb::IN_PROGRESS: step(Cmd::kStart); break;
    case pb::DEFERRED: step(Cmd::kDefer); break;
    case pb::BLOCKED: step(Cmd::kBlock); break;
    case pb::IMPLEMENTED: step(Cmd::kStart); step(Cmd::kImplement); break;
    case pb::VERIFIED:
      step(Cmd::kStart); step(Cmd::kImplement); step(Cmd::kVerify); break;
    case pb::RESCINDED: step(Cmd::kRescind); break;
    case pb::SUPERSEDED: step(Cmd::kSupersede); break;
    default: ADD_FAILURE();
  }
  EXPECT_EQ(s.status, status);
  return s;
}

TEST(LifecycleTest, EveryCommandFromEveryStatus) {
  using S = pb::ResolutionStatus;
  // What each command leads to, from each status; absent: refused.
  const std::map<S, std::map<Cmd, S>> legal = {
      {pb::ADOPTED,
       {{Cmd::kStart, pb::IN_PROGRESS}, {Cmd::kReport, pb::IN_PROGRESS},
        {Cmd::kDefer, pb::DEFERRED}, {Cmd::kBlock, pb::BLOCKED},
        {Cmd::kRescind, pb::RESCINDED}, {Cmd::kSupersede, pb::SUPERSEDED},
        {Cmd::kReassign, pb::ADOPTED}}},
      {pb::IN_PROGRESS,
       {{Cmd::kReport, pb::IN_PROGRESS}, {Cmd::kImplement, pb::IMPLEMENTED},
        {Cmd::kDefer, pb::DEFERRED}, {Cmd::kBlock, pb::BLOCKED},
        {Cmd::kRescind, pb::RESCINDED}, {Cmd::kSupersede, pb::SUPERSEDED},
        {Cmd::kReassign, pb::IN_PROGRESS}}},
      {pb::DEFERRED,
       {{Cmd::kReport, pb::DEFERRED}, {Cmd::kDefer, pb::DEFERRED},
        {Cmd::kResume, pb::IN_PROGRESS}, {Cmd::kBlock, pb::BLOCKED},
        {Cmd::kRescind, pb::RESCINDED}, {Cmd::kSupersede, pb::SUPERSEDED},
        {Cmd::kReassign, pb::DEFERRED}}},
      {pb::BLOCKED,
       {{Cmd::kReport, pb::BLOCKED}, {Cmd::kUnblock, pb::ADOPTED},
        {Cmd::kRescind, pb::RESCINDED}, {Cmd::kSupersede, pb::SUPERSEDED},
        {Cmd::kReassign, pb::BLOCKED}}},
      {pb::IMPLEMENTED,
       {{Cmd::kVerify, pb::VERIFIED}, {Cmd::kReject, pb::IN_PROGRESS}}},
      {pb::VERIFIED, {}},
      {pb::RESCINDED, {}},
      {pb::SUPERSEDED, {}},
  };
  int checked = 0;
  for (const auto& [from, allowed] : legal) {
    for (const auto& [cmd, name] : CmdNames()) {
      ResolutionState s = InStatus(from);
      auto ev = RunCmd(cmd, s);
      const std::string what = StatusName(from) + " + " + name;
      auto it = allowed.find(cmd);
      if (it == allowed.end()) {
        EXPECT_THAT(ev, StatusIs(Code::kFailedPrecondition,
                                 HasSubstr("is " + StatusName(from))))
            << what;
        if (!ev.ok()) {
          EXPECT_THAT(std::string(ev.status().message()),
                      HasSubstr(AllowedFrom(from)))
              << what;
        }
      } else {
        ASSERT_THAT(ev, IsOk()) << what;
        Fold(*ev, &s, kToday);
        EXPECT_EQ(s.status, it->second) << what;
      }
      ++checked;
    }
  }
  EXPECT_EQ(checked, 8 * 12);
}

TEST(LifecycleTest, UnblockReturnsToTheStatusBeforeTheBlock) {
  for (auto from : {pb::ADOPTED, pb::IN_PROGRESS, pb::DEFERRED}) {
    ResolutionState s = InStatus(from);
    Fold(*DecideBlock(s, "strike", kToday), &s, kToday);
    auto ev = DecideUnblock(s, "", kToday);
    ASSERT_THAT(ev, IsOk());
    EXPECT_EQ((*ev)[0].unblocked().resumed_status(), from);
    Fold(*ev, &s, kToday);
    EXPECT_EQ(s.status, from);
  }
}

TEST(LifecycleTest, ReasonsEvidenceAndDatesAreChecked) {
  ResolutionState adopted = Adopted();
  ResolutionState in_progress = InStatus(pb::IN_PROGRESS);
  ResolutionState implemented = InStatus(pb::IMPLEMENTED);
  EXPECT_THAT(DecideBlock(adopted, "", kToday),
              StatusIs(Code::kInvalidArgument, HasSubstr("reason is required")));
  EXPECT_THAT(DecideRescind(adopted, " ", kToday),
              StatusIs(Code::kInvalidArgument, HasSubstr("reason is required")));
  EXPECT_THAT(DecideDefer(adopted, absl::CivilDay(2022, 1, 1), "", kToday),
              StatusIs(Code::kInvalidArgument, HasSubstr("reason is required")));
  EXPECT_THAT(DecideRejectVerification(implemented, "", kToday),
              StatusIs(Code::kInvalidArgument, HasSubstr("reason is required")));
  EXPECT_THAT(DecideMarkImplemented(in_progress, "done", {}, kToday),
              StatusIs(Code::kInvalidArgument,
                       HasSubstr("evidence_references needs at least one")));
  EXPECT_THAT(DecideMarkImplemented(in_progress, "done", {" "}, kToday),
              StatusIs(Code::kInvalidArgument,
                       HasSubstr("evidence_references[0] is required")));
  EXPECT_THAT(DecideDefer(adopted, absl::CivilDay(2021, 9, 30), "x", kToday),
              StatusIs(Code::kInvalidArgument,
                       HasSubstr("must be after the current due date (2021-09-30)")));
  // Status changes in date order: in_progress changed on 2021-04-01.
  EXPECT_THAT(DecideBlock(in_progress, "x", absl::CivilDay(2021, 3, 31)),
              StatusIs(Code::kInvalidArgument,
                       HasSubstr("before the resolution's last status change "
                                 "(2021-04-01)")));
  EXPECT_THAT(DecideStart(adopted, "", absl::CivilDay(2021, 3, 17)),
              StatusIs(Code::kInvalidArgument, HasSubstr("2021-03-18")));
  OrganisationState withdrawn = Org(kGone, spb::WITHDRAWN);
  EXPECT_THAT(DecideVerify(implemented, &withdrawn, "", kToday),
              StatusIs(Code::kFailedPrecondition, HasSubstr("WITHDRAWN")));
  OrganisationState verifier = Org(kThird);
  auto v = DecideVerify(implemented, &verifier, "site visit", kToday);
  ASSERT_THAT(v, IsOk());
  EXPECT_EQ((*v)[0].verified().verified_by_organisation_id(), kThird);
  // Not found for a resolution never adopted.
  EXPECT_THAT(DecideStart(ResolutionState(), "", kToday),
              StatusIs(Code::kNotFound));
}

TEST(LifecycleTest, DeferMovesTheDueDateAndKeepsThePrevious) {
  ResolutionState s = Adopted();
  auto ev = DecideDefer(s, absl::CivilDay(2021, 12, 31), "elections", kToday);
  ASSERT_THAT(ev, IsOk());
  EXPECT_EQ((*ev)[0].deferred().previous_due_date().month(), 9);
  Fold(*ev, &s, kToday);
  EXPECT_EQ(s.DueDate(), absl::CivilDay(2021, 12, 31));
  EXPECT_EQ(s.status, pb::DEFERRED);
}

TEST(ProgressTest, OnlyLeadOrSupportingReportWithinRange) {
  ResolutionState s = Adopted();
  EXPECT_THAT(DecideReportProgress(s, "r", kThird, 10, "x", {}, kToday),
              StatusIs(Code::kFailedPrecondition,
                       HasSubstr("neither the lead nor a supporting")));
  EXPECT_THAT(DecideReportProgress(s, "r", "nope", 10, "x", {}, kToday),
              StatusIs(Code::kInvalidArgument,
                       HasSubstr("reporting_organisation_id")));
  EXPECT_THAT(DecideReportProgress(s, "r", kLead, 101, "x", {}, kToday),
              StatusIs(Code::kInvalidArgument,
                       HasSubstr("percent_complete must be 0 to 100; got 101")));
  EXPECT_THAT(DecideReportProgress(s, "r", kLead, -1, "x", {}, kToday),
              StatusIs(Code::kInvalidArgument, HasSubstr("percent_complete")));
  EXPECT_THAT(DecideReportProgress(s, "r", kLead, 10, "", {}, kToday),
              StatusIs(Code::kInvalidArgument, HasSubstr("narrative is required")));
  EXPECT_THAT(DecideReportProgress(s, "r", kLead, 10, "x", {},
                                   absl::CivilDay(2021, 3, 1)),
              StatusIs(Code::kInvalidArgument,
                       HasSubstr("before the resolution was adopted")));
  // A 0% report leaves the resolution ADOPTED; above 0 starts it.
  auto zero = DecideReportProgress(s, "r0", kLead, 0, "planning", {}, kToday);
  ASSERT_THAT(zero, IsOk());
  EXPECT_EQ(zero->size(), 1u);
  auto some = DecideReportProgress(s, "r1", kLead, 5, "begun", {}, kToday);
  ASSERT_THAT(some, IsOk());
  ASSERT_EQ(some->size(), 2u);
  EXPECT_TRUE((*some)[0].has_started());
}

TEST(ProgressTest, PercentFollowsTheDayOfTheWorkNotTheDayRecorded) {
  ResolutionState s = InStatus(pb::IN_PROGRESS);
  Fold(*DecideReportProgress(s, "a", kLead, 60, "x", {}, kToday), &s,
       absl::CivilDay(2021, 6, 1));
  // Back-dated: recorded later, about earlier work.
  Fold(*DecideReportProgress(s, "b", kSupport, 30, "y", {}, kToday), &s,
       absl::CivilDay(2021, 5, 1));
  EXPECT_EQ(s.PercentComplete(), 60);
  Fold(*DecideReportProgress(s, "c", kLead, 70, "z", {}, kToday), &s,
       absl::CivilDay(2021, 6, 1));
  EXPECT_EQ(s.PercentComplete(), 70);  // same day: the later recorded
  Fold(*DecideMarkImplemented(s, "", {"E"}, kToday), &s, kToday);
  EXPECT_EQ(s.PercentComplete(), 100);
}

TEST(OverdueTest, DerivedFromTheDueDateAndTheDayAsked) {
  ResolutionState s = Adopted();  // due 2021-09-30
  EXPECT_FALSE(s.Overdue(absl::CivilDay(2021, 9, 30)));
  EXPECT_TRUE(s.Overdue(absl::CivilDay(2021, 10, 1)));
  ResolutionState done = InStatus(pb::IMPLEMENTED);
  EXPECT_FALSE(done.Overdue(absl::CivilDay(2022, 1, 1)));
  ResolutionState rescinded = InStatus(pb::RESCINDED);
  EXPECT_FALSE(rescinded.Overdue(absl::CivilDay(2022, 1, 1)));
  ResolutionState blocked = InStatus(pb::BLOCKED);
  EXPECT_TRUE(blocked.Overdue(absl::CivilDay(2022, 1, 1)));
}

TEST(SupersedeTest, ByALiveOtherResolutionOnly) {
  ResolutionState s = Adopted();
  EXPECT_THAT(DecideSupersede(s, ResolutionState(), "", kToday),
              StatusIs(Code::kNotFound, HasSubstr("superseded_by_resolution_id")));
  EXPECT_THAT(DecideSupersede(s, s, "", kToday),
              StatusIs(Code::kInvalidArgument, HasSubstr("supersede itself")));
  ResolutionState other = Adopted(kOther);
  Fold(*DecideRescind(other, "x", kToday), &other, kToday);
  EXPECT_THAT(DecideSupersede(s, other, "", kToday),
              StatusIs(Code::kFailedPrecondition, HasSubstr("is RESCINDED")));
  ResolutionState live = Adopted(kOther);
  auto ev = DecideSupersede(s, live, "merged", kToday);
  ASSERT_THAT(ev, IsOk());
  Fold(*ev, &s, kToday);
  EXPECT_EQ(s.superseded_by, kOther);
}

TEST(ReassignTest, NewLeadReplacesTheOldAndLeavesTheSupportingList) {
  ResolutionState s = Adopted();
  EXPECT_THAT(DecideReassignLead(s, Org(kLead), false, "", kToday),
              StatusIs(Code::kInvalidArgument, HasSubstr("already leads")));
  EXPECT_THAT(DecideReassignLead(s, Org(kGone, spb::WITHDRAWN), false, "", kToday),
              StatusIs(Code::kFailedPrecondition, HasSubstr("WITHDRAWN")));
  // The supporting organisation becomes lead; the old lead stays supporting.
  auto ev = DecideReassignLead(s, Org(kSupport), true, "", kToday);
  ASSERT_THAT(ev, IsOk());
  Fold(*ev, &s, kToday);
  EXPECT_EQ(s.terms.lead_organisation_id(), kSupport);
  EXPECT_THAT(s.terms.supporting_organisation_ids(), ::testing::ElementsAre(kLead));
  EXPECT_TRUE(s.Involves(kLead));
  auto ev2 = DecideReassignLead(s, Org(kThird), false, "", kToday);
  ASSERT_THAT(ev2, IsOk());
  Fold(*ev2, &s, kToday);
  EXPECT_FALSE(s.Involves(kSupport));
  EXPECT_THAT(DecideReportProgress(s, "r", kSupport, 10, "x", {}, kToday),
              StatusIs(Code::kFailedPrecondition));
}

}  // namespace
}  // namespace ncm::resolutions
