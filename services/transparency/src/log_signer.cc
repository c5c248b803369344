#include "ncm/transparency/log_signer.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "ncm/eventstore/secret_file.h"
#include "ncm/eventstore/status_macros.h"

namespace ncm::transparency {

absl::StatusOr<note::SigningKey> LoadOrCreateSigningKey(const std::string& path,
                                                        const std::string& name,
                                                        bool* created) {
  constexpr char kWhat[] = "checkpoint signing key";
  if (created != nullptr) *created = false;
  NCM_ASSIGN_OR_RETURN(std::optional<std::string> text,
                       eventstore::ReadSecretFile(path, kWhat, 4096));
  if (!text.has_value()) {
    NCM_ASSIGN_OR_RETURN(note::SigningKey k, note::GenerateKey(name, note::kEd25519));
    NCM_RETURN_IF_ERROR(eventstore::CreateSecretFile(
        path, absl::StrCat(note::FormatSigningKey(k), "\n"), kWhat));
    if (created != nullptr) *created = true;
    return k;
  }
  absl::StatusOr<note::SigningKey> k = note::ParseSigningKey(*text);
  if (!k.ok()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the ", kWhat, " file ", path, " does not hold a signing key: ",
        k.status().message()));
  }
  if (k->type != note::kEd25519) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the ", kWhat, " file ", path, " holds a cosigner's key, not a log's"));
  }
  if (!name.empty() && k->name != name) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the ", kWhat, " file ", path, " holds the key of \"", k->name,
        "\", not of \"", name, "\"; give the matching name or file"));
  }
  return k;
}

merkle::NodeReader NodesOf(eventstore::EventStore* store) {
  return [store](int level, uint64_t index) { return store->TreeNode(level, index); };
}

absl::StatusOr<merkle::Hash> TreeRoot(eventstore::EventStore* store, uint64_t size) {
  return merkle::RootAt(NodesOf(store), size);
}

LogSigner::LogSigner(eventstore::EventStore* store, note::SigningKey key,
                     SignerOptions options)
    : store_(store), key_(std::move(key)), options_(std::move(options)) {}

LogSigner::~LogSigner() {
  {
    absl::MutexLock l(&mu_);
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

void LogSigner::Log(absl::string_view level, const std::string& fields) const {
  if (options_.log) options_.log(level, fields);
}

void LogSigner::Start() {
  if (options_.interval > absl::ZeroDuration()) {
    thread_ = std::thread([this] { Loop(); });
  }
}

void LogSigner::Loop() {
  absl::MutexLock l(&mu_);
  while (!stopping_) {
    mu_.AwaitWithTimeout(absl::Condition(&stopping_), options_.interval);
    if (stopping_) break;
    auto latest = store_->checkpoints()->Latest();
    const uint64_t kept = latest.ok() ? latest->first : 0;
    const uint64_t head = store_->HeadPosition();
    if (head <= kept && latest.ok()) continue;
    absl::StatusOr<SignedCheckpoint> made = MakeLocked(head);
    if (!made.ok()) {
      Log("warn", absl::StrCat("msg=\"cannot make the periodic checkpoint\" size=",
                               head, " error=\"", made.status().message(), "\""));
    }
  }
}

absl::StatusOr<SignedCheckpoint> LogSigner::MakeLocked(uint64_t size) {
  NCM_ASSIGN_OR_RETURN(merkle::Hash root, TreeRoot(store_, size));
  note::Checkpoint c;
  c.origin = options_.origin;
  c.size = size;
  c.root = root;
  note::Note n;
  n.text = note::FormatCheckpoint(c);
  NCM_ASSIGN_OR_RETURN(note::Signature sig, note::SignNote(key_, n.text));
  n.signatures.push_back(std::move(sig));
  SignedCheckpoint out{note::FormatNote(n), c};
  NCM_RETURN_IF_ERROR(store_->checkpoints()->Put(size, out.note, options_.keep));
  return out;
}

absl::StatusOr<SignedCheckpoint> LogSigner::Open(const std::string& signed_note) const {
  NCM_ASSIGN_OR_RETURN(note::Checkpoint c,
                       note::OpenCheckpoint(signed_note, verifier(), options_.origin));
  return SignedCheckpoint{signed_note, std::move(c)};
}

absl::Status LogSigner::CheckKept(const SignedCheckpoint& kept) const {
  NCM_ASSIGN_OR_RETURN(merkle::Hash root, TreeRoot(store_, kept.checkpoint.size));
  if (root == kept.checkpoint.root) return absl::OkStatus();
  return absl::DataLossError(absl::StrCat(
      "the checkpoint this log signed at size ", kept.checkpoint.size,
      " names a root its Merkle tree no longer has: the log or its tree was "
      "altered since; run VerifyChain and restore from a backup"));
}

absl::StatusOr<SignedCheckpoint> LogSigner::Latest() {
  absl::MutexLock l(&mu_);
  const uint64_t head = store_->HeadPosition();
  auto latest = store_->checkpoints()->Latest();
  if (latest.ok() && latest->first >= head) {
    auto opened = Open(latest->second);
    // One signed under another origin or key (the configuration changed)
    // is made again.
    if (opened.ok() && opened->checkpoint.size == head) {
      NCM_RETURN_IF_ERROR(CheckKept(*opened));
      return opened;
    }
  } else if (!latest.ok() && !absl::IsNotFound(latest.status())) {
    return latest.status();
  }
  return MakeLocked(head);
}

absl::StatusOr<SignedCheckpoint> LogSigner::At(uint64_t size) {
  const uint64_t head = store_->HeadPosition();
  if (size > head) {
    return absl::OutOfRangeError(absl::StrCat(
        "tree_size ", size, " is beyond the head ", head));
  }
  absl::MutexLock l(&mu_);
  auto kept = store_->checkpoints()->Get(size);
  if (kept.ok()) {
    auto opened = Open(*kept);
    if (opened.ok()) {
      NCM_RETURN_IF_ERROR(CheckKept(*opened));
      return opened;
    }
  } else if (!absl::IsNotFound(kept.status())) {
    return kept.status();
  }
  return MakeLocked(size);
}

absl::StatusOr<SignedCheckpoint> LogSigner::LatestCosigned(size_t scan) {
  if (options_.witnesses.empty()) {
    return absl::NotFoundError("this log has no witnesses configured");
  }
  NCM_ASSIGN_OR_RETURN(std::vector<uint64_t> sizes,
                       store_->checkpoints()->Sizes(scan));
  for (uint64_t size : sizes) {
    auto kept = store_->checkpoints()->Get(size);
    if (!kept.ok()) continue;
    auto n = note::ParseNote(*kept);
    if (!n.ok()) continue;
    bool all = true;
    for (const auto& w : options_.witnesses) {
      all = all && note::VerifySignature(*n, w).ok();
    }
    if (!all) continue;
    auto opened = Open(*kept);
    if (opened.ok()) return opened;
  }
  return absl::NotFoundError(absl::StrCat(
      "none of the ", sizes.size(),
      " newest checkpoints is cosigned by every witness yet"));
}

absl::StatusOr<SignedCheckpoint> LogSigner::AddCosignature(
    const std::string& signed_note) {
  NCM_ASSIGN_OR_RETURN(note::Note given, note::ParseNote(signed_note));
  absl::Status own = note::VerifySignature(given, verifier());
  if (absl::IsNotFound(own)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "note: it carries no signature of this log (", own.message(), ")"));
  }
  NCM_RETURN_IF_ERROR(own);
  NCM_ASSIGN_OR_RETURN(note::Checkpoint c, note::ParseCheckpoint(given.text));
  if (c.origin != options_.origin) {
    return absl::InvalidArgumentError(absl::StrCat(
        "note: the checkpoint is of log \"", c.origin, "\", not \"",
        options_.origin, "\""));
  }
  const uint64_t head = store_->HeadPosition();
  if (c.size > head) {
    return absl::FailedPreconditionError(absl::StrCat(
        "note: the checkpoint's size ", c.size, " is beyond the head ", head));
  }
  NCM_ASSIGN_OR_RETURN(merkle::Hash root, TreeRoot(store_, c.size));
  if (root != c.root) {
    return absl::FailedPreconditionError(absl::StrCat(
        "note: the checkpoint's root is not this log's at size ", c.size,
        " although it carries this log's signature: a split view or a "
        "rewritten log; keep the note as evidence"));
  }
  std::vector<note::Signature> cosignatures;
  for (const note::Signature& s : given.signatures) {
    if (s.name == key_.name &&
        s.key_id == note::KeyId(key_.name, key_.type, key_.public_key)) {
      continue;
    }
    auto w = std::find_if(options_.witnesses.begin(), options_.witnesses.end(),
                          [&](const note::VerifierKey& v) {
                            return v.name == s.name && v.key_id == s.key_id;
                          });
    if (w == options_.witnesses.end()) {
      return absl::PermissionDeniedError(absl::StrCat(
          "note: the signature by \"", s.name,
          "\" is not of a witness this log is configured with "
          "(--witness_keys)"));
    }
    note::Note one{given.text, {s}};
    NCM_RETURN_IF_ERROR(note::VerifySignature(one, *w));
    cosignatures.push_back(s);
  }
  if (cosignatures.empty()) {
    return absl::InvalidArgumentError("note: it carries no witness's cosignature");
  }
  absl::MutexLock l(&mu_);
  // Merges into the kept note: a witness's newer line replaces its older.
  note::Note merged;
  auto kept = store_->checkpoints()->Get(c.size);
  if (kept.ok()) {
    NCM_ASSIGN_OR_RETURN(merged, note::ParseNote(*kept));
  } else if (absl::IsNotFound(kept.status())) {
    merged.text = given.text;
    NCM_ASSIGN_OR_RETURN(note::Signature sig, note::SignNote(key_, given.text));
    merged.signatures.push_back(std::move(sig));
  } else {
    return kept.status();
  }
  if (merged.text != given.text) {
    return absl::FailedPreconditionError(absl::StrCat(
        "note: the kept checkpoint of size ", c.size, " reads otherwise"));
  }
  for (const note::Signature& s : cosignatures) {
    auto same = std::find_if(merged.signatures.begin(), merged.signatures.end(),
                             [&](const note::Signature& m) {
                               return m.name == s.name && m.key_id == s.key_id;
                             });
    if (same != merged.signatures.end()) {
      *same = s;
    } else {
      merged.signatures.push_back(s);
    }
  }
  SignedCheckpoint out{note::FormatNote(merged), c};
  NCM_RETURN_IF_ERROR(store_->checkpoints()->Put(c.size, out.note, options_.keep));
  Log("info", absl::StrCat("msg=\"checkpoint cosigned\" size=", c.size,
                           " witnesses=", cosignatures.size()));
  return out;
}

}  // namespace ncm::transparency
