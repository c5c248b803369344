#include "ncm/resources/money.h"

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"

namespace ncm::resources {

std::optional<int> CurrencyExponent(absl::string_view code) {
  // ISO 4217 minor units of the currencies met in migration governance
  // funding in East Africa and among its partners.
  static const auto* table = new absl::flat_hash_map<std::string, int>{
      {"KES", 2}, {"UGX", 0}, {"TZS", 2}, {"RWF", 0}, {"BIF", 0}, {"SSP", 2},
      {"SDG", 2}, {"ETB", 2}, {"SOS", 2}, {"DJF", 0}, {"ERN", 2}, {"GHS", 2},
      {"NGN", 2}, {"ZAR", 2}, {"EGP", 2}, {"MAD", 2}, {"XOF", 0}, {"XAF", 0},
      {"USD", 2}, {"EUR", 2}, {"GBP", 2}, {"CHF", 2}, {"SEK", 2}, {"NOK", 2},
      {"DKK", 2}, {"CAD", 2}, {"AUD", 2}, {"JPY", 0}, {"CNY", 2}, {"INR", 2},
      {"AED", 2}, {"SAR", 2}, {"QAR", 2}, {"KWD", 3}, {"BHD", 3}, {"OMR", 3},
      {"JOD", 3}, {"TRY", 2}, {"KRW", 0}, {"XDR", 0}};
  auto it = table->find(std::string(code));
  if (it == table->end()) return std::nullopt;
  return it->second;
}

absl::StatusOr<Decimal> ParseDecimal(absl::string_view text,
                                     absl::string_view field) {
  auto bad = [&](absl::string_view why) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, " \"", text, "\" ", why));
  };
  if (text.empty()) return bad("is empty; give a decimal such as 129.35");
  Decimal d;
  bool point = false;
  int significant = 0;
  for (char c : text) {
    if (c == '.') {
      if (point) return bad("has two decimal points");
      point = true;
      continue;
    }
    if (c < '0' || c > '9') {
      return bad("must be a plain decimal: digits and one '.'");
    }
    if (point && ++d.scale > 12) return bad("has more than 12 decimals");
    if (d.digits > 0 || c != '0') ++significant;
    if (significant > 18) return bad("has more than 18 significant digits");
    d.digits = d.digits * 10 + (c - '0');
  }
  if (text.front() == '.' || text.back() == '.') {
    return bad("must have digits on both sides of '.'");
  }
  if (d.digits == 0) return bad("must be greater than zero");
  return d;
}

std::string FormatDecimal(const Decimal& d) {
  std::string s = absl::StrCat(d.digits);
  if (d.scale == 0) return s;
  if (static_cast<int>(s.size()) <= d.scale) {
    s.insert(0, d.scale - s.size() + 1, '0');
  }
  s.insert(s.size() - d.scale, ".");
  return s;
}

namespace {

__int128 Pow10(int n) {
  __int128 p = 1;
  for (int i = 0; i < n; ++i) p *= 10;
  return p;
}

}  // namespace

absl::StatusOr<int64_t> Convert(int64_t amount_minor, int from_exp,
                                const Decimal& rate, int to_exp) {
  // amount / 10^from x digits / 10^scale x 10^to, in exact integers.
  __int128 num = 0;
  const __int128 scale_to = Pow10(to_exp);
  if (__builtin_mul_overflow(static_cast<__int128>(amount_minor),
                             static_cast<__int128>(rate.digits), &num) ||
      __builtin_mul_overflow(num, scale_to, &num)) {
    return absl::InvalidArgumentError(
        "amount x exchange_rate is too large to convert");
  }
  const __int128 den = Pow10(from_exp + rate.scale);
  const bool negative = num < 0;
  __int128 q = (negative ? -num : num) / den;
  const __int128 r = (negative ? -num : num) % den;
  if (2 * r >= den) ++q;  // half away from zero
  if (negative) q = -q;
  if (q > INT64_MAX || q < INT64_MIN) {
    return absl::InvalidArgumentError(
        "the converted amount does not fit in 64-bit minor units");
  }
  return static_cast<int64_t>(q);
}

absl::StatusOr<int64_t> CheckedProduct(int64_t a, int64_t b, int64_t c,
                                       int64_t d, absl::string_view field) {
  int64_t out = 0;
  if (__builtin_mul_overflow(a, b, &out) ||
      __builtin_mul_overflow(out, c, &out) ||
      __builtin_mul_overflow(out, d, &out)) {
    return absl::InvalidArgumentError(absl::StrCat(
        field, ": ", a, " x ", b, " x ", c, " x ", d,
        " overflows 64-bit minor units; check the figures"));
  }
  return out;
}

std::string FormatMinor(int64_t minor, int exp) {
  const bool negative = minor < 0;
  // Work in unsigned to format INT64_MIN too.
  uint64_t v = negative ? 0 - static_cast<uint64_t>(minor)
                        : static_cast<uint64_t>(minor);
  uint64_t unit = 1;
  for (int i = 0; i < exp; ++i) unit *= 10;
  std::string whole = absl::StrCat(v / unit);
  std::string grouped;
  for (size_t i = 0; i < whole.size(); ++i) {
    if (i > 0 && (whole.size() - i) % 3 == 0) grouped += ',';
    grouped += whole[i];
  }
  std::string out = negative ? "-" + grouped : grouped;
  if (exp > 0) {
    std::string frac = absl::StrCat(v % unit);
    frac.insert(0, exp - frac.size(), '0');
    absl::StrAppend(&out, ".", frac);
  }
  return out;
}

}  // namespace ncm::resources
