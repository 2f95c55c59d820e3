#include "server/core/log.h"

#include <limits.h>
#include <unistd.h>

#include <atomic>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace keygate::core {
namespace {

std::atomic<int> g_min_level{static_cast<int>(LogLevel::kInfo)};

const char* LevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarning:
      return "warning";
    case LogLevel::kError:
      return "error";
  }
  return "info";
}

// Writes `text` (whole lines) with one write(2) where it can: lines written
// at once do not interleave with other threads' lines. Clears `text`.
void WriteAll(std::string& text) {
  const char* p = text.data();
  size_t left = text.size();
  while (left > 0) {
    const ssize_t n = ::write(STDERR_FILENO, p, left);
    if (n <= 0) break;
    p += n;
    left -= static_cast<size_t>(n);
  }
  text.clear();
}

// The open LogBatch scopes of this thread and the lines they hold.
struct ThreadBatch {
  int depth = 0;
  std::string lines;
};
thread_local ThreadBatch t_batch;

}  // namespace

LogValue::LogValue(absl::string_view text) { AppendJsonString(text, &json_); }
LogValue::LogValue(int64_t number) : json_(absl::StrCat(number)) {}
LogValue::LogValue(uint64_t number) : json_(absl::StrCat(number)) {}
LogValue::LogValue(bool flag) : json_(flag ? "true" : "false") {}

void AppendJsonString(absl::string_view text, std::string* out) {
  out->push_back('"');
  for (unsigned char c : text) {
    switch (c) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\r':
        out->append("\\r");
        break;
      case '\t':
        out->append("\\t");
        break;
      default:
        if (c < 0x20 || c == 0x7f) {
          absl::StrAppendFormat(out, "\\u%04x", c);
        } else {
          out->push_back(static_cast<char>(c));
        }
    }
  }
  out->push_back('"');
}

void SetLogLevel(LogLevel level) { g_min_level.store(static_cast<int>(level)); }

bool ParseLogLevel(absl::string_view text, LogLevel* level) {
  for (LogLevel l : {LogLevel::kDebug, LogLevel::kInfo, LogLevel::kWarning, LogLevel::kError}) {
    if (text == LevelName(l)) {
      *level = l;
      return true;
    }
  }
  return false;
}

bool LogEnabled(LogLevel level) {
  return static_cast<int>(level) >= g_min_level.load(std::memory_order_relaxed);
}

void Log(LogLevel level, absl::string_view event, std::initializer_list<LogField> fields) {
  if (!LogEnabled(level)) return;
  std::string line = absl::StrCat(
      "{\"time\":\"",
      absl::FormatTime("%Y-%m-%dT%H:%M:%E6SZ", absl::Now(), absl::UTCTimeZone()),
      "\",\"level\":\"", LevelName(level), "\",\"event\":");
  AppendJsonString(event, &line);
  for (const LogField& field : fields) {
    line.push_back(',');
    AppendJsonString(field.name, &line);
    line.push_back(':');
    line.append(field.value.json());
  }
  line.append("}\n");
  if (t_batch.depth > 0) {
    if (t_batch.lines.size() + line.size() > PIPE_BUF) WriteAll(t_batch.lines);
    if (line.size() > PIPE_BUF) {
      WriteAll(line);
    } else {
      t_batch.lines.append(line);
    }
    return;
  }
  WriteAll(line);
}

LogBatch::LogBatch() { ++t_batch.depth; }

LogBatch::~LogBatch() {
  if (--t_batch.depth == 0) WriteAll(t_batch.lines);
}

}  // namespace keygate::core
