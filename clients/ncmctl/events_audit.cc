// events read, tail and import; audit verify (on the server, or of an export file,
// offline), export and replay.
#include <algorithm>
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
#include "ncm/resolutions/domain.h"
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

// Folds every resolution from the log alone, up to a position or the end
// of a recording day, and prints their state then.
int Replay(Env& env, const Command&, const Args& a) {
  uint64_t to = U64(a, "to-position", 0);
  std::optional<absl::Time> until;
  if (auto d = a.Get("to-date")) {
    absl::CivilDay day;
    if (!absl::ParseCivilTime(*d, &day)) UsageError("--to-date is YYYY-MM-DD");
    until = absl::FromCivil(day + 1, absl::UTCTimeZone());
  }
  if (to == 0 && !until) UsageError("give --to-position or --to-date");
  std::map<std::string, resolutions::ResolutionState> states;
  espb::ReadAllRequest r;
  r.set_from_position(1);
  r.set_max_count(5000);
  r.mutable_filter()->add_stream_prefixes("resolution-");
  uint64_t last = 0, applied = 0;
  std::vector<std::string> undecodable;
  const uint64_t head = Head(env);
  Progress bar(env, "replaying", to ? std::min(to, head) : head);
  bool done = false;
  while (!done) {
    auto resp = Call(env, "ncm.eventstore.v1.EventStore/ReadAll", r);
    const auto& page = static_cast<const espb::ReadAllResponse&>(*resp);
    for (const auto& pe : page.events()) {
      const absl::Time recorded = absl::FromUnixSeconds(pe.recorded_at().seconds()) +
                                  absl::Nanoseconds(pe.recorded_at().nanos());
      if ((to && pe.position() > to) || (until && recorded >= *until)) {
        done = true;
        break;
      }
      es::RecordedEvent e;
      e.position = pe.position();
      e.stream_id = pe.stream_id();
      e.event_type = pe.event_type();
      e.payload = pe.payload();
      ncm::resolutions::v1::ResolutionEvent w;
      if (absl::Status d = services::DecodeEvent(e, &w); !d.ok()) {
        undecodable.push_back(absl::StrCat(pe.position(), ": ", d.message()));
        continue;
      }
      services::EventMeta meta;
      meta.revision = pe.revision();
      meta.position = pe.position();
      meta.occurred_on = services::TimeToDay(absl::FromUnixSeconds(pe.occurred_at().seconds()));
      meta.recorded_at = recorded;
      meta.actor = pe.actor();
      Apply(w, meta, &states[pe.stream_id()]);
      last = pe.position();
      ++applied;
    }
    bar.Set(page.next_position());
    if (page.end_of_log()) break;
    r.set_from_position(page.next_position());
  }
  if (env.format == Format::kTable) {
    *env.out << "Replayed " << applied << " resolution events up to position " << last
             << (until ? absl::StrCat(" (recorded before ", *a.Get("to-date"), " ended, UTC)") : "")
             << "\n";
  }
  Table t({"resolution", "reference", "status", "due", "lead", "done", "events"});
  for (const auto& [stream, s] : states) {
    if (!s.exists) continue;
    t.Row({s.resolution_id, s.terms.reference(),
           EnumValueText(ncm::resolutions::v1::ResolutionStatus_descriptor()
                             ->FindValueByNumber(s.status)),
           services::FormatDay(s.DueDate()), Acronym(env, s.terms.lead_organisation_id()),
           absl::StrCat(s.PercentComplete(), "%"), absl::StrCat(s.history.size())});
  }
  t.Print(env);
  if (!undecodable.empty()) {
    *env.err << "ncmctl: " << undecodable.size()
             << " events could not be decoded and were not applied; the first "
                "at position "
             << undecodable.front() << "\n";
    return kRefused;
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
    Command cmd = MakeCommand("audit", "replay", "Every resolution's state at a position or date, from the log alone");
    cmd.flags = {FlagSpec{"to-position", "", "replay up to this position", false},
                 FlagSpec{"to-date", "", "replay what was recorded by the end of "
                                         "this day (UTC)", false}};
    cmd.run = Replay;
    cmd.examples = {"ncmctl audit replay --to-date 2021-06-30",
                    "ncmctl audit replay --to-position 1200 -o csv"};
    out.push_back(cmd);
  }
  return out;
}

}  // namespace ncm::ctl
