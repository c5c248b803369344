#include "ncm/services/dates.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace ncm::services {

absl::StatusOr<absl::CivilDay> FromProto(const ncm::common::v1::Date& d,
                                         absl::string_view field) {
  if (d.year() < 1900 || d.year() > 9999 || d.month() < 1 || d.month() > 12 ||
      d.day() < 1 || d.day() > 31) {
    return absl::InvalidArgumentError(absl::StrCat(
        field, " must be a date with year 1900-9999, month 1-12 and day 1-31; "
               "got ",
        d.year(), "-", d.month(), "-", d.day()));
  }
  absl::CivilDay day(d.year(), d.month(), d.day());
  if (day.month() != d.month() || day.day() != d.day()) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s %04d-%02d-%02d is not a day of the calendar", field, d.year(),
        d.month(), d.day()));
  }
  return day;
}

ncm::common::v1::Date ToProto(absl::CivilDay day) {
  ncm::common::v1::Date d;
  d.set_year(static_cast<int32_t>(day.year()));
  d.set_month(day.month());
  d.set_day(day.day());
  return d;
}

bool IsSet(const ncm::common::v1::Date& d) {
  return d.year() != 0 || d.month() != 0 || d.day() != 0;
}

std::string FormatDay(absl::CivilDay day) {
  return absl::StrFormat("%04d-%02d-%02d", day.year(), day.month(), day.day());
}

absl::Time DayToTime(absl::CivilDay day) {
  return absl::FromCivil(day, absl::UTCTimeZone());
}

absl::CivilDay TimeToDay(absl::Time t) {
  return absl::ToCivilDay(t, absl::UTCTimeZone());
}

google::protobuf::Timestamp ToTimestamp(absl::Time t) {
  google::protobuf::Timestamp out;
  const int64_t secs = absl::ToUnixSeconds(t);  // rounds down
  out.set_seconds(secs);
  out.set_nanos(static_cast<int32_t>(
      absl::ToInt64Nanoseconds(t - absl::FromUnixSeconds(secs))));
  return out;
}

}  // namespace ncm::services
