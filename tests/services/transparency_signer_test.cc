// The checkpoint signer without gRPC: its interval thread, callers asking
// for checkpoints and a witness cosigning, all while appenders grow the
// log (run under ThreadSanitizer as well as in the normal build).
#include <atomic>
#include <random>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "ncm/eventstore/merkle.h"
#include "ncm/eventstore/note.h"
#include "ncm/eventstore/rocksdb_event_store.h"
#include "ncm/transparency/log_signer.h"
#include "testing/temp_dir.h"

namespace ncm::transparency {
namespace {

namespace es = ::ncm::eventstore;

constexpr char kOrigin[] = "signer.test/log";

es::AppendRequest Events(int stream, int n) {
  es::AppendRequest r;
  es::StreamWrite w;
  w.stream_id = absl::StrCat("signer-", stream);
  w.expected = es::ExpectedRevision::Any();
  for (int i = 0; i < n; ++i) {
    es::ProposedEvent e;
    e.event_id = testing::NewUuid();
    e.event_type = "ncm.test.v1.Event";
    e.payload = std::string(40, static_cast<char>('a' + i % 26));
    w.events.push_back(std::move(e));
  }
  r.streams.push_back(std::move(w));
  return r;
}

// Fails the test unless `later` proves, by a consistency proof from the
// store, that the log of `earlier` is a prefix of it.
void ExpectConsistent(es::EventStore* store, const note::Checkpoint& earlier,
                      const note::Checkpoint& later) {
  auto proof = merkle::ConsistencyProof(NodesOf(store), earlier.size, later.size);
  ASSERT_TRUE(proof.ok()) << proof.status();
  EXPECT_TRUE(merkle::VerifyConsistency(earlier.size, later.size, *proof, earlier.root,
                                        later.root)
                  .ok())
      << earlier.size << " .. " << later.size;
}

TEST(LogSignerTest, SignsAndCosignsWhileTheLogGrows) {
  testing::TempDir dir;
  es::RocksDbOptions o;
  o.path = dir.Sub("log");
  auto opened = es::OpenRocksDbEventStore(o);
  ASSERT_TRUE(opened.ok()) << opened.status();
  es::EventStore* store = opened->get();
  auto log_key = note::GenerateKey(kOrigin, note::kEd25519);
  auto witness = note::GenerateKey("witness.test", note::kCosignatureV1);
  ASSERT_TRUE(log_key.ok() && witness.ok());
  SignerOptions so;
  so.origin = kOrigin;
  so.interval = absl::Milliseconds(5);
  so.keep = 0;
  so.witnesses.push_back(note::VerifierOf(*witness));
  LogSigner signer(store, *log_key, so);
  const note::VerifierKey verifier = signer.verifier();
  signer.Start();

  std::atomic<bool> appending{true};
  std::atomic<int> failures{0};
  auto fail = [&](const std::string& what) {
    ADD_FAILURE() << what;
    failures.fetch_add(1);
  };

  // Callers asking for the latest checkpoint and for ones at sizes
  // already reached; each must open with the log's key and carry the
  // tree's root at its size.
  auto ask = [&](int seed) {
    std::mt19937_64 rng(seed);
    while (appending.load()) {
      auto latest = signer.Latest();
      if (!latest.ok()) return fail(std::string(latest.status().message()));
      auto c = note::OpenCheckpoint(latest->note, verifier, kOrigin);
      if (!c.ok()) return fail(std::string(c.status().message()));
      const uint64_t size = 1 + rng() % std::max<uint64_t>(1, c->size);
      if (c->size == 0) continue;
      auto at = signer.At(size);
      if (!at.ok()) return fail(std::string(at.status().message()));
      auto root = TreeRoot(store, size);
      if (!root.ok() || *root != at->checkpoint.root) {
        return fail(absl::StrCat("the checkpoint at ", size, " is not the tree's root"));
      }
    }
  };

  // A witness cosigning the newest checkpoint each time after checking it
  // extends the last one it cosigned.
  std::vector<note::Checkpoint> cosigned;
  auto witness_loop = [&] {
    while (appending.load()) {
      auto latest = signer.Latest();
      if (!latest.ok()) return fail(std::string(latest.status().message()));
      const note::Checkpoint c = latest->checkpoint;
      if (!cosigned.empty()) {
        const note::Checkpoint& last = cosigned.back();
        if (c.size < last.size) return fail("a later checkpoint is smaller");
        auto proof = merkle::ConsistencyProof(NodesOf(store), last.size, c.size);
        if (!proof.ok() ||
            !merkle::VerifyConsistency(last.size, c.size, *proof, last.root, c.root).ok()) {
          return fail(absl::StrCat("no consistency from ", last.size, " to ", c.size));
        }
      }
      auto n = note::ParseNote(latest->note);
      if (!n.ok()) return fail(std::string(n.status().message()));
      auto sig = note::Cosign(*witness, n->text, absl::ToUnixSeconds(absl::Now()));
      if (!sig.ok()) return fail(std::string(sig.status().message()));
      n->signatures.push_back(*sig);
      auto stored = signer.AddCosignature(note::FormatNote(*n));
      if (!stored.ok()) return fail(std::string(stored.status().message()));
      cosigned.push_back(c);
      absl::SleepFor(absl::Milliseconds(2));
    }
  };

  std::vector<std::thread> appenders;
  for (int t = 0; t < 4; ++t) {
    appenders.emplace_back([&, t] {
      for (int i = 0; i < 60; ++i) {
        auto r = store->Append(Events(t, 1 + (i % 7)));
        if (!r.ok()) return fail(std::string(r.status().message()));
      }
    });
  }
  std::vector<std::thread> others;
  others.emplace_back(ask, 1);
  others.emplace_back(ask, 2);
  others.emplace_back(witness_loop);
  for (auto& t : appenders) t.join();
  // Let the interval thread see the final head.
  absl::SleepFor(absl::Milliseconds(50));
  appending = false;
  for (auto& t : others) t.join();
  ASSERT_EQ(failures.load(), 0);

  const uint64_t head = store->HeadPosition();
  EXPECT_EQ(head, 4u * (60 / 7 * 28 + (1 + 2 + 3 + 4)));
  auto latest = store->checkpoints()->Latest();
  ASSERT_TRUE(latest.ok()) << latest.status();
  EXPECT_EQ(latest->first, head) << "the interval thread signed the final head";
  auto last = note::OpenCheckpoint(latest->second, verifier, kOrigin);
  ASSERT_TRUE(last.ok()) << last.status();
  // Every kept checkpoint extends into the last one.
  auto sizes = store->checkpoints()->Sizes(1000000);
  ASSERT_TRUE(sizes.ok()) << sizes.status();
  EXPECT_GT(sizes->size(), 3u);
  for (uint64_t size : *sizes) {
    auto kept = store->checkpoints()->Get(size);
    ASSERT_TRUE(kept.ok()) << kept.status();
    auto c = note::OpenCheckpoint(*kept, verifier, kOrigin);
    ASSERT_TRUE(c.ok()) << c.status();
    ExpectConsistent(store, *c, *last);
  }
  ASSERT_FALSE(cosigned.empty());
  auto with_witness = signer.LatestCosigned();
  ASSERT_TRUE(with_witness.ok()) << with_witness.status();
  EXPECT_EQ(with_witness->checkpoint.size, cosigned.back().size);
}

}  // namespace
}  // namespace ncm::transparency
