// The configuration: the public-contract keys, every realm setting, defaults,
// precedence flags > environment > file, an error naming file, line and key
// for every bad input (never a secret), and the credential bootstrap into a
// CredentialStore (upsert, HA1 only, passwords wiped).
#include "gateway/config.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <ostream>
#include <string>
#include <vector>

#include "gateway/bootstrap.h"
#include "gateway/command_line.h"
#include "registrar/digest.h"
#include "registrar/store/memory_stores.h"
#include "tests/gateway/temp_file.h"

namespace {

using switchboard::CommandLine;
using switchboard::Config;
using switchboard::ConfigOrError;
using switchboard::parse_config_text;

// The example of issue 4 and docs/configuration.md, verbatim: scripts outside
// the project rely on these keys.
constexpr const char* kContract = R"(sip:
  listen: ["udp:127.0.0.1:5060", "tcp:127.0.0.1:5060"]
data_dir: ./data
realms:
  - name: acme.test
    challenge: 401            # or 407
    users:
      - username: alice
        password: "s3cret"    # or: ha1_md5 / hash1 / hash1b instead of password
)";

Config parse_ok(const std::string& yaml) {
  ConfigOrError c = parse_config_text(yaml, "test.yaml");
  EXPECT_TRUE(c.ok()) << c.error;
  return c.ok() ? *c.config : Config();
}

// Verifies the public-contract example parses into exactly what it says.
TEST(Config, PublicContractExample) {
  Config c = parse_ok(kContract);
  ASSERT_EQ(c.listen.size(), 2u);
  EXPECT_EQ(c.listen[0].to_string(), "udp:127.0.0.1:5060");
  EXPECT_EQ(c.listen[1].to_string(), "tcp:127.0.0.1:5060");
  EXPECT_EQ(c.data_dir, "./data");
  ASSERT_EQ(c.realms.size(), 1u);
  EXPECT_EQ(c.realms[0].realm.name, "acme.test");
  EXPECT_EQ(c.realms[0].realm.challenge, registrar::ChallengeMode::k401);
  ASSERT_EQ(c.realms[0].users.size(), 1u);
  EXPECT_EQ(c.realms[0].users[0].username, "alice");
  EXPECT_EQ(c.realms[0].users[0].password, "s3cret");
  EXPECT_EQ(c.realms[0].users[0].line, 8);  // "- username: alice"
}

// Verifies an empty file yields the documented defaults.
TEST(Config, EmptyFileGivesDefaults) {
  Config c = parse_ok("");
  ASSERT_EQ(c.listen.size(), 2u);
  EXPECT_EQ(c.listen[0].to_string(), "udp:127.0.0.1:5060");
  EXPECT_EQ(c.data_dir, "./data");
  EXPECT_EQ(c.log_level, switchboard::LogLevel::kInfo);
  EXPECT_GE(c.threads, 1u);
  EXPECT_EQ(c.nonce.lifetime, std::chrono::seconds(300));
  EXPECT_FALSE(c.nonce.secret);
  EXPECT_TRUE(c.auth_throttle.enabled);
  EXPECT_EQ(c.auth_throttle.max_failures, 10u);
  EXPECT_TRUE(c.realms.empty());
}

// Verifies store.synchronous: full by default, normal on request, anything else refused.
TEST(Config, StoreSynchronous) {
  EXPECT_EQ(parse_ok("").store_sync, switchboard::StoreSync::kFull);
  EXPECT_EQ(parse_ok("store:\n  synchronous: full\n").store_sync, switchboard::StoreSync::kFull);
  EXPECT_EQ(parse_ok("store:\n  synchronous: NORMAL\n").store_sync, switchboard::StoreSync::kNormal);
  ConfigOrError bad = parse_config_text("store:\n  synchronous: off\n", "test.yaml");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error.find("store.synchronous"), std::string::npos) << bad.error;
  EXPECT_FALSE(parse_config_text("store:\n  sync: full\n", "test.yaml").ok());
}

// Verifies every realm, nonce, throttle and server key reaches its field.
TEST(Config, EveryKey) {
  Config c = parse_ok(R"(
sip:
  listen: "udp:0.0.0.0:5070"
  tcp_idle_timeout: 30
  tcp_max_connections: 100
data_dir: /var/lib/switchboard
log_level: debug
threads: 3
nonce: {secret: "0123456789abcdef0123", lifetime: 120, max_tracked: 5000}
auth_throttle: {enabled: true, max_failures: 5, window: 30, cooldown: 600, action: drop}
realms:
  - name: pbx.example
    challenge: 407
    algorithms: [SHA-256, MD5]
    allow_qop_less: yes
    default_expires: 1800
    min_expires: 120
    max_expires: 3600
    max_contacts: 3
    overflow: evict_oldest
    source_auth: trusted_or_digest
    trusted_sources: [192.0.2.0/24, "2001:db8::/32", 198.51.100.7]
    aliases: {alice: [sales, "+15551234"], bob: support}
    users:
      - {username: alice, password: pw}
      - {username: bob, ha1_md5: 0123456789ABCDEF0123456789abcdef}
      - {username: carol, hash1: 0123456789abcdef0123456789abcdef, hash1b: 0123456789abcdef0123456789abcdef, domain: other.example}
)");
  ASSERT_EQ(c.listen.size(), 1u);
  EXPECT_EQ(c.listen[0].to_string(), "udp:0.0.0.0:5070");
  EXPECT_EQ(c.tcp_idle_timeout, std::chrono::seconds(30));
  EXPECT_EQ(c.tcp_max_connections, 100u);
  EXPECT_EQ(c.data_dir, "/var/lib/switchboard");
  EXPECT_EQ(c.log_level, switchboard::LogLevel::kDebug);
  EXPECT_EQ(c.threads, 3u);
  EXPECT_EQ(c.nonce.secret, "0123456789abcdef0123");
  EXPECT_EQ(c.nonce.secret_origin, switchboard::SecretOrigin::kFile);
  EXPECT_EQ(c.nonce.lifetime, std::chrono::seconds(120));
  EXPECT_EQ(c.nonce.max_tracked, 5000u);
  EXPECT_EQ(c.auth_throttle.max_failures, 5u);
  EXPECT_EQ(c.auth_throttle.window, std::chrono::seconds(30));
  EXPECT_EQ(c.auth_throttle.cooldown, std::chrono::seconds(600));
  EXPECT_EQ(c.auth_throttle.action, switchboard::ThrottleAction::kDrop);
  ASSERT_EQ(c.realms.size(), 1u);
  const registrar::Realm& r = c.realms[0].realm;
  EXPECT_EQ(r.challenge, registrar::ChallengeMode::k407);
  EXPECT_EQ(r.algorithms,
            (std::vector<registrar::DigestAlgorithm>{registrar::DigestAlgorithm::kSha256,
                                                     registrar::DigestAlgorithm::kMd5}));
  EXPECT_TRUE(r.allow_qop_less);
  EXPECT_EQ(r.default_expires, 1800u);
  EXPECT_EQ(r.min_expires, 120u);
  EXPECT_EQ(r.max_expires, 3600u);
  EXPECT_EQ(r.max_contacts, 3u);
  EXPECT_EQ(r.overflow, registrar::ContactOverflowPolicy::kEvictOldest);
  EXPECT_EQ(r.source_auth, registrar::SourceAuthMode::kTrustedOrDigest);
  ASSERT_EQ(r.trusted_sources.size(), 3u);
  EXPECT_EQ(r.trusted_sources[0].text, "192.0.2.0/24");
  EXPECT_EQ(r.trusted_sources[1].text, "2001:db8::/32");
  EXPECT_EQ(r.trusted_sources[2].text, "198.51.100.7/32");
  EXPECT_EQ(r.aliases.at("alice"), (std::vector<std::string>{"sales", "+15551234"}));
  EXPECT_EQ(r.aliases.at("bob"), (std::vector<std::string>{"support"}));
  const auto& users = c.realms[0].users;
  ASSERT_EQ(users.size(), 3u);
  EXPECT_EQ(users[0].domain, "pbx.example");  // default: the realm
  EXPECT_EQ(users[1].ha1_md5, "0123456789ABCDEF0123456789abcdef");
  EXPECT_EQ(users[2].ha1_md5, "0123456789abcdef0123456789abcdef");  // hash1 is ha1_md5
  EXPECT_EQ(users[2].domain, "other.example");
}

struct BadConfig {
  const char* yaml;
  std::vector<const char*> fragments;  // all must appear in the error
};

// Readable test names in ctest: the expected key or message fragment.
void PrintTo(const BadConfig& b, std::ostream* os) {
  *os << (b.fragments.size() > 1 ? b.fragments[1] : b.fragments[0]);
}

class ConfigErrors : public ::testing::TestWithParam<BadConfig> {};

// Verifies each bad input is refused with a message naming file, line and key.
TEST_P(ConfigErrors, NameFileLineAndKey) {
  ConfigOrError c = parse_config_text(GetParam().yaml, "bad.yaml");
  ASSERT_FALSE(c.ok()) << GetParam().yaml;
  for (const char* f : GetParam().fragments)
    EXPECT_NE(c.error.find(f), std::string::npos) << c.error;
  EXPECT_EQ(c.error.find("hunter2"), std::string::npos) << "secret in: " << c.error;
  EXPECT_EQ(c.error.find('\n'), std::string::npos) << c.error;
}

INSTANTIATE_TEST_SUITE_P(
    All, ConfigErrors,
    ::testing::Values(
        BadConfig{"sip: [unclosed\n", {"bad.yaml:", "invalid YAML"}},
        BadConfig{"sip:\n  listen: [\"udp:1.2.3.4:5060\"]\nlisten: x\n",
                  {"bad.yaml:3:", "listen: unknown key"}},
        BadConfig{"realms:\n  - name: a.test\n    challange: 407\n",
                  {"bad.yaml:3:", "realms[0].challange", "unknown key"}},
        BadConfig{"realms:\n  - name: a.test\n    challenge: 402\n",
                  {"bad.yaml:3:", "realms[0].challenge", "expected 401 or 407", "402"}},
        BadConfig{"sip:\n  listen: [\"udp:1.2.3.4:5060\", \"sctp:1.2.3.4:5\"]\n",
                  {"bad.yaml:2:", "sip.listen[1]", "unknown transport"}},
        BadConfig{"threads: 0\n", {"bad.yaml:1:", "threads", "1 to 256"}},
        BadConfig{"log_level: loud\n", {"log_level", "loud"}},
        BadConfig{"data_dir: [a, b]\n", {"data_dir", "single value"}},
        BadConfig{"nonce: {secret: hunter2}\n", {"nonce.secret", "too short"}},
        BadConfig{"auth_throttle: {action: ignore}\n", {"auth_throttle.action", "reject or drop"}},
        BadConfig{"realms:\n  - name: a.test\n    min_expires: 600\n    max_expires: 60\n",
                  {"realms[0].min_expires", "max_expires"}},
        BadConfig{"realms:\n  - name: a.test\n    default_expires: 10\n",
                  {"realms[0].default_expires", "min_expires"}},
        BadConfig{"realms:\n  - name: a.test\n    algorithms: [SHA-1]\n",
                  {"bad.yaml:3:", "realms[0].algorithms", "SHA-1"}},
        BadConfig{"realms:\n  - name: a.test\n    algorithms: [MD5, md5]\n", {"listed twice"}},
        BadConfig{"realms:\n  - name: a.test\n    overflow: drop\n", {"realms[0].overflow"}},
        BadConfig{"realms:\n  - name: a.test\n    source_auth: trusted_or_digest\n",
                  {"realms[0].source_auth", "trusted_sources"}},
        BadConfig{"realms:\n  - name: a.test\n    trusted_sources: [10.0.0.0/33]\n",
                  {"realms[0].trusted_sources", "10.0.0.0/33"}},
        BadConfig{"realms:\n  - name: a.test\n  - name: A.TEST\n",
                  {"bad.yaml:3:", "realms[1].name", "listed twice"}},
        BadConfig{"realms:\n  - challenge: 401\n", {"realms[0].name", "missing"}},
        BadConfig{"realms:\n  - name: \"a test\"\n", {"realms[0].name"}},
        BadConfig{
            "realms:\n  - name: a.test\n    users:\n      - {username: al, password: hunter2, "
            "ha1_md5: 0123456789abcdef0123456789abcdef}\n",
            {"bad.yaml:4:", "realms[0].users[0]", "not both"}},
        BadConfig{"realms:\n  - name: a.test\n    users:\n      - {username: al}\n",
                  {"bad.yaml:4:", "realms[0].users[0]", "needs password"}},
        BadConfig{
            "realms:\n  - name: a.test\n    users:\n      - {username: al, ha1_md5: hunter2}\n",
            {"realms[0].users[0]", "32 hex digits"}},
        BadConfig{
            "realms:\n  - name: a.test\n    users:\n      - {username: al, password: hunter2}\n"
            "      - {username: al, password: hunter2x}\n",
            {"bad.yaml:5:", "realms[0].users[1].username", "listed twice"}},
        BadConfig{
            "realms:\n  - name: a.test\n    users:\n      - {username: al, pasword: hunter2}\n",
            {"realms[0].users[0].pasword", "unknown key"}},
        BadConfig{"realms:\n  - name: a.test\n    users:\n      - {username: al, hash1: "
                  "0123456789abcdef0123456789abcdef, ha1_md5: ffffffffffffffffffffffffffffffff}\n",
                  {"realms[0].users[0].hash1", "differs from ha1_md5"}},
        BadConfig{"realms:\n  - name: a.test\n    allow_qop_less: maybe\n",
                  {"realms[0].allow_qop_less", "true or false"}},
        BadConfig{"realms: {name: a.test}\n", {"realms", "list of realms"}},
        BadConfig{"data_dir: a\ndata_dir: b\n", {"bad.yaml:2:", "data_dir", "duplicate key"}}));

using switchboard::testing::TempFile;

switchboard::Environment fake_env(std::map<std::string, std::string> vars) {
  return [vars](std::string_view name) -> std::optional<std::string> {
    auto it = vars.find(std::string(name));
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

CommandLine parse_flags(std::vector<std::string_view> args) {
  CommandLine cli;
  std::string error;
  EXPECT_TRUE(switchboard::parse_command_line(args, cli, error)) << error;
  return cli;
}

// Verifies flags beat the environment, which beats the file.
TEST(ConfigPrecedence, FlagsOverEnvironmentOverFile) {
  TempFile file(
      "sip:\n  listen: [\"udp:127.0.0.1:5060\", \"tcp:127.0.0.1:5060\"]\n"
      "data_dir: /from/file\nlog_level: error\nthreads: 2\n"
      "nonce: {secret: \"file-secret-0123456789\"}\n");

  auto only_file = switchboard::load_config(parse_flags({"--config", file.path()}), fake_env({}));
  ASSERT_TRUE(only_file.ok()) << only_file.error;
  EXPECT_EQ(only_file.config->data_dir, "/from/file");
  EXPECT_EQ(only_file.config->log_level, switchboard::LogLevel::kError);
  EXPECT_EQ(only_file.config->config_file, file.path());
  EXPECT_EQ(only_file.config->nonce.secret_origin, switchboard::SecretOrigin::kFile);

  auto env = fake_env({{"SWITCHBOARD_DATA_DIR", "/from/env"},
                       {"SWITCHBOARD_LOG_LEVEL", "warn"},
                       {"SWITCHBOARD_THREADS", "4"},
                       {"SWITCHBOARD_SIP_LISTEN", "udp:127.0.0.1:7000, tcp:127.0.0.1:7001"},
                       {"SWITCHBOARD_NONCE_SECRET", "env-secret-0123456789"}});
  auto with_env = switchboard::load_config(parse_flags({"--config", file.path()}), env);
  ASSERT_TRUE(with_env.ok()) << with_env.error;
  EXPECT_EQ(with_env.config->data_dir, "/from/env");
  EXPECT_EQ(with_env.config->log_level, switchboard::LogLevel::kWarn);
  EXPECT_EQ(with_env.config->threads, 4u);
  ASSERT_EQ(with_env.config->listen.size(), 2u);
  EXPECT_EQ(with_env.config->listen[1].to_string(), "tcp:127.0.0.1:7001");
  EXPECT_EQ(with_env.config->nonce.secret, "env-secret-0123456789");
  EXPECT_EQ(with_env.config->nonce.secret_origin, switchboard::SecretOrigin::kEnvironment);

  auto with_flags = switchboard::load_config(
      parse_flags({"--config", file.path(), "--data-dir", "/from/flag", "--log-level=debug",
                   "--threads", "1", "--sip-listen", "udp:127.0.0.1:0"}),
      env);
  ASSERT_TRUE(with_flags.ok()) << with_flags.error;
  EXPECT_EQ(with_flags.config->data_dir, "/from/flag");
  EXPECT_EQ(with_flags.config->log_level, switchboard::LogLevel::kDebug);
  EXPECT_EQ(with_flags.config->threads, 1u);
  ASSERT_EQ(with_flags.config->listen.size(), 1u);  // replaces, never appends
  EXPECT_EQ(with_flags.config->listen[0].to_string(), "udp:127.0.0.1:0");
}

// Verifies SWITCHBOARD_CONFIG names the file when --config is absent.
TEST(ConfigPrecedence, ConfigFileFromEnvironment) {
  TempFile file("data_dir: /via/env/file\n");
  auto c =
      switchboard::load_config(parse_flags({}), fake_env({{"SWITCHBOARD_CONFIG", file.path()}}));
  ASSERT_TRUE(c.ok()) << c.error;
  EXPECT_EQ(c.config->data_dir, "/via/env/file");
}

// Verifies bad environment values and unreadable files are named in the error.
TEST(ConfigPrecedence, EnvironmentAndFileErrors) {
  auto bad = switchboard::load_config(parse_flags({}), fake_env({{"SWITCHBOARD_THREADS", "x"}}));
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error.find("SWITCHBOARD_THREADS"), std::string::npos) << bad.error;
  bad = switchboard::load_config(parse_flags({}),
                                 fake_env({{"SWITCHBOARD_NONCE_SECRET", "hunter2"}}));
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error.find("SWITCHBOARD_NONCE_SECRET"), std::string::npos) << bad.error;
  EXPECT_EQ(bad.error.find("hunter2"), std::string::npos) << bad.error;
  bad = switchboard::load_config(parse_flags({"--config", "/nonexistent/switchboard.yaml"}),
                                 fake_env({}));
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error.find("/nonexistent/switchboard.yaml"), std::string::npos) << bad.error;
}

// Verifies drop_passwords() forgets every password.
TEST(Config, DropPasswords) {
  Config c = parse_ok(kContract);
  c.drop_passwords();
  EXPECT_FALSE(c.realms[0].users[0].password);
}

// Verifies the bootstrap stores realms and HA1-only credentials, skips
// unchanged users on the next start, replaces changed ones, leaves users that
// exist only in the store alone, and wipes the passwords.
TEST(Bootstrap, UpsertsRealmsAndCredentials) {
  registrar::MemoryCredentialStore store;
  Config c = parse_ok(R"(realms:
  - name: acme.test
    algorithms: [SHA-256, MD5]
    users:
      - {username: alice, password: s3cret}
      - {username: bob, ha1_md5: 0123456789abcdef0123456789abcdef}
)");
  switchboard::BootstrapResult r = switchboard::bootstrap_credentials(c, store);
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.realms, 1u);
  EXPECT_EQ(r.users, 2u);
  EXPECT_FALSE(c.realms[0].users[0].password);  // wiped
  ASSERT_EQ(r.missing.size(), 1u);              // bob cannot answer SHA-256
  EXPECT_EQ(r.missing[0].username, "bob");
  EXPECT_EQ(r.missing[0].algorithms, "SHA-256");

  auto alice = store.find_credential("acme.test", "alice");
  ASSERT_TRUE(alice);
  EXPECT_EQ(
      alice->ha1(registrar::DigestAlgorithm::kMd5),
      registrar::compute_ha1(registrar::DigestAlgorithm::kMd5, "alice", "acme.test", "s3cret"));
  EXPECT_TRUE(alice->supports(registrar::DigestAlgorithm::kSha512_256));
  EXPECT_EQ(alice->hash1b(),
            registrar::compute_hash1b("alice", "acme.test", "acme.test", "s3cret"));
  ASSERT_TRUE(store.find_realm("ACME.test"));

  // Someone else (the admin API) adds a user; the next start changes alice.
  ASSERT_TRUE(store
                  .put_credential(
                      registrar::Credential::from_password("acme.test", "zed", "zzz", "acme.test"))
                  .ok);
  Config again = parse_ok(R"(realms:
  - name: acme.test
    algorithms: [SHA-256, MD5]
    users:
      - {username: alice, password: n3w}
      - {username: bob, ha1_md5: 0123456789abcdef0123456789abcdef}
)");
  r = switchboard::bootstrap_credentials(again, store);
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.users, 1u);      // alice rewritten
  EXPECT_EQ(r.unchanged, 1u);  // bob as before
  EXPECT_EQ(store.find_credential("acme.test", "alice")->ha1(registrar::DigestAlgorithm::kMd5),
            registrar::compute_ha1(registrar::DigestAlgorithm::kMd5, "alice", "acme.test", "n3w"));
  EXPECT_TRUE(store.find_credential("acme.test", "zed"));  // not in the file: kept
}

}  // namespace

namespace {

// Verifies metrics.listen < SWITCHBOARD_METRICS_LISTEN < --metrics-listen, and
// that only IP:PORT or off is accepted (it is bound as given).
TEST(ConfigMetrics, ListenPrecedenceAndValidation) {
  Config defaults = parse_ok("");
  EXPECT_FALSE(defaults.metrics.enabled());
  Config file = parse_ok("metrics:\n  listen: \"127.0.0.1:9090\"\n");
  EXPECT_EQ(file.metrics.listen, "127.0.0.1:9090");
  TempFile f("metrics: {listen: \"127.0.0.1:9090\"}\n");
  auto env = switchboard::load_config(parse_flags({"--config", f.path()}),
                                      fake_env({{"SWITCHBOARD_METRICS_LISTEN", "[::1]:9191"}}));
  ASSERT_TRUE(env.ok()) << env.error;
  EXPECT_EQ(env.config->metrics.listen, "[::1]:9191");
  auto flag = switchboard::load_config(
      parse_flags({"--config", f.path(), "--metrics-listen", "off"}),
      fake_env({{"SWITCHBOARD_METRICS_LISTEN", "[::1]:9191"}}));
  ASSERT_TRUE(flag.ok()) << flag.error;
  EXPECT_FALSE(flag.config->metrics.enabled());

  ConfigOrError bad = parse_config_text("metrics:\n  listen: localhost:9090\n", "test.yaml");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error.find("test.yaml:2: metrics.listen: expected IP:PORT"), std::string::npos)
      << bad.error;
  CommandLine cli;
  std::string error;
  std::vector<std::string_view> args = {"--metrics-listen", "127.0.0.1:99999"};
  EXPECT_FALSE(switchboard::parse_command_line(args, cli, error));
  EXPECT_NE(error.find("--metrics-listen: expected IP:PORT"), std::string::npos) << error;
  auto bad_env = switchboard::load_config(parse_flags({}),
                                          fake_env({{"SWITCHBOARD_METRICS_LISTEN", "x"}}));
  ASSERT_FALSE(bad_env.ok());
  EXPECT_NE(bad_env.error.find("SWITCHBOARD_METRICS_LISTEN"), std::string::npos) << bad_env.error;
}

// Verifies sip.advertise (file and environment) and that a port or junk is refused.
TEST(ConfigSip, AdvertiseHost) {
  EXPECT_EQ(parse_ok("sip:\n  advertise: sip.example.com\n").sip_advertise, "sip.example.com");
  EXPECT_EQ(parse_ok("sip:\n  advertise: \"[2001:db8::1]\"\n").sip_advertise, "[2001:db8::1]");
  ConfigOrError bad = parse_config_text("sip:\n  advertise: \"1.2.3.4:5060\"\n", "test.yaml");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error.find("test.yaml:2: sip.advertise"), std::string::npos) << bad.error;
  auto env = switchboard::load_config(parse_flags({}),
                                      fake_env({{"SWITCHBOARD_SIP_ADVERTISE", "203.0.113.7"}}));
  ASSERT_TRUE(env.ok()) << env.error;
  EXPECT_EQ(env.config->sip_advertise, "203.0.113.7");
  EXPECT_NE(switchboard::render_config(*env.config).find("advertise: 203.0.113.7"),
            std::string::npos);
}

// Verifies store.kind/url/prefix and replica keys, the Redis URL checks, and
// that the URL's password never appears in errors or --print-config.
TEST(ConfigStore, RedisKeysAndRedaction) {
  Config c = parse_ok(
      "store:\n  kind: redis\n  url: \"redis://app:s3cr3t-pw@10.0.0.5:6379/2\"\n  prefix: \"x:\"\n"
      "replica:\n  id: switchboard-0\n  advertise: \"switchboard-0.sb.ns.svc:50052\"\n"
      "nonce: {secret: \"shared-secret-0123456789\"}\n");
  EXPECT_EQ(c.store.kind, switchboard::StoreKind::kRedis);
  EXPECT_EQ(c.store.url, "redis://app:s3cr3t-pw@10.0.0.5:6379/2");
  EXPECT_EQ(c.store.prefix, "x:");
  EXPECT_EQ(c.replica.id, "switchboard-0");
  EXPECT_EQ(c.replica.advertise, "switchboard-0.sb.ns.svc:50052");
  std::string printed = switchboard::render_config(c);
  EXPECT_EQ(printed.find("s3cr3t-pw"), std::string::npos) << printed;
  EXPECT_NE(printed.find("redis://app:<redacted>@10.0.0.5:6379/2"), std::string::npos) << printed;
  EXPECT_EQ(switchboard::redact_url("redis://pw@h:1"), "redis://<redacted>@h:1");
  EXPECT_EQ(switchboard::redact_url("redis://h:1/0"), "redis://h:1/0");

  ConfigOrError no_url = parse_config_text("store:\n  kind: redis\n", "test.yaml");
  ASSERT_FALSE(no_url.ok());
  EXPECT_NE(no_url.error.find("store.kind is redis but no store.url"), std::string::npos)
      << no_url.error;
  ConfigOrError bad_url =
      parse_config_text("store:\n  url: \"http://u:hidden-pw@h:1\"\n", "test.yaml");
  ASSERT_FALSE(bad_url.ok());
  EXPECT_NE(bad_url.error.find("test.yaml:2: store.url"), std::string::npos) << bad_url.error;
  EXPECT_EQ(bad_url.error.find("hidden-pw"), std::string::npos) << bad_url.error;
  ConfigOrError bad_kind = parse_config_text("store:\n  kind: postgres\n", "test.yaml");
  ASSERT_FALSE(bad_kind.ok());
  EXPECT_NE(bad_kind.error.find("expected sqlite, redis or memory"), std::string::npos)
      << bad_kind.error;
  ConfigOrError bad_adv = parse_config_text("replica:\n  advertise: nohost\n", "test.yaml");
  ASSERT_FALSE(bad_adv.ok());
  EXPECT_NE(bad_adv.error.find("replica.advertise"), std::string::npos);

  auto env = switchboard::load_config(
      parse_flags({}), fake_env({{"SWITCHBOARD_REDIS_URL", "redis://127.0.0.1:6380"},
                                 {"SWITCHBOARD_REPLICA_ID", "r1"},
                                 {"SWITCHBOARD_REPLICA_ADVERTISE", "10.1.2.3:50052"}}));
  ASSERT_TRUE(env.ok()) << env.error;
  EXPECT_EQ(env.config->store.url, "redis://127.0.0.1:6380");
  EXPECT_EQ(env.config->store.kind, switchboard::StoreKind::kSqlite);  // the URL alone selects nothing
  EXPECT_EQ(env.config->replica.id, "r1");
}

// Verifies store.kind redis refuses to load without a shared nonce secret (each
// replica would generate its own and reject the others' nonces), names the key and
// the environment variable, and accepts the secret from either; the single-process
// kinds do not need one.
TEST(ConfigStore, RedisRequiresNonceSecret) {
  const std::string redis = "store:\n  kind: redis\n  url: \"redis://127.0.0.1:6379\"\n";
  ConfigOrError missing = parse_config_text(redis, "test.yaml");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error,
            "test.yaml: nonce.secret: required with store.kind redis: every replica must verify "
            "the others' nonces (or set SWITCHBOARD_NONCE_SECRET)");
  EXPECT_TRUE(parse_config_text(redis + "nonce: {secret: \"shared-secret-0123456789\"}\n",
                                "test.yaml")
                  .ok());

  TempFile file(redis);
  auto no_env = switchboard::load_config(parse_flags({"--config", file.path()}), fake_env({}));
  ASSERT_FALSE(no_env.ok());
  EXPECT_NE(no_env.error.find(file.path() + ": nonce.secret: required"), std::string::npos)
      << no_env.error;
  auto env = switchboard::load_config(
      parse_flags({"--config", file.path()}),
      fake_env({{"SWITCHBOARD_NONCE_SECRET", "env-secret-0123456789"}}));
  ASSERT_TRUE(env.ok()) << env.error;
  EXPECT_EQ(env.config->nonce.secret_origin, switchboard::SecretOrigin::kEnvironment);

  EXPECT_FALSE(parse_ok("store:\n  kind: sqlite\n").nonce.secret);
  EXPECT_FALSE(parse_ok("store:\n  kind: memory\n").nonce.secret);
}

// Verifies store.kind memory (benchmarks, tests) is accepted, needs no URL, and
// --print-config shows it.
TEST(ConfigStore, MemoryKind) {
  Config c = parse_ok("store:\n  kind: MEMORY\n");
  EXPECT_EQ(c.store.kind, switchboard::StoreKind::kMemory);
  EXPECT_NE(switchboard::render_config(c).find("store:\n  kind: memory\n"), std::string::npos)
      << switchboard::render_config(c);
  EXPECT_EQ(switchboard::store_kind_name(switchboard::StoreKind::kSqlite), "sqlite");
  EXPECT_EQ(switchboard::store_kind_name(switchboard::StoreKind::kRedis), "redis");
}

// Verifies replica.id is never empty after loading: the host name unless set, and
// an explicit id (file or environment) wins.
TEST(ConfigStore, ReplicaIdDefaultsToTheHostName) {
  char host[256] = {};
  ASSERT_EQ(gethostname(host, sizeof host - 1), 0);
  EXPECT_EQ(parse_ok("").replica.id, host);
  EXPECT_EQ(parse_ok("replica: {id: sb-7}\n").replica.id, "sb-7");
  auto env = switchboard::load_config(parse_flags({}), fake_env({{"SWITCHBOARD_REPLICA_ID", "r2"}}));
  ASSERT_TRUE(env.ok()) << env.error;
  EXPECT_EQ(env.config->replica.id, "r2");
  auto defaulted = switchboard::load_config(parse_flags({}), fake_env({}));
  ASSERT_TRUE(defaulted.ok()) << defaulted.error;
  EXPECT_EQ(defaulted.config->replica.id, host);
}

// Verifies the calls: section's keys and their bounds.
TEST(ConfigCalls, KeysAndBounds) {
  Config c = parse_ok(
      "calls:\n  max_calls: 5\n  rate_per_token: 2\n  burst_per_token: 3\n"
      "  inbound_ring_timeout: 7\n  ended_retention: 0\n  max_ended: 9\n"
      "  watcher_buffer: 11\n  max_watchers: 13\n");
  EXPECT_EQ(c.calls.max_calls, 5u);
  EXPECT_EQ(c.calls.rate_per_token, 2u);
  EXPECT_EQ(c.calls.burst_per_token, 3u);
  EXPECT_EQ(c.calls.inbound_ring_timeout, std::chrono::seconds(7));
  EXPECT_EQ(c.calls.ended_retention, std::chrono::seconds(0));
  EXPECT_EQ(c.calls.max_ended, 9u);
  EXPECT_EQ(c.calls.watcher_buffer, 11u);
  EXPECT_EQ(c.calls.max_watchers, 13u);
  ConfigOrError bad = parse_config_text("calls:\n  max_calls: 0\n", "test.yaml");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error.find("test.yaml:2: calls.max_calls"), std::string::npos) << bad.error;
  ConfigOrError typo = parse_config_text("calls:\n  max_call: 3\n", "test.yaml");
  ASSERT_FALSE(typo.ok());
  EXPECT_NE(typo.error.find("max_call"), std::string::npos) << typo.error;
}

// Verifies --print-config output: the file's shape, every section, parsed
// back to the same configuration, and no secret in it.
TEST(ConfigPrint, RoundTripsAndMasksSecrets) {
  const std::string ha1 = "0123456789abcdef0123456789abcdef";
  Config c = parse_ok(
      "nonce: {secret: \"nonce-secret-0123456789\"}\n"
      "metrics: {listen: \"127.0.0.1:9100\"}\n"
      "calls: {max_calls: 77}\n"
      "api:\n  tokens:\n    - {name: ops, role: admin, sha256: \"" +
      std::string(64, 'a') +
      "\"}\n"
      "realms:\n  - name: acme.test\n    challenge: 407\n    users:\n"
      "      - {username: alice, password: \"alice-pass-xyz\"}\n"
      "      - {username: bob, ha1_md5: \"" +
      ha1 + "\"}\n");
  std::string text = switchboard::render_config(c);
  for (const std::string& secret :
       {std::string("nonce-secret-0123456789"), std::string("alice-pass-xyz"), ha1,
        std::string(64, 'a')})
    EXPECT_EQ(text.find(secret), std::string::npos) << secret << " leaked:\n" << text;
  EXPECT_NE(text.find("<redacted>"), std::string::npos);
  EXPECT_NE(text.find("metrics:\n  listen: 127.0.0.1:9100"), std::string::npos) << text;
  EXPECT_NE(text.find("max_calls: 77"), std::string::npos) << text;
  EXPECT_NE(text.find("challenge: 407"), std::string::npos) << text;

  // Apart from the secrets, the output is a valid configuration file that
  // means the same.
  std::string no_secrets = text;
  for (const char* key : {"secret", "password", "ha1_md5", "sha256"}) {
    std::string needle = std::string(key) + ": <redacted>";
    for (size_t at; (at = no_secrets.find(needle)) != std::string::npos;) {
      std::string value = std::string(key) == "secret"     ? "other-secret-0123456789"
                          : std::string(key) == "password" ? "x"
                          : std::string(key) == "sha256"   ? std::string(64, 'b')
                                                           : ha1;
      no_secrets.replace(at, needle.size(), std::string(key) + ": \"" + value + "\"");
    }
  }
  Config again = parse_ok(no_secrets);
  EXPECT_EQ(switchboard::render_config(again), text);
}

}  // namespace
