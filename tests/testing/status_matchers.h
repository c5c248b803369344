// GoogleTest matchers for absl::Status and absl::StatusOr<T>, which the
// installed Abseil does not ship.
#ifndef NCM_TESTING_STATUS_MATCHERS_H_
#define NCM_TESTING_STATUS_MATCHERS_H_

#include <ostream>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ncm::testing {

inline const absl::Status& GetStatus(const absl::Status& s) { return s; }
template <typename T>
const absl::Status& GetStatus(const absl::StatusOr<T>& s) {
  return s.status();
}

MATCHER(IsOk, "is OK") {
  const absl::Status& s = GetStatus(arg);
  if (!s.ok()) *result_listener << "status is " << s.ToString();
  return s.ok();
}

MATCHER_P(StatusIs, code,
          std::string("has code ") + absl::StatusCodeToString(code)) {
  const absl::Status& s = GetStatus(arg);
  *result_listener << "status is " << s.ToString();
  return s.code() == code;
}

MATCHER_P2(StatusIs, code, message_matcher,
           std::string("has code ") + absl::StatusCodeToString(code)) {
  const absl::Status& s = GetStatus(arg);
  *result_listener << "status is " << s.ToString();
  return s.code() == code &&
         ::testing::ExplainMatchResult(message_matcher, std::string(s.message()),
                                       result_listener);
}

// A StatusOr that is OK and whose value matches `value_matcher`.
MATCHER_P(IsOkAndHolds, value_matcher, "is OK and holds a matching value") {
  if (!arg.ok()) {
    *result_listener << "status is " << arg.status().ToString();
    return false;
  }
  return ::testing::ExplainMatchResult(value_matcher, *arg, result_listener);
}

}  // namespace ncm::testing

#define NCM_TEST_CONCAT_INNER_(a, b) a##b
#define NCM_TEST_CONCAT_(a, b) NCM_TEST_CONCAT_INNER_(a, b)

// lhs = value of the StatusOr `rexpr`; fails the test when not OK.
#define ASSERT_OK_AND_ASSIGN(lhs, rexpr)                          \
  auto NCM_TEST_CONCAT_(statusor_, __LINE__) = (rexpr);           \
  ASSERT_TRUE(NCM_TEST_CONCAT_(statusor_, __LINE__).ok())         \
      << NCM_TEST_CONCAT_(statusor_, __LINE__).status().ToString(); \
  lhs = std::move(NCM_TEST_CONCAT_(statusor_, __LINE__)).value()

#define ASSERT_OK(expr) ASSERT_THAT((expr), ::ncm::testing::IsOk())
#define EXPECT_OK(expr) EXPECT_THAT((expr), ::ncm::testing::IsOk())

#endif  // NCM_TESTING_STATUS_MATCHERS_H_
