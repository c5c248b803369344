// Fuzzes every service's request validation and decisions: the first byte
// picks a command or query, the rest is parsed as its request protobuf (as
// the gRPC adapters parse it), held to the field limits, and handed to the
// handler over an in-memory store that holds a few organisations, a
// meeting, a resolution and a budget. Any answer is fine; a crash, a leak
// or undefined behaviour is a finding, and so is an accepted command that
// recorded a field its event type does not define (at any depth) or made
// a budget's total overflow. Seeds include requests with unknown fields at
// several depths and amounts at the int64 limit.
//
// With NCM_FUZZ_SEEDS=<dir> set, it writes one seed per entry there and
// exits (deploy/fuzz.sh does this before a run).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/time/time.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/dynamic_message.h"
#include "google/protobuf/unknown_field_set.h"
#include "ncm/access/registry.h"
#include "ncm/eventstore/memory_event_store.h"
#include "ncm/mous/handler.h"
#include "ncm/resolutions/handler.h"
#include "ncm/resources/handler.h"
#include "ncm/services/limits.h"
#include "ncm/stakeholders/handler.h"

namespace {

namespace spb = ::ncm::stakeholders::v1;
namespace rpb = ::ncm::resolutions::v1;
namespace mpb = ::ncm::mous::v1;
namespace fpb = ::ncm::resources::v1;
namespace apb = ::ncm::access::v1;
using ncm::services::Clock;

Clock FixedClock() {
  Clock c;
  c.now = [] {
    return absl::FromCivil(absl::CivilDay(2021, 9, 30), absl::UTCTimeZone());
  };
  return c;
}

ncm::common::v1::Date D(int y, int m, int d) {
  ncm::common::v1::Date out;
  out.set_year(y);
  out.set_month(m);
  out.set_day(d);
  return out;
}

// Handlers over one in-memory store, with a little state to go deep into.
struct World {
  std::unique_ptr<ncm::eventstore::EventStore> store =
      ncm::eventstore::NewMemoryEventStore();
  ncm::stakeholders::StakeholdersHandler stakeholders{
      store.get(), &ncm::stakeholders::CountyList::Kenya(), FixedClock()};
  ncm::resolutions::ResolutionsHandler resolutions{
      store.get(), &stakeholders, &ncm::stakeholders::CountyList::Kenya(),
      FixedClock()};
  ncm::mous::MousHandler mous{store.get(), &stakeholders, FixedClock()};
  ncm::resources::ResourcesHandler resources{store.get(), &stakeholders,
                                             FixedClock()};
  ncm::access::PrincipalRegistry registry{store.get(), &stakeholders,
                                          FixedClock()};
  std::string iom, nis, meeting, resolution, budget;

  World() {
    iom = Organisation("IOM", "seed-org-1");
    nis = Organisation("NIS", "seed-org-2");
    rpb::ScheduleMeetingRequest m;
    m.mutable_options()->set_command_id("seed-meeting");
    m.mutable_details()->set_kind(rpb::QUARTERLY_STAKEHOLDER_MEETING);
    m.mutable_details()->set_title("Quarterly meeting");
    *m.mutable_details()->mutable_date() = D(2021, 3, 10);
    m.mutable_details()->set_venue("Nairobi");
    meeting = Id(resolutions.ScheduleMeeting(m, "seed"));
    resolution = Id(resolutions.AdoptResolution(Adopt(), "seed"));
    fpb::OpenBudgetRequest b;
    b.mutable_options()->set_command_id("seed-budget");
    b.set_title("NCM 2020/21");
    b.set_fiscal_year(2020);
    b.set_currency("KES");
    b.set_owner_organisation_id(nis);
    budget = Id(resources.OpenBudget(b, "seed"));
  }

  std::string Organisation(const char* acronym, const char* command_id) {
    spb::RegisterOrganisationRequest r;
    r.mutable_options()->set_command_id(command_id);
    r.mutable_profile()->set_name(std::string("Organisation ") + acronym);
    r.mutable_profile()->set_acronym(acronym);
    r.mutable_profile()->set_kind(spb::INTERNATIONAL_ORGANISATION);
    r.mutable_profile()->set_level(spb::NATIONAL);
    r.set_role(spb::MEMBER);
    return Id(stakeholders.RegisterOrganisation(r, "seed"));
  }

  rpb::AdoptResolutionRequest Adopt() const {
    rpb::AdoptResolutionRequest a;
    a.mutable_options()->set_command_id("seed-resolution");
    *a.mutable_options()->mutable_occurred_on() = D(2021, 3, 10);
    a.set_meeting_id(meeting);
    auto* t = a.mutable_terms();
    t->set_text("Map labour migration data flows");
    t->set_lead_organisation_id(iom);
    t->add_supporting_organisation_ids(nis);
    *t->mutable_due_date() = D(2021, 12, 31);
    t->set_strategic_priority(2);
    t->set_pillar(1);
    t->add_gcm_objectives(1);
    t->set_indicator("a data flow map");
    return a;
  }

  static std::string Id(const absl::StatusOr<ncm::services::Outcome>& o) {
    if (!o.ok()) {
      std::fprintf(stderr, "fuzz world: %s\n", o.status().ToString().c_str());
      std::abort();
    }
    return o->aggregate_id;
  }
};

// An entry: runs one request; the seed is a plausible request for it.
struct Entry {
  std::function<void(World*, const uint8_t*, size_t)> run;
  std::function<std::string(const World&)> seed;
};

template <typename Req>
bool Parse(const uint8_t* data, size_t size, Req* r) {
  return r->ParseFromArray(data, static_cast<int>(size)) &&
         ncm::services::CheckKnownFields(*r).ok() &&
         ncm::services::CheckFieldLimits(*r).ok();
}

// A command of a handler: (const Req&, const std::string& actor).
template <typename H, typename Req, typename R>
Entry Command(H World::*h, R (H::*fn)(const Req&, const std::string&),
              std::function<Req(const World&)> seed = nullptr) {
  Entry e;
  e.run = [h, fn](World* w, const uint8_t* d, size_t n) {
    Req r;
    if (Parse(d, n, &r)) (void)((w->*h).*fn)(r, "fuzz");
  };
  e.seed = [seed](const World& w) {
    return seed ? seed(w).SerializeAsString() : std::string();
  };
  return e;
}

// A query: (const Req&).
template <typename H, typename Req, typename R>
Entry Query(H World::*h, R (H::*fn)(const Req&)) {
  Entry e;
  e.run = [h, fn](World* w, const uint8_t* d, size_t n) {
    Req r;
    if (Parse(d, n, &r)) (void)((w->*h).*fn)(r);
  };
  e.seed = [](const World&) { return std::string(); };
  return e;
}

using W = World;
using SH = ncm::stakeholders::StakeholdersHandler;
using RH = ncm::resolutions::ResolutionsHandler;
using MH = ncm::mous::MousHandler;
using FH = ncm::resources::ResourcesHandler;
using AH = ncm::access::PrincipalRegistry;

const std::vector<Entry>& Entries() {
  static const auto* const entries = new std::vector<Entry>{
      Command(&W::stakeholders, &SH::RegisterOrganisation,
              std::function<spb::RegisterOrganisationRequest(const W&)>(
                  [](const W&) {
                    spb::RegisterOrganisationRequest r;
                    r.mutable_profile()->set_name("Kenya Red Cross");
                    r.mutable_profile()->set_acronym("KRCS");
                    r.mutable_profile()->set_kind(spb::CIVIL_SOCIETY);
                    r.mutable_profile()->set_level(spb::COUNTY);
                    r.mutable_profile()->set_county_code("040");
                    r.mutable_profile()->add_thematic_areas("diaspora");
                    r.set_role(spb::PARTNER);
                    return r;
                  })),
      Command(&W::stakeholders, &SH::AmendOrganisation),
      Command(&W::stakeholders, &SH::ChangeMembershipRole),
      Command(&W::stakeholders, &SH::SuspendMembership,
              std::function<spb::MembershipChangeRequest(const W&)>(
                  [](const W& w) {
                    spb::MembershipChangeRequest r;
                    r.set_organisation_id(w.iom);
                    r.set_reason("arrears");
                    return r;
                  })),
      Command(&W::stakeholders, &SH::ReinstateMembership),
      Command(&W::stakeholders, &SH::WithdrawMembership),
      Command(&W::stakeholders, &SH::AppointFocalPoint,
              std::function<spb::AppointFocalPointRequest(const W&)>(
                  [](const W& w) {
                    spb::AppointFocalPointRequest r;
                    r.set_organisation_id(w.iom);
                    r.mutable_new_person()->set_full_name("Jane Wanjiru");
                    r.mutable_new_person()->set_email("jane@example.org");
                    return r;
                  })),
      Command(&W::stakeholders, &SH::EndFocalPointAppointment),
      Command(&W::stakeholders, &SH::RectifyPerson),
      Command(&W::stakeholders, &SH::ForgetPerson),
      Command(&W::stakeholders, &SH::CreateWorkingGroup),
      Command(&W::stakeholders, &SH::AddWorkingGroupMember),
      Command(&W::stakeholders, &SH::RemoveWorkingGroupMember),
      Query(&W::stakeholders, &SH::GetFocalPointsAsOf),
      Query(&W::stakeholders, &SH::ListOrganisations),
      Query(&W::stakeholders, &SH::GetAttendanceRates),

      Command(&W::resolutions, &RH::ScheduleMeeting),
      Command(&W::resolutions, &RH::RescheduleMeeting),
      Command(&W::resolutions, &RH::RecordAttendance,
              std::function<rpb::RecordAttendanceRequest(const W&)>(
                  [](const W& w) {
                    rpb::RecordAttendanceRequest r;
                    r.set_meeting_id(w.meeting);
                    r.set_organisation_id(w.nis);
                    return r;
                  })),
      Command(&W::resolutions, &RH::CloseMeeting),
      Command(&W::resolutions, &RH::CancelMeeting),
      Command(&W::resolutions, &RH::AdoptResolution,
              std::function<rpb::AdoptResolutionRequest(const W&)>(
                  [](const W& w) {
                    auto a = w.Adopt();
                    a.mutable_options()->clear_command_id();
                    return a;
                  })),
      Command(&W::resolutions, &RH::StartImplementation),
      Command(&W::resolutions, &RH::ReportProgress,
              std::function<rpb::ReportProgressRequest(const W&)>(
                  [](const W& w) {
                    rpb::ReportProgressRequest r;
                    r.set_resolution_id(w.resolution);
                    r.set_reporting_organisation_id(w.nis);
                    r.set_percent_complete(40);
                    r.set_narrative("two counties mapped");
                    r.add_evidence_references("doc-1");
                    return r;
                  })),
      Command(&W::resolutions, &RH::MarkImplemented),
      Command(&W::resolutions, &RH::VerifyImplementation),
      Command(&W::resolutions, &RH::RejectVerification),
      Command(&W::resolutions, &RH::DeferResolution,
              std::function<rpb::DeferResolutionRequest(const W&)>(
                  [](const W& w) {
                    rpb::DeferResolutionRequest r;
                    r.set_resolution_id(w.resolution);
                    *r.mutable_new_due_date() = D(2022, 6, 30);
                    r.set_reason("awaiting funds");
                    return r;
                  })),
      Command(&W::resolutions, &RH::ResumeImplementation),
      Command(&W::resolutions, &RH::BlockResolution),
      Command(&W::resolutions, &RH::UnblockResolution),
      Command(&W::resolutions, &RH::RescindResolution),
      Command(&W::resolutions, &RH::SupersedeResolution),
      Command(&W::resolutions, &RH::ReassignLead),
      Query(&W::resolutions, &RH::GetMeeting),
      Query(&W::resolutions, &RH::GetResolution),
      Query(&W::resolutions, &RH::ListResolutions),
      Query(&W::resolutions, &RH::ImplementationReport),

      Command(&W::mous, &MH::DraftMou),
      Command(&W::mous, &MH::AmendMou),
      Command(&W::mous, &MH::SubmitForLegalReview),
      Command(&W::mous, &MH::RecordLegalReview),
      Command(&W::mous, &MH::SignMou),
      Command(&W::mous, &MH::RenewMou),
      Command(&W::mous, &MH::TerminateMou),
      Command(&W::mous, &MH::RecordDelivery),
      Query(&W::mous, &MH::GetMou),
      Query(&W::mous, &MH::GetCompliance),

      Command(&W::resources, &FH::OpenBudget),
      Command(&W::resources, &FH::AddBudgetLine,
              std::function<fpb::AddBudgetLineRequest(const W&)>(
                  [](const W& w) {
                    fpb::AddBudgetLineRequest r;
                    r.set_budget_id(w.budget);
                    r.set_activity_code("1.1");
                    r.set_pillar(1);
                    r.set_description("Stakeholder mapping workshop");
                    r.mutable_figures()->set_unit_cost_minor(350000);
                    r.mutable_figures()->set_quantity(30);
                    r.mutable_figures()->set_days(2);
                    return r;
                  })),
      Command(&W::resources, &FH::ReviseBudgetLine),
      Command(&W::resources, &FH::RecordDeclaredTotal),
      Command(&W::resources, &FH::RecordTransaction,
              std::function<fpb::RecordTransactionRequest(const W&)>(
                  [](const W& w) {
                    fpb::RecordTransactionRequest r;
                    r.set_budget_id(w.budget);
                    r.set_type(fpb::INCOMING_FUNDS);
                    r.set_organisation_id(w.iom);
                    r.mutable_amount()->set_minor_units(1500000);
                    r.mutable_amount()->set_currency("EUR");
                    r.set_exchange_rate("128.4537");
                    *r.mutable_value_date() = D(2021, 2, 1);
                    return r;
                  })),
      Query(&W::resources, &FH::GetBudget),
      Query(&W::resources, &FH::GetFundingPosition),

      Command(&W::registry, &AH::IssueToken,
              std::function<apb::IssueTokenRequest(const W&)>([](const W& w) {
                apb::IssueTokenRequest r;
                r.set_principal_id("iom-sync");
                r.set_role(apb::ROLE_PARTNER);
                r.set_organisation_id(w.iom);
                return r;
              })),
      Command(&W::registry, &AH::BindCertificate),
      Command(&W::registry, &AH::RevokePrincipal),
  };
  return *entries;
}

World* world = nullptr;
int runs = 0;

[[noreturn]] void Finding(const std::string& what) {
  std::fprintf(stderr, "fuzz finding: %s\n", what.c_str());
  std::abort();
}

// What the log gained since `head` must hold only fields its types define,
// and no budget it touched may have a total past 64 bits.
void CheckRecorded(World* w, uint64_t head) {
  ncm::eventstore::ReadAllOptions o;
  o.from_position = head + 1;
  o.max_count = 1000;
  auto page = w->store->ReadAll(o);
  if (!page.ok()) Finding(page.status().ToString());
  for (const auto& e : page->events) {
    const auto* type =
        google::protobuf::DescriptorPool::generated_pool()->FindMessageTypeByName(
            e.event_type);
    if (type == nullptr) Finding("an event of an unknown type: " + e.event_type);
    std::unique_ptr<google::protobuf::Message> m(
        google::protobuf::MessageFactory::generated_factory()
            ->GetPrototype(type)
            ->New());
    if (!m->ParseFromString(e.payload)) Finding("an event that does not parse");
    absl::Status known = ncm::services::CheckKnownFields(*m);
    if (!known.ok()) {
      Finding(absl::StrCat(e.event_type, " recorded an unknown field: ",
                           known.message()));
    }
    if (absl::StartsWith(e.stream_id, "budget-")) {
      const std::string id = e.stream_id.substr(7);
      auto b = ncm::services::Load<fpb::BudgetEvent, ncm::resources::BudgetState>(
          w->store.get(), e.stream_id, id);
      if (!b.ok()) Finding(b.status().ToString());
      const std::string over = ncm::resources::ComputeTotals(b->state).overflowed;
      if (!over.empty()) Finding("an accepted command overflowed " + over);
    }
  }
}

// `bytes` with a field number the type does not define appended at the
// top level (any request), as raw varint field 9999.
std::string WithUnknownField(std::string bytes) {
  google::protobuf::UnknownFieldSet extra;
  extra.AddVarint(9999, 1);
  std::string tail;
  extra.SerializeToString(&tail);
  return bytes + tail;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  world = new World();
  if (const char* dir = std::getenv("NCM_FUZZ_SEEDS")) {
    const auto& entries = Entries();
    for (size_t i = 0; i < entries.size(); ++i) {
      std::string bytes(1, static_cast<char>(i));
      bytes += entries[i].seed(*world);
      std::ofstream(std::string(dir) + "/seed-" + std::to_string(i),
                    std::ios::binary)
          << bytes;
      std::ofstream(std::string(dir) + "/seed-unknown-" + std::to_string(i),
                    std::ios::binary)
          << std::string(1, static_cast<char>(i))
          << WithUnknownField(entries[i].seed(*world));
    }
    // Amounts at the int64 limit, and a sub-message with an unknown field.
    for (size_t i = 0; i < entries.size(); ++i) {
      fpb::RecordTransactionRequest t;
      fpb::AddBudgetLineRequest l;
      std::string seed = entries[i].seed(*world);
      if (t.ParseFromString(seed) && t.has_amount()) {
        t.mutable_amount()->set_minor_units(INT64_MAX);
        google::protobuf::UnknownFieldSet* u =
            t.mutable_amount()->GetReflection()->MutableUnknownFields(
                t.mutable_amount());
        std::ofstream(std::string(dir) + "/seed-max-" + std::to_string(i),
                      std::ios::binary)
            << std::string(1, static_cast<char>(i)) << t.SerializeAsString();
        u->AddLengthDelimited(77, std::string(64, 'x'));
        std::ofstream(std::string(dir) + "/seed-deep-" + std::to_string(i),
                      std::ios::binary)
            << std::string(1, static_cast<char>(i)) << t.SerializeAsString();
      } else if (l.ParseFromString(seed) && l.has_figures()) {
        l.mutable_figures()->set_unit_cost_minor(INT64_MAX);
        l.mutable_figures()->set_quantity(1);
        l.mutable_figures()->set_days(1);
        std::ofstream(std::string(dir) + "/seed-max-" + std::to_string(i),
                      std::ios::binary)
            << std::string(1, static_cast<char>(i)) << l.SerializeAsString();
      }
    }
    std::exit(0);
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  // A fresh world now and then, so that memory stays bounded.
  if (++runs % 20000 == 0) {
    delete world;
    world = new World();
  }
  const auto& entries = Entries();
  const uint64_t head = world->store->HeadPosition();
  entries[data[0] % entries.size()].run(world, data + 1, size - 1);
  if (world->store->HeadPosition() != head) CheckRecorded(world, head);
  return 0;
}
