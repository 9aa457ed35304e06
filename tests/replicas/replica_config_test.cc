// replica.token (gateway/config.h): read from the file or
// SWITCHBOARD_REPLICA_TOKEN, long enough, required when this replica is on
// Redis and reachable by the others (replica.advertise), and masked by
// --print-config.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <map>

#include "gateway/command_line.h"
#include "gateway/config.h"
#include "tests/gateway/temp_file.h"

namespace {

using switchboard::ConfigOrError;

constexpr const char* kRedisReplica =
    "store: {kind: redis, url: \"redis://127.0.0.1:6379\"}\n"
    "nonce: {secret: \"shared-secret-0123456789\"}\n"
    "replica: {id: sb-0, advertise: \"sb-0.sb:50051\"}\n";

using switchboard::testing::TempFile;

ConfigOrError load(const std::string& yaml, std::map<std::string, std::string> env = {}) {
  TempFile file(yaml);
  switchboard::CommandLine cli;
  cli.config_file = file.path();
  return switchboard::load_config(cli, [env](std::string_view name) -> std::optional<std::string> {
    auto it = env.find(std::string(name));
    if (it == env.end()) return std::nullopt;
    return it->second;
  });
}

// A replica others forward calls to must know the token they present: its
// absence stops the start, naming the key and the variable.
TEST(ReplicaToken, RequiredOnRedisWithAdvertise) {
  ConfigOrError missing = load(kRedisReplica);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error.find(": replica.token: required with store.kind redis and "
                               "replica.advertise"),
            std::string::npos)
      << missing.error;
  EXPECT_NE(missing.error.find("SWITCHBOARD_REPLICA_TOKEN"), std::string::npos);

  ConfigOrError from_env =
      load(kRedisReplica, {{"SWITCHBOARD_REPLICA_TOKEN", "env-token-0123456789abcdef"}});
  ASSERT_TRUE(from_env.ok()) << from_env.error;
  EXPECT_EQ(from_env.config->replica.token, "env-token-0123456789abcdef");

  ConfigOrError from_file = load(
      "store: {kind: redis, url: \"redis://127.0.0.1:6379\"}\n"
      "nonce: {secret: \"shared-secret-0123456789\"}\n"
      "replica: {id: sb-0, advertise: \"sb-0.sb:50051\",\n"
      "          token: \"file-token-0123456789abcdef\"}\n");
  ASSERT_TRUE(from_file.ok()) << from_file.error;
  EXPECT_EQ(from_file.config->replica.token, "file-token-0123456789abcdef");
}

// Not needed where nobody forwards to this replica: no advertise, or one process.
TEST(ReplicaToken, NotRequiredWithoutAdvertiseOrRedis) {
  EXPECT_TRUE(load("store: {kind: redis, url: \"redis://127.0.0.1:6379\"}\n"
                   "nonce: {secret: \"shared-secret-0123456789\"}\n")
                  .ok());
  EXPECT_TRUE(load("replica: {advertise: \"sb-0.sb:50051\"}\n").ok());
}

// Too short to be a secret, or with a space: refused, without echoing it.
TEST(ReplicaToken, MustBeALongPrintableSecret) {
  ConfigOrError short_one = load("replica: {token: \"short\"}\n");
  ASSERT_FALSE(short_one.ok());
  EXPECT_NE(short_one.error.find("replica.token: expected at least 16 characters"),
            std::string::npos)
      << short_one.error;
  EXPECT_EQ(short_one.error.find("short\""), std::string::npos) << "the secret was echoed";
  ConfigOrError env = load("", {{"SWITCHBOARD_REPLICA_TOKEN", "has a space 0123456789"}});
  ASSERT_FALSE(env.ok());
  EXPECT_NE(env.error.find("SWITCHBOARD_REPLICA_TOKEN: expected printable characters"),
            std::string::npos)
      << env.error;
}

// --print-config masks it like the other secrets.
TEST(ReplicaToken, PrintedRedacted) {
  ConfigOrError c = load("replica: {id: sb-0, token: \"file-token-0123456789abcdef\"}\n");
  ASSERT_TRUE(c.ok()) << c.error;
  const std::string printed = switchboard::render_config(*c.config);
  EXPECT_NE(printed.find("token: <redacted>"), std::string::npos) << printed;
  EXPECT_EQ(printed.find("file-token"), std::string::npos) << printed;
}

}  // namespace
