// Structured logging: one JSON object per line on stderr.
//   {"time":"2026-11-26T09:00:00.123456Z","level":"info","event":"server_started","listen":"127.0.0.1:50051"}
// Never pass a token or other secret as a field.
#ifndef KEYGATE_SERVER_CORE_LOG_H_
#define KEYGATE_SERVER_CORE_LOG_H_

#include <cstdint>
#include <initializer_list>
#include <string>

#include "absl/strings/string_view.h"

namespace keygate::core {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3 };

// A field value: text (JSON string) or a number/bool (JSON literal).
class LogValue {
 public:
  LogValue(absl::string_view text);  // NOLINT: implicit by design.
  LogValue(const std::string& text) : LogValue(absl::string_view(text)) {}  // NOLINT
  LogValue(const char* text) : LogValue(absl::string_view(text)) {}        // NOLINT
  LogValue(int64_t number);                                                 // NOLINT
  LogValue(int number) : LogValue(static_cast<int64_t>(number)) {}          // NOLINT
  LogValue(uint64_t number);                                                // NOLINT
  LogValue(bool flag);                                                      // NOLINT

  const std::string& json() const { return json_; }

 private:
  std::string json_;  // Already encoded as JSON.
};

struct LogField {
  absl::string_view name;
  LogValue value;
};

// Sets the minimum level written (default kInfo). Thread-safe.
void SetLogLevel(LogLevel level);
// Parses debug|info|warning|error.
bool ParseLogLevel(absl::string_view text, LogLevel* level);
bool LogEnabled(LogLevel level);

// Writes one line atomically (a single write(2)), or adds it to this
// thread's LogBatch if one is open. Thread-safe.
void Log(LogLevel level, absl::string_view event, std::initializer_list<LogField> fields = {});

// While one is open, this thread's Log() lines are held and written when the
// outermost batch closes, several whole lines per write(2) (at most PIPE_BUF
// bytes each, so a pipe never interleaves them with other threads' lines).
// For loops that log once per item, e.g. answering a group of committed
// calls: one write instead of one per call. A batch is bound to its thread;
// keep it short, since its lines appear only when it closes.
class LogBatch {
 public:
  LogBatch();
  ~LogBatch();
  LogBatch(const LogBatch&) = delete;
  LogBatch& operator=(const LogBatch&) = delete;
};

// Appends `text` to `out` as a quoted JSON string.
void AppendJsonString(absl::string_view text, std::string* out);

}  // namespace keygate::core

#endif  // KEYGATE_SERVER_CORE_LOG_H_
