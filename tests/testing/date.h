// A domain date for requests, from year, month and day.
#ifndef NCM_TESTING_DATE_H_
#define NCM_TESTING_DATE_H_

#include "ncm/common/v1/common.pb.h"

namespace ncm::testing {

inline ncm::common::v1::Date Day(int y, int m, int d) {
  ncm::common::v1::Date out;
  out.set_year(y);
  out.set_month(m);
  out.set_day(d);
  return out;
}

}  // namespace ncm::testing

#endif  // NCM_TESTING_DATE_H_
