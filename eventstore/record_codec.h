// Canonical record encoding, hashing and the RocksDB key/value layout.
// The grammar is at the top of record_codec.cc and in eventstore/FORMAT.md.
#ifndef NCM_EVENTSTORE_RECORD_CODEC_H_
#define NCM_EVENTSTORE_RECORD_CODEC_H_

#include <array>
#include <cstdint>
#include <initializer_list>
#include <string>
#include "absl/strings/string_view.h"

#include "absl/status/statusor.h"
#include "ncm/eventstore/event_store.h"

namespace ncm::eventstore::codec {

// DO NOT CHANGE: persisted in every record and covered by its hash.
inline constexpr uint8_t kRecordVersion = 1;

using Uuid = std::array<uint8_t, 16>;

// Parses 8-4-4-4-12 hex (either case). INVALID_ARGUMENT otherwise.
absl::StatusOr<Uuid> ParseUuid(absl::string_view text);
// Lower-case 8-4-4-4-12 text.
std::string FormatUuid(const Uuid& uuid);

// Microseconds since the Unix epoch; the precision of recorded times.
int64_t ToMicros(absl::Time t);
absl::Time FromMicros(int64_t micros);
// Truncates to the stored precision.
absl::Time TruncateToMicros(absl::Time t);

// The canonical record bytes (the part the hash covers after prev_hash).
// REQUIRES: e.event_id is a valid UUID.
std::string EncodeCanonical(const RecordedEvent& e);
void AppendCanonical(const RecordedEvent& e, const Uuid& event_id,
                     std::string* out);

// SHA-256 of the parts, concatenated.
Hash Sha256Of(std::initializer_list<absl::string_view> parts);

// SHA-256(prev_hash || canonical).
Hash ChainHash(const Hash& prev_hash, absl::string_view canonical);

// The value stored in the log column family:
//   prev_hash[32] || canonical || hash[32].
// Fills e->hash from e->prev_hash and returns the value.
std::string EncodeLogValue(RecordedEvent* e, const Uuid& event_id);

// Decodes a log value strictly (no trailing bytes, version 1, valid UUID).
// DATA_LOSS when malformed. Does not check the hash; see CheckLogValueHash.
absl::StatusOr<RecordedEvent> DecodeLogValue(absl::string_view value);
// Reads only the position field of a log value. DATA_LOSS when too short.
absl::StatusOr<uint64_t> PeekPosition(absl::string_view value);
// True when the trailing hash equals SHA-256 of everything before it.
bool CheckLogValueHash(absl::string_view value);
// Reads the stream id and event type of a log value without decoding the
// rest. False when malformed.
bool PeekStreamAndType(absl::string_view value, absl::string_view* stream_id,
                       absl::string_view* event_type);
// Appends a frame: length (u32 big-endian) || value.
void AppendFrame(absl::string_view value, std::string* out);
// Takes the first frame off `frames` into `value`. False when `frames` is
// empty or the frame is truncated.
bool NextFrame(absl::string_view* frames, absl::string_view* value);
Hash PrevHashOf(absl::string_view value);  // REQUIRES: size >= 64
Hash HashOf(absl::string_view value);      // REQUIRES: size >= 64

// Keys.
std::string PositionKey(uint64_t position);  // u64 big-endian
uint64_t DecodePositionKey(absl::string_view key);  // REQUIRES: size 8
// stream_id || 0x00 || revision (u64 big-endian).
std::string StreamKey(absl::string_view stream_id, uint64_t revision);
std::string StreamKeyPrefix(absl::string_view stream_id);  // stream_id || 0x00

void PutU64(uint64_t v, std::string* out);
uint64_t GetU64(const char* p);

}  // namespace ncm::eventstore::codec

#endif  // NCM_EVENTSTORE_RECORD_CODEC_H_
