// Read-side benchmark: generates a history of N resolutions straight into
// a RocksDB log, then measures
//   - the projection's catch-up rate from position 0 and a rebuild's rate,
//   - GetResolution (a fold of one resolution's stream) p50/p99 and qps,
//   - ListResolutions (first page of 100; with filters; by due date),
//   - the implementation report (by lead organisation, by SP),
// over that history. Prints one line per figure.
//
//   deploy/build.sh readside_bench && build/bin/readside_bench
//   build/bin/readside_bench --resolutions=20000   # quicker
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <random>
#include <thread>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "ncm/eventstore/rocksdb_event_store.h"
#include "ncm/resolutions/handler.h"
#include "ncm/resolutions/read_model.h"
#include "ncm/services/ids.h"
#include "tests/bench/bench_util.h"

ABSL_FLAG(int, resolutions, 100000, "Resolutions in the generated history.");
ABSL_FLAG(std::string, dir, "", "Work folder (default: a fresh temp folder).");
ABSL_FLAG(int, seconds, 3, "Duration of each throughput run.");

namespace {

namespace es = ::ncm::eventstore;
namespace pb = ::ncm::resolutions::v1;
using Clock = std::chrono::steady_clock;
using ncm::bench::ComputePercentiles;

double Micros(Clock::duration d) {
  return std::chrono::duration<double, std::micro>(d).count();
}

void Line(const std::string& what, const std::string& figure) {
  std::printf("%-58s %s\n", what.c_str(), figure.c_str());
  std::fflush(stdout);
}

// Appends the events of `n` resolutions, 100 streams per append.
std::vector<std::string> Generate(es::EventStore* store, int n,
                                  uint64_t* events) {
  std::mt19937_64 rng(2021);
  std::vector<std::string> orgs, meetings, ids;
  for (int i = 0; i < 60; ++i) orgs.push_back(ncm::services::NewUuid());
  for (int i = 0; i < 24; ++i) meetings.push_back(ncm::services::NewUuid());
  es::AppendRequest req;
  auto flush = [&] {
    if (req.streams.empty()) return;
    for (auto& w : req.streams) *events += w.events.size();
    auto r = store->Append(std::move(req));
    if (!r.ok()) {
      std::fprintf(stderr, "append: %s\n", r.status().ToString().c_str());
      std::exit(1);
    }
    req = es::AppendRequest();
  };
  for (int i = 0; i < n; ++i) {
    const std::string id = ncm::services::NewUuid();
    ids.push_back(id);
    const int m = static_cast<int>(rng() % meetings.size());
    absl::CivilDay day = absl::CivilDay(2020, 1, 15) + 91 * (m / 2);
    std::vector<pb::ResolutionEvent> evs(1);
    auto* a = evs[0].mutable_adopted();
    a->set_resolution_id(id);
    a->set_meeting_id(meetings[m]);
    *a->mutable_meeting_date() = ncm::services::ToProto(day);
    auto* t = a->mutable_terms();
    t->set_text(absl::StrCat("Generated resolution ", i));
    t->set_lead_organisation_id(orgs[rng() % orgs.size()]);
    t->add_supporting_organisation_ids(orgs[rng() % orgs.size()]);
    *t->mutable_due_date() =
        ncm::services::ToProto(day + 30 + static_cast<int>(rng() % 300));
    t->set_strategic_priority(1 + static_cast<int>(rng() % 6));
    t->set_pillar(1 + static_cast<int>(rng() % 4));
    t->add_gcm_objectives(1 + static_cast<int>(rng() % 23));
    std::vector<absl::CivilDay> days = {day};
    const int steps = static_cast<int>(rng() % 4);
    for (int s = 0; s < steps; ++s) {
      day += 1 + static_cast<int>(rng() % 60);
      days.push_back(day);
      auto& e = evs.emplace_back();
      if (s == 0) {
        e.mutable_started()->set_note("kick-off");
      } else if (s == 1) {
        auto* p = e.mutable_progress_reported();
        p->set_report_id(ncm::services::NewUuid());
        p->set_reporting_organisation_id(t->lead_organisation_id());
        p->set_percent_complete(static_cast<int>(rng() % 101));
        p->set_narrative("progress");
      } else {
        e.mutable_implemented()->add_evidence_references("evidence");
      }
    }
    auto& w = req.streams.emplace_back();
    w.stream_id = "resolution-" + id;
    w.expected = es::ExpectedRevision::NoStream();
    for (size_t k = 0; k < evs.size(); ++k) {
      es::ProposedEvent e = ncm::services::EncodeEvent(evs[k]);
      e.event_id = ncm::services::NewUuid();
      e.occurred_at = ncm::services::DayToTime(days[k]);
      w.events.push_back(std::move(e));
    }
    if (req.streams.size() == 100) flush();
  }
  flush();
  return ids;
}

template <typename Fn>
void Latency(const std::string& what, int calls, Fn fn) {
  std::vector<double> us;
  for (int i = 0; i < calls; ++i) {
    const auto t0 = Clock::now();
    fn(i);
    us.push_back(Micros(Clock::now() - t0));
  }
  auto p = ComputePercentiles(us);
  Line(what, absl::StrFormat("p50 %9.1f us  p99 %9.1f us  (%d calls)", p.p50,
                             p.p99, calls));
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  std::string dir = absl::GetFlag(FLAGS_dir);
  if (dir.empty()) {
    dir = (std::filesystem::temp_directory_path() /
           absl::StrCat("ncm-readside-bench-", ::getpid()))
              .string();
  }
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  es::RocksDbOptions o;
  o.path = dir + "/log";
  auto store = es::OpenRocksDbEventStore(o);
  if (!store.ok()) {
    std::fprintf(stderr, "%s\n", store.status().ToString().c_str());
    return 1;
  }
  const int n = absl::GetFlag(FLAGS_resolutions);
  uint64_t events = 0;
  auto t0 = Clock::now();
  std::vector<std::string> ids = Generate(store->get(), n, &events);
  Line(absl::StrCat("generated ", n, " resolutions"),
       absl::StrFormat("%llu events in %.1f s",
                       static_cast<unsigned long long>(events),
                       Micros(Clock::now() - t0) / 1e6));

  {
    // The floor: reading the log in the runner's pages, nothing applied.
    t0 = Clock::now();
    uint64_t read = 0;
    for (uint64_t from = 1;;) {
      es::ReadAllOptions ro;
      ro.from_position = from;
      ro.max_count = 1000;
      auto page = (*store)->ReadAll(ro);
      if (!page.ok() || page->events.empty()) break;
      read += page->events.size();
      from = page->events.back().position + 1;
    }
    const double s = Micros(Clock::now() - t0) / 1e6;
    Line("log read in pages of 1000 (no projection)",
         absl::StrFormat("%.0f events/s (%.2f s)", read / s, s));
  }
  std::vector<std::unique_ptr<ncm::readside::Projection>> ps;
  ps.push_back(ncm::resolutions::NewResolutionsProjection());
  ncm::readside::ReadSideOptions ro;
  ro.path = dir + "/models";
  auto rs = ncm::readside::OpenReadSide(store->get(), std::move(ps), ro);
  if (!rs.ok()) {
    std::fprintf(stderr, "%s\n", rs.status().ToString().c_str());
    return 1;
  }
  const uint64_t head = (*store)->HeadPosition();
  t0 = Clock::now();
  (void)(*rs)->Start();
  absl::Status s = (*rs)->WaitFor(ncm::resolutions::kResolutionsModel, head,
                                  absl::Minutes(30));
  double secs = Micros(Clock::now() - t0) / 1e6;
  Line("projection catch-up from position 0",
       absl::StrFormat("%.0f events/s (%.2f s)%s", head / secs, secs,
                       s.ok() ? "" : " FAILED"));
  // Let the caught-up model's idle flush finish before timing the rebuild.
  std::this_thread::sleep_for(std::chrono::seconds(3));
  t0 = Clock::now();
  s = (*rs)->Rebuild(ncm::resolutions::kResolutionsModel, absl::Minutes(30));
  secs = Micros(Clock::now() - t0) / 1e6;
  Line("rebuild (drop, then from position 0)",
       absl::StrFormat("%.0f events/s (%.2f s)%s", head / secs, secs,
                       s.ok() ? "" : " FAILED"));

  ncm::stakeholders::StakeholdersHandler sh(
      store->get(), &ncm::stakeholders::CountyList::Kenya());
  ncm::resolutions::ResolutionsHandler h(store->get(), &sh,
                                         &ncm::stakeholders::CountyList::Kenya());
  h.SetReadSide(rs->get(), absl::Seconds(2));
  std::mt19937 rng(7);
  Latency("GetResolution (fold of its stream), 1 client", 20000, [&](int) {
    pb::GetResolutionRequest g;
    g.set_resolution_id(ids[rng() % ids.size()]);
    (void)h.GetResolution(g);
  });
  // Throughput with 2 clients (the machine's cores).
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> calls{0};
  std::vector<std::thread> threads;
  for (int c = 0; c < 2; ++c) {
    threads.emplace_back([&, c] {
      std::mt19937 r(c);
      while (!stop.load(std::memory_order_relaxed)) {
        pb::GetResolutionRequest g;
        g.set_resolution_id(ids[r() % ids.size()]);
        (void)h.GetResolution(g);
        calls.fetch_add(1, std::memory_order_relaxed);
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::seconds(absl::GetFlag(FLAGS_seconds)));
  stop = true;
  for (auto& t : threads) t.join();
  Line("GetResolution, 2 clients",
       absl::StrFormat("%.0f calls/s", calls.load() /
                                           double(absl::GetFlag(FLAGS_seconds))));

  Latency("ListResolutions, first page of 100, no filter", 200, [&](int) {
    pb::ListResolutionsRequest r;
    (void)h.ListResolutions(r);
  });
  Latency("ListResolutions, SP3 + overdue, page of 100", 200, [&](int) {
    pb::ListResolutionsRequest r;
    r.set_strategic_priority(3);
    r.set_overdue_only(true);
    (void)h.ListResolutions(r);
  });
  Latency("ListResolutions, by due date, page of 100", 200, [&](int) {
    pb::ListResolutionsRequest r;
    r.set_order_by(pb::ListResolutionsRequest::BY_DUE_DATE);
    (void)h.ListResolutions(r);
  });
  Latency(absl::StrCat("ImplementationReport by lead org over ", n), 10,
          [&](int) {
            pb::ImplementationReportRequest r;
            *r.mutable_as_of() =
                ncm::services::ToProto(absl::CivilDay(2022, 6, 30));
            (void)h.ImplementationReport(r);
          });
  Latency(absl::StrCat("ImplementationReport by SP over ", n), 10, [&](int) {
    pb::ImplementationReportRequest r;
    r.set_group_by(pb::ImplementationReportRequest::STRATEGIC_PRIORITY);
    (void)h.ImplementationReport(r);
  });
  (*rs)->Stop();
  rs->reset();
  store->reset();
  std::filesystem::remove_all(dir);
  return 0;
}
