// events read, tail and import; audit verify (on the server, or of an export file,
// offline), export and replay (every aggregate, from the server's log or a file).
#include <stdlib.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <map>
#include <set>
#include <fstream>
#include <sstream>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "google/protobuf/util/json_util.h"
#include "absl/strings/str_replace.h"
#include "absl/time/time.h"
#include "absl/synchronization/mutex.h"
#include "clients/common/append_session.h"
#include "clients/ncmctl/extra.h"
#include "ncm/eventstore/v1/eventstore.grpc.pb.h"
#include "ncm/access/registry.h"
#include "ncm/eventstore/rocksdb_event_store.h"
#include "ncm/mous/handler.h"
#include "ncm/resolutions/domain.h"
#include "ncm/resolutions/handler.h"
#include "ncm/resources/handler.h"
#include "ncm/services/gate.h"
#include "ncm/stakeholders/counties.h"
#include "ncm/stakeholders/handler.h"
#include "google/protobuf/util/message_differencer.h"
#include "ncm/services/command.h"
#include "ncm/services/dates.h"
#include "record_codec.h"

namespace ncm::ctl {
namespace {

using google::protobuf::Message;
namespace espb = ::ncm::eventstore::v1;
namespace es = ::ncm::eventstore;
namespace codec = ::ncm::eventstore::codec;

// An export: one header line, then the stored records, framed (u32
// length, big-endian, then the record as FORMAT.md describes it). The
// header says which positions the file holds, how many, and the hash of
// the last, so that a file cut at either end, or emptied, fails:
//   NCM-EXPORT 1 from=1 to=209 count=209 last-hash=<64 hex digits>
// It is written last, over a placeholder of the same length.
constexpr char kExportMagic[] = "NCM-EXPORT 1 ";

std::string Header(uint64_t from, uint64_t to, uint64_t count,
                   const std::string& last_hash_hex) {
  return absl::StrFormat("%sfrom=%020d to=%020d count=%020d last-hash=%64s\n",
                         kExportMagic, from, to, count, last_hash_hex);
}

struct ExportHeader {
  uint64_t from = 0, to = 0, count = 0;
  std::string last_hash;  // hex
};

bool ParseHeader(absl::string_view line, ExportHeader* h) {
  if (!absl::ConsumePrefix(&line, kExportMagic)) return false;
  std::vector<absl::string_view> kv =
      absl::StrSplit(absl::StripTrailingAsciiWhitespace(line), ' ');
  if (kv.size() != 4) return false;
  return absl::ConsumePrefix(&kv[0], "from=") && absl::SimpleAtoi(kv[0], &h->from) &&
         absl::ConsumePrefix(&kv[1], "to=") && absl::SimpleAtoi(kv[1], &h->to) &&
         absl::ConsumePrefix(&kv[2], "count=") && absl::SimpleAtoi(kv[2], &h->count) &&
         absl::ConsumePrefix(&kv[3], "last-hash=") &&
         (h->last_hash = std::string(absl::StripLeadingAsciiWhitespace(kv[3])), true);
}

std::string Hex(const es::Hash& h) {
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(h.data()), h.size()));
}

uint64_t U64(const Args& a, const std::string& flag, uint64_t dflt) {
  auto v = a.Get(flag);
  if (!v) return dflt;
  uint64_t n;
  if (!absl::SimpleAtoi(*v, &n)) UsageError(absl::StrCat("--", flag, " is a number"));
  return n;
}

std::string Ts(const google::protobuf::Timestamp& t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ",
                          absl::FromUnixSeconds(t.seconds()) +
                              absl::Nanoseconds(t.nanos()),
                          absl::UTCTimeZone());
}

void PrintEvents(Env& env, const google::protobuf::RepeatedPtrField<espb::RecordedEvent>& events,
                 bool header) {
  if (env.format == Format::kJson) {
    // One object per line (JSON Lines), hashes in base64.
    google::protobuf::util::JsonPrintOptions o;
    o.preserve_proto_field_names = true;
    for (const auto& e : events) {
      std::string json;
      (void)google::protobuf::util::MessageToJsonString(e, &json, o);
      *env.out << json << "\n";
    }
    env.out->flush();
    return;
  }
  Table t({"position", "recorded", "stream", "revision", "type", "actor",
           "occurred"});
  for (const auto& e : events) {
    t.Row({absl::StrCat(e.position()), Ts(e.recorded_at()), e.stream_id(),
           absl::StrCat(e.revision()), e.event_type(), e.actor(),
           absl::FormatTime("%Y-%m-%d", absl::FromUnixSeconds(e.occurred_at().seconds()),
                            absl::UTCTimeZone())});
  }
  if (!header) {
    // Lines of a follow: no header after the first batch.
    std::stringstream ss;
    Env quiet = env;
    quiet.out = &ss;
    t.Print(quiet);
    std::string s = ss.str();
    *env.out << s.substr(s.find('\n') + 1) << std::flush;
    return;
  }
  t.Print(env);
  env.out->flush();
}

void Filters(const Args& a, espb::Filter* f) {
  for (const auto& p : a.All("prefix")) f->add_stream_prefixes(p);
  for (const auto& t : a.All("type")) f->add_event_types(t);
}

int Read(Env& env, const Command&, const Args& a) {
  if (a.positional.size() != 1) UsageError("usage: ncmctl events read STREAM");
  espb::ReadStreamRequest r;
  r.set_stream_id(a.positional[0]);
  r.set_from_revision(U64(a, "from-revision", 0));
  r.set_max_count(static_cast<uint32_t>(U64(a, "max", 1000)));
  if (a.Has("backward")) {
    r.set_direction(espb::BACKWARD);
    if (!a.Has("from-revision")) r.set_from_end(true);
  }
  auto resp = Call(env, "ncm.eventstore.v1.EventStore/ReadStream", r);
  PrintEvents(env, static_cast<const espb::ReadStreamResponse&>(*resp).events(), true);
  return kOk;
}

int Tail(Env& env, const Command&, const Args& a) {
  if (!a.positional.empty()) UsageError("events tail takes no arguments");
  const bool follow = a.Has("follow");
  if (!follow) {
    // The last --last events (default 20) matching the filters.
    espb::ReadAllRequest r;
    r.set_from_end(true);
    r.set_direction(espb::BACKWARD);
    r.set_max_count(static_cast<uint32_t>(U64(a, "last", 20)));
    Filters(a, r.mutable_filter());
    auto resp = Call(env, "ncm.eventstore.v1.EventStore/ReadAll", r);
    auto events = static_cast<const espb::ReadAllResponse&>(*resp).events();
    std::reverse(events.begin(), events.end());
    PrintEvents(env, events, true);
    return kOk;
  }
  auto stub = espb::EventStore::NewStub(env.channel);
  grpc::ClientContext ctx;
  espb::SubscribeRequest r;
  if (a.Has("from")) {
    r.set_after_position(std::max<uint64_t>(1, U64(a, "from", 1)) - 1);
  } else {
    r.set_from_end(true);
  }
  Filters(a, r.mutable_filter());
  auto reader = stub->Subscribe(&ctx, r);
  espb::SubscribeResponse msg;
  bool header = true;
  while (reader->Read(&msg)) {
    if (msg.has_events() && msg.events().events_size() > 0) {
      PrintEvents(env, msg.events().events(), header);
      header = false;
    }
  }
  grpc::Status s = reader->Finish();
  if (!s.ok()) FailWith(env, s);
  return kOk;
}

// events import FILE: one AppendRequest per line (the protobuf JSON
// mapping), every line checked before anything is sent, then all of them
// over one append session.
int Import(Env& env, const Command&, const Args& a) {
  if (a.positional.size() != 1) UsageError("usage: ncmctl events import FILE");
  const std::string& path = a.positional[0];
  std::ifstream in(path);
  if (!in) Fail(kUsage, absl::StrCat("cannot read ", path));
  std::vector<std::pair<int, espb::AppendRequest>> appends;
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    if (absl::StripAsciiWhitespace(line).empty()) continue;
    espb::AppendRequest r;
    auto parsed = google::protobuf::util::JsonStringToMessage(line, &r);
    if (!parsed.ok()) {
      Fail(kUsage, absl::StrCat(path, " line ", n, " is not an AppendRequest: ",
                                parsed.message().as_string(),
                                "; nothing was sent"));
    }
    appends.emplace_back(n, std::move(r));
  }
  struct Tally {
    absl::Mutex mu;
    uint64_t recorded = 0, replayed = 0, first = 0, last = 0;
    std::vector<std::pair<int, absl::Status>> refused;
  } tally;
  auto stub = espb::EventStore::NewStub(env.channel);
  ncm::client::AppendSession session(stub.get(),
                                     std::make_unique<grpc::ClientContext>(), 512);
  size_t sent = 0;
  absl::Status send_status;
  for (auto& [n, r] : appends) {
    send_status = session.Append(
        std::move(r), [&tally, n = n](const absl::Status& st,
                                      const espb::AppendResponse& resp) {
          absl::MutexLock l(&tally.mu);
          if (!st.ok()) {
            tally.refused.emplace_back(n, st);
            return;
          }
          if (resp.idempotent_replay()) {
            ++tally.replayed;
            return;
          }
          ++tally.recorded;
          if (tally.first == 0 || resp.first_position() < tally.first) {
            tally.first = resp.first_position();
          }
          tally.last = std::max<uint64_t>(tally.last, resp.last_position());
        });
    if (!send_status.ok()) break;
    ++sent;
  }
  const absl::Status ended = session.Close();
  absl::MutexLock l(&tally.mu);
  std::sort(tally.refused.begin(), tally.refused.end(),
            [](const auto& x, const auto& y) { return x.first < y.first; });
  *env.out << "imported " << path << ": " << tally.recorded << " of "
           << appends.size() << " appends recorded";
  if (tally.recorded > 0) {
    *env.out << " (positions " << tally.first << ".." << tally.last << ")";
  }
  *env.out << ", " << tally.replayed << " already recorded, "
           << tally.refused.size() << " refused\n";
  constexpr size_t kShown = 20;
  for (size_t i = 0; i < tally.refused.size() && i < kShown; ++i) {
    const auto& [n, st] = tally.refused[i];
    *env.err << "line " << n << ": " << absl::StatusCodeToString(st.code())
             << ": " << st.message() << "\n";
  }
  if (tally.refused.size() > kShown) {
    *env.err << "... and " << tally.refused.size() - kShown << " more refused\n";
  }
  if (!ended.ok() || !send_status.ok()) {
    const absl::Status& why = !ended.ok() ? ended : send_status;
    FailWith(env, grpc::Status(static_cast<grpc::StatusCode>(why.code()),
                               absl::StrCat(std::string(why.message()), " (",
                                            appends.size() - sent,
                                            " appends not sent; importing the "
                                            "file again is safe: recorded "
                                            "events answer as already "
                                            "recorded)")));
  }
  return tally.refused.empty() ? kOk : kRefused;
}

// The head position, for progress bars and default ranges.
uint64_t Head(Env& env) {
  espb::ReadAllRequest r;
  r.set_from_end(true);
  r.set_direction(espb::BACKWARD);
  r.set_max_count(1);
  r.set_raw(true);
  auto resp = Call(env, "ncm.eventstore.v1.EventStore/ReadAll", r);
  return static_cast<const espb::ReadAllResponse&>(*resp).head_position();
}

// Verifies an export file offline: the header, then every record: it
// decodes, its hash is SHA-256 of its predecessor's hash and its canonical
// bytes, positions run on without a gap from the header's first to its
// last, and the last hash is the header's. The first bad position is
// reported (exit 1).
int VerifyFile(Env& env, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) UsageError(absl::StrCat("cannot read ", path));
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string data = ss.str();
  const size_t eol = data.find('\n');
  ExportHeader h;
  if (eol == std::string::npos ||
      !ParseHeader(absl::string_view(data).substr(0, eol), &h)) {
    Fail(kRefused, absl::StrCat(path, " does not start with an ncmctl audit "
                                      "export header"));
  }
  auto bad = [&](uint64_t position, const std::string& why) {
    *env.out << "TAMPERED: position " << position << ": " << why << "\n";
    return kRefused;
  };
  absl::string_view frames(data);
  frames.remove_prefix(eol + 1);
  const size_t all = frames.size();
  Progress bar(env, "verifying", all);
  absl::string_view value;
  uint64_t expected = h.from, count = 0;
  es::Hash prev{};
  while (!frames.empty()) {
    if (!codec::NextFrame(&frames, &value)) {
      return bad(expected, "the file ends inside a record (truncated)");
    }
    bar.Set(all - frames.size());
    auto e = codec::DecodeLogValue(value);
    if (!e.ok()) return bad(expected, std::string(e.status().message()));
    if (e->position != expected) {
      return bad(expected, absl::StrCat("the record there says position ",
                                        e->position,
                                        "; a record is missing or moved"));
    }
    if (!codec::CheckLogValueHash(value)) {
      return bad(expected, "its hash is not SHA-256 of the previous hash and "
                           "its bytes: the record was changed");
    }
    if (count > 0 && e->prev_hash != prev) {
      return bad(expected, "it does not chain to the record before it");
    }
    if (e->position == 1 && e->prev_hash != es::Hash{}) {
      return bad(1, "the first record must chain to zeros");
    }
    prev = e->hash;
    ++expected;
    ++count;
  }
  if (count != h.count || (count > 0 && expected - 1 != h.to)) {
    return bad(expected, absl::StrCat("the header promises ", h.count,
                                      " records up to position ", h.to,
                                      "; the file holds ", count,
                                      ": records were cut off"));
  }
  if (count > 0 && Hex(prev) != h.last_hash) {
    return bad(h.to, "the last record's hash is not the one in the header");
  }
  *env.out << "OK: " << count << " records verified";
  if (count > 0) {
    *env.out << " (positions " << h.from << " to " << h.to << "), last hash "
             << Hex(prev);
  }
  *env.out << "\n";
  return kOk;
}

int Verify(Env& env, const Command&, const Args& a) {
  if (auto file = a.Get("file")) return VerifyFile(env, *file);
  const uint64_t head = Head(env);
  const uint64_t from = std::max<uint64_t>(1, U64(a, "from", 1));
  const uint64_t to = U64(a, "to", 0) == 0 ? head : U64(a, "to", 0);
  if (to < from) {
    *env.out << "OK: nothing to verify (the log is empty)\n";
    return kOk;
  }
  constexpr uint64_t kChunk = 200000;
  Progress bar(env, "verifying", to - from + 1);
  uint64_t verified = 0;
  std::string head_hash;
  for (uint64_t start = from; start <= to; start += kChunk) {
    espb::VerifyChainRequest r;
    r.set_from_position(start);
    r.set_to_position(std::min(to, start + kChunk - 1));
    auto resp = Call(env, "ncm.eventstore.v1.EventStore/VerifyChain", r);
    const auto& v = static_cast<const espb::VerifyChainResponse&>(*resp);
    if (!v.ok()) {
      *env.out << "TAMPERED: position " << v.first_bad_position() << ": "
               << v.reason() << "\n";
      return kRefused;
    }
    verified += v.verified_count();
    head_hash = v.head_hash();
    bar.Set(verified);
  }
  *env.out << "OK: " << verified << " records verified (positions " << from
           << " to " << to << "), head hash " << absl::BytesToHexString(head_hash)
           << "\n";
  return kOk;
}

int Export(Env& env, const Command&, const Args& a) {
  if (a.positional.size() != 1) UsageError("usage: ncmctl audit export FILE");
  const std::string path = a.positional[0];
  const uint64_t head = Head(env);
  const uint64_t from = std::max<uint64_t>(1, U64(a, "from", 1));
  const uint64_t to = std::min(head, U64(a, "to", 0) == 0 ? head : U64(a, "to", 0));
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) UsageError(absl::StrCat("cannot write ", path));
  const std::string placeholder = Header(0, 0, 0, std::string(64, '0'));
  out << placeholder;
  Progress bar(env, "exporting", to >= from ? to - from + 1 : 0);
  uint64_t next = from, records = 0;
  es::Hash last{};
  while (next <= to) {
    espb::ReadAllRequest r;
    r.set_from_position(next);
    r.set_max_count(10000);
    r.set_raw(true);
    auto resp = Call(env, "ncm.eventstore.v1.EventStore/ReadAll", r);
    const auto& page = static_cast<const espb::ReadAllResponse&>(*resp);
    absl::string_view frames(page.raw_records()), value;
    uint32_t seen = 0;
    while (next <= to && codec::NextFrame(&frames, &value)) {
      ++seen;
      auto pos = codec::PeekPosition(value);
      if (!pos.ok() || *pos != next || value.size() < 64) {
        Fail(kRefused, absl::StrCat("the server sent a record that is not "
                                    "position ",
                                    next, "; the export is incomplete"));
      }
      std::string frame;
      codec::AppendFrame(value, &frame);
      out << frame;
      last = codec::HashOf(value);
      ++records;
      ++next;
    }
    if (next <= to && (seen != page.raw_count() || !frames.empty())) {
      Fail(kRefused, "the server's page of records does not parse; the "
                     "export is incomplete");
    }
    bar.Set(next - from);
    if (seen == 0) break;
  }
  if (records != (to >= from ? to - from + 1 : 0)) {
    Fail(kRefused, absl::StrCat("the log ended at position ", next - 1,
                                " before ", to, "; the export is incomplete"));
  }
  out.seekp(0);
  out << Header(records > 0 ? from : 0, records > 0 ? to : 0, records,
                records > 0 ? Hex(last) : std::string(64, '0'));
  out.close();
  if (!out) UsageError(absl::StrCat("cannot write ", path));
  *env.out << "exported " << records << " records";
  if (records > 0) {
    *env.out << " (positions " << from << " to " << to << ", last hash "
             << Hex(last) << ")";
  }
  *env.out << " to " << path << "; check it with: ncmctl audit verify --file "
           << path << "\n";
  return kOk;
}

// The aggregates a replay rebuilds: stream prefix, the name printed, and
// the live call that answers the same state.
struct Kind {
  const char* prefix;
  const char* name;
  const char* method;  // "" when there is no one-aggregate call
  const char* id_field;
};
constexpr Kind kKinds[] = {
    {"organisation-", "organisations", "ncm.stakeholders.v1.Stakeholders/GetOrganisation",
     "organisation_id"},
    {"person-", "people", "ncm.stakeholders.v1.Stakeholders/GetPerson", "person_id"},
    {"workinggroup-", "working groups", "ncm.stakeholders.v1.Stakeholders/GetWorkingGroup",
     "working_group_id"},
    {"meeting-", "meetings", "ncm.resolutions.v1.Resolutions/GetMeeting", "meeting_id"},
    {"resolution-", "resolutions", "ncm.resolutions.v1.Resolutions/GetResolution",
     "resolution_id"},
    {"mou-", "MOUs", "ncm.mous.v1.Mous/GetMou", "mou_id"},
    {"budget-", "budgets", "ncm.resources.v1.Resources/GetBudget", "budget_id"},
};

// The replayed log: a verifying copy in a temporary folder, fed with the
// stored records, and the services' own handlers over it.
class ReplayedLog {
 public:
  explicit ReplayedLog(const services::Clock& clock) : clock_(clock) {
    std::string tmpl = (std::filesystem::temp_directory_path() / "ncmctl-replay-XXXXXX").string();
    if (mkdtemp(tmpl.data()) == nullptr) UsageError("cannot make a temporary folder");
    dir_ = tmpl;
    es::RocksDbOptions o;
    o.path = dir_ + "/log";
    o.key_encryption_key_file = dir_ + "/kek";
    o.copy_of = "the replayed log";
    auto store = es::OpenRocksDbEventStore(o);
    if (!store.ok()) UsageError(std::string(store.status().message()));
    store_ = std::move(*store);
  }
  ~ReplayedLog() {
    registry_.reset();
    resources_.reset();
    mous_.reset();
    resolutions_.reset();
    stakeholders_.reset();
    store_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  // Appends framed log values; every one is checked (position, link,
  // hash, revision, id) as a read node checks its copy.
  absl::Status Add(absl::string_view frames) { return store_->AppendCopied(frames); }

  void StartHandlers() {
    stakeholders_ = std::make_unique<stakeholders::StakeholdersHandler>(
        store_.get(), &stakeholders::CountyList::Kenya(), clock_);
    resolutions_ = std::make_unique<resolutions::ResolutionsHandler>(
        store_.get(), stakeholders_.get(), &stakeholders::CountyList::Kenya(), clock_);
    mous_ = std::make_unique<mous::MousHandler>(store_.get(), stakeholders_.get(), clock_);
    resources_ = std::make_unique<resources::ResourcesHandler>(store_.get(), stakeholders_.get(),
                                                               clock_);
    registry_ = std::make_unique<access::PrincipalRegistry>(store_.get(), stakeholders_.get(),
                                                            clock_);
  }

  // The state of one aggregate, as its service answers it.
  // `as_of` (when set) is given to the calls that take it (resolutions and
  // MOUs, as they stood on that day).
  absl::StatusOr<std::unique_ptr<Message>> Get(const Kind& k, const std::string& id,
                                               const ncm::common::v1::Date& as_of) {
    const std::string prefix = k.prefix;
    auto wrap = [](auto v) -> absl::StatusOr<std::unique_ptr<Message>> {
      if (!v.ok()) return v.status();
      using T = std::decay_t<decltype(*v)>;
      return std::unique_ptr<Message>(new T(std::move(*v)));
    };
    if (prefix == "organisation-") return wrap(stakeholders_->GetOrganisation(id));
    if (prefix == "person-") return wrap(stakeholders_->GetPerson(id));
    if (prefix == "workinggroup-") return wrap(stakeholders_->GetWorkingGroup(id));
    if (prefix == "meeting-") {
      ncm::resolutions::v1::GetMeetingRequest r;
      r.set_meeting_id(id);
      return wrap(resolutions_->GetMeeting(r));
    }
    if (prefix == "resolution-") {
      ncm::resolutions::v1::GetResolutionRequest r;
      r.set_resolution_id(id);
      *r.mutable_as_of() = as_of;
      return wrap(resolutions_->GetResolution(r));
    }
    if (prefix == "mou-") {
      ncm::mous::v1::GetMouRequest r;
      r.set_mou_id(id);
      *r.mutable_as_of() = as_of;
      return wrap(mous_->GetMou(r));
    }
    ncm::resources::v1::GetBudgetRequest r;
    r.set_budget_id(id);
    return wrap(resources_->GetBudget(r));
  }

  absl::StatusOr<ncm::access::v1::ListPrincipalsResponse> Principals() {
    NCM_RETURN_IF_ERROR(registry_->Load());
    return registry_->ListPrincipals(ncm::access::v1::ListPrincipalsRequest());
  }

  // Every stream id, by category.
  std::map<std::string, std::set<std::string>> Streams() {
    std::map<std::string, std::set<std::string>> out;
    es::ReadAllOptions o;
    o.from_position = 1;
    o.max_count = 10000;
    while (true) {
      auto r = store_->ReadAll(o);
      if (!r.ok()) Fail(kRefused, std::string(r.status().message()));
      for (const auto& e : r->events) {
        out[e.stream_id.substr(0, e.stream_id.find('-') + 1)].insert(e.stream_id);
      }
      if (r->end_of_log || r->events.empty()) break;
      o.from_position = r->next_position;
    }
    return out;
  }

  es::EventStore* store() { return store_.get(); }

 private:
  const services::Clock clock_;
  std::string dir_;
  std::unique_ptr<es::EventStore> store_;
  std::unique_ptr<stakeholders::StakeholdersHandler> stakeholders_;
  std::unique_ptr<resolutions::ResolutionsHandler> resolutions_;
  std::unique_ptr<mous::MousHandler> mous_;
  std::unique_ptr<resources::ResourcesHandler> resources_;
  std::unique_ptr<access::PrincipalRegistry> registry_;
};

// What a replay can know of a state: personal details are withheld (their
// keys are kept beside the log, not in it), and a person counts as erased
// only when the log says it was forgotten (a replay holds no key at all).
void Comparable(Message* m) {
  services::WithholdPersonalData(m);
  const auto* d = m->GetDescriptor();
  const auto* r = m->GetReflection();
  if (d->full_name() == "ncm.stakeholders.v1.Person") {
    const auto* forgotten = d->FindFieldByName("forgotten_on");
    const auto* erased = d->FindFieldByName("erased");
    if (forgotten != nullptr && erased != nullptr && !r->HasField(*m, forgotten)) {
      r->ClearField(m, erased);
    }
    if (const auto* withheld = d->FindFieldByName("withheld")) r->ClearField(m, withheld);
  }
  for (int i = 0; i < d->field_count(); ++i) {
    const auto* f = d->field(i);
    if (f->cpp_type() != google::protobuf::FieldDescriptor::CPPTYPE_MESSAGE) continue;
    if (f->is_repeated()) {
      for (int j = 0; j < r->FieldSize(*m, f); ++j) Comparable(r->MutableRepeatedMessage(m, f, j));
    } else if (r->HasField(*m, f)) {
      Comparable(r->MutableMessage(m, f));
    }
  }
}

// A line's worth of a state: its name or reference, status, percent done.
std::string Summary(const Message& m) {
  std::vector<std::string> parts;
  auto field = [](const Message& at, absl::string_view path, const Message** owner) {
    const Message* cur = &at;
    const google::protobuf::FieldDescriptor* f = nullptr;
    for (absl::string_view part : absl::StrSplit(path, '.')) {
      if (f != nullptr) {
        if (f->cpp_type() != google::protobuf::FieldDescriptor::CPPTYPE_MESSAGE ||
            f->is_repeated()) {
          return static_cast<const google::protobuf::FieldDescriptor*>(nullptr);
        }
        cur = &cur->GetReflection()->GetMessage(*cur, f);
      }
      f = cur->GetDescriptor()->FindFieldByName(std::string(part));
      if (f == nullptr || f->is_repeated()) return static_cast<const google::protobuf::FieldDescriptor*>(nullptr);
    }
    *owner = cur;
    return f;
  };
  for (const char* path : {"profile.acronym", "details.name", "terms.reference", "terms.title",
                           "details.title", "name", "title"}) {
    const Message* owner = nullptr;
    const auto* f = field(m, path, &owner);
    if (f != nullptr && f->cpp_type() == google::protobuf::FieldDescriptor::CPPTYPE_STRING &&
        !owner->GetReflection()->GetString(*owner, f).empty()) {
      parts.push_back(owner->GetReflection()->GetString(*owner, f));
      break;
    }
  }
  const Message* owner = nullptr;
  if (const auto* f = field(m, "status", &owner);
      f != nullptr && f->cpp_type() == google::protobuf::FieldDescriptor::CPPTYPE_ENUM) {
    parts.push_back(EnumValueText(owner->GetReflection()->GetEnum(*owner, f)));
  }
  if (const auto* f = field(m, "percent_complete", &owner);
      f != nullptr && f->cpp_type() == google::protobuf::FieldDescriptor::CPPTYPE_INT32) {
    parts.push_back(absl::StrCat(owner->GetReflection()->GetInt32(*owner, f), "%"));
  }
  if (const auto* f = field(m, "erased", &owner);
      f != nullptr && owner->GetReflection()->GetBool(*owner, f)) {
    parts.push_back("erased");
  }
  return absl::StrJoin(parts, " ");
}

uint64_t RevisionOf(const Message& m) {
  const auto* f = m.GetDescriptor()->FindFieldByName("revision");
  return f != nullptr && f->cpp_type() == google::protobuf::FieldDescriptor::CPPTYPE_UINT64
             ? m.GetReflection()->GetUInt64(m, f)
             : 0;
}

// Rebuilds every aggregate from the log alone — the server's (ReadAll) or
// an export file's — up to a position or the end of a recording day, with
// the services' own domain code, and prints each one's state; --compare
// holds each to what the live server answers for it.
int Replay(Env& env, const Command&, const Args& a) {
  uint64_t to = U64(a, "to-position", 0);
  std::optional<absl::Time> until;
  if (auto d = a.Get("to-date")) {
    absl::CivilDay day;
    if (!absl::ParseCivilTime(*d, &day)) UsageError("--to-date is YYYY-MM-DD");
    until = absl::FromCivil(day + 1, absl::UTCTimeZone());
  }
  const bool compare = a.Has("compare");
  if (compare && a.Has("file")) {
    UsageError("--compare holds the replay to the live server: replay the server's log "
               "(no --file)");
  }
  if (compare && (to != 0 || until)) {
    UsageError("--compare holds the replay to the live answers: replay the whole log "
               "(no --to-position or --to-date)");
  }
  std::set<std::string> wanted;
  for (const std::string& k : a.All("kind")) {
    for (absl::string_view part : absl::StrSplit(k, ',', absl::SkipEmpty())) {
      wanted.insert(std::string(part));
    }
  }
  ncm::common::v1::Date as_of;
  if (auto d = a.Get("as-of")) {
    absl::CivilDay day;
    if (!absl::ParseCivilTime(*d, &day)) UsageError("--as-of is YYYY-MM-DD");
    as_of.set_year(static_cast<int32_t>(day.year()));
    as_of.set_month(day.month());
    as_of.set_day(day.day());
  }
  services::Clock clock;
  if (!absl::LoadTimeZone(a.Get("time-zone").value_or("Africa/Nairobi"), &clock.zone)) {
    UsageError("--time-zone: not a time zone name");
  }
  ReplayedLog log(clock);
  uint64_t last = 0;
  std::string chunk;
  size_t in_chunk = 0;
  auto flush = [&] {
    if (in_chunk == 0) return;
    absl::Status s = log.Add(chunk);
    if (!s.ok()) {
      *env.out << "TAMPERED: " << s.message() << "\n";
      env.out->flush();
      std::exit(kRefused);
    }
    chunk.clear();
    in_chunk = 0;
  };
  // Takes one stored value; false once past the replay's end.
  auto take = [&](absl::string_view value) {
    auto e = codec::DecodeLogValue(value);
    if (!e.ok()) {
      *env.out << "TAMPERED: position " << last + 1 << ": " << e.status().message() << "\n";
      std::exit(kRefused);
    }
    if ((to && e->position > to) || (until && e->recorded_at >= *until)) return false;
    codec::AppendFrame(value, &chunk);
    last = e->position;
    if (++in_chunk == 5000) flush();
    return true;
  };
  if (auto file = a.Get("file")) {
    std::ifstream in(*file, std::ios::binary);
    if (!in) UsageError(absl::StrCat("cannot read ", *file));
    std::stringstream ss;
    ss << in.rdbuf();
    const std::string data = ss.str();
    const size_t eol = data.find('\n');
    ExportHeader h;
    if (eol == std::string::npos || !ParseHeader(absl::string_view(data).substr(0, eol), &h)) {
      Fail(kRefused, absl::StrCat(*file, " does not start with an ncmctl audit export header"));
    }
    if (h.count > 0 && h.from != 1) {
      UsageError(absl::StrCat(*file, " starts at position ", h.from,
                              "; a replay needs the log from position 1"));
    }
    absl::string_view frames(data), value;
    frames.remove_prefix(eol + 1);
    while (codec::NextFrame(&frames, &value) && take(value)) {
    }
  } else {
    espb::ReadAllRequest r;
    r.set_from_position(1);
    r.set_max_count(5000);
    r.set_raw(true);
    bool more = true;
    while (more) {
      auto resp = Call(env, "ncm.eventstore.v1.EventStore/ReadAll", r);
      const auto& page = static_cast<const espb::ReadAllResponse&>(*resp);
      absl::string_view frames(page.raw_records()), value;
      while (more && codec::NextFrame(&frames, &value)) more = take(value);
      if (page.end_of_log() || page.raw_count() == 0) break;
      r.set_from_position(page.next_position());
    }
  }
  flush();
  log.StartHandlers();

  const auto streams = log.Streams();
  Table t({"kind", "id", "state", "revision"});
  int compared = 0, differing = 0, counted = 0;
  std::vector<std::string> counts;
  std::vector<std::string> differences;
  std::string last_difference;
  auto live_equal = [&](const std::string& method, const Message& request,
                        Message* replayed) {
    auto live = Call(env, method, request);
    Comparable(live.get());
    Comparable(replayed);
    ++compared;
    google::protobuf::util::MessageDifferencer d;
    std::string report;
    d.ReportDifferencesToString(&report);
    if (d.Compare(*replayed, *live)) return true;
    ++differing;
    // The first difference, replayed value first: "modified: f: a -> b".
    last_difference = report.substr(0, std::min<size_t>(report.find('\n'), 300));
    return false;
  };
  for (const Kind& k : kKinds) {
    if (!wanted.empty() && !wanted.count(k.name) && !wanted.count(std::string(k.prefix, strlen(k.prefix) - 1))) continue;
    auto it = streams.find(k.prefix);
    int n = 0;
    if (it != streams.end()) {
      for (const std::string& stream : it->second) {
        const std::string id = stream.substr(strlen(k.prefix));
        auto state = log.Get(k, id, as_of);
        if (!state.ok()) {
          // Not an aggregate of its own (e.g. a resolution adopted after
          // the replay's day is NOT_FOUND): say so and go on.
          t.Row({k.name, id, absl::StrCat("(", state.status().message(), ")"), ""});
          continue;
        }
        ++n;
        Comparable(state->get());
        t.Row({k.name, id, Summary(**state), absl::StrCat(RevisionOf(**state))});
        if (compare) {
          auto req = NewRequest(k.method);
          req->GetReflection()->SetString(
              req.get(), req->GetDescriptor()->FindFieldByName(k.id_field), id);
          if (const auto* f = req->GetDescriptor()->FindFieldByName("as_of");
              f != nullptr && a.Has("as-of")) {
            req->GetReflection()->MutableMessage(req.get(), f)->CopyFrom(as_of);
          }
          if (!live_equal(k.method, *req, state->get())) {
            differences.push_back(absl::StrCat(k.name, " ", id, " (", last_difference, ")"));
          }
        }
      }
    }
    counted += n;
    counts.push_back(absl::StrCat(n, " ", k.name));
  }
  if (wanted.empty() || wanted.count("principals")) {
    auto principals = log.Principals();
    if (!principals.ok()) Fail(kRefused, std::string(principals.status().message()));
    for (const auto& p : principals->principals()) {
      t.Row({"principals", p.principal_id(),
             absl::StrCat(ncm::access::v1::Role_Name(p.role()), p.revoked() ? " revoked" : ""),
             ""});
    }
    counts.push_back(absl::StrCat(principals->principals_size(), " principals"));
    if (compare) {
      auto mine = std::make_unique<ncm::access::v1::ListPrincipalsResponse>(*principals);
      if (!live_equal("ncm.access.v1.Access/ListPrincipals",
                      ncm::access::v1::ListPrincipalsRequest(), mine.get())) {
        differences.push_back(absl::StrCat("principals (", last_difference, ")"));
      }
    }
  }
  if (env.format == Format::kTable) {
    *env.out << "Replayed " << last << " records"
             << (until ? absl::StrCat(" (recorded before ", *a.Get("to-date"), " ended, UTC)")
                       : "")
             << ", each checked as it was copied: " << absl::StrJoin(counts, ", ") << "\n";
  }
  t.Print(env);
  if (compare) {
    const uint64_t live_head = Head(env);
    if (live_head != last) {
      *env.out << "DIFFERENT: the live log holds " << live_head << " records, the replay "
               << last << "; compare again when no one is writing\n";
      return kRefused;
    }
    if (differing > 0) {
      *env.out << "DIFFERENT: " << differing << " of " << compared
               << " answers differ from the replay: " << absl::StrJoin(differences, "; ")
               << "\n";
      return kRefused;
    }
    *env.out << "EQUAL: all " << compared << " live answers equal the replay of the log\n";
  }
  return kOk;
}

}  // namespace

std::vector<Command> EventCommands() {
  std::vector<Command> out;
  {
    Command cmd = MakeCommand("events", "read", "Read a stream's events");
    cmd.positionals = {{"", "STREAM"}};
    cmd.flags = {FlagSpec{"from-revision", "", "first revision (default 0)", false},
                 FlagSpec{"backward", "", "newest first", false},
                 FlagSpec{"max", "", "at most this many (default 1000)", false}};
    cmd.run = Read;
    cmd.examples = {"ncmctl events read resolution-8c1d...",
                    "ncmctl events read principal-admin -o json"};
    out.push_back(cmd);
  }
  {
    Command cmd = MakeCommand("events", "tail", "The latest events, or follow new ones (-f)");
    cmd.flags = {FlagSpec{"prefix", "", "stream prefix, e.g. resolution- (repeatable)", false},
                 FlagSpec{"type", "", "event type (repeatable)", false},
                 FlagSpec{"last", "", "how many (default 20; without -f)", false},
                 FlagSpec{"from", "", "with -f: from this position (default: new ones)", false},
                 FlagSpec{"follow", "", "keep following (also -f)", false}};
    cmd.run = Tail;
    cmd.examples = {"ncmctl events tail --prefix resolution-",
                    "ncmctl events tail -f --type ncm.resolutions.v1.ProgressReported"};
    out.push_back(cmd);
  }
  {
    Command cmd = MakeCommand("events", "import",
                              "Append many events from a file, over one append session");
    cmd.positionals = {{"", "FILE"}};
    cmd.run = Import;
    cmd.more =
        "FILE holds one EventStore AppendRequest per line in the protobuf "
        "JSON mapping (streamId, expected, events with eventId, eventType "
        "and a base64 payload). Every line is checked before anything is "
        "sent. Each append is answered on its own: the refused ones are "
        "listed by line (exit 1). Event ids make a second import of the "
        "same file harmless.";
    cmd.examples = {"ncmctl events import iom-2021-sync.jsonl"};
    out.push_back(cmd);
  }
  {
    Command cmd = MakeCommand("audit", "verify", "Verify the hash chain, on the server or in an export file");
    cmd.flags = {FlagSpec{"from", "", "first position (default 1)", false},
                 FlagSpec{"to", "", "last position (default the head)", false},
                 FlagSpec{"file", "", "verify this export offline instead", false}};
    cmd.run = Verify;
    cmd.offline_flag = "file";
    cmd.more = "Prints OK and the head hash, or TAMPERED with the first bad "
               "position (exit 1).";
    cmd.examples = {"ncmctl audit verify", "ncmctl audit verify --file ncm-2021.export"};
    out.push_back(cmd);
  }
  {
    Command cmd = MakeCommand("audit", "export", "Export the log's records, byte for byte, to a file");
    cmd.positionals = {{"", "FILE"}};
    cmd.flags = {FlagSpec{"from", "", "first position (default 1)", false},
                 FlagSpec{"to", "", "last position (default the head)", false}};
    cmd.run = Export;
    cmd.more = "The file holds the stored records (eventstore/FORMAT.md), so "
               "anyone can check it with ncmctl audit verify --file, or by hand "
               "with sha256sum.";
    cmd.examples = {"ncmctl audit export ncm-2021.export"};
    out.push_back(cmd);
  }
  {
    Command cmd = MakeCommand("audit", "replay",
                              "Every aggregate's state at a position or date, from the log alone");
    cmd.flags = {FlagSpec{"to-position", "", "replay up to this position", false},
                 FlagSpec{"to-date", "", "replay what was recorded by the end of "
                                         "this day (UTC)", false},
                 FlagSpec{"kind", "", "only these: organisations, people, working groups, "
                                      "meetings, resolutions, MOUs, budgets, principals "
                                      "(or their stream category; repeatable)", false},
                 FlagSpec{"file", "", "replay this export (from position 1) instead of the "
                                      "server's log", false},
                 FlagSpec{"compare", "", "hold every state to the live server's answer "
                                         "(whole log only)", false},
                 FlagSpec{"as-of", "", "resolutions and MOUs as they stood on this day "
                                       "(what happened by then; default today)", false},
                 FlagSpec{"time-zone", "", "where \"today\" is reckoned (default "
                                           "Africa/Nairobi, as ncmd)", false}};
    cmd.run = Replay;
    cmd.offline_flag = "file";
    cmd.more = "The records are copied into a temporary store that checks each "
               "one (position, link, hash, revision, id) and folded by the "
               "services' own domain code. With --compare, every organisation, "
               "person, working group, meeting, resolution, MOU, budget and the "
               "principals are held to the live answers (personal details "
               "withheld on both sides: their keys are not in the log); EQUAL, "
               "or DIFFERENT naming each and exit 1.";
    cmd.examples = {"ncmctl audit replay --to-date 2021-06-30",
                    "ncmctl audit replay --kind resolutions --to-position 1200 -o csv",
                    "ncmctl audit replay --compare"};
    out.push_back(cmd);
  }
  return out;
}

}  // namespace ncm::ctl
