// Domain dates: calendar days with no time zone, as in ncm.common.v1.Date.
#ifndef NCM_SERVICES_DATES_H_
#define NCM_SERVICES_DATES_H_

#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "google/protobuf/timestamp.pb.h"
#include "ncm/common/v1/common.pb.h"

namespace ncm::services {

// Checks that `d` names a real day between 1900-01-01 and 9999-12-31.
// INVALID_ARGUMENT naming `field` otherwise.
absl::StatusOr<absl::CivilDay> FromProto(const ncm::common::v1::Date& d,
                                         absl::string_view field);
ncm::common::v1::Date ToProto(absl::CivilDay day);
bool IsSet(const ncm::common::v1::Date& d);
// "2021-03-31".
std::string FormatDay(absl::CivilDay day);

// A domain date as recorded in an event envelope: midnight UTC of the day.
absl::Time DayToTime(absl::CivilDay day);
absl::CivilDay TimeToDay(absl::Time t);
// An instant (e.g. an event's recorded_at) for a read's answer.
google::protobuf::Timestamp ToTimestamp(absl::Time t);

// The server's notion of "today": its clock read in its time zone.
struct Clock {
  std::function<absl::Time()> now = [] { return absl::Now(); };
  absl::TimeZone zone = absl::UTCTimeZone();
  absl::CivilDay Today() const { return absl::ToCivilDay(now(), zone); }
};

}  // namespace ncm::services

#endif  // NCM_SERVICES_DATES_H_
