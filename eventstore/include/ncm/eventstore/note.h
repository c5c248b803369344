// Signed checkpoints of the log: C2SP tlog-checkpoint bodies inside C2SP
// signed notes, signed with Ed25519; witness cosignatures as C2SP
// tlog-cosignature (v1, Ed25519). FORMAT.md gives every byte.
#ifndef NCM_EVENTSTORE_NOTE_H_
#define NCM_EVENTSTORE_NOTE_H_

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "ncm/eventstore/merkle.h"

namespace ncm::eventstore::note {

// Signature types of signed-note key ids.
inline constexpr uint8_t kEd25519 = 0x01;
inline constexpr uint8_t kCosignatureV1 = 0x04;

struct Checkpoint {
  std::string origin;
  uint64_t size = 0;
  merkle::Hash root{};
  std::vector<std::string> extensions;  // extra lines, without newlines
};

// "<origin>\n<size>\n<base64 root>\n" and one line per extension.
std::string FormatCheckpoint(const Checkpoint& c);
// INVALID_ARGUMENT naming the line that is wrong.
absl::StatusOr<Checkpoint> ParseCheckpoint(absl::string_view text);

struct Signature {
  std::string name;
  uint32_t key_id = 0;
  std::string bytes;  // after the key id: the signature (64 bytes for Ed25519)
};

struct Note {
  std::string text;  // ends with a newline
  std::vector<Signature> signatures;
};

// Splits at the last blank line; INVALID_ARGUMENT when malformed.
absl::StatusOr<Note> ParseNote(absl::string_view signed_note);
std::string FormatNote(const Note& n);

// SHA-256(name || 0x0A || type || public key)[:4], big-endian.
uint32_t KeyId(absl::string_view name, uint8_t type,
               absl::string_view public_key);

// An Ed25519 key pair with a signed-note name.
struct SigningKey {
  std::string name;
  std::string seed;        // 32 bytes: the private key
  std::string public_key;  // 32 bytes
  uint8_t type = kEd25519;
};

// A new random key. INVALID_ARGUMENT for a name that signed notes refuse
// (empty, or with a space or '+').
absl::StatusOr<SigningKey> GenerateKey(absl::string_view name, uint8_t type);
// "PRIVATE+KEY+<name>+<key id, 8 hex digits>+<base64(type || seed)>".
std::string FormatSigningKey(const SigningKey& k);
absl::StatusOr<SigningKey> ParseSigningKey(absl::string_view text);

// The verifier key: "<name>+<key id, 8 hex digits>+<base64(type || public key)>".
struct VerifierKey {
  std::string name;
  uint32_t key_id = 0;
  uint8_t type = kEd25519;
  std::string public_key;  // 32 bytes
};
std::string FormatVerifierKey(const VerifierKey& v);
VerifierKey VerifierOf(const SigningKey& k);
// INVALID_ARGUMENT when malformed or when the key id does not match.
absl::StatusOr<VerifierKey> ParseVerifierKey(absl::string_view text);

// Raw Ed25519 (RFC 8032).
absl::StatusOr<std::string> Ed25519Sign(absl::string_view seed,
                                        absl::string_view message);
bool Ed25519Verify(absl::string_view public_key, absl::string_view message,
                   absl::string_view signature);

// The log's signature line over a note text.
absl::StatusOr<Signature> SignNote(const SigningKey& k, absl::string_view text);

// The message a v1 cosignature signs:
// "cosignature/v1\ntime <timestamp>\n" || checkpoint text.
std::string CosignedMessage(absl::string_view text, uint64_t timestamp);
// A witness's cosignature line (key type kCosignatureV1): key id, then the
// timestamp (u64 big-endian), then the signature.
absl::StatusOr<Signature> Cosign(const SigningKey& witness,
                                 absl::string_view text, uint64_t timestamp);

// Checks that `n` carries a valid signature by `v` (for a cosignature
// key, a valid v1 cosignature; `timestamp` then receives its time).
// NOT_FOUND when no signature line names this key; UNAUTHENTICATED when
// one does and it does not verify.
absl::Status VerifySignature(const Note& n, const VerifierKey& v,
                             uint64_t* timestamp = nullptr);

// Parses a signed checkpoint and checks the log's signature; the
// checkpoint's origin must equal `origin` when it is not empty.
absl::StatusOr<Checkpoint> OpenCheckpoint(absl::string_view signed_note,
                                          const VerifierKey& log_key,
                                          absl::string_view origin = "");

}  // namespace ncm::eventstore::note

#endif  // NCM_EVENTSTORE_NOTE_H_
