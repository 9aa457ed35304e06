// gateway/json_log.h — structured logs: one JSON object per line on stderr.
//
//   logger.log(LogLevel::kInfo, "listening", {{"transport", "udp"}, {"address", "127.0.0.1:5060"}});
//   → {"ts":"2026-11-26T06:40:00.123Z","level":"info","msg":"listening","transport":"udp","address":"127.0.0.1:5060"}
//
// Every line is built first and written with a single write(2), so lines
// from several threads never interleave (pipes guarantee it up to PIPE_BUF,
// and lines are kept short). Callers on hot paths check enabled() first so a
// disabled debug line costs one atomic load.
//
// Threading: thread-safe.
#ifndef SWITCHBOARD_GATEWAY_JSON_LOG_H_
#define SWITCHBOARD_GATEWAY_JSON_LOG_H_

#include <atomic>
#include <chrono>
#include <concepts>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

namespace switchboard {

enum class LogLevel : uint8_t { kDebug, kInfo, kWarn, kError };

std::string_view log_level_name(LogLevel level);             // "debug", "info", "warn", "error"
std::optional<LogLevel> parse_log_level(std::string_view s);  // the names above ("warning" too)

// One key/value of a log line; the value is stored JSON-encoded.
class LogField {
 public:
  LogField(std::string_view key, std::string_view value);
  LogField(std::string_view key, const char* value) : LogField(key, std::string_view(value)) {}
  LogField(std::string_view key, const std::string& value) : LogField(key, std::string_view(value)) {}
  LogField(std::string_view key, bool value) : key_(key), json_(value ? "true" : "false") {}
  template <std::integral T>
    requires(!std::same_as<T, bool> && !std::same_as<T, char>)
  LogField(std::string_view key, T value) : key_(key), json_(std::to_string(value)) {}

  std::string_view key() const { return key_; }
  const std::string& json() const { return json_; }

 private:
  std::string_view key_;
  std::string json_;
};

// Appends `s` as a JSON string literal (quotes included).
void append_json_string(std::string& out, std::string_view s);

class Logger {
 public:
  // Writes to `fd` (stderr by default) the lines at `level` and above.
  explicit Logger(LogLevel level = LogLevel::kInfo, int fd = 2) : level_(level), fd_(fd) {}

  // A logger for one part of the server ("sip", "registrar", "calls", "api"):
  // the same output, its lines carry "component":NAME, and its level is this
  // logger's, now and after any later set_level() on this one (a reload
  // changes every component at once). `this` must outlive it.
  Logger component(std::string_view name) const { return Logger(this, std::string(name), fd_); }

  // On a component logger, sets the level of the logger it came from.
  void set_level(LogLevel level) {
    if (root_ != nullptr) return const_cast<Logger*>(root_)->set_level(level);
    level_.store(level, std::memory_order_relaxed);
  }
  LogLevel level() const {
    return root_ != nullptr ? root_->level() : level_.load(std::memory_order_relaxed);
  }
  bool enabled(LogLevel level) const { return level >= this->level(); }

  void log(LogLevel level, std::string_view msg, std::initializer_list<LogField> fields = {});
  void debug(std::string_view msg, std::initializer_list<LogField> fields = {}) { log(LogLevel::kDebug, msg, fields); }
  void info(std::string_view msg, std::initializer_list<LogField> fields = {}) { log(LogLevel::kInfo, msg, fields); }
  void warn(std::string_view msg, std::initializer_list<LogField> fields = {}) { log(LogLevel::kWarn, msg, fields); }
  void error(std::string_view msg, std::initializer_list<LogField> fields = {}) { log(LogLevel::kError, msg, fields); }

  // The line log() would write (newline included), for tests.
  static std::string format(std::chrono::system_clock::time_point ts, LogLevel level,
                            std::string_view msg, std::initializer_list<LogField> fields,
                            std::string_view component = {});

 private:
  Logger(const Logger* root, std::string component, int fd)
      : level_(LogLevel::kInfo), fd_(fd), root_(root), component_(std::move(component)) {}

  std::atomic<LogLevel> level_;
  int fd_;
  const Logger* root_ = nullptr;  // component loggers: where the level lives
  std::string component_;
};

}  // namespace switchboard

#endif  // SWITCHBOARD_GATEWAY_JSON_LOG_H_
