// audit key, keygen, checkpoint, prove, consistency and cosign: the log as
// a transparency log. Every proof and signature is checked here, against
// keys the user gives, never taken on the server's word.
#include <cstdio>
#include <fstream>
#include <sstream>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "clients/ncmctl/extra.h"
#include "ncm/eventstore/merkle.h"
#include "ncm/eventstore/note.h"
#include "ncm/eventstore/secret_file.h"
#include "ncm/eventstore/v1/transparency.pb.h"
#include "record_codec.h"

namespace ncm::ctl {
namespace {

namespace tpb = ::ncm::eventstore::v1;
namespace merkle = ::ncm::eventstore::merkle;
namespace note = ::ncm::eventstore::note;
namespace codec = ::ncm::eventstore::codec;

constexpr char kService[] = "ncm.eventstore.v1.Transparency/";

std::string ReadWhole(const std::string& path, absl::string_view what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) UsageError(absl::StrCat("cannot read the ", what, " file ", path));
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Writes through a temporary file and a rename, so that a crash leaves the
// old file or the new one.
void WriteWhole(const std::string& path, const std::string& bytes) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << bytes;
    out.flush();
    if (!out) UsageError(absl::StrCat("cannot write ", tmp));
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    UsageError(absl::StrCat("cannot rename ", tmp, " to ", path));
  }
}

// A verifier key given as text or as a file holding it (the first line
// that is not a comment).
note::VerifierKey KeyArg(const std::string& value, absl::string_view flag) {
  std::string text = value;
  std::ifstream probe(value);
  if (probe) {
    std::stringstream ss;
    ss << probe.rdbuf();
    text.clear();
    for (absl::string_view line : absl::StrSplit(ss.str(), '\n')) {
      line = absl::StripAsciiWhitespace(line);
      if (!line.empty() && line[0] != '#') {
        text = std::string(line);
        break;
      }
    }
  }
  absl::StatusOr<note::VerifierKey> k = note::ParseVerifierKey(text);
  if (!k.ok()) {
    UsageError(absl::StrCat("--", flag, ": not a verifier key (", k.status().message(),
                            "); ncmctl audit key prints the log's"));
  }
  return *k;
}

note::VerifierKey LogKeyArg(const Args& a) {
  auto v = a.Get("log-key");
  if (!v) {
    UsageError(
        "--log-key is required: the log's verifier key, as text or a file. "
        "Fetch it once with ncmctl audit key over a channel you trust and "
        "keep it; a key fetched with every check proves nothing");
  }
  note::VerifierKey k = KeyArg(*v, "log-key");
  if (k.type != note::kEd25519) UsageError("--log-key: not a log's key (type 0x01)");
  return k;
}

// A checked failure: printed with what failed, exit 1.
int Refuse(Env& env, absl::string_view verdict, absl::string_view why) {
  *env.out << verdict << ": " << why << "\n";
  env.out->flush();
  return kRefused;
}

struct Opened {
  std::string note;
  note::Checkpoint checkpoint;
};

std::string B64(const merkle::Hash& h) {
  return absl::Base64Escape(
      absl::string_view(reinterpret_cast<const char*>(h.data()), h.size()));
}

// A proof's hashes; false when one is not 32 bytes.
bool ProofHashes(const google::protobuf::RepeatedPtrField<std::string>& in,
                 std::vector<merkle::Hash>* out) {
  for (const std::string& bytes : in) {
    if (bytes.size() != 32) return false;
    merkle::Hash& h = out->emplace_back();
    std::copy(bytes.begin(), bytes.end(), h.begin());
  }
  return true;
}

// Checks a signed checkpoint with the log's key and every --witness-key.
absl::StatusOr<Opened> OpenNote(const std::string& text, const note::VerifierKey& log,
                                const std::vector<note::VerifierKey>& witnesses) {
  absl::StatusOr<note::Checkpoint> c = note::OpenCheckpoint(text, log);
  if (!c.ok()) return c.status();
  absl::StatusOr<note::Note> n = note::ParseNote(text);
  if (!n.ok()) return n.status();
  for (const note::VerifierKey& w : witnesses) {
    absl::Status s = note::VerifySignature(*n, w);
    if (!s.ok()) return s;
  }
  return Opened{text, *c};
}

std::vector<note::VerifierKey> WitnessArgs(const Args& a) {
  std::vector<note::VerifierKey> out;
  for (const std::string& w : a.All("witness-key")) {
    note::VerifierKey k = KeyArg(w, "witness-key");
    if (k.type != note::kCosignatureV1) {
      UsageError("--witness-key: not a witness's key (type 0x04)");
    }
    out.push_back(k);
  }
  return out;
}

// The checkpoint to check against: --checkpoint FILE, or the server's
// latest (checked all the same).
absl::StatusOr<Opened> CheckpointFor(Env& env, const Args& a, const note::VerifierKey& log,
                                     const std::vector<note::VerifierKey>& witnesses,
                                     const std::string& flag = "checkpoint") {
  if (auto f = a.Get(flag)) return OpenNote(ReadWhole(*f, "checkpoint"), log, witnesses);
  tpb::GetCheckpointRequest r;
  r.set_cosigned(!witnesses.empty());
  auto resp = Call(env, absl::StrCat(kService, "GetCheckpoint"), r);
  const auto& c = static_cast<const tpb::SignedCheckpoint&>(*resp);
  absl::StatusOr<Opened> o = OpenNote(c.note(), log, witnesses);
  if (o.ok() && (o->checkpoint.size != c.tree_size() ||
                 c.root_hash() != std::string(reinterpret_cast<const char*>(
                                                  o->checkpoint.root.data()),
                                              32))) {
    return absl::DataLossError(
        "the server's answer names another size or root than its own signed note");
  }
  return o;
}

absl::Status CheckConsistency(Env& env, const note::Checkpoint& older,
                              const note::Checkpoint& newer) {
  if (newer.size < older.size) {
    return absl::DataLossError(absl::StrCat(
        "the log now holds ", newer.size, " records, fewer than the ", older.size,
        " of the older checkpoint: records were removed"));
  }
  tpb::GetConsistencyProofRequest r;
  r.set_first_size(older.size);
  r.set_second_size(newer.size);
  auto resp = Call(env, absl::StrCat(kService, "GetConsistencyProof"), r);
  const auto& p = static_cast<const tpb::ConsistencyProof&>(*resp);
  std::vector<merkle::Hash> path;
  if (!ProofHashes(p.hashes(), &path)) return absl::DataLossError("a proof hash is not 32 bytes");
  return merkle::VerifyConsistency(older.size, newer.size, path, older.root, newer.root);
}

int Key(Env& env, const Command&, const Args& a) {
  auto resp = Call(env, absl::StrCat(kService, "GetLogKey"), tpb::GetLogKeyRequest());
  const auto& k = static_cast<const tpb::LogKey&>(*resp);
  std::string text = absl::StrCat(k.verifier_key(), "\n# origin: ", k.origin(), "\n");
  for (const auto& w : k.witness_keys()) absl::StrAppend(&text, "# witness: ", w, "\n");
  if (auto out = a.Get("out")) {
    WriteWhole(*out, text);
    *env.out << "saved the log's verifier key to " << *out << "\n";
  } else {
    *env.out << text;
  }
  return kOk;
}

int Keygen(Env& env, const Command&, const Args& a) {
  const std::string name = a.Get("name").value_or("");
  const std::string out = a.Get("out").value_or("");
  if (name.empty() || out.empty()) UsageError("--name and --out are required");
  const uint8_t type = a.Has("for-log") ? note::kEd25519 : note::kCosignatureV1;
  absl::StatusOr<note::SigningKey> k = note::GenerateKey(name, type);
  if (!k.ok()) UsageError(std::string(k.status().message()));
  absl::Status s = eventstore::CreateSecretFile(
      out, absl::StrCat(note::FormatSigningKey(*k), "\n"), "signing key");
  if (!s.ok()) UsageError(std::string(s.message()));
  *env.out << note::FormatVerifierKey(note::VerifierOf(*k)) << "\n";
  return kOk;
}

int Checkpoint(Env& env, const Command&, const Args& a) {
  const note::VerifierKey log = LogKeyArg(a);
  const std::vector<note::VerifierKey> witnesses = WitnessArgs(a);
  absl::StatusOr<Opened> o;
  if (auto size = a.Get("size")) {
    tpb::GetCheckpointRequest r;
    uint64_t n = 0;
    if (!absl::SimpleAtoi(*size, &n) || n == 0) UsageError("--size is a tree size from 1");
    r.set_tree_size(n);
    auto resp = Call(env, absl::StrCat(kService, "GetCheckpoint"), r);
    o = OpenNote(static_cast<const tpb::SignedCheckpoint&>(*resp).note(), log, witnesses);
  } else {
    o = CheckpointFor(env, Args(), log, witnesses);
  }
  if (!o.ok()) return Refuse(env, "NOT VERIFIED", o.status().message());
  const std::string& file = a.positional.at(0);
  if (file == "-") {
    *env.out << o->note;
  } else {
    WriteWhole(file, o->note);
    *env.out << "saved the checkpoint of " << o->checkpoint.origin << " at "
             << o->checkpoint.size << " records (root " << B64(o->checkpoint.root)
             << ") to " << file << "; its signature"
             << (witnesses.empty() ? "" : " and cosignatures") << " verified\n";
  }
  return kOk;
}

int Prove(Env& env, const Command&, const Args& a) {
  uint64_t position = 0;
  if (!absl::SimpleAtoi(a.positional.at(0), &position) || position == 0) {
    UsageError("POSITION is a log position from 1");
  }
  const note::VerifierKey log = LogKeyArg(a);
  absl::StatusOr<Opened> c = CheckpointFor(env, a, log, WitnessArgs(a));
  if (!c.ok()) return Refuse(env, "NOT VERIFIED", c.status().message());
  if (position > c->checkpoint.size) {
    return Refuse(env, "NOT PROVEN", absl::StrCat("position ", position,
                                                  " is beyond the checkpoint's ",
                                                  c->checkpoint.size, " records"));
  }
  tpb::GetInclusionProofRequest r;
  r.set_position(position);
  r.set_tree_size(c->checkpoint.size);
  auto resp = Call(env, absl::StrCat(kService, "GetInclusionProof"), r);
  const auto& p = static_cast<const tpb::InclusionProof&>(*resp);
  std::vector<merkle::Hash> path;
  if (!ProofHashes(p.hashes(), &path)) {
    return Refuse(env, "NOT PROVEN", "a proof hash is not 32 bytes");
  }
  // The record is decoded from the very bytes that are hashed.
  absl::StatusOr<eventstore::RecordedEvent> e = codec::DecodeLogValue(
      absl::StrCat(std::string(32, '\0'), p.record(), std::string(32, '\0')));
  if (!e.ok()) return Refuse(env, "NOT PROVEN", "the record sent is not a record");
  if (e->position != position) {
    return Refuse(env, "NOT PROVEN", absl::StrCat("the record sent holds position ",
                                                  e->position, ", not ", position));
  }
  absl::Status s = merkle::VerifyInclusion(position - 1, c->checkpoint.size,
                                           merkle::LeafHash(p.record()), path,
                                           c->checkpoint.root);
  if (!s.ok()) {
    return Refuse(env, "NOT PROVEN",
                  absl::StrCat("position ", position, ": ", s.message()));
  }
  *env.out << "INCLUDED: position " << position << " (" << e->stream_id << " revision "
           << e->revision << ", " << e->event_type << ", recorded "
           << absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", e->recorded_at, absl::UTCTimeZone())
           << ") is in the log of " << c->checkpoint.size << " records signed by "
           << log.name << ", root " << B64(c->checkpoint.root) << "\n";
  return kOk;
}

int Consistency(Env& env, const Command&, const Args& a) {
  const note::VerifierKey log = LogKeyArg(a);
  const std::vector<note::VerifierKey> witnesses = WitnessArgs(a);
  absl::StatusOr<Opened> older =
      OpenNote(ReadWhole(a.positional.at(0), "checkpoint"), log, {});
  if (!older.ok()) {
    return Refuse(env, "NOT VERIFIED", absl::StrCat(a.positional.at(0), ": ",
                                                    older.status().message()));
  }
  absl::StatusOr<Opened> newer = CheckpointFor(env, a, log, witnesses);
  if (!newer.ok()) {
    return Refuse(env, "NOT VERIFIED",
                  absl::StrCat("the newer checkpoint: ", newer.status().message()));
  }
  absl::Status s = CheckConsistency(env, older->checkpoint, newer->checkpoint);
  if (!s.ok()) return Refuse(env, "INCONSISTENT", s.message());
  if (auto save = a.Get("save")) WriteWhole(*save, newer->note);
  *env.out << "CONSISTENT: the log of " << newer->checkpoint.size
           << " records (root " << B64(newer->checkpoint.root) << ") extends the "
           << older->checkpoint.size << " records of " << a.positional.at(0)
           << ": nothing in them was changed or removed\n";
  return kOk;
}

int Cosign(Env& env, const Command&, const Args& a) {
  const note::VerifierKey log = LogKeyArg(a);
  const std::string key_file = a.Get("key").value_or("");
  const std::string state = a.Get("state").value_or("");
  if (key_file.empty() || state.empty()) UsageError("--key and --state are required");
  absl::StatusOr<std::optional<std::string>> text =
      eventstore::ReadSecretFile(key_file, "witness key", 4096);
  if (!text.ok()) UsageError(std::string(text.status().message()));
  if (!text->has_value()) UsageError(absl::StrCat("no witness key file ", key_file));
  absl::StatusOr<note::SigningKey> witness = note::ParseSigningKey(**text);
  if (!witness.ok() || witness->type != note::kCosignatureV1) {
    UsageError(absl::StrCat(key_file, " does not hold a witness's signing key "
                                      "(ncmctl audit keygen makes one)"));
  }
  absl::StatusOr<Opened> latest = CheckpointFor(env, Args(), log, {});
  if (!latest.ok()) return Refuse(env, "NOT VERIFIED", latest.status().message());
  std::ifstream have(state);
  if (have) {
    absl::StatusOr<Opened> last = OpenNote(ReadWhole(state, "witness state"), log, {});
    if (!last.ok()) {
      return Refuse(env, "NOT VERIFIED", absl::StrCat("the witness state ", state, ": ",
                                                      last.status().message()));
    }
    absl::Status s = CheckConsistency(env, last->checkpoint, latest->checkpoint);
    if (!s.ok()) {
      return Refuse(env, "INCONSISTENT",
                    absl::StrCat(s.message(), "; not cosigned. Keep ", state,
                                 " and the server's note as evidence"));
    }
  } else {
    *env.out << "no earlier checkpoint in " << state
             << ": this first one is taken as it is\n";
  }
  absl::StatusOr<note::Note> n = note::ParseNote(latest->note);
  const uint64_t now = static_cast<uint64_t>(absl::ToUnixSeconds(absl::Now()));
  absl::StatusOr<note::Signature> sig = note::Cosign(*witness, n->text, now);
  if (!sig.ok()) UsageError(std::string(sig.status().message()));
  n->signatures.push_back(*sig);
  tpb::AddCosignatureRequest r;
  r.set_note(note::FormatNote(*n));
  auto resp = Call(env, absl::StrCat(kService, "AddCosignature"), r);
  (void)resp;
  WriteWhole(state, latest->note);
  *env.out << "COSIGNED: the checkpoint of " << latest->checkpoint.size
           << " records (root " << B64(latest->checkpoint.root) << ") as "
           << witness->name << "\n";
  return kOk;
}

Command Audit(const std::string& verb, const std::string& summary, Runner run) {
  Command cmd = MakeCommand("audit", verb, summary);
  cmd.run = std::move(run);
  return cmd;
}

const FlagSpec kLogKey{"log-key", "",
                       "the log's verifier key, or a file holding it", true};
const FlagSpec kWitnessKey{"witness-key", "",
                           "also require this witness's cosignature (repeatable)", false};

}  // namespace

std::vector<Command> TransparencyCommands() {
  std::vector<Command> out;
  {
    Command cmd = Audit("key", "The log's verifier key, origin and witnesses", Key);
    cmd.flags = {FlagSpec{"out", "", "save it to this file", false}};
    cmd.more = "Fetch it once over a channel you trust (or take it from the "
               "secretariat's published statement) and keep it: the other "
               "audit commands check signatures against the key you give.";
    cmd.examples = {"ncmctl audit key --out ncm-log.vkey"};
    out.push_back(cmd);
  }
  {
    Command cmd = Audit("keygen", "Make a witness's (or a log's) signing key", Keygen);
    cmd.flags = {FlagSpec{"name", "", "the key's name, e.g. oag.go.ke/witness", true},
                 FlagSpec{"out", "", "the private key file to create (mode 0600)", true},
                 FlagSpec{"for-log", "", "a log's key (type 0x01) instead of a witness's", false}};
    cmd.offline_flag = "out";
    cmd.more = "Prints the verifier key to give to the log's operator "
               "(ncmd --witness_keys).";
    cmd.examples = {"ncmctl audit keygen --name oag.go.ke/witness --out witness.key"};
    out.push_back(cmd);
  }
  {
    Command cmd = Audit("checkpoint", "Save the log's signed checkpoint to a file, checked",
                        Checkpoint);
    cmd.positionals = {{"", "FILE"}};
    cmd.flags = {kLogKey, kWitnessKey,
                 FlagSpec{"size", "", "the checkpoint of this tree size (default the latest)",
                          false}};
    cmd.more = "The checkpoint (C2SP tlog-checkpoint in a signed note) states "
               "the log's size and Merkle root; keep it, and later prove with "
               "audit consistency that the log only grew. FILE - prints it.";
    cmd.examples = {"ncmctl audit checkpoint 2021-Q2.checkpoint --log-key ncm-log.vkey"};
    out.push_back(cmd);
  }
  {
    Command cmd = Audit("prove", "Prove that a position's record is in the log", Prove);
    cmd.positionals = {{"", "POSITION"}};
    cmd.flags = {kLogKey, kWitnessKey,
                 FlagSpec{"checkpoint", "", "against this saved checkpoint (default the "
                                            "latest, checked)", false}};
    cmd.more = "Fetches the record and its audit path and checks, here, that "
               "they lead to the checkpoint's signed root. Exit 1 with NOT "
               "PROVEN and the reason when they do not.";
    cmd.examples = {"ncmctl audit prove 1200 --checkpoint 2021-Q2.checkpoint --log-key ncm-log.vkey"};
    out.push_back(cmd);
  }
  {
    Command cmd = Audit("consistency",
                        "Prove that the log extends a saved checkpoint", Consistency);
    cmd.positionals = {{"", "OLD.checkpoint"}};
    cmd.flags = {kLogKey, kWitnessKey,
                 FlagSpec{"checkpoint", "", "the newer checkpoint (default the latest)", false},
                 FlagSpec{"save", "", "save the newer checkpoint to this file", false}};
    cmd.more = "Checks both signatures and the consistency proof here. Exit 1 "
               "with INCONSISTENT when a record of the old log was changed or "
               "removed.";
    cmd.examples = {"ncmctl audit consistency 2021-Q1.checkpoint --log-key ncm-log.vkey"};
    out.push_back(cmd);
  }
  {
    Command cmd = Audit("cosign", "As a witness, check and cosign the latest checkpoint",
                        Cosign);
    cmd.flags = {kLogKey,
                 FlagSpec{"key", "", "the witness's signing key file (audit keygen)", true},
                 FlagSpec{"state", "", "the file of the last checkpoint cosigned", true}};
    cmd.more = "Checks the log's signature and that the latest checkpoint "
               "extends the one this witness cosigned last (kept in --state), "
               "then cosigns it (C2SP tlog-cosignature v1) and sends the "
               "cosignature to ncmd. A witness that refuses to cosign a "
               "rewritten log makes a split view need its collusion.";
    cmd.examples = {"ncmctl audit cosign --key witness.key --state witness.state "
                    "--log-key ncm-log.vkey"};
    out.push_back(cmd);
  }
  return out;
}

}  // namespace ncm::ctl
