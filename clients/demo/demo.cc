#include "clients/demo/demo.h"

#include <map>
#include <type_traits>
#include <vector>

#include "absl/strings/str_cat.h"
#include "ncm/eventstore/status_macros.h"
#include "ncm/mous/v1/mous.grpc.pb.h"
#include "ncm/resolutions/v1/resolutions.grpc.pb.h"
#include "ncm/resources/budget_csv.h"
#include "ncm/resources/v1/resources.grpc.pb.h"
#include "ncm/stakeholders/v1/stakeholders.grpc.pb.h"

namespace ncm::demo {
namespace {

namespace cpb = ::ncm::common::v1;
namespace spb = ::ncm::stakeholders::v1;
namespace rpb = ::ncm::resolutions::v1;
namespace mpb = ::ncm::mous::v1;
namespace bpb = ::ncm::resources::v1;

cpb::Date D(int y, int m, int d) {
  cpb::Date out;
  out.set_year(y);
  out.set_month(m);
  out.set_day(d);
  return out;
}

template <typename Req>
Req With(Req r, const std::string& command_id, cpb::Date on) {
  r.mutable_options()->set_command_id("demo/" + command_id);
  *r.mutable_options()->mutable_occurred_on() = on;
  return r;
}

struct Org {
  const char* acronym;
  const char* name;
  spb::OrganisationKind kind;
  spb::Level level;
  const char* county;
  spb::MembershipRole role;
  const char* areas;
};

// Organisations named in the NCM action plan, and county governments of
// counties the County Outreach Program reached.
const std::vector<Org>& Organisations() {
  static const auto* orgs = new std::vector<Org>{
      {"NCMS", "NCM Secretariat", spb::DEPARTMENT_OR_AGENCY, spb::NATIONAL, "",
       spb::MEMBER, "coordination"},
      {"DIS", "Directorate of Immigration Services", spb::DEPARTMENT_OR_AGENCY,
       spb::NATIONAL, "", spb::MEMBER, "border management"},
      {"KNBS", "Kenya National Bureau of Statistics", spb::DEPARTMENT_OR_AGENCY,
       spb::NATIONAL, "", spb::MEMBER, "migration data"},
      {"AG", "Office of the Attorney General", spb::DEPARTMENT_OR_AGENCY,
       spb::NATIONAL, "", spb::MEMBER, "legal framework"},
      {"COG", "Council of Governors", spb::DEPARTMENT_OR_AGENCY, spb::NATIONAL,
       "", spb::MEMBER, "devolution"},
      {"CTIP", "Counter Trafficking in Persons Secretariat",
       spb::DEPARTMENT_OR_AGENCY, spb::NATIONAL, "", spb::MEMBER,
       "counter-trafficking"},
      {"NCTC", "National Counter Terrorism Centre", spb::DEPARTMENT_OR_AGENCY,
       spb::NATIONAL, "", spb::MEMBER, "security"},
      {"NEA", "National Employment Authority", spb::DEPARTMENT_OR_AGENCY,
       spb::NATIONAL, "", spb::MEMBER, "labour migration"},
      {"NPS", "National Police Service", spb::DEPARTMENT_OR_AGENCY,
       spb::NATIONAL, "", spb::MEMBER, "security"},
      {"ODPP", "Office of the Director of Public Prosecutions",
       spb::DEPARTMENT_OR_AGENCY, spb::NATIONAL, "", spb::MEMBER,
       "counter-trafficking"},
      {"RAS", "Refugee Affairs Secretariat", spb::DEPARTMENT_OR_AGENCY,
       spb::NATIONAL, "", spb::MEMBER, "refugees"},
      {"KNCHR", "Kenya National Commission on Human Rights",
       spb::DEPARTMENT_OR_AGENCY, spb::NATIONAL, "", spb::OBSERVER,
       "human rights"},
      {"IOM", "International Organization for Migration",
       spb::INTERNATIONAL_ORGANISATION, spb::INTERNATIONAL, "", spb::PARTNER,
       "migration governance"},
      {"GIZ", "Deutsche Gesellschaft fuer Internationale Zusammenarbeit",
       spb::DEVELOPMENT_PARTNER, spb::INTERNATIONAL, "", spb::PARTNER,
       "better migration management"},
      {"IGAD", "Intergovernmental Authority on Development",
       spb::INTERNATIONAL_ORGANISATION, spb::REGIONAL, "", spb::PARTNER,
       "free movement"},
      {"ILO", "International Labour Organization",
       spb::INTERNATIONAL_ORGANISATION, spb::INTERNATIONAL, "", spb::PARTNER,
       "labour migration"},
      {"CG-BUSIA", "County Government of Busia", spb::COUNTY_GOVERNMENT,
       spb::COUNTY, "040", spb::MEMBER, "cross-border mobility"},
      {"CG-MIGORI", "County Government of Migori", spb::COUNTY_GOVERNMENT,
       spb::COUNTY, "044", spb::MEMBER, "human rights"},
      {"CG-TURKANA", "County Government of Turkana", spb::COUNTY_GOVERNMENT,
       spb::COUNTY, "023", spb::MEMBER, "transhumance"},
      {"CG-KISII", "County Government of Kisii", spb::COUNTY_GOVERNMENT,
       spb::COUNTY, "045", spb::MEMBER, "diaspora"},
      {"CG-KITUI", "County Government of Kitui", spb::COUNTY_GOVERNMENT,
       spb::COUNTY, "015", spb::MEMBER, "rural development"},
      {"CG-KAJIADO", "County Government of Kajiado", spb::COUNTY_GOVERNMENT,
       spb::COUNTY, "034", spb::MEMBER, "counter-trafficking"},
  };
  return *orgs;
}

class Loader {
 public:
  Loader(std::shared_ptr<grpc::Channel> ch, const DemoOptions& o)
      : sh_(spb::Stakeholders::NewStub(ch)),
        res_(rpb::Resolutions::NewStub(ch)),
        mou_(mpb::Mous::NewStub(ch)),
        bud_(bpb::Resources::NewStub(ch)),
        options_(o) {}

  absl::StatusOr<DemoSummary> Run() {
    NCM_RETURN_IF_ERROR(Stakeholders());
    NCM_RETURN_IF_ERROR(Meetings());
    NCM_RETURN_IF_ERROR(Mou());
    NCM_RETURN_IF_ERROR(Budget());
    return summary_;
  }

 private:

  void Log(const std::string& line) {
    if (options_.log != nullptr) *options_.log << line << "\n";
  }

  template <typename Stub, typename Req, typename Resp>
  absl::Status Send(Stub* stub,
                    grpc::Status (Stub::*method)(grpc::ClientContext*,
                                                 const Req&, Resp*),
                    const Req& req, Resp* resp, const std::string& what) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() +
                     std::chrono::seconds(30));
    grpc::Status s = (stub->*method)(&ctx, req, resp);
    ++summary_.commands;
    if (!s.ok()) {
      return absl::Status(static_cast<absl::StatusCode>(s.error_code()),
                          absl::StrCat(what, ": ", s.error_message()));
    }
    if constexpr (std::is_same_v<Resp, cpb::CommandResult>) {
      if (resp->replayed()) ++summary_.replayed;
    } else if constexpr (std::is_same_v<Resp, bpb::AddBudgetLineResponse> ||
                         std::is_same_v<Resp, bpb::RecordTransactionResponse> ||
                         std::is_same_v<Resp, spb::AppointFocalPointResponse>) {
      if (resp->result().replayed()) ++summary_.replayed;
    }
    return absl::OkStatus();
  }

  // ------------------------------------------------------ stakeholders

  absl::Status Stakeholders() {
    for (const Org& o : Organisations()) {
      spb::RegisterOrganisationRequest r;
      auto* p = r.mutable_profile();
      p->set_name(o.name);
      p->set_acronym(o.acronym);
      p->set_kind(o.kind);
      p->set_level(o.level);
      p->set_county_code(o.county);
      p->add_thematic_areas(o.areas);
      r.set_role(o.role);
      cpb::CommandResult out;
      NCM_RETURN_IF_ERROR(Send(sh_.get(), &spb::Stakeholders::Stub::RegisterOrganisation,
                        With(r, absl::StrCat("org/", o.acronym), D(2020, 2, 3)),
                        &out, absl::StrCat("register ", o.acronym)));
      org_[o.acronym] = out.aggregate_id();
      ++summary_.organisations;
    }
    Log(absl::StrCat("organisations: ", summary_.organisations));

    // Focal points: secretariat, immigration, statistics; the IOM focal
    // point changed in 2021 (the history keeps both).
    struct Fp { const char* org; const char* name; const char* title;
                cpb::Date from; };
    const std::vector<Fp> fps = {
        {"NCMS", "Grace Njeri (demo)", "Head of Secretariat", D(2020, 2, 3)},
        {"DIS", "Peter Otieno (demo)", "Deputy Director, Migration Data",
         D(2020, 2, 3)},
        {"KNBS", "Faith Mutua (demo)", "Senior Statistician", D(2020, 2, 3)},
        {"IOM", "Daniel Kiprono (demo)", "Programme Officer", D(2020, 3, 1)},
    };
    for (const Fp& f : fps) {
      spb::AppointFocalPointRequest a;
      a.set_organisation_id(org_[f.org]);
      a.mutable_new_person()->set_full_name(f.name);
      a.mutable_new_person()->set_title(f.title);
      a.set_kind(spb::PRIMARY);
      spb::AppointFocalPointResponse out;
      NCM_RETURN_IF_ERROR(Send(sh_.get(), &spb::Stakeholders::Stub::AppointFocalPoint,
                        With(a, absl::StrCat("fp/", f.org), f.from), &out,
                        absl::StrCat("focal point of ", f.org)));
      person_[f.org] = out.person_id();
      appointment_[f.org] = out.appointment_id();
    }
    spb::EndFocalPointAppointmentRequest end;
    end.set_organisation_id(org_["IOM"]);
    end.set_appointment_id(appointment_["IOM"]);
    end.set_reason("reassigned to the regional office");
    cpb::CommandResult ignored;
    NCM_RETURN_IF_ERROR(Send(sh_.get(),
                      &spb::Stakeholders::Stub::EndFocalPointAppointment,
                      With(end, "fp/IOM/end", D(2021, 4, 30)), &ignored,
                      "end the IOM focal point"));
    spb::AppointFocalPointRequest next;
    next.set_organisation_id(org_["IOM"]);
    next.mutable_new_person()->set_full_name("Lucy Achieng (demo)");
    next.mutable_new_person()->set_title("Migration Governance Officer");
    next.set_kind(spb::PRIMARY);
    spb::AppointFocalPointResponse appointed;
    NCM_RETURN_IF_ERROR(Send(sh_.get(), &spb::Stakeholders::Stub::AppointFocalPoint,
                      With(next, "fp/IOM/2", D(2021, 5, 1)), &appointed,
                      "appoint the new IOM focal point"));

    spb::CreateWorkingGroupRequest wg;
    wg.set_name("Technical Working Group on Migration Data");
    wg.set_mandate("Harmonise migration data and its sharing among providers");
    wg.add_thematic_areas("migration data");
    cpb::CommandResult group;
    NCM_RETURN_IF_ERROR(Send(sh_.get(), &spb::Stakeholders::Stub::CreateWorkingGroup,
                      With(wg, "twg/data", D(2020, 6, 1)), &group,
                      "create the data working group"));
    for (const char* member : {"KNBS", "DIS", "IOM", "NCMS"}) {
      spb::WorkingGroupMemberRequest m;
      m.set_working_group_id(group.aggregate_id());
      m.set_organisation_id(org_[member]);
      NCM_RETURN_IF_ERROR(Send(sh_.get(),
                        &spb::Stakeholders::Stub::AddWorkingGroupMember,
                        With(m, absl::StrCat("twg/data/", member), D(2020, 6, 1)),
                        &ignored, absl::StrCat("add ", member, " to the TWG")));
    }
    return absl::OkStatus();
  }

  // -------------------------------------------------------- meetings

  absl::StatusOr<std::string> Meeting(const std::string& key,
                                      rpb::MeetingKind kind,
                                      const std::string& title, cpb::Date date,
                                      const std::string& venue,
                                      const std::string& county,
                                      const std::vector<std::string>& present) {
    rpb::ScheduleMeetingRequest s;
    auto* d = s.mutable_details();
    d->set_kind(kind);
    d->set_title(title);
    *d->mutable_date() = date;
    d->set_venue(venue);
    d->set_county_code(county);
    cpb::CommandResult meeting;
    cpb::Date scheduled = date;
    scheduled.set_day(1);
    NCM_RETURN_IF_ERROR(Send(res_.get(), &rpb::Resolutions::Stub::ScheduleMeeting,
                      With(s, "meeting/" + key, scheduled), &meeting,
                      "schedule " + title));
    for (const std::string& acronym : present) {
      rpb::RecordAttendanceRequest a;
      a.set_meeting_id(meeting.aggregate_id());
      a.set_organisation_id(org_[acronym]);
      if (person_.count(acronym)) a.set_person_id(person_[acronym]);
      cpb::CommandResult ignored;
      NCM_RETURN_IF_ERROR(Send(res_.get(), &rpb::Resolutions::Stub::RecordAttendance,
                        With(a, "meeting/" + key + "/present/" + acronym, date),
                        &ignored, "attendance of " + acronym));
    }
    ++summary_.meetings;
    return meeting.aggregate_id();
  }

  absl::Status Close(const std::string& key, const std::string& meeting,
                     cpb::Date on) {
    rpb::CloseMeetingRequest c;
    c.set_meeting_id(meeting);
    c.set_minutes_reference("NCM/MIN/" + key);
    cpb::CommandResult ignored;
    return Send(res_.get(), &rpb::Resolutions::Stub::CloseMeeting,
                With(c, "meeting/" + key + "/close", on), &ignored,
                "close meeting " + key);
  }

  struct Terms {
    std::string ref, text, lead;
    std::vector<std::string> support;
    cpb::Date due;
    int sp, pillar;
    std::vector<int> gcm;
    std::string indicator;
  };

  absl::StatusOr<std::string> Adopt(const std::string& meeting, cpb::Date on,
                                    const Terms& t) {
    rpb::AdoptResolutionRequest a;
    a.set_meeting_id(meeting);
    auto* x = a.mutable_terms();
    x->set_reference(t.ref);
    x->set_text(t.text);
    x->set_lead_organisation_id(org_[t.lead]);
    for (const auto& s : t.support) {
      x->add_supporting_organisation_ids(org_[s]);
    }
    *x->mutable_due_date() = t.due;
    x->set_strategic_priority(t.sp);
    x->set_pillar(t.pillar);
    for (int g : t.gcm) x->add_gcm_objectives(g);
    x->set_indicator(t.indicator);
    cpb::CommandResult out;
    NCM_RETURN_IF_ERROR(Send(res_.get(), &rpb::Resolutions::Stub::AdoptResolution,
                      With(a, "resolution/" + t.ref, on), &out,
                      "adopt " + t.ref));
    ++summary_.resolutions;
    return out.aggregate_id();
  }

  absl::Status Report(const std::string& id, const std::string& ref, int n,
                      const std::string& org, int percent,
                      const std::string& narrative, cpb::Date on) {
    rpb::ReportProgressRequest r;
    r.set_resolution_id(id);
    r.set_reporting_organisation_id(org_[org]);
    r.set_percent_complete(percent);
    r.set_narrative(narrative);
    r.add_evidence_references(absl::StrCat(org, "/PR/", ref, "/", n));
    cpb::CommandResult ignored;
    return Send(res_.get(), &rpb::Resolutions::Stub::ReportProgress,
                With(r, absl::StrCat("resolution/", ref, "/report/", n), on),
                &ignored, "progress on " + ref);
  }

  absl::Status Change(
      grpc::Status (rpb::Resolutions::Stub::*method)(
          grpc::ClientContext*, const rpb::ResolutionChangeRequest&,
          cpb::CommandResult*),
      const std::string& id, const std::string& key, const std::string& reason,
      cpb::Date on) {
    rpb::ResolutionChangeRequest r;
    r.set_resolution_id(id);
    r.set_reason(reason);
    cpb::CommandResult ignored;
    return Send(res_.get(), method, With(r, key, on), &ignored, key);
  }

  absl::Status Meetings() {
    using S = rpb::Resolutions::Stub;
    NCM_ASSIGN_OR_RETURN(
        std::string q1,
        Meeting("QSM-2021-1", rpb::QUARTERLY_STAKEHOLDER_MEETING,
                "First quarterly NCM stakeholders' meeting 2021", D(2021, 3, 18),
                "Nyayo House, Nairobi", "047",
                {"NCMS", "DIS", "KNBS", "AG", "COG", "CTIP", "IOM", "GIZ",
                 "ILO", "NEA"}));
    const cpb::Date q1d = D(2021, 3, 18);
    NCM_ASSIGN_OR_RETURN(
        std::string mous,
        Adopt(q1, q1d,
              {"QSM-2021-1/01",
               "Develop and sign data-sharing MOUs with the key providers of "
               "migration data",
               "NCMS", {"KNBS", "DIS"}, D(2021, 12, 31), 1, 2, {1, 23},
               "No. of MOUs signed with data providers"}));
    NCM_RETURN_IF_ERROR(Report(mous, "QSM-2021-1/01", 1, "NCMS", 30,
                        "Consensus meeting of legal teams agreed the MOU "
                        "template", D(2021, 5, 5)));
    NCM_RETURN_IF_ERROR(Report(mous, "QSM-2021-1/01", 2, "KNBS", 80,
                        "MOU with the Directorate of Immigration Services "
                        "signed; KNBS MOU in legal review", D(2021, 6, 18)));
    rpb::MarkImplementedRequest done;
    done.set_resolution_id(mous);
    done.set_narrative("First data-sharing MOU active; deliveries started");
    done.add_evidence_references("MOU NCM/DIS/2021/01");
    cpb::CommandResult ignored;
    NCM_RETURN_IF_ERROR(Send(res_.get(), &S::MarkImplemented,
                      With(done, "resolution/QSM-2021-1/01/implemented",
                           D(2021, 11, 30)),
                      &ignored, "implement QSM-2021-1/01"));
    rpb::VerifyImplementationRequest verify;
    verify.set_resolution_id(mous);
    verify.set_verified_by_organisation_id(org_["GIZ"]);
    verify.set_note("Signed MOU and two quarters of deliveries seen");
    NCM_RETURN_IF_ERROR(Send(res_.get(), &S::VerifyImplementation,
                      With(verify, "resolution/QSM-2021-1/01/verified",
                           D(2022, 1, 20)),
                      &ignored, "verify QSM-2021-1/01"));

    NCM_ASSIGN_OR_RETURN(
        std::string factsheet,
        Adopt(q1, q1d,
              {"QSM-2021-1/02",
               "Compile and distribute the quarterly Kenyan Migration "
               "Factsheet",
               "KNBS", {"IOM"}, D(2021, 6, 30), 1, 2, {1},
               "Factsheet distributed to stakeholders every quarter"}));
    NCM_RETURN_IF_ERROR(Report(factsheet, "QSM-2021-1/02", 1, "KNBS", 40,
                        "Data collection tools shared with providers",
                        D(2021, 5, 20)));
    rpb::DeferResolutionRequest defer;
    defer.set_resolution_id(factsheet);
    *defer.mutable_new_due_date() = D(2021, 9, 30);
    defer.set_reason("Border-crossing data for Q2 delayed by the providers");
    NCM_RETURN_IF_ERROR(Send(res_.get(), &S::DeferResolution,
                      With(defer, "resolution/QSM-2021-1/02/defer",
                           D(2021, 6, 24)),
                      &ignored, "defer QSM-2021-1/02"));
    NCM_RETURN_IF_ERROR(Change(&S::ResumeImplementation, factsheet,
                        "resolution/QSM-2021-1/02/resume",
                        "Q2 data received", D(2021, 7, 20)));

    NCM_ASSIGN_OR_RETURN(
        std::string law,
        Adopt(q1, q1d,
              {"QSM-2021-1/03",
               "Anchor the NCM in law through a gazette notice", "AG",
               {"DIS", "NCMS"}, D(2021, 12, 31), 4, 4, {23},
               "NCM gazetted"}));
    NCM_RETURN_IF_ERROR(Change(&S::BlockResolution, law,
                        "resolution/QSM-2021-1/03/block",
                        "Awaiting the Cabinet memorandum", D(2021, 8, 2)));

    NCM_ASSIGN_OR_RETURN(
        std::string comms,
        Adopt(q1, q1d,
              {"QSM-2021-1/04", "Develop the NCM communication strategy",
               "NCMS", {"GIZ"}, D(2021, 9, 30), 5, 4, {},
               "Communication strategy adopted"}));
    NCM_RETURN_IF_ERROR(Report(comms, "QSM-2021-1/04", 1, "GIZ", 20,
                        "Consultant's terms of reference drafted",
                        D(2021, 6, 1)));
    NCM_RETURN_IF_ERROR(Close("QSM-2021-1", q1, D(2021, 3, 19)));

    NCM_ASSIGN_OR_RETURN(
        std::string q2,
        Meeting("QSM-2021-2", rpb::QUARTERLY_STAKEHOLDER_MEETING,
                "Second quarterly NCM stakeholders' meeting 2021",
                D(2021, 6, 24), "Mombasa", "001",
                {"NCMS", "DIS", "KNBS", "IOM", "GIZ", "IGAD", "RAS", "NPS",
                 "ODPP", "KNCHR"}));
    const cpb::Date q2d = D(2021, 6, 24);
    NCM_ASSIGN_OR_RETURN(
        std::string training,
        Adopt(q2, q2d,
              {"QSM-2021-2/01",
               "Train 40 data focal points on migration data analysis", "KNBS",
               {"IOM"}, D(2022, 6, 30), 1, 3, {1},
               "No. of data focal points trained"}));
    NCM_RETURN_IF_ERROR(Report(training, "QSM-2021-2/01", 1, "IOM", 25,
                        "Curriculum on migration data analysis validated",
                        D(2021, 10, 15)));
    NCM_ASSIGN_OR_RETURN(
        std::string outreach,
        Adopt(q2, q2d,
              {"QSM-2021-2/02",
               "Extend the County Outreach Program to the counties of the "
               "North Rift and Nyanza",
               "NCMS", {"COG"}, D(2022, 3, 31), 2, 1, {23},
               "No. of counties reached by the outreach program"}));
    NCM_RETURN_IF_ERROR(Change(&S::StartImplementation, outreach,
                        "resolution/QSM-2021-2/02/start",
                        "Concept note shared with the Council of Governors",
                        D(2021, 7, 5)));
    NCM_ASSIGN_OR_RETURN(
        std::string benchmark,
        Adopt(q2, q2d,
              {"QSM-2021-2/03",
               "Organise a benchmarking visit to the Nigerian NCM", "NCMS",
               {}, D(2021, 12, 31), 2, 1, {23},
               "Benchmarking report shared"}));
    NCM_RETURN_IF_ERROR(Change(&S::RescindResolution, benchmark,
                        "resolution/QSM-2021-2/03/rescind",
                        "Funds reallocated to the county outreach",
                        D(2021, 9, 16)));
    NCM_RETURN_IF_ERROR(Close("QSM-2021-2", q2, q2d));

    NCM_ASSIGN_OR_RETURN(
        std::string busia,
        Meeting("COF-BUSIA-2021", rpb::COUNTY_OUTREACH_FORUM,
                "County outreach forum, Busia", D(2021, 8, 12),
                "Busia County Assembly hall", "040",
                {"NCMS", "CG-BUSIA", "DIS", "NPS", "IOM"}));
    NCM_ASSIGN_OR_RETURN(
        std::string focus,
        Adopt(busia, D(2021, 8, 12),
              {"COF-BUSIA-2021/01",
               "Form a County Migration Focus Group in Busia and infuse "
               "community policing in migration management",
               "CG-BUSIA", {"NPS", "NCMS"}, D(2022, 2, 28), 2, 1, {10, 21},
               "Focus group meeting quarterly"}));
    NCM_RETURN_IF_ERROR(Report(focus, "COF-BUSIA-2021/01", 1, "CG-BUSIA", 50,
                        "Focus group constituted; first meeting held",
                        D(2021, 11, 3)));
    NCM_RETURN_IF_ERROR(Close("COF-BUSIA-2021", busia, D(2021, 8, 13)));
    Log(absl::StrCat("meetings: ", summary_.meetings,
                     ", resolutions: ", summary_.resolutions));
    return absl::OkStatus();
  }

  // -------------------------------------------------------------- MOU

  absl::Status Mou() {
    using S = mpb::Mous::Stub;
    mpb::DraftMouRequest d;
    auto* t = d.mutable_terms();
    t->set_title(
        "MOU on sharing border-crossing and work-permit statistics");
    auto* sec = t->add_parties();
    sec->set_organisation_id(org_["NCMS"]);
    sec->set_role(mpb::SECRETARIAT);
    auto* dis = t->add_parties();
    dis->set_organisation_id(org_["DIS"]);
    dis->set_role(mpb::PROVIDER);
    auto* bc = t->add_datasets();
    bc->set_code("border-crossings");
    bc->set_name("Border crossings by entry point, sex and nationality");
    bc->set_frequency(mpb::MONTHLY);
    bc->set_due_offset_days(15);
    auto* wp = t->add_datasets();
    wp->set_code("work-permits");
    wp->set_name("Work permits issued by class and nationality");
    wp->set_frequency(mpb::QUARTERLY);
    wp->set_due_offset_days(30);
    t->set_purpose("Quarterly migration factsheet and the national migration "
                   "profile");
    t->set_legal_basis("Kenya Citizenship and Immigration Act 2011; "
                       "Statistics Act 2006");
    t->set_data_protection_terms("Aggregate tables only; no personal data "
                                 "leaves the provider");
    *t->mutable_valid_from() = D(2021, 7, 1);
    *t->mutable_valid_until() = D(2023, 6, 30);
    cpb::CommandResult mou;
    NCM_RETURN_IF_ERROR(Send(mou_.get(), &S::DraftMou,
                      With(d, "mou/DIS", D(2021, 4, 10)), &mou, "draft MOU"));
    const std::string id = mou.aggregate_id();
    cpb::CommandResult ignored;
    mpb::MouChangeRequest submit;
    submit.set_mou_id(id);
    NCM_RETURN_IF_ERROR(Send(mou_.get(), &S::SubmitForLegalReview,
                      With(submit, "mou/DIS/submit", D(2021, 4, 20)), &ignored,
                      "submit MOU"));
    mpb::RecordLegalReviewRequest review;
    review.set_mou_id(id);
    review.set_outcome(mpb::CHANGES_REQUESTED);
    review.set_note("State the retention period of the delivered tables");
    NCM_RETURN_IF_ERROR(Send(mou_.get(), &S::RecordLegalReview,
                      With(review, "mou/DIS/review/1", D(2021, 5, 5)),
                      &ignored, "first legal review"));
    mpb::AmendMouRequest amend;
    amend.set_mou_id(id);
    *amend.mutable_terms() = d.terms();
    amend.mutable_terms()->set_data_protection_terms(
        "Aggregate tables only; no personal data leaves the provider; tables "
        "kept for 10 years");
    amend.set_note("retention period added");
    NCM_RETURN_IF_ERROR(Send(mou_.get(), &S::AmendMou,
                      With(amend, "mou/DIS/amend", D(2021, 5, 12)), &ignored,
                      "amend MOU"));
    NCM_RETURN_IF_ERROR(Send(mou_.get(), &S::SubmitForLegalReview,
                      With(submit, "mou/DIS/resubmit", D(2021, 5, 20)),
                      &ignored, "resubmit MOU"));
    review.set_outcome(mpb::REVIEW_APPROVED);
    review.set_note("");
    NCM_RETURN_IF_ERROR(Send(mou_.get(), &S::RecordLegalReview,
                      With(review, "mou/DIS/review/2", D(2021, 6, 1)),
                      &ignored, "second legal review"));
    for (const char* party : {"NCMS", "DIS"}) {
      mpb::SignMouRequest s;
      s.set_mou_id(id);
      s.set_organisation_id(org_[party]);
      s.set_signatory_person_id(person_[party]);
      NCM_RETURN_IF_ERROR(Send(mou_.get(), &S::SignMou,
                        With(s, absl::StrCat("mou/DIS/sign/", party),
                             D(2021, 6, 18)),
                        &ignored, absl::StrCat("signature of ", party)));
    }
    // Monthly deliveries, some late; two quarters of work permits.
    const int received_day[] = {12, 14, 20, 9, 30, 15};
    for (int month = 7; month <= 12; ++month) {
      mpb::RecordDeliveryRequest r;
      r.set_mou_id(id);
      r.set_dataset_code("border-crossings");
      r.mutable_period()->set_year(2021);
      r.mutable_period()->set_number(month);
      const int y = month == 12 ? 2022 : 2021;
      const int m = month == 12 ? 1 : month + 1;
      NCM_RETURN_IF_ERROR(Send(mou_.get(), &S::RecordDelivery,
                        With(r, absl::StrCat("mou/DIS/bc/2021-", month),
                             D(y, m, received_day[month - 7])),
                        &ignored, "border-crossings delivery"));
      ++summary_.deliveries;
    }
    for (int q : {3, 4}) {
      mpb::RecordDeliveryRequest r;
      r.set_mou_id(id);
      r.set_dataset_code("work-permits");
      r.mutable_period()->set_year(2021);
      r.mutable_period()->set_number(q);
      NCM_RETURN_IF_ERROR(Send(mou_.get(), &S::RecordDelivery,
                        With(r, absl::StrCat("mou/DIS/wp/2021-Q", q),
                             q == 3 ? D(2021, 10, 25) : D(2022, 2, 10)),
                        &ignored, "work-permits delivery"));
      ++summary_.deliveries;
    }
    Log(absl::StrCat("MOU ", id, ": ", summary_.deliveries, " deliveries"));
    return absl::OkStatus();
  }

  // ----------------------------------------------------------- budget

  absl::Status Budget() {
    using S = bpb::Resources::Stub;
    bpb::OpenBudgetRequest open;
    open.set_title("NCM 2020 budget (action plan 2020-2022)");
    open.set_fiscal_year(2020);
    open.set_currency("KES");
    open.set_owner_organisation_id(org_["NCMS"]);
    cpb::CommandResult budget;
    NCM_RETURN_IF_ERROR(Send(bud_.get(), &S::OpenBudget,
                      With(open, "budget/2020", D(2020, 7, 1)), &budget,
                      "open the 2020 budget"));
    summary_.budget_id = budget.aggregate_id();
    auto sheet = resources::LoadBudgetCsv(options_.budget_csv, 2);
    if (!sheet.ok()) return sheet.status();
    int n = 0;
    for (auto line : sheet->lines) {
      line.set_budget_id(budget.aggregate_id());
      bpb::AddBudgetLineResponse out;
      NCM_RETURN_IF_ERROR(Send(bud_.get(), &S::AddBudgetLine,
                        With(line, absl::StrCat("budget/2020/line/", ++n),
                             D(2020, 7, 1)),
                        &out, "budget line " + line.description()));
      ++summary_.budget_lines;
    }
    n = 0;
    for (auto total : sheet->totals) {
      total.set_budget_id(budget.aggregate_id());
      cpb::CommandResult ignored;
      NCM_RETURN_IF_ERROR(Send(bud_.get(), &S::RecordDeclaredTotal,
                        With(total, absl::StrCat("budget/2020/total/", ++n),
                             D(2020, 7, 1)),
                        &ignored, "declared total " + total.source()));
    }
    struct Flow {
      const char* key;
      bpb::TransactionType type;
      const char* org;
      int64_t minor;
      const char* currency;
      const char* rate;
      cpb::Date value;
      std::vector<std::string> codes;
      const char* what;
    };
    const std::vector<Flow> flows = {
        {"giz-pledge", bpb::INCOMING_PLEDGE, "GIZ", 15000000, "EUR", "128.40",
         D(2020, 8, 1), {"3.6", "1.7"}, "BMM support to KIMS and GCM review"},
        {"iom-pledge", bpb::INCOMING_PLEDGE, "IOM", 4000000, "USD", "108.65",
         D(2020, 9, 1), {"2.2", "2.7"}, "Migration data capacity"},
        {"gok-funds", bpb::INCOMING_FUNDS, "DIS", 900000000, "KES", "",
         D(2020, 9, 15), {"1.1"}, "Exchequer release for quarterly meetings"},
        {"giz-commitment", bpb::INCOMING_COMMITMENT, "GIZ", 12000000, "EUR",
         "128.40", D(2020, 10, 1), {"3.6"}, "Grant agreement signed"},
        {"giz-funds", bpb::INCOMING_FUNDS, "GIZ", 10000000, "EUR", "129.15",
         D(2020, 11, 20), {"3.6"}, "First tranche"},
        {"iom-funds", bpb::INCOMING_FUNDS, "IOM", 4000000, "USD", "109.80",
         D(2021, 1, 15), {"2.2", "2.7"}, "Transfer received"},
        {"spend-qsm", bpb::EXPENDITURE, "DIS", 265000000, "KES", "",
         D(2020, 10, 30), {"1.1"}, "First quarterly meeting"},
        {"spend-kims", bpb::EXPENDITURE, "GIZ", 512500000, "KES", "",
         D(2021, 1, 10), {"3.6"}, "KIMS second cohort fees"},
        {"spend-training", bpb::EXPENDITURE, "IOM", 175000000, "KES", "",
         D(2021, 2, 20), {"2.7"}, "Training of data analysts"},
    };
    for (const Flow& f : flows) {
      bpb::RecordTransactionRequest t;
      t.set_budget_id(budget.aggregate_id());
      t.set_type(f.type);
      t.set_organisation_id(org_[f.org]);
      t.mutable_amount()->set_minor_units(f.minor);
      t.mutable_amount()->set_currency(f.currency);
      t.set_exchange_rate(f.rate);
      *t.mutable_value_date() = f.value;
      for (const auto& c : f.codes) t.add_activity_codes(c);
      t.set_description(f.what);
      bpb::RecordTransactionResponse out;
      NCM_RETURN_IF_ERROR(Send(bud_.get(), &S::RecordTransaction,
                        With(t, absl::StrCat("budget/2020/flow/", f.key),
                             f.value),
                        &out, absl::StrCat("flow ", f.key)));
      ++summary_.transactions;
    }
    Log(absl::StrCat("budget ", budget.aggregate_id(), ": ",
                     summary_.budget_lines, " lines, ", summary_.transactions,
                     " funding flows"));
    return absl::OkStatus();
  }

  std::unique_ptr<spb::Stakeholders::Stub> sh_;
  std::unique_ptr<rpb::Resolutions::Stub> res_;
  std::unique_ptr<mpb::Mous::Stub> mou_;
  std::unique_ptr<bpb::Resources::Stub> bud_;
  const DemoOptions& options_;
  DemoSummary summary_;
  std::map<std::string, std::string> org_, person_, appointment_;
};

}  // namespace

absl::StatusOr<DemoSummary> LoadDemo(std::shared_ptr<grpc::Channel> channel,
                                     const DemoOptions& options) {
  Loader loader(std::move(channel), options);
  return loader.Run();
}

}  // namespace ncm::demo
