#include "ncm/eventstore/note.h"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <memory>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "ncm/eventstore/status_macros.h"
#include "record_codec.h"

namespace ncm::eventstore::note {
namespace {

constexpr char kEmDash[] = "\xe2\x80\x94";
constexpr char kPrivatePrefix[] = "PRIVATE+KEY+";
constexpr char kCosignatureHeader[] = "cosignature/v1\n";

struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;
using MdCtx = std::unique_ptr<EVP_MD_CTX, MdCtxFree>;

const unsigned char* Bytes(absl::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

// Strict standard base64 (RFC 4648 section 4, padded): decodes, then
// encodes again, so that only the one canonical spelling is taken.
bool StrictBase64(absl::string_view in, std::string* out) {
  if (!absl::Base64Unescape(in, out)) return false;
  return absl::Base64Escape(*out) == in;
}

absl::Status CheckKeyName(absl::string_view name) {
  if (name.empty()) return absl::InvalidArgumentError("a key name must not be empty");
  for (unsigned char c : name) {
    if (c <= 0x20 || c == '+' || c == 0x7f) {
      return absl::InvalidArgumentError(absl::StrCat(
          "key name \"", name, "\" holds a space, a control character or '+'"));
    }
  }
  return absl::OkStatus();
}

std::string U32(uint32_t v) {
  std::string s(4, '\0');
  for (int i = 0; i < 4; ++i) s[i] = static_cast<char>(v >> (24 - 8 * i));
  return s;
}

uint32_t GetU32(absl::string_view s) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v = (v << 8) | static_cast<uint8_t>(s[i]);
  return v;
}

absl::StatusOr<std::string> PublicOf(absl::string_view seed) {
  Pkey key(EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, Bytes(seed),
                                        seed.size()));
  if (key == nullptr) return absl::InvalidArgumentError("not an Ed25519 private key");
  std::string pub(32, '\0');
  size_t len = pub.size();
  if (EVP_PKEY_get_raw_public_key(key.get(), reinterpret_cast<unsigned char*>(pub.data()),
                                  &len) != 1 ||
      len != 32) {
    return absl::InternalError("cannot derive the Ed25519 public key");
  }
  return pub;
}

// "<a>+<b>+<c>" parts of a key, and its key id and type || key bytes.
absl::Status ParseKeyParts(absl::string_view text, std::string* name,
                           uint32_t* id, uint8_t* type, std::string* key) {
  // The base64 key may hold '+' itself: only the first two separate.
  std::vector<absl::string_view> parts = absl::StrSplit(text, absl::MaxSplits('+', 2));
  if (parts.size() != 3) {
    return absl::InvalidArgumentError(
        "a key reads <name>+<key id>+<base64 key>");
  }
  NCM_RETURN_IF_ERROR(CheckKeyName(parts[0]));
  *name = std::string(parts[0]);
  if (parts[1].size() != 8 || !absl::SimpleHexAtoi(parts[1], id) ||
      absl::StrFormat("%08x", *id) != parts[1]) {
    return absl::InvalidArgumentError(absl::StrCat(
        "key id \"", parts[1], "\" is not 8 lower-case hex digits"));
  }
  std::string raw;
  if (!StrictBase64(parts[2], &raw) || raw.size() != 33) {
    return absl::InvalidArgumentError(
        "the key is not base64 of a type byte and 32 key bytes");
  }
  *type = static_cast<uint8_t>(raw[0]);
  if (*type != kEd25519 && *type != kCosignatureV1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "key type 0x", absl::Hex(*type, absl::kZeroPad2),
        " is not Ed25519 (0x01) or an Ed25519 cosigner (0x04)"));
  }
  *key = raw.substr(1);
  return absl::OkStatus();
}

}  // namespace

std::string FormatCheckpoint(const Checkpoint& c) {
  std::string out = absl::StrCat(
      c.origin, "\n", c.size, "\n",
      absl::Base64Escape(absl::string_view(
          reinterpret_cast<const char*>(c.root.data()), c.root.size())),
      "\n");
  for (const auto& e : c.extensions) absl::StrAppend(&out, e, "\n");
  return out;
}

absl::StatusOr<Checkpoint> ParseCheckpoint(absl::string_view text) {
  if (text.empty() || text.back() != '\n') {
    return absl::InvalidArgumentError("a checkpoint ends with a newline");
  }
  text.remove_suffix(1);
  std::vector<absl::string_view> lines = absl::StrSplit(text, '\n');
  if (lines.size() < 3) {
    return absl::InvalidArgumentError(
        "a checkpoint has at least three lines: origin, tree size, root hash");
  }
  Checkpoint c;
  if (lines[0].empty()) return absl::InvalidArgumentError("line 1: the origin is empty");
  c.origin = std::string(lines[0]);
  if (lines[1].empty() || (lines[1].size() > 1 && lines[1][0] == '0') ||
      lines[1].find_first_not_of("0123456789") != absl::string_view::npos ||
      !absl::SimpleAtoi(lines[1], &c.size)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "line 2: \"", lines[1].substr(0, 40),
        "\" is not a tree size (decimal, no leading zeros)"));
  }
  std::string root;
  if (!StrictBase64(lines[2], &root) || root.size() != 32) {
    return absl::InvalidArgumentError(
        "line 3: the root hash is not base64 of 32 bytes");
  }
  std::copy(root.begin(), root.end(), c.root.begin());
  for (size_t i = 3; i < lines.size(); ++i) {
    if (lines[i].empty()) {
      return absl::InvalidArgumentError(absl::StrCat("line ", i + 1, " is empty"));
    }
    c.extensions.emplace_back(lines[i]);
  }
  return c;
}

absl::StatusOr<Note> ParseNote(absl::string_view in) {
  for (unsigned char c : in) {
    if (c < 0x20 && c != '\n') {
      return absl::InvalidArgumentError(
          "a signed note holds no control character but newline");
    }
  }
  const size_t split = in.rfind("\n\n");
  if (split == absl::string_view::npos) {
    return absl::InvalidArgumentError(
        "a signed note is text, a blank line, then signature lines");
  }
  Note n;
  n.text = std::string(in.substr(0, split + 1));
  absl::string_view sigs = in.substr(split + 2);
  if (sigs.empty() || sigs.back() != '\n') {
    return absl::InvalidArgumentError("a signed note ends with a signature line");
  }
  sigs.remove_suffix(1);
  for (absl::string_view line : absl::StrSplit(sigs, '\n')) {
    if (!absl::ConsumePrefix(&line, kEmDash) || !absl::ConsumePrefix(&line, " ")) {
      return absl::InvalidArgumentError(absl::StrCat(
          "signature line \"", line.substr(0, 60),
          "\" does not start with an em dash (U+2014) and a space"));
    }
    std::vector<absl::string_view> f = absl::StrSplit(line, ' ');
    if (f.size() != 2) {
      return absl::InvalidArgumentError(absl::StrCat(
          "signature line \"", line.substr(0, 60), "\" is not: — <name> <base64>"));
    }
    NCM_RETURN_IF_ERROR(CheckKeyName(f[0]));
    std::string raw;
    if (!StrictBase64(f[1], &raw) || raw.size() < 5) {
      return absl::InvalidArgumentError(absl::StrCat(
          "the signature of ", f[0], " is not base64 of a key id and a signature"));
    }
    n.signatures.push_back(
        Signature{std::string(f[0]), GetU32(raw), raw.substr(4)});
  }
  if (n.signatures.size() > 100) {
    return absl::InvalidArgumentError("a signed note carries at most 100 signatures");
  }
  return n;
}

std::string FormatNote(const Note& n) {
  std::string out = absl::StrCat(n.text, "\n");
  for (const auto& s : n.signatures) {
    absl::StrAppend(&out, kEmDash, " ", s.name, " ",
                    absl::Base64Escape(absl::StrCat(U32(s.key_id), s.bytes)), "\n");
  }
  return out;
}

uint32_t KeyId(absl::string_view name, uint8_t type, absl::string_view public_key) {
  const char t = static_cast<char>(type);
  Hash h = codec::Sha256Of({name, "\n", absl::string_view(&t, 1), public_key});
  return GetU32(absl::string_view(reinterpret_cast<const char*>(h.data()), 4));
}

absl::StatusOr<SigningKey> GenerateKey(absl::string_view name, uint8_t type) {
  NCM_RETURN_IF_ERROR(CheckKeyName(name));
  SigningKey k;
  k.name = std::string(name);
  k.type = type;
  k.seed.resize(32);
  if (RAND_bytes(reinterpret_cast<unsigned char*>(k.seed.data()), 32) != 1) {
    return absl::InternalError("the system's random generator failed");
  }
  NCM_ASSIGN_OR_RETURN(k.public_key, PublicOf(k.seed));
  return k;
}

std::string FormatSigningKey(const SigningKey& k) {
  return absl::StrCat(kPrivatePrefix, k.name, "+",
                      absl::StrFormat("%08x", KeyId(k.name, k.type, k.public_key)),
                      "+",
                      absl::Base64Escape(absl::StrCat(
                          std::string(1, static_cast<char>(k.type)), k.seed)));
}

absl::StatusOr<SigningKey> ParseSigningKey(absl::string_view text) {
  text = absl::StripAsciiWhitespace(text);
  if (!absl::ConsumePrefix(&text, kPrivatePrefix)) {
    return absl::InvalidArgumentError(
        "a signing key reads PRIVATE+KEY+<name>+<key id>+<base64 key>");
  }
  SigningKey k;
  uint32_t id = 0;
  NCM_RETURN_IF_ERROR(ParseKeyParts(text, &k.name, &id, &k.type, &k.seed));
  NCM_ASSIGN_OR_RETURN(k.public_key, PublicOf(k.seed));
  if (KeyId(k.name, k.type, k.public_key) != id) {
    return absl::InvalidArgumentError(
        "the signing key's id does not match its name and key");
  }
  return k;
}

std::string FormatVerifierKey(const VerifierKey& v) {
  return absl::StrCat(v.name, "+", absl::StrFormat("%08x", v.key_id), "+",
                      absl::Base64Escape(absl::StrCat(
                          std::string(1, static_cast<char>(v.type)), v.public_key)));
}

VerifierKey VerifierOf(const SigningKey& k) {
  return VerifierKey{k.name, KeyId(k.name, k.type, k.public_key), k.type,
                     k.public_key};
}

absl::StatusOr<VerifierKey> ParseVerifierKey(absl::string_view text) {
  text = absl::StripAsciiWhitespace(text);
  VerifierKey v;
  NCM_RETURN_IF_ERROR(ParseKeyParts(text, &v.name, &v.key_id, &v.type, &v.public_key));
  if (KeyId(v.name, v.type, v.public_key) != v.key_id) {
    return absl::InvalidArgumentError(
        "the verifier key's id does not match its name and key");
  }
  return v;
}

absl::StatusOr<std::string> Ed25519Sign(absl::string_view seed,
                                        absl::string_view message) {
  Pkey key(EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, Bytes(seed),
                                        seed.size()));
  MdCtx ctx(EVP_MD_CTX_new());
  std::string sig(64, '\0');
  size_t len = sig.size();
  if (key == nullptr || ctx == nullptr ||
      EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, key.get()) != 1 ||
      EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len,
                     Bytes(message), message.size()) != 1 ||
      len != 64) {
    return absl::InternalError("Ed25519 signing failed");
  }
  return sig;
}

bool Ed25519Verify(absl::string_view public_key, absl::string_view message,
                   absl::string_view signature) {
  if (public_key.size() != 32 || signature.size() != 64) return false;
  Pkey key(EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr,
                                       Bytes(public_key), public_key.size()));
  MdCtx ctx(EVP_MD_CTX_new());
  return key != nullptr && ctx != nullptr &&
         EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, key.get()) == 1 &&
         EVP_DigestVerify(ctx.get(), Bytes(signature), signature.size(),
                          Bytes(message), message.size()) == 1;
}

absl::StatusOr<Signature> SignNote(const SigningKey& k, absl::string_view text) {
  if (k.type != kEd25519) {
    return absl::InvalidArgumentError(absl::StrCat(
        "key ", k.name, " is a cosigner's key; a checkpoint is signed with an "
        "Ed25519 note key"));
  }
  NCM_ASSIGN_OR_RETURN(std::string sig, Ed25519Sign(k.seed, text));
  return Signature{k.name, KeyId(k.name, k.type, k.public_key), std::move(sig)};
}

std::string CosignedMessage(absl::string_view text, uint64_t timestamp) {
  return absl::StrCat(kCosignatureHeader, "time ", timestamp, "\n", text);
}

absl::StatusOr<Signature> Cosign(const SigningKey& witness,
                                 absl::string_view text, uint64_t timestamp) {
  if (witness.type != kCosignatureV1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "key ", witness.name, " is not a cosigner's key (type 0x04)"));
  }
  if (timestamp > static_cast<uint64_t>(INT64_MAX)) {
    return absl::InvalidArgumentError("a cosignature's time is at most 2^63 - 1");
  }
  NCM_ASSIGN_OR_RETURN(std::string sig,
                       Ed25519Sign(witness.seed, CosignedMessage(text, timestamp)));
  std::string bytes;
  codec::PutU64(timestamp, &bytes);
  bytes += sig;
  return Signature{witness.name,
                   KeyId(witness.name, witness.type, witness.public_key),
                   std::move(bytes)};
}

absl::Status VerifySignature(const Note& n, const VerifierKey& v,
                             uint64_t* timestamp) {
  bool named = false;
  for (const Signature& s : n.signatures) {
    if (s.name != v.name || s.key_id != v.key_id) continue;
    named = true;
    if (v.type == kEd25519) {
      if (Ed25519Verify(v.public_key, n.text, s.bytes)) return absl::OkStatus();
    } else if (s.bytes.size() == 72) {
      const uint64_t t = codec::GetU64(s.bytes.data());
      if (t <= static_cast<uint64_t>(INT64_MAX) &&
          Ed25519Verify(v.public_key, CosignedMessage(n.text, t),
                        absl::string_view(s.bytes).substr(8))) {
        if (timestamp != nullptr) *timestamp = t;
        return absl::OkStatus();
      }
    }
  }
  if (!named) {
    return absl::NotFoundError(absl::StrCat(
        "the note carries no signature by ", v.name, " (key id ",
        absl::StrFormat("%08x", v.key_id), ")"));
  }
  return absl::UnauthenticatedError(absl::StrCat(
      "the signature by ", v.name, " does not verify: the note was altered "
      "or signed with another key"));
}

absl::StatusOr<Checkpoint> OpenCheckpoint(absl::string_view signed_note,
                                          const VerifierKey& log_key,
                                          absl::string_view origin) {
  NCM_ASSIGN_OR_RETURN(Note n, ParseNote(signed_note));
  NCM_RETURN_IF_ERROR(VerifySignature(n, log_key));
  NCM_ASSIGN_OR_RETURN(Checkpoint c, ParseCheckpoint(n.text));
  if (!origin.empty() && c.origin != origin) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the checkpoint is of log \"", c.origin, "\", not \"", origin, "\""));
  }
  return c;
}

}  // namespace ncm::eventstore::note
