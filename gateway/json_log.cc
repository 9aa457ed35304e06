// gateway/json_log.cc — see json_log.h.
#include "gateway/json_log.h"

#include <unistd.h>

#include <cerrno>
#include <ctime>

namespace switchboard {

std::string_view log_level_name(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug: return "debug";
    case LogLevel::kInfo: return "info";
    case LogLevel::kWarn: return "warn";
    case LogLevel::kError: return "error";
  }
  return "info";
}

std::optional<LogLevel> parse_log_level(std::string_view s) {
  if (s == "debug") return LogLevel::kDebug;
  if (s == "info") return LogLevel::kInfo;
  if (s == "warn" || s == "warning") return LogLevel::kWarn;
  if (s == "error") return LogLevel::kError;
  return std::nullopt;
}

void append_json_string(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += '"';
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (u < 0x20 || u == 0x7f) {
          out += "\\u00";
          out += kHex[u >> 4];
          out += kHex[u & 0xf];
        } else {
          out += c;  // UTF-8 passes through; invalid bytes are the reader's problem
        }
    }
  }
  out += '"';
}

LogField::LogField(std::string_view key, std::string_view value) : key_(key) {
  append_json_string(json_, value);
}

std::string Logger::format(std::chrono::system_clock::time_point ts, LogLevel level,
                           std::string_view msg, std::initializer_list<LogField> fields,
                           std::string_view component) {
  using namespace std::chrono;
  std::time_t secs = system_clock::to_time_t(ts);
  auto millis = duration_cast<milliseconds>(ts.time_since_epoch()).count() % 1000;
  if (millis < 0) millis += 1000;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char stamp[64];  // room for any int year: keeps -Wformat-truncation quiet
  std::snprintf(stamp, sizeof stamp, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, int(millis));

  std::string line;
  line.reserve(96 + msg.size());
  line += "{\"ts\":\"";
  line += stamp;
  line += "\",\"level\":\"";
  line += log_level_name(level);
  if (!component.empty()) {
    line += "\",\"component\":";
    append_json_string(line, component);
    line += ",\"msg\":";
  } else {
    line += "\",\"msg\":";
  }
  append_json_string(line, msg);
  for (const LogField& f : fields) {
    line += ',';
    append_json_string(line, f.key());
    line += ':';
    line += f.json();
  }
  line += "}\n";
  return line;
}

void Logger::log(LogLevel level, std::string_view msg, std::initializer_list<LogField> fields) {
  if (!enabled(level)) return;
  std::string line = format(std::chrono::system_clock::now(), level, msg, fields, component_);
  const char* p = line.data();
  size_t left = line.size();
  while (left > 0) {
    ssize_t n = ::write(fd_, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      return;  // nowhere to report a failing log
    }
    p += n;
    left -= size_t(n);
  }
}

}  // namespace switchboard
