// Fuzzes the decoding of stored log values and raw ReadAll frames: any
// bytes either decode or are refused, never crash; what decodes encodes
// back to the very same canonical bytes (the encoding is unique, so a hash
// over it means one thing).
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "absl/strings/string_view.h"
#include "record_codec.h"

namespace codec = ::ncm::eventstore::codec;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view in(reinterpret_cast<const char*>(data), size);
  (void)codec::PeekPosition(in);
  absl::string_view stream, type;
  (void)codec::PeekStreamAndType(in, &stream, &type);
  if (size >= 64) {
    (void)codec::CheckLogValueHash(in);
    (void)codec::PrevHashOf(in);
    (void)codec::HashOf(in);
  }
  absl::StatusOr<ncm::eventstore::RecordedEvent> e = codec::DecodeLogValue(in);
  if (e.ok()) {
    if (codec::EncodeCanonical(*e) != in.substr(32, size - 64)) std::abort();
    auto id = codec::ParseUuid(e->event_id);
    if (!id.ok()) std::abort();
    ncm::eventstore::RecordedEvent copy = *e;
    const std::string again = codec::EncodeLogValue(&copy, *id);
    // Same prefix and canonical part; the trailing hash is recomputed.
    if (again.substr(0, size - 32) != in.substr(0, size - 32)) std::abort();
    if (codec::CheckLogValueHash(in) != (again == in)) std::abort();
  }
  // The same bytes read as a run of frames.
  absl::string_view frames = in, value;
  while (codec::NextFrame(&frames, &value)) (void)codec::DecodeLogValue(value);
  return 0;
}
