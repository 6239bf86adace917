// One line per event for sipmixd: "TIME LEVEL EVENT call=ID key=value ...".
// Any thread may log (one write per line, under a lock): never the media hot
// path. Values of keys that name secrets (secret, password, token, auth, jwt)
// are replaced by "[redacted]", and control characters are escaped, so a
// request can neither leak a secret into the log nor forge a line.
#pragma once

#include <functional>
#include <initializer_list>
#include <string>
#include <string_view>

namespace sipmix::gw {

enum class LogLevel { kDebug, kInfo, kWarn, kError };

struct LogField {
  std::string_view key;
  std::string_view value;
};

// call_id: the call the event is about, or empty for daemon-wide events ("-").
void log_event(LogLevel level, std::string_view event, std::string_view call_id,
               std::initializer_list<LogField> fields = {});

// The line log_event writes, without the timestamp and newline (for tests).
std::string format_log_fields(LogLevel level, std::string_view event, std::string_view call_id,
                              std::initializer_list<LogField> fields);

void set_log_level(LogLevel min_level);
// Replaces stderr as the destination (nullptr: back to stderr). Tests only.
void set_log_sink(std::function<void(std::string_view line)> sink);

}  // namespace sipmix::gw
