// Helpers shared by Keygate's tests.
#ifndef KEYGATE_TESTS_SUPPORT_TEST_SUPPORT_H_
#define KEYGATE_TESTS_SUPPORT_TEST_SUPPORT_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "absl/synchronization/mutex.h"
#include "gmock/gmock.h"
#include "server/core/clock.h"

namespace keygate::testing {

// Matches an absl::Status or absl::StatusOr<T> whose code is `code`.
//   EXPECT_THAT(store->Get("x"), StatusIs(absl::StatusCode::kNotFound));
MATCHER_P(StatusIs, code, "has status code " + absl::StatusCodeToString(code)) {
  const absl::Status& status = [&]() -> absl::Status {
    if constexpr (std::is_same_v<std::decay_t<decltype(arg)>, absl::Status>) {
      return arg;
    } else {
      return arg.status();
    }
  }();
  *result_listener << "status is " << status;
  return status.code() == code;
}

#define KEYGATE_ASSERT_OK(expr) ASSERT_THAT((expr), ::keygate::testing::StatusIs(absl::StatusCode::kOk))
#define KEYGATE_EXPECT_OK(expr) EXPECT_THAT((expr), ::keygate::testing::StatusIs(absl::StatusCode::kOk))

// A fresh directory under $TEST_TMPDIR or /tmp, removed (recursively) by the
// destructor.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// A clock tests move by hand. Thread-safe.
class FakeClock final : public core::Clock {
 public:
  explicit FakeClock(absl::Time now = absl::FromUnixSeconds(1'800'000'000)) : now_(now) {}
  absl::Time Now() const override {
    absl::MutexLock lock(&mu_);
    return now_;
  }
  void Advance(absl::Duration d) {
    absl::MutexLock lock(&mu_);
    now_ += d;
  }

 private:
  mutable absl::Mutex mu_;
  absl::Time now_ ABSL_GUARDED_BY(mu_);
};

}  // namespace keygate::testing

#endif  // KEYGATE_TESTS_SUPPORT_TEST_SUPPORT_H_
