// The switchboard command line: defaults, both value spellings, and a clear
// error for every bad flag.
#include "gateway/command_line.h"

#include <gtest/gtest.h>

#include <vector>

namespace {

using switchboard::CommandLine;
using switchboard::LogLevel;
using switchboard::parse_command_line;

bool parse(std::vector<std::string_view> args, CommandLine& out, std::string& error) {
  return parse_command_line(args, out, error);
}

// Flags not given stay unset: the configuration (gateway/config.h) applies
// environment, file and defaults below them (see tests/gateway/config_test.cc).
TEST(CommandLine, NothingGivenLeavesEverythingUnset) {
  CommandLine cli;
  std::string error;
  ASSERT_TRUE(parse({}, cli, error)) << error;
  EXPECT_TRUE(cli.listen.empty());
  EXPECT_FALSE(cli.config_file);
  EXPECT_FALSE(cli.data_dir);
  EXPECT_FALSE(cli.threads);
  EXPECT_FALSE(cli.log_level);
  EXPECT_FALSE(cli.tcp_idle_timeout);
  EXPECT_FALSE(cli.tcp_max_connections);
  EXPECT_FALSE(cli.help);
}

TEST(CommandLine, RepeatedListenAndBothValueForms) {
  CommandLine cli;
  std::string error;
  ASSERT_TRUE(parse({"--sip-listen", "udp:0.0.0.0:5070", "--sip-listen=tcp:[::1]:5071",
                     "--threads=3", "--log-level", "debug", "--tcp-idle-timeout", "5",
                     "--tcp-max-connections=10", "--config", "/etc/switchboard.yaml",
                     "--data-dir=/var/lib/switchboard"},
                    cli, error))
      << error;
  ASSERT_EQ(cli.listen.size(), 2u);
  EXPECT_EQ(cli.listen[0].to_string(), "udp:0.0.0.0:5070");
  EXPECT_EQ(cli.listen[1].to_string(), "tcp:[::1]:5071");
  EXPECT_EQ(cli.threads, 3u);
  EXPECT_EQ(cli.log_level, LogLevel::kDebug);
  EXPECT_EQ(cli.tcp_idle_timeout, std::chrono::seconds(5));
  EXPECT_EQ(cli.tcp_max_connections, 10u);
  EXPECT_EQ(cli.config_file, "/etc/switchboard.yaml");
  EXPECT_EQ(cli.data_dir, "/var/lib/switchboard");
}

TEST(CommandLine, HelpAndVersion) {
  CommandLine cli;
  std::string error;
  ASSERT_TRUE(parse({"--help"}, cli, error));
  EXPECT_TRUE(cli.help);
  ASSERT_TRUE(parse({"--version"}, cli, error));
  EXPECT_TRUE(cli.version);
}

TEST(CommandLine, UsageDocumentsEveryFlag) {
  std::string text = switchboard::usage("switchboard");
  for (const char* flag : {"--config", "--sip-listen", "--data-dir", "--threads", "--log-level",
                           "--tcp-idle-timeout", "--tcp-max-connections", "--help", "--version"})
    EXPECT_NE(text.find(flag), std::string::npos) << flag;
}

struct BadFlags {
  std::vector<std::string_view> args;
  const char* fragment;
};

class CommandLineErrors : public ::testing::TestWithParam<BadFlags> {};

TEST_P(CommandLineErrors, ExplainsTheProblem) {
  CommandLine cli;
  std::string error;
  EXPECT_FALSE(parse(GetParam().args, cli, error));
  EXPECT_NE(error.find(GetParam().fragment), std::string::npos) << error;
}

INSTANTIATE_TEST_SUITE_P(
    All, CommandLineErrors,
    ::testing::Values(
        BadFlags{{"--sip-listen", "foo"}, "--sip-listen: listen address \"foo\""},
        BadFlags{{"--sip-listen=sctp:1.2.3.4:5"}, "unknown transport"},
        BadFlags{{"--sip-listen"}, "--sip-listen: missing value"},
        BadFlags{{"--threads", "0"}, "--threads: expected a number from 1 to 256"},
        BadFlags{{"--threads", "many"}, "got \"many\""},
        BadFlags{{"--log-level", "loud"}, "--log-level: expected debug, info, warn or error"},
        BadFlags{{"--tcp-idle-timeout", "-1"}, "--tcp-idle-timeout"},
        BadFlags{{"--tcp-max-connections", "0"}, "--tcp-max-connections"},
        BadFlags{{"--bogus"}, "unknown option \"--bogus\""},
        BadFlags{{"--config"}, "--config: missing value"},
        BadFlags{{"--data-dir="}, "--data-dir: expected a directory"},
        BadFlags{{"stray"}, "unexpected argument \"stray\""}));

}  // namespace
