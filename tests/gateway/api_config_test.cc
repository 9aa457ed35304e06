// The API's configuration: grpc.listen / grpc.tls.* / api.tokens / events.*
// exactly as the issue shows them, their errors (file, line, key, never a
// token), precedence flag > SWITCHBOARD_GRPC_LISTEN > file > default, the
// token file's shape, and the first-start token bootstrap.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "gateway/api/api_token.h"
#include "gateway/bootstrap.h"
#include "gateway/command_line.h"
#include "gateway/config.h"
#include "registrar/random.h"
#include "tests/registrar/temp_dir.h"

namespace {

using switchboard::Config;
using switchboard::ConfigOrError;
using switchboard::parse_config_text;
using switchboard::api::Role;
using testing::HasSubstr;

const std::string kHashA = std::string(64, 'a');
const std::string kHashB = std::string(64, 'B');

// The issue's example, verbatim (scripts outside the project rely on it).
constexpr const char* kIssueExample = R"(grpc:
  listen: "127.0.0.1:50051"
api:
  tokens:
    - name: ops
      role: admin                 # admin | read | calls
      sha256: "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
)";

// Verifies the issue's example parses into exactly what it says.
TEST(ApiConfig, IssueExample) {
  ConfigOrError c = parse_config_text(kIssueExample, "api.yaml");
  ASSERT_TRUE(c.ok()) << c.error;
  EXPECT_EQ(c.config->grpc.listen, "127.0.0.1:50051");
  ASSERT_EQ(c.config->api_tokens.size(), 1u);
  EXPECT_EQ(c.config->api_tokens[0].name, "ops");
  EXPECT_EQ(c.config->api_tokens[0].role, Role::kAdmin);
  EXPECT_EQ(c.config->api_tokens[0].sha256, kHashA);
  EXPECT_EQ(c.config->api_tokens[0].line, 5);
}

// Verifies the defaults: API on 127.0.0.1:50051, no TLS, no tokens, event limits.
TEST(ApiConfig, Defaults) {
  ConfigOrError c = parse_config_text("", "empty.yaml");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c.config->grpc.listen, "127.0.0.1:50051");
  EXPECT_TRUE(c.config->grpc.enabled());
  EXPECT_FALSE(c.config->grpc.tls_enabled());
  EXPECT_TRUE(c.config->api_tokens.empty());
  EXPECT_EQ(c.config->events.max_count, 100'000u);
  EXPECT_EQ(c.config->events.max_age, std::chrono::seconds(86'400));
  EXPECT_EQ(c.config->events.watcher_buffer, 4096u);
  EXPECT_EQ(c.config->events.max_watchers, 1000u);
}

// Verifies every API key: IPv6 listen, TLS files, several tokens (hex case
// normalised), event limits; "off" and "" disable the API.
TEST(ApiConfig, EveryKey) {
  ConfigOrError c = parse_config_text(
      "grpc:\n  listen: \"[::1]:0\"\n  tls:\n    cert_file: /etc/sb/cert.pem\n"
      "    key_file: /etc/sb/key.pem\n    client_ca_file: /etc/sb/ca.pem\n"
      "api:\n  tokens:\n    - {name: ops, role: admin, sha256: " +
          kHashA +
          "}\n"
          "    - {name: viewer, role: read, sha256: " +
          kHashB +
          "}\n"
          "    - {name: agent, role: calls, sha256: " +
          kHashA +
          "}\n"
          "events:\n  max_count: 50\n  max_age: 600\n  watcher_buffer: 8\n  max_watchers: 3\n",
      "every.yaml");
  ASSERT_TRUE(c.ok()) << c.error;
  const Config& k = *c.config;
  EXPECT_EQ(k.grpc.listen, "[::1]:0");
  EXPECT_EQ(k.grpc.tls.cert_file, "/etc/sb/cert.pem");
  EXPECT_EQ(k.grpc.tls.key_file, "/etc/sb/key.pem");
  EXPECT_EQ(k.grpc.tls.client_ca_file, "/etc/sb/ca.pem");
  ASSERT_EQ(k.api_tokens.size(), 3u);
  EXPECT_EQ(k.api_tokens[1].role, Role::kRead);
  EXPECT_EQ(k.api_tokens[1].sha256, std::string(64, 'b'));
  EXPECT_EQ(k.api_tokens[2].role, Role::kCalls);
  EXPECT_EQ(k.events.max_count, 50u);
  EXPECT_EQ(k.events.max_age, std::chrono::seconds(600));
  EXPECT_EQ(k.events.watcher_buffer, 8u);
  EXPECT_EQ(k.events.max_watchers, 3u);
  for (const char* off : {"grpc: {listen: off}\n", "grpc: {listen: \"\"}\n"}) {
    ConfigOrError o = parse_config_text(off, "off.yaml");
    ASSERT_TRUE(o.ok()) << o.error;
    EXPECT_FALSE(o.config->grpc.enabled());
  }
}

struct BadApiConfig {
  std::string yaml;
  std::vector<std::string> fragments;
};

class ApiConfigErrors : public ::testing::TestWithParam<BadApiConfig> {};

// Verifies each bad API setting names file, line and key, and never echoes a sha256 value.
TEST_P(ApiConfigErrors, NameFileLineAndKey) {
  ConfigOrError c = parse_config_text(GetParam().yaml, "bad.yaml");
  ASSERT_FALSE(c.ok()) << GetParam().yaml;
  for (const std::string& f : GetParam().fragments) EXPECT_THAT(c.error, HasSubstr(f));
  EXPECT_EQ(c.error.find("sbt_secret"), std::string::npos) << c.error;
}

INSTANTIATE_TEST_SUITE_P(
    All, ApiConfigErrors,
    ::testing::Values(
        BadApiConfig{"grpc:\n  listen: \"::1:50051\"\n",
                     {"bad.yaml:2:", "grpc.listen", "brackets"}},
        BadApiConfig{"grpc:\n  listen: \"127.0.0.1\"\n", {"grpc.listen", "HOST:PORT"}},
        BadApiConfig{"grpc:\n  listen: \"127.0.0.1:70000\"\n", {"grpc.listen", "0 to 65535"}},
        BadApiConfig{"grpc:\n  port: 1\n", {"bad.yaml:2:", "grpc.port", "unknown key"}},
        BadApiConfig{"grpc:\n  tls:\n    cert_file: c.pem\n",
                     {"grpc.tls", "cert_file and key_file"}},
        BadApiConfig{"grpc:\n  tls:\n    client_ca_file: ca.pem\n", {"grpc.tls.client_ca_file"}},
        BadApiConfig{"api:\n  tokens:\n    - {name: ops, role: root, sha256: " + kHashA + "}\n",
                     {"bad.yaml:3:", "api.tokens[0].role", "admin, read or calls", "root"}},
        BadApiConfig{"api:\n  tokens:\n    - {name: ops, role: admin, sha256: sbt_secret}\n",
                     {"api.tokens[0].sha256", "64 hex digits"}},
        BadApiConfig{"api:\n  tokens:\n    - {name: ops, role: admin}\n",
                     {"api.tokens[0].sha256", "missing"}},
        BadApiConfig{"api:\n  tokens:\n    - {name: ops, role: admin, sha256: " + kHashA +
                         "}\n    - {name: ops, role: read, sha256: " + kHashB + "}\n",
                     {"bad.yaml:4:", "api.tokens[1].name", "listed twice"}},
        BadApiConfig{
            "api:\n  tokens:\n    - {name: ops, role: admin, sha256: " + kHashA + ", token: x}\n",
            {"api.tokens[0].token", "unknown key"}},
        BadApiConfig{"api:\n  token: []\n", {"api.token", "unknown key"}},
        BadApiConfig{"events:\n  max_count: 0\n", {"events.max_count", "1 to"}},
        BadApiConfig{"events:\n  max_age: -1\n", {"events.max_age"}},
        BadApiConfig{"events:\n  watcher_buffer: lots\n", {"events.watcher_buffer"}},
        BadApiConfig{"events:\n  max_watcher: 5\n", {"events.max_watcher", "unknown key"}}));

switchboard::Environment fake_env(std::map<std::string, std::string> vars) {
  return [vars](std::string_view name) -> std::optional<std::string> {
    auto it = vars.find(std::string(name));
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

switchboard::CommandLine flags(std::vector<std::string_view> args) {
  switchboard::CommandLine cli;
  std::string error;
  EXPECT_TRUE(switchboard::parse_command_line(args, cli, error)) << error;
  return cli;
}

// Verifies --grpc-listen beats SWITCHBOARD_GRPC_LISTEN, which beats the file.
TEST(ApiConfig, ListenPrecedence) {
  registrar::testing::TempDir dir;
  const std::string file = dir.file("sb.yaml");
  std::ofstream(file) << "grpc:\n  listen: \"127.0.0.1:7001\"\n";
  auto c = switchboard::load_config(flags({"--config", file}), fake_env({}));
  ASSERT_TRUE(c.ok()) << c.error;
  EXPECT_EQ(c.config->grpc.listen, "127.0.0.1:7001");
  auto env = fake_env({{"SWITCHBOARD_GRPC_LISTEN", "[::1]:7002"}});
  c = switchboard::load_config(flags({"--config", file}), env);
  ASSERT_TRUE(c.ok()) << c.error;
  EXPECT_EQ(c.config->grpc.listen, "[::1]:7002");
  c = switchboard::load_config(flags({"--config", file, "--grpc-listen=localhost:7003"}), env);
  ASSERT_TRUE(c.ok()) << c.error;
  EXPECT_EQ(c.config->grpc.listen, "localhost:7003");
  c = switchboard::load_config(flags({"--grpc-listen", "off"}), env);
  ASSERT_TRUE(c.ok()) << c.error;
  EXPECT_FALSE(c.config->grpc.enabled());
  c = switchboard::load_config(flags({}), fake_env({{"SWITCHBOARD_GRPC_LISTEN", "nope"}}));
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(c.error, HasSubstr("SWITCHBOARD_GRPC_LISTEN"));
}

// Verifies --grpc-listen errors and that --help documents the flag.
TEST(ApiConfig, GrpcListenFlag) {
  switchboard::CommandLine cli;
  std::string error;
  std::vector<std::string_view> bad = {"--grpc-listen", "1.2.3.4"};
  EXPECT_FALSE(switchboard::parse_command_line(bad, cli, error));
  EXPECT_THAT(error, HasSubstr("--grpc-listen"));
  EXPECT_THAT(switchboard::usage("switchboard"), HasSubstr("--grpc-listen HOST:PORT"));
  EXPECT_THAT(switchboard::usage("switchboard"), HasSubstr("SWITCHBOARD_GRPC_LISTEN"));
  EXPECT_EQ(switchboard::parse_grpc_listen("[2001:db8::1]:50051", nullptr), "[2001:db8::1]:50051");
  EXPECT_FALSE(switchboard::parse_grpc_listen("[nope]:1", nullptr));
  EXPECT_FALSE(switchboard::parse_grpc_listen("a_b:1", nullptr));
}

// Verifies the first start generates an admin token, stores only its hash
// (mode 0600, the api.tokens shape) once asked to, and later starts reuse the file.
TEST(ApiTokensBootstrap, GeneratesOnceThenReusesTheFile) {
  registrar::testing::TempDir dir;
  Config config = *parse_config_text("", "t.yaml").config;
  config.data_dir = dir.path();
  registrar::SeededRandom random(3);
  switchboard::ApiTokensBootstrap first = switchboard::bootstrap_api_tokens(config, random);
  ASSERT_TRUE(first.ok()) << first.error;
  EXPECT_EQ(first.source, switchboard::ApiTokensBootstrap::Source::kGenerated);
  ASSERT_EQ(first.tokens.size(), 1u);
  EXPECT_EQ(first.tokens[0].role, Role::kAdmin);
  EXPECT_EQ(first.tokens[0].sha256, switchboard::api::sha256(first.generated_token));
  EXPECT_EQ(first.generated_token.rfind("sbt_", 0), 0u);
  // Nothing is written until the API listens and main() stores it.
  const std::string file = dir.file("api_tokens.yaml");
  EXPECT_FALSE(std::filesystem::exists(file));
  std::string error;
  ASSERT_TRUE(switchboard::store_generated_token(first, &error)) << error;

  struct stat st {};
  ASSERT_EQ(stat(file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  std::stringstream text;
  text << std::ifstream(file).rdbuf();
  EXPECT_EQ(text.str().find(first.generated_token), std::string::npos);
  EXPECT_THAT(text.str(), HasSubstr(switchboard::api::to_hex(first.tokens[0].sha256)));
  // The file is a valid api: section for the configuration too.
  ConfigOrError as_config = parse_config_text(text.str(), file);
  ASSERT_TRUE(as_config.ok()) << as_config.error;
  EXPECT_EQ(as_config.config->api_tokens.size(), 1u);
  EXPECT_TRUE(std::filesystem::is_empty(dir.path()) == false);
  for (const auto& entry : std::filesystem::directory_iterator(dir.path()))
    EXPECT_EQ(entry.path().filename(), "api_tokens.yaml") << "a temporary file was left";

  switchboard::ApiTokensBootstrap second = switchboard::bootstrap_api_tokens(config, random);
  ASSERT_TRUE(second.ok()) << second.error;
  EXPECT_EQ(second.source, switchboard::ApiTokensBootstrap::Source::kFile);
  EXPECT_TRUE(second.generated_token.empty());
  ASSERT_EQ(second.tokens.size(), 1u);
  EXPECT_EQ(second.tokens[0].sha256, first.tokens[0].sha256);
}

// Verifies configured tokens are used instead of the file (which is not created).
TEST(ApiTokensBootstrap, ConfiguredTokensWin) {
  registrar::testing::TempDir dir;
  Config config = *parse_config_text(kIssueExample, "t.yaml").config;
  config.data_dir = dir.path();
  registrar::SeededRandom random(3);
  auto r = switchboard::bootstrap_api_tokens(config, random);
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.source, switchboard::ApiTokensBootstrap::Source::kConfiguration);
  ASSERT_EQ(r.tokens.size(), 1u);
  EXPECT_EQ(r.tokens[0].name, "ops");
  EXPECT_FALSE(std::filesystem::exists(dir.file("api_tokens.yaml")));
}

// Verifies a broken or empty token file stops the start with file, line and key.
TEST(ApiTokensBootstrap, BadFileIsAnError) {
  registrar::testing::TempDir dir;
  Config config = *parse_config_text("", "t.yaml").config;
  config.data_dir = dir.path();
  registrar::SeededRandom random(3);
  std::ofstream(dir.file("api_tokens.yaml"))
      << "api:\n  tokens:\n    - {name: x, role: god, sha256: " << kHashA << "}\n";
  auto r = switchboard::bootstrap_api_tokens(config, random);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.bad_file);
  EXPECT_THAT(r.error, HasSubstr("api_tokens.yaml:3: api.tokens[0].role"));
  std::ofstream(dir.file("api_tokens.yaml")) << "api:\n  tokens: []\n";
  r = switchboard::bootstrap_api_tokens(config, random);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.error, HasSubstr("no token"));
}

}  // namespace
