#include "server/core/log.h"

#include <fcntl.h>
#include <limits.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"

namespace keygate::core {
namespace {

// Sends this process's stderr into a pipe for the test's lifetime.
class LogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    int fds[2];
    ASSERT_EQ(pipe(fds), 0);
    read_fd_ = fds[0];
    ASSERT_EQ(fcntl(read_fd_, F_SETFL, O_NONBLOCK), 0);
    saved_stderr_ = dup(STDERR_FILENO);
    ASSERT_GE(saved_stderr_, 0);
    ASSERT_EQ(dup2(fds[1], STDERR_FILENO), STDERR_FILENO);
    close(fds[1]);
  }
  void TearDown() override {
    dup2(saved_stderr_, STDERR_FILENO);
    close(saved_stderr_);
    close(read_fd_);
  }

  // Everything written to stderr since the last call.
  std::string Written() {
    std::string out;
    char buffer[4096];
    ssize_t n;
    while ((n = read(read_fd_, buffer, sizeof(buffer))) > 0) out.append(buffer, n);
    return out;
  }

  static std::vector<std::string> Lines(const std::string& text) {
    return absl::StrSplit(text, '\n', absl::SkipEmpty());
  }

  int read_fd_ = -1;
  int saved_stderr_ = -1;
};

TEST_F(LogTest, ALineIsWrittenAtOnceOutsideABatch) {
  Log(LogLevel::kWarning, "unbatched", {{"n", 1}});
  const std::vector<std::string> lines = Lines(Written());
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_NE(lines[0].find("\"event\":\"unbatched\",\"n\":1}"), std::string::npos) << lines[0];
}

TEST_F(LogTest, ABatchHoldsItsLinesUntilTheOutermostCloses) {
  {
    LogBatch outer;
    Log(LogLevel::kWarning, "first");
    {
      LogBatch inner;
      Log(LogLevel::kWarning, "second");
    }
    EXPECT_EQ(Written(), "");  // The inner batch's end wrote nothing.
    Log(LogLevel::kWarning, "third");
    EXPECT_EQ(Written(), "");
  }
  const std::vector<std::string> lines = Lines(Written());
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_NE(lines[0].find("\"event\":\"first\""), std::string::npos);
  EXPECT_NE(lines[1].find("\"event\":\"second\""), std::string::npos);
  EXPECT_NE(lines[2].find("\"event\":\"third\""), std::string::npos);
  Log(LogLevel::kWarning, "after");  // Batching ended with the scope.
  EXPECT_EQ(Lines(Written()).size(), 1u);
}

TEST_F(LogTest, ABatchLargerThanAPipeWriteKeepsEveryLineWholeAndInOrder) {
  const std::string padding(300, 'x');
  const std::string huge(PIPE_BUF + 100, 'y');  // Longer than one atomic write.
  constexpr int kLines = 40;                     // ~13 KB: several writes.
  {
    LogBatch batch;
    for (int i = 0; i < kLines; ++i) {
      Log(LogLevel::kWarning, "line", {{"i", i}, {"pad", padding}});
      if (i == kLines / 2) Log(LogLevel::kWarning, "huge", {{"pad", huge}});
    }
  }
  const std::vector<std::string> lines = Lines(Written());
  ASSERT_EQ(lines.size(), kLines + 1u);
  int next = 0;
  for (const std::string& line : lines) {
    EXPECT_EQ(line.front(), '{');
    EXPECT_EQ(line.back(), '}');
    if (line.find("\"event\":\"huge\"") != std::string::npos) {
      EXPECT_NE(line.find(huge), std::string::npos);
      EXPECT_EQ(next, kLines / 2 + 1);  // Right after the line it followed.
      continue;
    }
    EXPECT_NE(line.find(absl::StrCat("\"i\":", next, ",")), std::string::npos) << line;
    ++next;
  }
  EXPECT_EQ(next, kLines);
}

}  // namespace
}  // namespace keygate::core
