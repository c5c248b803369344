// Fuzzes the canonical encoding the hash chain covers: any event built
// from the input encodes, decodes to the same event, verifies, and stops
// verifying once any byte of it changes.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "absl/time/time.h"
#include "record_codec.h"

namespace codec = ::ncm::eventstore::codec;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  codec::Uuid id;
  for (auto& b : id) b = in.ConsumeIntegral<uint8_t>();
  ncm::eventstore::RecordedEvent e;
  e.event_id = codec::FormatUuid(id);
  e.position = in.ConsumeIntegral<uint64_t>();
  e.revision = in.ConsumeIntegral<uint64_t>();
  e.stream_id = in.ConsumeRandomLengthString(300);
  e.event_type = in.ConsumeRandomLengthString(300);
  e.content_type = in.ConsumeRandomLengthString(100);
  e.actor = in.ConsumeRandomLengthString(100);
  e.correlation_id = in.ConsumeRandomLengthString(100);
  e.causation_id = in.ConsumeRandomLengthString(100);
  e.command_id = in.ConsumeRandomLengthString(100);
  // Times within years 1 to 9999, at microsecond precision.
  const int64_t lo = -62135596800LL * 1000000, hi = 253402300799LL * 1000000;
  e.recorded_at = codec::FromMicros(in.ConsumeIntegralInRange<int64_t>(lo, hi));
  e.occurred_at = codec::FromMicros(in.ConsumeIntegralInRange<int64_t>(lo, hi));
  for (auto& b : e.prev_hash) b = in.ConsumeIntegral<uint8_t>();
  const size_t flip = in.ConsumeIntegral<uint16_t>();
  e.payload = in.ConsumeRemainingBytesAsString();

  const std::string value = codec::EncodeLogValue(&e, id);
  if (value.size() < 64 || !codec::CheckLogValueHash(value)) std::abort();
  if (codec::HashOf(value) != e.hash || codec::PrevHashOf(value) != e.prev_hash) {
    std::abort();
  }
  const std::string canonical = codec::EncodeCanonical(e);
  if (codec::ChainHash(e.prev_hash, canonical) != e.hash) std::abort();
  absl::StatusOr<ncm::eventstore::RecordedEvent> back = codec::DecodeLogValue(value);
  if (!back.ok() || !(*back == e)) std::abort();
  auto pos = codec::PeekPosition(value);
  if (!pos.ok() || *pos != e.position) std::abort();
  // Any changed byte before the trailing hash breaks verification.
  std::string tampered = value;
  const size_t at = flip % (value.size() - 32);
  tampered[at] = static_cast<char>(tampered[at] ^ 0x01);
  if (codec::CheckLogValueHash(tampered)) std::abort();
  return 0;
}
