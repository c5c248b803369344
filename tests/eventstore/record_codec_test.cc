// The canonical record bytes and hash, checked against the worked example
// in eventstore/FORMAT.md (computed there with Python's hashlib alone).
#include "record_codec.h"

#include "absl/strings/escaping.h"
#include "ncm/eventstore/merkle.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/status_matchers.h"

namespace ncm::eventstore::codec {
namespace {

using ::ncm::testing::IsOk;
using ::ncm::testing::StatusIs;

RecordedEvent Example() {
  RecordedEvent e;
  e.position = 1;
  e.revision = 0;
  e.stream_id = "resolution-2f1c";
  e.event_id = "3f2b8c1e-9d4a-4e7b-8f6a-1c2d3e4f5a6b";
  e.event_type = "ncm.resolutions.v1.ResolutionAdopted";
  e.content_type = "application/json";
  e.payload = R"({"text":"Share border data"})";
  absl::Time t;
  std::string err;
  EXPECT_TRUE(absl::ParseTime(absl::RFC3339_full, "2026-01-15T09:30:00.123456Z",
                              &t, &err));
  e.recorded_at = t;
  EXPECT_TRUE(absl::ParseTime(absl::RFC3339_full, "2026-01-14T00:00:00Z", &t,
                              &err));
  e.occurred_at = t;
  e.actor = "secretariat";
  e.correlation_id = "c-1";
  e.command_id = "cmd-1";
  return e;
}

constexpr char kExampleRecordHex[] =
    "0100000000000000010000000000000000000000"
    "0f7265736f6c7574696f6e2d326631633f2b8c1e9d4a4e7b8f6a1c2d3e4f5a6b000000"
    "246e636d2e7265736f6c7574696f6e732e76312e5265736f6c7574696f6e41646f7074"
    "6564000000106170706c69636174696f6e2f6a736f6e0000001c7b2274657874223a22"
    "536861726520626f726465722064617461227d00064869de63f8400006484dca102000"
    "0000000b736563726574617269617400000003632d310000000000000005636d642d31";
constexpr char kExampleHashHex[] =
    "2f9e9f392ba4c46dab072f03dd0f187e0baead18f0060feb6356c7ae88489aad";

TEST(RecordCodecTest, CanonicalBytesMatchTheDocumentedExample) {
  EXPECT_EQ(absl::BytesToHexString(EncodeCanonical(Example())),
            kExampleRecordHex);
}

TEST(RecordCodecTest, HashMatchesTheDocumentedExample) {
  Hash h = ChainHash(Hash{}, EncodeCanonical(Example()));
  EXPECT_EQ(absl::BytesToHexString(
                absl::string_view(reinterpret_cast<const char*>(h.data()), 32)),
            kExampleHashHex);
}

// Its leaf in the Merkle tree (FORMAT.md, "The Merkle tree").
TEST(RecordCodecTest, LeafHashMatchesTheDocumentedExample) {
  const merkle::Hash leaf = merkle::LeafHash(EncodeCanonical(Example()));
  EXPECT_EQ(absl::BytesToHexString(absl::string_view(
                reinterpret_cast<const char*>(leaf.data()), leaf.size())),
            "aad72cd68853765847e4183c262f730b2adee609d845a97b887fe99b53886253");
}

TEST(RecordCodecTest, LogValueRoundTripsAndCarriesItsHash) {
  RecordedEvent e = Example();
  auto id = ParseUuid(e.event_id);
  ASSERT_THAT(id, IsOk());
  std::string v = EncodeLogValue(&e, *id);
  EXPECT_TRUE(CheckLogValueHash(v));
  auto back = DecodeLogValue(v);
  ASSERT_THAT(back, IsOk());
  EXPECT_EQ(*back, e);
  EXPECT_EQ(HashOf(v), e.hash);
  EXPECT_EQ(*PeekPosition(v), 1u);
}

TEST(RecordCodecTest, MalformedValuesAreDataLoss) {
  RecordedEvent e = Example();
  std::string v = EncodeLogValue(&e, *ParseUuid(e.event_id));
  EXPECT_THAT(DecodeLogValue(v.substr(0, 50)),
              StatusIs(absl::StatusCode::kDataLoss));
  std::string extra = v.substr(0, v.size() - 32) + "x" + v.substr(v.size() - 32);
  EXPECT_THAT(DecodeLogValue(extra), StatusIs(absl::StatusCode::kDataLoss));
  std::string version = v;
  version[32] = 9;
  EXPECT_THAT(DecodeLogValue(version), StatusIs(absl::StatusCode::kDataLoss));
  std::string huge_len = v;
  huge_len[32 + 17] = '\x7f';  // stream_id length
  EXPECT_THAT(DecodeLogValue(huge_len), StatusIs(absl::StatusCode::kDataLoss));
}

TEST(RecordCodecTest, UuidsParseInEitherCaseAndFormatLowerCase) {
  auto u = ParseUuid("3F2B8C1E-9D4A-4E7B-8F6A-1C2D3E4F5A6B");
  ASSERT_THAT(u, IsOk());
  EXPECT_EQ(FormatUuid(*u), "3f2b8c1e-9d4a-4e7b-8f6a-1c2d3e4f5a6b");
  for (const char* bad : {"", "3f2b8c1e9d4a4e7b8f6a1c2d3e4f5a6b",
                          "3f2b8c1e-9d4a-4e7b-8f6a-1c2d3e4f5a6g",
                          "3f2b8c1e-9d4a-4e7b-8f6a+1c2d3e4f5a6b"}) {
    EXPECT_THAT(ParseUuid(bad), StatusIs(absl::StatusCode::kInvalidArgument))
        << bad;
  }
}

TEST(RecordCodecTest, KeysSortByPositionAndRevision) {
  EXPECT_LT(PositionKey(255), PositionKey(256));
  EXPECT_LT(StreamKey("s-a", 9), StreamKey("s-a", 10));
  // A stream never shares key prefix with a longer id.
  EXPECT_NE(StreamKey("s-a", 0).substr(0, 4), StreamKeyPrefix("s-ab"));
}

}  // namespace
}  // namespace ncm::eventstore::codec
