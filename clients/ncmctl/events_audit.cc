// events read and tail; audit verify (on the server, or of an export file,
// offline), export and replay.
#include <fstream>
#include <sstream>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/time/time.h"
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

constexpr char kExportMagic[] = "NCM-EXPORT 1\n";

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
    for (const auto& e : events) {
      espb::RecordedEvent copy = e;
      copy.clear_prev_hash();
      copy.clear_hash();
      PrintJson(env, copy);
    }
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
  if (!header && env.format == Format::kTable) {
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
    r.set_after_position(U64(a, "from", 1) - 1);
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
  if (!s.ok()) {
    Fail(s.error_code() == grpc::StatusCode::UNAVAILABLE ? kNoServer : kRefused,
         s.error_message());
  }
  return kOk;
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

// Verifies an export file offline: every record decodes, its hash is
// SHA-256 of its predecessor's hash and its canonical bytes, positions run
// on without a gap. Returns the first bad position, 0 when all is well.
int VerifyFile(Env& env, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) UsageError(absl::StrCat("cannot read ", path));
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string data = ss.str();
  if (data.rfind(kExportMagic, 0) != 0) {
    Fail(kRefused, absl::StrCat(path, " is not an ncmctl audit export"));
  }
  absl::string_view frames(data);
  frames.remove_prefix(sizeof(kExportMagic) - 1);
  Progress bar(env, "verifying", frames.size());
  const size_t all = frames.size();
  absl::string_view value;
  uint64_t expected = 0, count = 0;
  es::Hash prev{};
  bool first = true;
  auto bad = [&](uint64_t position, const std::string& why) {
    *env.out << "TAMPERED: position " << position << ": " << why << "\n";
    return kRefused;
  };
  while (!frames.empty()) {
    if (!codec::NextFrame(&frames, &value)) {
      return bad(expected, "the file ends inside a record (truncated)");
    }
    bar.Set(all - frames.size());
    auto e = codec::DecodeLogValue(value);
    if (!e.ok()) {
      return bad(first ? 0 : expected, std::string(e.status().message()));
    }
    if (first) {
      expected = e->position;
      first = false;
    }
    if (e->position != expected) {
      return bad(expected, absl::StrCat("the record there says position ",
                                        e->position, "; a record is missing or moved"));
    }
    if (!codec::CheckLogValueHash(value)) {
      return bad(expected, "its hash is not SHA-256 of the previous hash and its "
                           "bytes: the record was changed");
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
  *env.out << "OK: " << count << " records verified"
           << (count > 0 ? absl::StrCat(" (positions ", expected - count, " to ",
                                        expected - 1, "), head hash ",
                                        absl::BytesToHexString(absl::string_view(
                                            reinterpret_cast<const char*>(prev.data()),
                                            prev.size())))
                         : "")
           << "\n";
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
  const uint64_t to = U64(a, "to", 0) == 0 ? head : U64(a, "to", 0);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) UsageError(absl::StrCat("cannot write ", path));
  out << kExportMagic;
  Progress bar(env, "exporting", to >= from ? to - from + 1 : 0);
  uint64_t next = from, records = 0;
  while (next <= to) {
    espb::ReadAllRequest r;
    r.set_from_position(next);
    r.set_max_count(10000);
    r.set_raw(true);
    auto resp = Call(env, "ncm.eventstore.v1.EventStore/ReadAll", r);
    const auto& page = static_cast<const espb::ReadAllResponse&>(*resp);
    // Keep whole frames up to `to`.
    absl::string_view frames(page.raw_records()), value;
    while (codec::NextFrame(&frames, &value)) {
      auto pos = codec::PeekPosition(value);
      if (!pos.ok() || *pos > to) {
        next = to + 1;
        break;
      }
      std::string frame;
      codec::AppendFrame(value, &frame);
      out << frame;
      ++records;
      next = *pos + 1;
    }
    bar.Set(next - from);
    if (page.end_of_log() || page.raw_count() == 0) break;
  }
  out.close();
  if (!out) Fail(kRefused, absl::StrCat("cannot write ", path));
  *env.out << "exported " << records << " records (positions " << from << " to "
           << (records > 0 ? from + records - 1 : from) << ") to " << path
           << "; check it with: ncmctl audit verify --file " << path << "\n";
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
      if (!services::DecodeEvent(e, &w).ok()) continue;
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
           absl::AsciiStrToLower(absl::StrReplaceAll(
               resolutions::StatusName(s.status), {{"_", "-"}})),
           services::FormatDay(s.DueDate()), Acronym(env, s.terms.lead_organisation_id()),
           absl::StrCat(s.PercentComplete(), "%"), absl::StrCat(s.history.size())});
  }
  t.Print(env);
  return kOk;
}

}  // namespace

std::vector<Command> EventCommands() {
  std::vector<Command> out;
  {
    Command cmd;
    cmd.group = "events";
    cmd.verb = "read";
    cmd.summary = "Read a stream's events";
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
    Command cmd;
    cmd.group = "events";
    cmd.verb = "tail";
    cmd.summary = "The latest events, or follow new ones (-f)";
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
    Command cmd;
    cmd.group = "audit";
    cmd.verb = "verify";
    cmd.summary = "Verify the hash chain, on the server or in an export file";
    cmd.flags = {FlagSpec{"from", "", "first position (default 1)", false},
                 FlagSpec{"to", "", "last position (default the head)", false},
                 FlagSpec{"file", "", "verify this export offline instead", false}};
    cmd.run = Verify;
    cmd.more = "Prints OK and the head hash, or TAMPERED with the first bad "
               "position (exit 1).";
    cmd.examples = {"ncmctl audit verify", "ncmctl audit verify --file ncm-2021.export"};
    out.push_back(cmd);
  }
  {
    Command cmd;
    cmd.group = "audit";
    cmd.verb = "export";
    cmd.summary = "Export the log's records, byte for byte, to a file";
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
    Command cmd;
    cmd.group = "audit";
    cmd.verb = "replay";
    cmd.summary = "Every resolution's state at a position or date, from the log alone";
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
