// gateway/config.h — the switchboard configuration: YAML file, environment and
// command line merged into one validated value.
//
// Precedence, per setting: command-line flag > SWITCHBOARD_* environment
// variable > configuration file > built-in default. docs/configuration.md
// lists every key, flag and variable.
//
//   sip:
//     listen: ["udp:127.0.0.1:5060", "tcp:127.0.0.1:5060"]
//   data_dir: ./data
//   realms:
//     - name: acme.test
//       challenge: 401            # or 407
//       users:
//         - username: alice
//           password: "s3cret"    # or: ha1_md5 / hash1 / hash1b instead of password
//   grpc:
//     listen: "127.0.0.1:50051"
//   api:
//     tokens:
//       - name: ops
//         role: admin                 # admin | read | calls
//         sha256: "<hex SHA-256 of the token>"
//
//   switchboard::CommandLine cli = ...;
//   switchboard::ConfigOrError c = switchboard::load_config(cli,
//   switchboard::process_environment()); if (!c.ok()) { fprintf(stderr, "switchboard: %s\n",
//   c.error.c_str()); return 2; }
//
// Errors name the file, the line and the key ("switchboard.yaml:7: realms[0].challenge:
// expected 401 or 407, got \"402\""). Unknown keys are errors, so a typo never
// silently falls back to a default. Passwords and hashes never appear in an
// error message; drop_passwords() wipes the passwords once the credentials
// have been hashed into the store (gateway/bootstrap.h).
//
// Threading: plain values and functions; load_config() reads the environment
// through the Environment it is given (process_environment() calls getenv, so
// call it at start-up, before threads exist).
#ifndef SWITCHBOARD_GATEWAY_CONFIG_H_
#define SWITCHBOARD_GATEWAY_CONFIG_H_

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/api/api_token.h"
#include "gateway/command_line.h"
#include "gateway/json_log.h"
#include "registrar/realm.h"
#include "sip/transport/listen_address.h"

namespace switchboard {

// One user of a realm as configured: a password, or given hashes.
struct UserConfig {
  std::string username;
  // The domain of the composite username "user@domain" that hash1b
  // authenticates (Bandwidth's Hash1b). Default: the realm name.
  std::string domain;
  std::optional<std::string> password;  // secret: never logged; wiped by drop_passwords()
  std::optional<std::string> ha1_md5;   // key ha1_md5 or hash1 (same value)
  std::optional<std::string> ha1_sha256;
  std::optional<std::string> ha1_sha512_256;
  std::optional<std::string> hash1b;
  int line = 0;  // 1-based line of the entry in the file, for messages
};

struct RealmConfig {
  registrar::Realm realm;
  std::vector<UserConfig> users;
  int line = 0;
};

enum class ThrottleAction : uint8_t { kReject, kDrop };

// Failed-authentication throttling (per source IP and per username).
struct AuthThrottleConfig {
  bool enabled = true;
  uint32_t max_failures = 10;          // failures within `window` that trigger the cool-down
  std::chrono::seconds window{60};     // sliding window
  std::chrono::seconds cooldown{300};  // how long the source/user is refused
  ThrottleAction action = ThrottleAction::kReject;  // 403, or no answer at all
};

enum class SecretOrigin : uint8_t { kNone, kFile, kEnvironment };

struct NonceConfig {
  std::optional<std::string> secret;  // passphrase; never logged
  SecretOrigin secret_origin = SecretOrigin::kNone;
  std::chrono::seconds lifetime{300};
  size_t max_tracked = 1'000'000;  // NonceCounter entries (replay protection)
};

// How the embedded store makes a commit durable (SQLite WAL `synchronous`).
enum class StoreSync : uint8_t {
  kNormal,  // a commit is in the WAL file when the REGISTER is answered: survives a crash or
            // kill -9 of the process; a power loss may lose the last commits
  kFull,    // fsync at every group commit as well: survives power loss, costs an fsync per batch
};

// The gRPC API's server side (docs/api.md).
struct GrpcTlsConfig {
  std::string cert_file;       // PEM; TLS is on when set (key_file too)
  std::string key_file;        // PEM
  std::string client_ca_file;  // PEM; mutual TLS when set
};

struct GrpcConfig {
  std::string listen = "127.0.0.1:50051";  // "" when the API is off
  GrpcTlsConfig tls;
  bool enabled() const { return !listen.empty(); }
  bool tls_enabled() const { return !tls.cert_file.empty(); }
};

// One API bearer token as configured: only its SHA-256.
struct ApiTokenConfig {
  std::string name;
  api::Role role = api::Role::kRead;
  std::string sha256;  // 64 lower-case hex digits
  int line = 0;
};

// The registration event log and its watchers.
struct EventsConfig {
  size_t max_count = 100'000;              // events kept in the store
  std::chrono::seconds max_age{86'400};    // and none older than this
  size_t watcher_buffer = 4096;            // live events queued per watcher
  size_t max_watchers = 1000;              // WatchRegistrations streams at once
};

// Calls (gateway/calls/call_engine.h, docs/calls.md).
struct CallsConfig {
  size_t max_calls = 1000;                        // concurrent, inbound and outbound
  uint32_t rate_per_token = 50;                   // CreateCall per second per API token
  uint32_t burst_per_token = 100;                 // and the burst above that rate
  std::chrono::seconds inbound_ring_timeout{30};  // unanswered inbound calls → 480
  std::chrono::seconds ended_retention{300};      // ended calls stay visible this long
  size_t max_ended = 10'000;                      // and at most this many
  size_t watcher_buffer = 1024;                   // WatchCalls events queued per watcher
  size_t max_watchers = 1000;                     // WatchCalls streams at once
};

// The operations endpoint (gateway/metrics/http_server.h, docs/metrics.md).
struct MetricsConfig {
  std::string listen;  // "IP:PORT"; "" = off
  bool enabled() const { return !listen.empty(); }
};

enum class StoreKind : uint8_t {
  kSqlite,  // the embedded SQLite file in data_dir (default): durable, one process
  kRedis,   // Redis at store.url, shared by replicas; requires a nonce secret
  kMemory,  // memory only, one process: nothing survives a restart (benchmarks, tests)
};

// "sqlite", "redis" or "memory": store.kind as written in the file.
std::string_view store_kind_name(StoreKind kind);

// store.kind / store.url / store.prefix (docs/store.md "Redis").
// With store.kind redis, load_config() requires a nonce secret (nonce.secret or
// SWITCHBOARD_NONCE_SECRET): every replica must verify the nonces of the others.
struct StoreConfig {
  StoreKind kind = StoreKind::kSqlite;
  std::string url;              // redis://[user:password@]host:port[/db]; may hold a secret
  std::string prefix = "sb:";   // key prefix: several deployments can share one Redis
};

// replica.id / replica.advertise: how the other replicas name and reach this
// one (Kubernetes: the pod name and its headless-Service DNS name).
struct ReplicaConfig {
  std::string id;         // never "" after load_config(): unset → the host name
  std::string advertise;  // "HOST:PORT" of this replica's API for the others; "" → none
  // The bearer token replicas present to each other (forwarded calls, call
  // event streams); a secret. Required with store.kind redis and advertise.
  std::string token;
};

// The Redis URL with any password replaced by "<redacted>" (for logs, --print-config).
std::string redact_url(std::string_view url);

// Graceful shutdown (SIGTERM): how long calls in progress may take to end.
struct ShutdownConfig {
  std::chrono::seconds grace_period{20};
};

struct Config {
  std::string config_file;  // "" when none was given
  std::vector<sip::transport::ListenAddress> listen;
  // sip.advertise: the host devices reach us at, in the Via/Contact of the
  // requests we send (calls); "" = the listener's address.
  std::string sip_advertise;
  std::string data_dir = "./data";
  LogLevel log_level = LogLevel::kInfo;
  unsigned threads = 0;  // resolved: never 0 after load_config()
  std::chrono::seconds tcp_idle_timeout{300};
  size_t tcp_max_connections = 4096;
  NonceConfig nonce;
  StoreSync store_sync = StoreSync::kFull;
  StoreConfig store;      // which store: the embedded SQLite one, or Redis
  ReplicaConfig replica;  // this process among several on one Redis
  AuthThrottleConfig auth_throttle;
  std::vector<RealmConfig> realms;
  GrpcConfig grpc;
  std::vector<ApiTokenConfig> api_tokens;  // empty: DATA_DIR/api_tokens.yaml (gateway/bootstrap.h)
  EventsConfig events;
  CallsConfig calls;
  MetricsConfig metrics;
  ShutdownConfig shutdown;

  // Overwrites and forgets every configured password (and the nonce
  // passphrase is kept: it is needed as long as the process runs).
  void drop_passwords();
};

// The effective configuration as YAML in the file's shape (every key, with
// defaults filled in), for --print-config. Secrets are masked (replica.token too): passwords,
// HA1 hashes, the nonce secret and API token hashes print as "<redacted>".
std::string render_config(const Config& config);

// Reads one environment variable; nullopt when it is not set.
using Environment = std::function<std::optional<std::string>(std::string_view name)>;

// getenv(). Call at start-up only (getenv races with setenv).
Environment process_environment();

// The environment variables load_config() reads, for --help and the docs.
inline constexpr const char* kEnvConfig = "SWITCHBOARD_CONFIG";
inline constexpr const char* kEnvSipListen = "SWITCHBOARD_SIP_LISTEN";
inline constexpr const char* kEnvDataDir = "SWITCHBOARD_DATA_DIR";
inline constexpr const char* kEnvLogLevel = "SWITCHBOARD_LOG_LEVEL";
inline constexpr const char* kEnvThreads = "SWITCHBOARD_THREADS";
inline constexpr const char* kEnvTcpIdleTimeout = "SWITCHBOARD_TCP_IDLE_TIMEOUT";
inline constexpr const char* kEnvTcpMaxConnections = "SWITCHBOARD_TCP_MAX_CONNECTIONS";
inline constexpr const char* kEnvNonceSecret = "SWITCHBOARD_NONCE_SECRET";
inline constexpr const char* kEnvGrpcListen = "SWITCHBOARD_GRPC_LISTEN";
inline constexpr const char* kEnvMetricsListen = "SWITCHBOARD_METRICS_LISTEN";
inline constexpr const char* kEnvSipAdvertise = "SWITCHBOARD_SIP_ADVERTISE";
inline constexpr const char* kEnvRedisUrl = "SWITCHBOARD_REDIS_URL";
inline constexpr const char* kEnvReplicaId = "SWITCHBOARD_REPLICA_ID";
inline constexpr const char* kEnvReplicaAdvertise = "SWITCHBOARD_REPLICA_ADVERTISE";
inline constexpr const char* kEnvReplicaToken = "SWITCHBOARD_REPLICA_TOKEN";

struct ConfigOrError {
  std::optional<Config> config;
  std::string error;  // set iff !config; one line, names the source and key
  bool ok() const { return config.has_value(); }
};

// Merges defaults, the file (cli.config_file, else $SWITCHBOARD_CONFIG, else
// none), the environment and the flags, and validates the result.
[[nodiscard]] ConfigOrError load_config(const CommandLine& cli, const Environment& env);

// Parses YAML text as a configuration file named `name` (in messages), on top
// of the defaults; no environment, no flags. For tests and tools.
[[nodiscard]] ConfigOrError parse_config_text(std::string_view yaml, std::string_view name);

// The API token file DATA_DIR/api_tokens.yaml: the same shape as the
// configuration's `api:` section (`api: {tokens: [{name, role, sha256}]}`),
// validated the same way, with errors naming `name`, the line and the key.
struct ApiTokensOrError {
  std::vector<ApiTokenConfig> tokens;
  std::string error;  // set on failure
  bool ok() const { return error.empty(); }
};
[[nodiscard]] ApiTokensOrError parse_api_tokens_text(std::string_view yaml, std::string_view name);

}  // namespace switchboard

#endif  // SWITCHBOARD_GATEWAY_CONFIG_H_
