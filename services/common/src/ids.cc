#include "ncm/services/ids.h"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <array>
#include <cstdio>

#include "absl/strings/str_cat.h"

namespace ncm::services {
namespace {

std::string Format(std::array<unsigned char, 16> b) {
  char out[37];
  std::snprintf(out, sizeof out,
                "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
                "%02x%02x%02x%02x%02x%02x",
                b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9],
                b[10], b[11], b[12], b[13], b[14], b[15]);
  return out;
}

}  // namespace

std::string NewUuid() {
  std::array<unsigned char, 16> b{};
  if (RAND_bytes(b.data(), static_cast<int>(b.size())) != 1) {
    // OpenSSL's generator does not fail once seeded; fall back to a
    // derivation from the clock rather than return a fixed id.
    std::string now = absl::StrCat(absl::GetCurrentTimeNanos());
    return DeriveUuid({"fallback", now});
  }
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  return Format(b);
}

namespace {

std::array<unsigned char, 32> Digest(
    std::initializer_list<absl::string_view> parts) {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr);
  for (absl::string_view p : parts) {
    const uint32_t n = static_cast<uint32_t>(p.size());
    unsigned char len[4] = {static_cast<unsigned char>(n >> 24),
                            static_cast<unsigned char>(n >> 16),
                            static_cast<unsigned char>(n >> 8),
                            static_cast<unsigned char>(n)};
    EVP_DigestUpdate(ctx, len, 4);
    EVP_DigestUpdate(ctx, p.data(), p.size());
  }
  std::array<unsigned char, 32> digest{};
  unsigned int dlen = 0;
  EVP_DigestFinal_ex(ctx, digest.data(), &dlen);
  EVP_MD_CTX_free(ctx);
  return digest;
}

}  // namespace

std::string HexSha256(std::initializer_list<absl::string_view> parts) {
  const std::array<unsigned char, 32> d = Digest(parts);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(64);
  for (unsigned char c : d) {
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 15]);
  }
  return out;
}

std::string DeriveUuid(std::initializer_list<absl::string_view> parts) {
  const std::array<unsigned char, 32> digest = Digest(parts);
  std::array<unsigned char, 16> b{};
  for (int i = 0; i < 16; ++i) b[i] = digest[i];
  b[6] = (b[6] & 0x0f) | 0x80;
  b[8] = (b[8] & 0x3f) | 0x80;
  return Format(b);
}

absl::Status CheckUuid(absl::string_view id, absl::string_view field) {
  bool ok = id.size() == 36;
  for (size_t i = 0; ok && i < id.size(); ++i) {
    const char c = id[i];
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      ok = c == '-';
    } else {
      ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
           (c >= 'A' && c <= 'F');
    }
  }
  if (ok) return absl::OkStatus();
  if (id.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(field, " is required"));
  }
  return absl::InvalidArgumentError(absl::StrCat(
      field, " \"", id.substr(0, 64),
      "\" is not an id; ids are UUIDs such as "
      "123e4567-e89b-12d3-a456-426614174000"));
}

absl::Status CheckCommandId(absl::string_view id, absl::string_view field) {
  if (id.size() > 128) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, " is longer than 128 characters"));
  }
  for (char c : id) {
    if (c < 0x21 || c > 0x7e) {
      return absl::InvalidArgumentError(absl::StrCat(
          field, " may hold printable ASCII characters only, without spaces"));
    }
  }
  return absl::OkStatus();
}

}  // namespace ncm::services
