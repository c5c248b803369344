#include "ncm/eventstore/merkle.h"

#include "absl/strings/str_cat.h"
#include "ncm/eventstore/status_macros.h"
#include "record_codec.h"

namespace ncm::eventstore::merkle {
namespace {

absl::string_view View(const Hash& h) {
  return absl::string_view(reinterpret_cast<const char*>(h.data()), h.size());
}

bool IsPowerOfTwo(uint64_t n) { return n != 0 && (n & (n - 1)) == 0; }

// The largest power of two smaller than n. REQUIRES: n >= 2.
uint64_t SplitPoint(uint64_t n) {
  uint64_t k = uint64_t{1} << (63 - __builtin_clzll(n - 1));
  return k;
}

int Log2(uint64_t power_of_two) { return __builtin_ctzll(power_of_two); }

// PATH(m, D[begin : begin + n]) of RFC 9162 2.1.3.1, appended to `out`
// from the leaf's sibling up.
absl::Status Path(const NodeReader& nodes, uint64_t m, uint64_t begin,
                  uint64_t n, std::vector<Hash>* out) {
  if (n == 1) return absl::OkStatus();
  const uint64_t k = SplitPoint(n);
  if (m < k) {
    NCM_RETURN_IF_ERROR(Path(nodes, m, begin, k, out));
    NCM_ASSIGN_OR_RETURN(Hash right, RangeHash(nodes, begin + k, begin + n));
    out->push_back(right);
  } else {
    NCM_RETURN_IF_ERROR(Path(nodes, m - k, begin + k, n - k, out));
    NCM_ASSIGN_OR_RETURN(Hash left, RangeHash(nodes, begin, begin + k));
    out->push_back(left);
  }
  return absl::OkStatus();
}

// SUBPROOF(m, D[begin : begin + n], whole) of RFC 9162 2.1.4.1.
absl::Status Subproof(const NodeReader& nodes, uint64_t m, uint64_t begin,
                      uint64_t n, bool whole, std::vector<Hash>* out) {
  if (m == n) {
    if (!whole) {
      NCM_ASSIGN_OR_RETURN(Hash h, RangeHash(nodes, begin, begin + n));
      out->push_back(h);
    }
    return absl::OkStatus();
  }
  const uint64_t k = SplitPoint(n);
  if (m <= k) {
    NCM_RETURN_IF_ERROR(Subproof(nodes, m, begin, k, whole, out));
    NCM_ASSIGN_OR_RETURN(Hash right, RangeHash(nodes, begin + k, begin + n));
    out->push_back(right);
  } else {
    NCM_RETURN_IF_ERROR(Subproof(nodes, m - k, begin + k, n - k, false, out));
    NCM_ASSIGN_OR_RETURN(Hash left, RangeHash(nodes, begin, begin + k));
    out->push_back(left);
  }
  return absl::OkStatus();
}

}  // namespace

Hash LeafHash(absl::string_view leaf) {
  static constexpr char kLeaf[] = {0x00};
  return codec::Sha256Of({absl::string_view(kLeaf, 1), leaf});
}

Hash NodeHash(const Hash& left, const Hash& right) {
  static constexpr char kNode[] = {0x01};
  return codec::Sha256Of({absl::string_view(kNode, 1), View(left), View(right)});
}

Hash EmptyRoot() { return codec::Sha256Of({}); }

absl::string_view RecordOf(absl::string_view value) {
  return value.substr(32, value.size() - 64);
}

absl::StatusOr<Hash> RangeHash(const NodeReader& nodes, uint64_t begin,
                               uint64_t end) {
  const uint64_t n = end - begin;
  if (IsPowerOfTwo(n) && begin % n == 0) {
    const int level = Log2(n);
    return nodes(level, begin >> level);
  }
  const uint64_t k = SplitPoint(n);
  NCM_ASSIGN_OR_RETURN(Hash left, RangeHash(nodes, begin, begin + k));
  NCM_ASSIGN_OR_RETURN(Hash right, RangeHash(nodes, begin + k, end));
  return NodeHash(left, right);
}

absl::StatusOr<Hash> RootAt(const NodeReader& nodes, uint64_t size) {
  if (size == 0) return EmptyRoot();
  return RangeHash(nodes, 0, size);
}

absl::StatusOr<std::vector<Hash>> InclusionProof(const NodeReader& nodes,
                                                 uint64_t index,
                                                 uint64_t size) {
  if (index >= size) {
    return absl::InvalidArgumentError(absl::StrCat(
        "leaf index ", index, " is not in a tree of ", size, " leaves"));
  }
  std::vector<Hash> out;
  NCM_RETURN_IF_ERROR(Path(nodes, index, 0, size, &out));
  return out;
}

absl::StatusOr<std::vector<Hash>> ConsistencyProof(const NodeReader& nodes,
                                                   uint64_t first,
                                                   uint64_t second) {
  if (first > second) {
    return absl::InvalidArgumentError(absl::StrCat(
        "a tree of ", first, " leaves cannot be a prefix of one of ", second));
  }
  std::vector<Hash> out;
  if (first == 0 || first == second) return out;
  NCM_RETURN_IF_ERROR(Subproof(nodes, first, 0, second, true, &out));
  return out;
}

absl::Status VerifyInclusion(uint64_t index, uint64_t size,
                             const Hash& leaf_hash,
                             const std::vector<Hash>& proof, const Hash& root) {
  if (index >= size) {
    return absl::InvalidArgumentError(absl::StrCat(
        "leaf index ", index, " is not in a tree of ", size, " leaves"));
  }
  uint64_t fn = index, sn = size - 1;
  Hash r = leaf_hash;
  for (const Hash& p : proof) {
    if (sn == 0) {
      return absl::DataLossError(absl::StrCat(
          "the inclusion proof has more than the ", proof.size() - 1,
          " hashes a tree of ", size, " leaves needs"));
    }
    if ((fn & 1) != 0 || fn == sn) {
      r = NodeHash(p, r);
      while ((fn & 1) == 0 && fn != 0) {
        fn >>= 1;
        sn >>= 1;
      }
    } else {
      r = NodeHash(r, p);
    }
    fn >>= 1;
    sn >>= 1;
  }
  if (sn != 0) {
    return absl::DataLossError(absl::StrCat(
        "the inclusion proof is too short for leaf ", index, " of a tree of ",
        size, " leaves"));
  }
  if (r != root) {
    return absl::DataLossError(absl::StrCat(
        "the inclusion proof of leaf ", index, " does not lead to the root of "
        "the tree of ", size, " leaves"));
  }
  return absl::OkStatus();
}

absl::Status VerifyConsistency(uint64_t first, uint64_t second,
                               const std::vector<Hash>& proof,
                               const Hash& first_root,
                               const Hash& second_root) {
  if (first > second) {
    return absl::InvalidArgumentError(absl::StrCat(
        "a tree of ", first, " leaves cannot be a prefix of one of ", second));
  }
  if (first == second) {
    if (!proof.empty()) {
      return absl::DataLossError("a consistency proof between equal sizes must be empty");
    }
    if (first_root != second_root) {
      return absl::DataLossError(absl::StrCat(
          "two different roots for the same tree size ", first));
    }
    return absl::OkStatus();
  }
  if (first == 0) {
    if (!proof.empty()) {
      return absl::DataLossError("a consistency proof from the empty tree must be empty");
    }
    if (first_root != EmptyRoot()) {
      return absl::DataLossError("the root given for the empty tree is not the empty tree's");
    }
    return absl::OkStatus();
  }
  std::vector<Hash> path;
  path.reserve(proof.size() + 1);
  if (IsPowerOfTwo(first)) path.push_back(first_root);
  path.insert(path.end(), proof.begin(), proof.end());
  if (path.empty()) return absl::DataLossError("the consistency proof is empty");
  uint64_t fn = first - 1, sn = second - 1;
  while ((fn & 1) != 0) {
    fn >>= 1;
    sn >>= 1;
  }
  Hash fr = path[0], sr = path[0];
  for (size_t i = 1; i < path.size(); ++i) {
    const Hash& c = path[i];
    if (sn == 0) {
      return absl::DataLossError(absl::StrCat(
          "the consistency proof from ", first, " to ", second,
          " leaves has more hashes than it needs"));
    }
    if ((fn & 1) != 0 || fn == sn) {
      fr = NodeHash(c, fr);
      sr = NodeHash(c, sr);
      while ((fn & 1) == 0 && fn != 0) {
        fn >>= 1;
        sn >>= 1;
      }
    } else {
      sr = NodeHash(sr, c);
    }
    fn >>= 1;
    sn >>= 1;
  }
  if (sn != 0) {
    return absl::DataLossError(absl::StrCat(
        "the consistency proof from ", first, " to ", second,
        " leaves is too short"));
  }
  if (fr != first_root) {
    return absl::DataLossError(absl::StrCat(
        "the consistency proof does not lead to the root of the tree of ",
        first, " leaves"));
  }
  if (sr != second_root) {
    return absl::DataLossError(absl::StrCat(
        "the consistency proof does not lead to the root of the tree of ",
        second, " leaves"));
  }
  return absl::OkStatus();
}

absl::StatusOr<Frontier> Frontier::Load(const NodeReader& nodes,
                                        uint64_t size) {
  Frontier f;
  uint64_t offset = 0;
  for (int level = 63; level >= 0; --level) {
    const uint64_t bit = uint64_t{1} << level;
    if ((size & bit) == 0) continue;
    NCM_ASSIGN_OR_RETURN(Hash h, nodes(level, offset >> level));
    f.roots_.push_back(h);
    offset += bit;
  }
  f.size_ = size;
  return f;
}

void Frontier::Add(const Hash& leaf_hash, std::vector<Node>* finished) {
  const uint64_t index = size_;
  Hash cur = leaf_hash;
  finished->push_back(Node{0, index, cur});
  int level = 0;
  while (((index >> level) & 1) != 0) {
    cur = NodeHash(roots_.back(), cur);
    roots_.pop_back();
    ++level;
    finished->push_back(Node{level, index >> level, cur});
  }
  roots_.push_back(cur);
  ++size_;
}

Hash Frontier::Root() const {
  if (roots_.empty()) return EmptyRoot();
  Hash r = roots_.back();
  for (size_t i = roots_.size() - 1; i-- > 0;) r = NodeHash(roots_[i], r);
  return r;
}

std::string NodeKey(int level, uint64_t index) {
  std::string key(1, static_cast<char>(level));
  codec::PutU64(index, &key);
  return key;
}

}  // namespace ncm::eventstore::merkle
