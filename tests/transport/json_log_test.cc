// JSON log lines: one object per line, escaped, with the fields given.
#include "gateway/json_log.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>

namespace {

using switchboard::LogLevel;
using switchboard::Logger;

TEST(JsonLog, FormatsOneObjectPerLine) {
  auto ts = std::chrono::system_clock::from_time_t(1'790'000'000) + std::chrono::milliseconds(42);
  std::string line = Logger::format(ts, LogLevel::kInfo, "listening",
                                    {{"transport", "udp"}, {"address", "127.0.0.1:5060"}, {"n", 3}});
  EXPECT_EQ(line,
            "{\"ts\":\"2026-09-21T14:13:20.042Z\",\"level\":\"info\",\"msg\":\"listening\","
            "\"transport\":\"udp\",\"address\":\"127.0.0.1:5060\",\"n\":3}\n");
}

TEST(JsonLog, EscapesStrings) {
  std::string line = Logger::format(std::chrono::system_clock::time_point(), LogLevel::kWarn,
                                    "a \"quoted\"\r\nline\\", {{"ctl", std::string_view("\x01", 1)},
                                                               {"ok", true}});
  EXPECT_NE(line.find("\"msg\":\"a \\\"quoted\\\"\\r\\nline\\\\\""), std::string::npos) << line;
  EXPECT_NE(line.find("\"ctl\":\"\\u0001\""), std::string::npos) << line;
  EXPECT_NE(line.find("\"ok\":true"), std::string::npos) << line;
  EXPECT_EQ(line.find('\n'), line.size() - 1);  // a single line
}

TEST(JsonLog, LevelsFilterAndParse) {
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  {
    Logger logger(LogLevel::kWarn, fds[1]);
    EXPECT_FALSE(logger.enabled(LogLevel::kInfo));
    logger.info("hidden");
    logger.error("shown", {{"code", 7}});
  }
  close(fds[1]);
  char buf[512];
  ssize_t n = read(fds[0], buf, sizeof buf);
  close(fds[0]);
  ASSERT_GT(n, 0);
  std::string out(buf, size_t(n));
  EXPECT_EQ(out.find("hidden"), std::string::npos);
  EXPECT_NE(out.find("\"level\":\"error\",\"msg\":\"shown\",\"code\":7}"), std::string::npos) << out;

  EXPECT_EQ(switchboard::parse_log_level("debug"), LogLevel::kDebug);
  EXPECT_EQ(switchboard::parse_log_level("warn"), LogLevel::kWarn);
  EXPECT_FALSE(switchboard::parse_log_level("verbose"));
}

}  // namespace

namespace {

// A component logger writes "component" after the level and follows its
// root's level, also when the root's level changes later (SIGHUP reload).
TEST(JsonLog, ComponentLoggersShareTheRootLevel) {
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  {
    Logger root(LogLevel::kWarn, fds[1]);
    Logger sip = root.component("sip");
    sip.info("hidden");
    root.set_level(LogLevel::kDebug);
    EXPECT_TRUE(sip.enabled(LogLevel::kDebug));
    sip.debug("shown", {{"aor", "alice@acme.test"}});
    sip.set_level(LogLevel::kError);  // sets the root's
    EXPECT_EQ(root.level(), LogLevel::kError);
  }
  close(fds[1]);
  char buf[512];
  ssize_t n = read(fds[0], buf, sizeof buf);
  close(fds[0]);
  ASSERT_GT(n, 0);
  std::string out(buf, size_t(n));
  EXPECT_EQ(out.find("hidden"), std::string::npos);
  EXPECT_NE(out.find("\"level\":\"debug\",\"component\":\"sip\",\"msg\":\"shown\","
                     "\"aor\":\"alice@acme.test\"}"),
            std::string::npos)
      << out;
}

}  // namespace
