// On-disk layout of the RocksDB event store (format version 1).
// DO NOT CHANGE any of it: every byte below is persisted, and the record
// bytes are covered by the hash chain. eventstore/FORMAT.md says the same for
// auditors, with a worked example.
//
// Column families
//   default    "format"                       -> "1"
//   log        position:u64                   -> log_value
//   streams    stream_id 0x00 revision:u64    -> position:u64
//   event_ids  event_id:uuid                  -> position:u64
//   subject_keys subject_id:bytes             -> key:32 bytes | "" (destroyed)
//     Outside the hash chain: per-subject AES-256 keys for personal data,
//     destroyed when the subject is forgotten.
//
// Values
//   log_value  := prev_hash:h32 record hash:h32
//   hash       =  SHA-256(prev_hash || record)
//   prev_hash  of position 1 is 32 zero bytes; of position p > 1 it is the
//                 hash of position p-1
//   record     := version:u8        (= 1)
//                 position:u64
//                 revision:u64
//                 stream_id:str
//                 event_id:uuid
//                 event_type:str
//                 content_type:str
//                 payload:str
//                 recorded_at:i64   (microseconds since 1970-01-01T00:00Z)
//                 occurred_at:i64   (microseconds since 1970-01-01T00:00Z)
//                 actor:str
//                 correlation_id:str
//                 causation_id:str
//                 command_id:str
//   str        := length:u32 byte[length]
//   u64, i64   := 8 bytes big-endian (i64 two's complement)
//   u32        := 4 bytes big-endian
//   uuid       := the 16 bytes of the UUID in text order
//   h32        := 32 bytes
//
// Stream ids never contain 0x00, so a stream's index keys never share a
// prefix with another stream's.
#include "record_codec.h"

#include <openssl/evp.h>

#include <cstdlib>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace ncm::eventstore::codec {
namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

void PutU32(uint32_t v, std::string* out) {
  char b[4] = {static_cast<char>(v >> 24), static_cast<char>(v >> 16),
               static_cast<char>(v >> 8), static_cast<char>(v)};
  out->append(b, 4);
}

void PutStr(absl::string_view s, std::string* out) {
  PutU32(static_cast<uint32_t>(s.size()), out);
  out->append(s.data(), s.size());
}

// A strict reader over a byte range.
class Reader {
 public:
  explicit Reader(absl::string_view in) : in_(in) {}

  bool U8(uint8_t* v) {
    if (in_.size() < 1) return false;
    *v = static_cast<uint8_t>(in_[0]);
    in_.remove_prefix(1);
    return true;
  }
  bool U64(uint64_t* v) {
    if (in_.size() < 8) return false;
    *v = GetU64(in_.data());
    in_.remove_prefix(8);
    return true;
  }
  bool Str(std::string* s) {
    if (in_.size() < 4) return false;
    const auto* p = reinterpret_cast<const uint8_t*>(in_.data());
    uint32_t n = (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) |
                 (uint32_t{p[2]} << 8) | uint32_t{p[3]};
    in_.remove_prefix(4);
    if (in_.size() < n) return false;
    s->assign(in_.data(), n);
    in_.remove_prefix(n);
    return true;
  }
  bool Bytes(uint8_t* out, size_t n) {
    if (in_.size() < n) return false;
    std::memcpy(out, in_.data(), n);
    in_.remove_prefix(n);
    return true;
  }
  bool AtEnd() const { return in_.empty(); }

 private:
  absl::string_view in_;
};

// SHA-256 through a per-thread digest context: OpenSSL 3's one-shot
// SHA256() looks the algorithm up on every call, which costs more than
// hashing a small record.
struct DigestCtx {
  DigestCtx() : md(EVP_MD_fetch(nullptr, "SHA256", nullptr)), ctx(EVP_MD_CTX_new()) {}
  ~DigestCtx() {
    EVP_MD_CTX_free(ctx);
    EVP_MD_free(md);
  }
  EVP_MD* md;
  EVP_MD_CTX* ctx;
};

template <typename Parts>
void Sha256Parts(const Parts& parts, uint8_t out[32]) {
  thread_local DigestCtx c;
  unsigned int len = 0;
  bool ok = c.md != nullptr && c.ctx != nullptr &&
            EVP_DigestInit_ex2(c.ctx, c.md, nullptr) == 1;
  for (absl::string_view p : parts) {
    ok = ok && EVP_DigestUpdate(c.ctx, p.data(), p.size()) == 1;
  }
  if (!ok || EVP_DigestFinal_ex(c.ctx, out, &len) != 1 || len != 32) {
    // Only reachable when OpenSSL has no SHA-256: a broken installation.
    std::abort();
  }
}

void Sha256(const void* data, size_t size, uint8_t out[32]) {
  const absl::string_view one[] = {
      absl::string_view(static_cast<const char*>(data), size)};
  Sha256Parts(one, out);
}

}  // namespace

Hash Sha256Of(std::initializer_list<absl::string_view> parts) {
  Hash h;
  Sha256Parts(parts, h.data());
  return h;
}

absl::StatusOr<Uuid> ParseUuid(absl::string_view text) {
  static constexpr int kDashes[] = {8, 13, 18, 23};
  auto bad = [&] {
    return absl::InvalidArgumentError(absl::StrCat(
        "event_id \"", text.substr(0, 64),
        "\" is not a UUID: expected 8-4-4-4-12 hexadecimal digits, e.g. "
        "\"3f2b8c1e-9d4a-4e7b-8f6a-1c2d3e4f5a6b\""));
  };
  if (text.size() != 36) return bad();
  Uuid out{};
  int nibble = 0;
  for (int i = 0; i < 36; ++i) {
    if (i == kDashes[0] || i == kDashes[1] || i == kDashes[2] ||
        i == kDashes[3]) {
      if (text[i] != '-') return bad();
      continue;
    }
    int v = HexValue(text[i]);
    if (v < 0) return bad();
    if (nibble % 2 == 0) {
      out[nibble / 2] = static_cast<uint8_t>(v << 4);
    } else {
      out[nibble / 2] |= static_cast<uint8_t>(v);
    }
    ++nibble;
  }
  return out;
}

std::string FormatUuid(const Uuid& u) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string s;
  s.reserve(36);
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) s.push_back('-');
    s.push_back(kHex[u[i] >> 4]);
    s.push_back(kHex[u[i] & 15]);
  }
  return s;
}

int64_t ToMicros(absl::Time t) { return absl::ToUnixMicros(t); }
absl::Time FromMicros(int64_t micros) { return absl::FromUnixMicros(micros); }
absl::Time TruncateToMicros(absl::Time t) {
  return FromMicros(ToMicros(t));
}

void PutU64(uint64_t v, std::string* out) {
  char b[8];
  for (int i = 7; i >= 0; --i) {
    b[i] = static_cast<char>(v & 0xff);
    v >>= 8;
  }
  out->append(b, 8);
}

uint64_t GetU64(const char* p) {
  const auto* u = reinterpret_cast<const uint8_t*>(p);
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | u[i];
  return v;
}

void AppendCanonical(const RecordedEvent& e, const Uuid& id,
                     std::string* out) {
  out->push_back(static_cast<char>(kRecordVersion));
  PutU64(e.position, out);
  PutU64(e.revision, out);
  PutStr(e.stream_id, out);
  out->append(reinterpret_cast<const char*>(id.data()), id.size());
  PutStr(e.event_type, out);
  PutStr(e.content_type, out);
  PutStr(e.payload, out);
  PutU64(static_cast<uint64_t>(ToMicros(e.recorded_at)), out);
  PutU64(static_cast<uint64_t>(ToMicros(e.occurred_at)), out);
  PutStr(e.actor, out);
  PutStr(e.correlation_id, out);
  PutStr(e.causation_id, out);
  PutStr(e.command_id, out);
}

std::string EncodeCanonical(const RecordedEvent& e) {
  auto id = ParseUuid(e.event_id);
  std::string out;
  AppendCanonical(e, id.ok() ? *id : Uuid{}, &out);
  return out;
}

Hash ChainHash(const Hash& prev_hash, absl::string_view canonical) {
  std::string buf;
  buf.reserve(prev_hash.size() + canonical.size());
  buf.append(reinterpret_cast<const char*>(prev_hash.data()), prev_hash.size());
  buf.append(canonical.data(), canonical.size());
  Hash h;
  Sha256(buf.data(), buf.size(), h.data());
  return h;
}

std::string EncodeLogValue(RecordedEvent* e, const Uuid& id) {
  std::string v;
  v.reserve(32 + 96 + e->stream_id.size() + e->event_type.size() +
            e->content_type.size() + e->payload.size() + e->actor.size() +
            e->correlation_id.size() + e->causation_id.size() +
            e->command_id.size() + 32);
  v.append(reinterpret_cast<const char*>(e->prev_hash.data()), 32);
  AppendCanonical(*e, id, &v);
  Sha256(v.data(), v.size(), e->hash.data());
  v.append(reinterpret_cast<const char*>(e->hash.data()), 32);
  return v;
}

absl::StatusOr<RecordedEvent> DecodeLogValue(absl::string_view value) {
  auto bad = [&](absl::string_view what) {
    return absl::DataLossError(
        absl::StrCat("corrupt log record (", what, "); run VerifyChain to ",
                     "locate the damage and restore from a backup"));
  };
  if (value.size() < 64 + 1) return bad("too short");
  RecordedEvent e;
  std::memcpy(e.prev_hash.data(), value.data(), 32);
  std::memcpy(e.hash.data(), value.data() + value.size() - 32, 32);
  Reader r(value.substr(32, value.size() - 64));
  uint8_t version = 0;
  if (!r.U8(&version)) return bad("no version");
  if (version != kRecordVersion) {
    return bad(absl::StrCat("unknown record version ", version));
  }
  Uuid id;
  uint64_t recorded = 0, occurred = 0;
  if (!r.U64(&e.position) || !r.U64(&e.revision) || !r.Str(&e.stream_id) ||
      !r.Bytes(id.data(), id.size()) || !r.Str(&e.event_type) ||
      !r.Str(&e.content_type) || !r.Str(&e.payload) || !r.U64(&recorded) ||
      !r.U64(&occurred) || !r.Str(&e.actor) || !r.Str(&e.correlation_id) ||
      !r.Str(&e.causation_id) || !r.Str(&e.command_id)) {
    return bad("truncated field");
  }
  if (!r.AtEnd()) return bad("trailing bytes");
  e.event_id = FormatUuid(id);
  e.recorded_at = FromMicros(static_cast<int64_t>(recorded));
  e.occurred_at = FromMicros(static_cast<int64_t>(occurred));
  return e;
}

absl::StatusOr<uint64_t> PeekPosition(absl::string_view value) {
  if (value.size() < 32 + 1 + 8 + 32) {
    return absl::DataLossError("corrupt log record (too short)");
  }
  return GetU64(value.data() + 33);
}

bool CheckLogValueHash(absl::string_view value) {
  if (value.size() < 64) return false;
  Hash h;
  Sha256(value.data(), value.size() - 32, h.data());
  return std::memcmp(h.data(), value.data() + value.size() - 32, 32) == 0;
}

bool PeekStreamAndType(absl::string_view value, absl::string_view* stream_id,
                       absl::string_view* event_type) {
  // prev_hash(32) version(1) position(8) revision(8) stream_id(str)
  // event_id(16) event_type(str)
  size_t at = 32 + 1 + 8 + 8;
  auto str = [&](absl::string_view* out) {
    if (value.size() < at + 4) return false;
    uint32_t n = 0;
    for (int i = 0; i < 4; ++i) {
      n = (n << 8) | static_cast<uint8_t>(value[at + i]);
    }
    at += 4;
    if (value.size() - 32 < at || value.size() - 32 - at < n) return false;
    *out = value.substr(at, n);
    at += n;
    return true;
  };
  if (!str(stream_id)) return false;
  at += 16;
  return str(event_type);
}

void AppendFrame(absl::string_view value, std::string* out) {
  PutU32(static_cast<uint32_t>(value.size()), out);
  out->append(value.data(), value.size());
}

bool NextFrame(absl::string_view* frames, absl::string_view* value) {
  if (frames->size() < 4) return false;
  const auto* p = reinterpret_cast<const uint8_t*>(frames->data());
  const uint32_t n = (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) |
                     (uint32_t{p[2]} << 8) | uint32_t{p[3]};
  if (frames->size() - 4 < n) return false;
  *value = frames->substr(4, n);
  frames->remove_prefix(4 + n);
  return true;
}

Hash PrevHashOf(absl::string_view value) {
  Hash h;
  std::memcpy(h.data(), value.data(), 32);
  return h;
}

Hash HashOf(absl::string_view value) {
  Hash h;
  std::memcpy(h.data(), value.data() + value.size() - 32, 32);
  return h;
}

std::string PositionKey(uint64_t position) {
  std::string k;
  PutU64(position, &k);
  return k;
}

uint64_t DecodePositionKey(absl::string_view key) { return GetU64(key.data()); }

std::string StreamKeyPrefix(absl::string_view stream_id) {
  std::string k(stream_id);
  k.push_back('\0');
  return k;
}

std::string StreamKey(absl::string_view stream_id, uint64_t revision) {
  std::string k = StreamKeyPrefix(stream_id);
  PutU64(revision, &k);
  return k;
}

}  // namespace ncm::eventstore::codec
