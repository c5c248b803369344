// Exact money arithmetic: integer minor units, ISO 4217 minor-unit
// exponents, exact decimal exchange rates, checked multiplication. No
// floating point.
#ifndef NCM_RESOURCES_MONEY_H_
#define NCM_RESOURCES_MONEY_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace ncm::resources {

// The number of minor-unit digits of an ISO 4217 currency (KES 2, UGX 0,
// KWD 3), or nullopt for a code the table does not hold.
std::optional<int> CurrencyExponent(absl::string_view code);

// A positive exact decimal: digits / 10^scale.
struct Decimal {
  int64_t digits = 0;  // at most 18 significant digits
  int scale = 0;       // 0 to 12 fractional digits
};

// Parses "129.35", "1", "0.0078"; INVALID_ARGUMENT naming `field` for
// signs, exponents, more than 12 fractional digits, zero or an empty text.
absl::StatusOr<Decimal> ParseDecimal(absl::string_view text,
                                     absl::string_view field);
std::string FormatDecimal(const Decimal& d);

// amount (minor units, exponent from_exp) x rate, in minor units of
// exponent to_exp, rounded half away from zero. INVALID_ARGUMENT when the
// result does not fit in 64 bits.
absl::StatusOr<int64_t> Convert(int64_t amount_minor, int from_exp,
                                const Decimal& rate, int to_exp);

// a x b x c x d, or INVALID_ARGUMENT naming `field` on overflow.
absl::StatusOr<int64_t> CheckedProduct(int64_t a, int64_t b, int64_t c,
                                       int64_t d, absl::string_view field);

// "1,234,567.89" for minor units of exponent `exp`.
std::string FormatMinor(int64_t minor, int exp);

}  // namespace ncm::resources

#endif  // NCM_RESOURCES_MONEY_H_
