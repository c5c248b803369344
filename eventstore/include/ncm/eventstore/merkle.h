// The Merkle tree over the log (RFC 9162, section 2.1), and its proofs.
//
// Leaf i (from 0) is the record of position i + 1, the record bytes that
// FORMAT.md defines (without prev_hash and hash):
//   leaf hash = SHA-256(0x00 || record)
//   node hash = SHA-256(0x01 || left || right)
// The hash of the empty tree is SHA-256 of nothing.
//
// A store keeps the hash of every complete subtree: the node at `level`
// and `index` covers leaves [index << level, (index + 1) << level). Every
// other hash a proof needs is combined from O(log n) of them.
#ifndef NCM_EVENTSTORE_MERKLE_H_
#define NCM_EVENTSTORE_MERKLE_H_

#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace ncm::eventstore::merkle {

using Hash = std::array<uint8_t, 32>;

Hash LeafHash(absl::string_view leaf);
Hash NodeHash(const Hash& left, const Hash& right);
Hash EmptyRoot();

// The record bytes of a stored log value (prev_hash || record || hash).
// REQUIRES: value.size() >= 64.
absl::string_view RecordOf(absl::string_view value);

// Reads the stored hash of a complete subtree.
using NodeReader = std::function<absl::StatusOr<Hash>(int level, uint64_t index)>;

// The tree hash of leaves [begin, end), from complete subtrees.
// REQUIRES: begin < end.
absl::StatusOr<Hash> RangeHash(const NodeReader& nodes, uint64_t begin,
                               uint64_t end);

// The root of the tree of the first `size` leaves.
absl::StatusOr<Hash> RootAt(const NodeReader& nodes, uint64_t size);

// RFC 9162 2.1.3.1: the audit path of leaf `index` in the tree of `size`
// leaves, from the leaf's sibling up. INVALID_ARGUMENT unless index < size.
absl::StatusOr<std::vector<Hash>> InclusionProof(const NodeReader& nodes,
                                                 uint64_t index, uint64_t size);

// RFC 9162 2.1.4.1: proof that the tree of `first` leaves is a prefix of
// the tree of `second` leaves. Empty when first == second or first == 0.
// INVALID_ARGUMENT unless first <= second.
absl::StatusOr<std::vector<Hash>> ConsistencyProof(const NodeReader& nodes,
                                                   uint64_t first,
                                                   uint64_t second);

// RFC 9162 2.1.3.2. OK when the proof leads from leaf_hash to root; else
// a status whose message says what did not match.
absl::Status VerifyInclusion(uint64_t index, uint64_t size,
                             const Hash& leaf_hash,
                             const std::vector<Hash>& proof, const Hash& root);

// RFC 9162 2.1.4.2.
absl::Status VerifyConsistency(uint64_t first, uint64_t second,
                               const std::vector<Hash>& proof,
                               const Hash& first_root,
                               const Hash& second_root);

// The right edge of a growing tree: the roots of its complete subtrees,
// largest first. Adding a leaf yields the complete subtrees it finishes,
// to be stored with the leaf.
class Frontier {
 public:
  struct Node {
    int level;
    uint64_t index;
    Hash hash;
  };

  // The frontier of the tree of `size` leaves, read from stored nodes.
  static absl::StatusOr<Frontier> Load(const NodeReader& nodes, uint64_t size);

  uint64_t size() const { return size_; }
  // Appends the leaf with this hash; adds to `finished` the complete
  // subtrees it closes, from the leaf itself (level 0) up.
  void Add(const Hash& leaf_hash, std::vector<Node>* finished);
  Hash Root() const;

 private:
  uint64_t size_ = 0;
  std::vector<Hash> roots_;  // one per set bit of size_, highest first
};

// Keys of stored nodes: the level (1 byte), then the index (u64
// big-endian), so that each level's nodes are in order.
std::string NodeKey(int level, uint64_t index);

}  // namespace ncm::eventstore::merkle

#endif  // NCM_EVENTSTORE_MERKLE_H_
