// gateway/main.cc — the switchboard executable: read the configuration, open
// the stores in the data directory, bootstrap the configured credentials and
// the API tokens, load the bindings, start the gRPC API and the SIP server
// with the registrar, wait for SIGINT/SIGTERM, stop cleanly.
//
// Exit status: 0 after a clean shutdown (or --help/--version), 1 when the
// server cannot start (a listen address — SIP or gRPC — cannot be bound, the
// data directory or a store cannot be opened), 2 for a bad command line,
// environment, configuration file or API token file.
//
// Signals are blocked before any thread starts (threads inherit the mask) and
// taken synchronously with sigwait() on the main thread, so no work happens in
// a signal handler.
//
// Shutdown order: stop the gRPC API (health NOT_SERVING, every watch stream
// ended with UNAVAILABLE), stop the SIP server (no new requests), stop the expiry
// thread, flush the binding store (every acknowledged change and its
// callbacks done), then destroy in reverse order of construction. TCP
// connections closed by the shutdown itself do not remove their bindings: a
// clean stop leaves the store exactly as a kill -9 would.
#include <openssl/crypto.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <vector>

#include "gateway/api/api_server.h"
#include "gateway/api/grpc_log.h"
#include "gateway/bootstrap.h"
#include "gateway/command_line.h"
#include "gateway/config.h"
#include "gateway/default_handler.h"
#include "gateway/json_log.h"
#include "gateway/registrar_handler.h"
#include "gateway/sip_server.h"
#include "registrar/auth_throttle.h"
#include "registrar/event_hub.h"
#include "registrar/location_service.h"
#include "registrar/nonce.h"
#include "registrar/random.h"
#include "registrar/registrar.h"
#include "registrar/store/sqlite_binding_store.h"
#include "registrar/store/sqlite_credential_store.h"
#include "sip/clock.h"

#ifndef SWITCHBOARD_VERSION
#define SWITCHBOARD_VERSION "0.0.0"
#endif

namespace {

using namespace std::chrono_literals;

// Calls location.expire_due() when the next binding is due, and at least once
// a second; purges stale nonce counts every 30 s. Runs on its own thread.
class ExpiryTimer {
 public:
  ExpiryTimer(registrar::LocationService& location, registrar::NonceCounter& counts,
              const sip::Clock& clock, switchboard::Logger& logger)
      : thread_([&location, &counts, &clock, &logger](const std::stop_token& stop) {
          std::mutex mu;
          std::condition_variable_any cv;
          auto next_purge = clock.now() + 30s;
          while (!stop.stop_requested()) {
            size_t expired = location.expire_due();
            if (expired > 0 && logger.enabled(switchboard::LogLevel::kDebug))
              logger.debug("bindings expired", {{"count", expired}});
            if (clock.now() >= next_purge) {
              counts.purge_expired();
              next_purge = clock.now() + 30s;
            }
            std::chrono::milliseconds wait = 1000ms;
            if (auto next = location.next_expiry()) {
              auto until = std::chrono::ceil<std::chrono::milliseconds>(*next - clock.wall_now());
              wait = std::clamp(until, std::chrono::milliseconds(5), wait);
            }
            std::unique_lock lock(mu);
            cv.wait_for(lock, stop, wait, [] { return false; });
          }
        }) {}

  void stop() {
    thread_.request_stop();
    if (thread_.joinable()) thread_.join();
  }

 private:
  std::jthread thread_;
};

// sbctl next to this executable (build/bin/sbctl), else plain "sbctl".
std::string sbctl_path() {
  std::error_code ec;
  std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    std::filesystem::path sbctl = self.parent_path() / "sbctl";
    if (std::filesystem::exists(sbctl, ec)) return sbctl.string();
  }
  return "sbctl";
}

std::string_view secret_source_name(registrar::NonceSecret::Source s) {
  switch (s) {
    case registrar::NonceSecret::Source::kConfigured:
      return "configuration";
    case registrar::NonceSecret::Source::kEnvironment:
      return registrar::kNonceSecretEnvVar;
    case registrar::NonceSecret::Source::kGenerated:
      return "generated";
  }
  return "?";
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string_view> args(argv + 1, argv + argc);
  switchboard::CommandLine cli;
  std::string error;
  if (!switchboard::parse_command_line(args, cli, error)) {
    std::fprintf(stderr, "switchboard: %s\nTry 'switchboard --help'.\n", error.c_str());
    return 2;
  }
  if (cli.help) {
    std::fputs(switchboard::usage("switchboard").c_str(), stdout);
    return 0;
  }
  if (cli.version) {
    std::printf("switchboard %s\n", SWITCHBOARD_VERSION);
    return 0;
  }
  switchboard::ConfigOrError loaded =
      switchboard::load_config(cli, switchboard::process_environment());
  if (!loaded.ok()) {
    std::fprintf(stderr, "switchboard: %s\n", loaded.error.c_str());
    return 2;
  }
  switchboard::Config config = std::move(*loaded.config);

  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  // A client vanishing mid-write must not kill the process.
  signal(SIGPIPE, SIG_IGN);

  switchboard::Logger logger(config.log_level);
  // gRPC logs through `logger` (see below) only while it exists: this is
  // destroyed before it, after everything declared later.
  struct GrpcLogRouting {
    ~GrpcLogRouting() { switchboard::api::route_grpc_logs(nullptr); }
  } grpc_log_routing;
  logger.info("configuration",
              {{"file", config.config_file.empty() ? "(none)" : config.config_file},
               {"data_dir", config.data_dir},
               {"store_synchronous",
                config.store_sync == switchboard::StoreSync::kFull ? "full" : "normal"},
               {"realms", config.realms.size()}});

  // --- stores ---------------------------------------------------------------
  std::error_code ec;
  std::filesystem::create_directories(config.data_dir, ec);
  if (ec) {
    logger.error("cannot create data directory",
                 {{"data_dir", config.data_dir}, {"error", ec.message()}});
    return 1;
  }
  const std::string database = registrar::database_path(config.data_dir);
  registrar::SqliteOptions sqlite;
  sqlite.synchronous = config.store_sync == switchboard::StoreSync::kFull
                           ? registrar::SqliteSync::kFull
                           : registrar::SqliteSync::kNormal;
  auto credentials = registrar::SqliteCredentialStore::open(database, sqlite);
  if (!credentials.ok()) {
    logger.error("cannot open credential store",
                 {{"path", database}, {"error", credentials.error}});
    return 1;
  }
  for (const std::string& warning : credentials.store->load_warnings())
    logger.warn("credential store row skipped", {{"detail", warning}});
  sip::SystemClock clock;
  registrar::SqliteBindingStoreOptions binding_options;
  binding_options.database = sqlite;
  binding_options.events.max_events = config.events.max_count;
  binding_options.events.max_age = config.events.max_age;
  binding_options.clock = &clock;
  auto bindings = registrar::SqliteBindingStore::open(database, binding_options);
  if (!bindings.ok()) {
    logger.error("cannot open binding store", {{"path", database}, {"error", bindings.error}});
    return 1;
  }

  switchboard::BootstrapResult boot =
      switchboard::bootstrap_credentials(config, *credentials.store);
  if (!boot.ok()) {
    logger.error("cannot store configured credentials", {{"error", boot.error}});
    return 1;
  }
  constexpr size_t kMaxMissingWarnings = 20;
  for (size_t i = 0; i < boot.missing.size() && i < kMaxMissingWarnings; ++i)
    logger.warn("user lacks offered algorithms",
                {{"realm", boot.missing[i].realm},
                 {"username", boot.missing[i].username},
                 {"algorithms", boot.missing[i].algorithms},
                 {"hint",
                  "clients that choose these cannot authenticate: give the hashes, a "
                  "password, or narrow the realm's algorithms"}});
  if (boot.missing.size() > kMaxMissingWarnings)
    logger.warn("more users lack offered algorithms",
                {{"count", boot.missing.size() - kMaxMissingWarnings}});
  logger.info("credentials bootstrapped", {{"realms", boot.realms},
                                           {"users_written", boot.users},
                                           {"users_unchanged", boot.unchanged}});

  // --- API tokens -------------------------------------------------------------
  registrar::SystemRandom random;
  switchboard::ApiTokensBootstrap tokens;
  if (config.grpc.enabled()) {
    tokens = switchboard::bootstrap_api_tokens(config, random);
    if (!tokens.ok()) {
      if (tokens.bad_file) {
        std::fprintf(stderr, "switchboard: %s\n", tokens.error.c_str());
        return 2;
      }
      logger.error("cannot set up API tokens", {{"error", tokens.error}});
      return 1;
    }
    if (tokens.source == switchboard::ApiTokensBootstrap::Source::kFile)
      logger.info("api tokens", {{"source", tokens.file}, {"count", tokens.tokens.size()}});
    if (tokens.source == switchboard::ApiTokensBootstrap::Source::kConfiguration)
      logger.info("api tokens", {{"source", "configuration"}, {"count", tokens.tokens.size()}});
  }

  // --- registrar ------------------------------------------------------------
  std::optional<std::string_view> file_secret, env_secret;
  if (config.nonce.secret && config.nonce.secret_origin == switchboard::SecretOrigin::kFile)
    file_secret = *config.nonce.secret;
  if (config.nonce.secret && config.nonce.secret_origin == switchboard::SecretOrigin::kEnvironment)
    env_secret = *config.nonce.secret;
  registrar::NonceSecretOrError secret =
      registrar::resolve_nonce_secret(file_secret, env_secret, random);
  if (!secret.ok()) {
    logger.error("bad nonce secret", {{"error", secret.error}});
    return 2;
  }
  if (secret.secret->source == registrar::NonceSecret::Source::kGenerated) {
    logger.warn("nonce secret generated",
                {{"hint",
                  "set nonce.secret or SWITCHBOARD_NONCE_SECRET: with a generated secret, "
                  "nonces do not survive a restart and replicas reject each other's"}});
  } else {
    logger.info("nonce secret", {{"source", secret_source_name(secret.secret->source)}});
  }
  registrar::NonceService nonces(secret.secret->key, clock, random, config.nonce.lifetime);
  registrar::NonceCounterOptions count_options;
  count_options.max_entries = config.nonce.max_tracked;
  count_options.lifetime = config.nonce.lifetime;
  registrar::NonceCounter nonce_counts(clock, count_options);

  // The hub outlives the location service (it observes it) and the API.
  registrar::EventHubOptions hub_options;
  hub_options.buffer = config.events.watcher_buffer;
  hub_options.max_subscriptions = config.events.max_watchers;
  registrar::EventHub hub(*bindings.store, hub_options);
  registrar::LocationService location(*bindings.store, clock);
  location.add_observer(&hub);  // before any traffic
  size_t restored = location.load();
  logger.info("bindings loaded", {{"bindings", restored}, {"aors", location.aor_count()}});

  std::optional<registrar::AuthThrottle> throttle;
  if (config.auth_throttle.enabled) {
    registrar::AuthThrottleOptions t;
    t.max_failures = config.auth_throttle.max_failures;
    t.window = config.auth_throttle.window;
    t.cooldown = config.auth_throttle.cooldown;
    t.drop = config.auth_throttle.action == switchboard::ThrottleAction::kDrop;
    throttle.emplace(clock, t);
  }
  registrar::Registrar registrar_core(
      registrar::RegistrarDeps{.credentials = *credentials.store,
                               .location = location,
                               .nonces = nonces,
                               .nonce_counts = nonce_counts,
                               .clock = clock,
                               .throttle = throttle ? &*throttle : nullptr});

  // --- gRPC API ---------------------------------------------------------------
  // After the stores are loaded (health SERVING means ready), before SIP.
  std::unique_ptr<switchboard::api::ApiServer> api;
  if (config.grpc.enabled()) {
    switchboard::api::route_grpc_logs(&logger);  // gRPC's own lines as JSON too
    switchboard::api::ApiServerOptions api_options;
    api_options.listen = config.grpc.listen;
    if (config.grpc.tls_enabled())
      api_options.tls = switchboard::api::TlsFiles{config.grpc.tls.cert_file,
                                                   config.grpc.tls.key_file,
                                                   config.grpc.tls.client_ca_file};
    api_options.watcher_buffer = config.events.watcher_buffer;
    api_options.max_watchers = config.events.max_watchers;
    api = switchboard::api::ApiServer::start(
        switchboard::api::ApiServerDeps{.credentials = *credentials.store,
                                        .location = location,
                                        .hub = hub,
                                        .tokens = tokens.tokens,
                                        .logger = logger},
        api_options, &error);
    if (!api) {
      logger.error("cannot start", {{"error", error}});
      return 1;
    }
    logger.info("grpc listening", {{"address", api->address()},
                                   {"tls", config.grpc.tls_enabled()},
                                   {"mtls", !config.grpc.tls.client_ca_file.empty()}});
    if (!tokens.generated_token.empty()) {
      // Stored (as a hash) only now that the API listens: a start that fails
      // earlier leaves no file, and the next one prints a token again.
      if (!switchboard::store_generated_token(tokens, &error)) {
        logger.error("cannot store the API token", {{"error", error}});
        return 1;
      }
      // The only time the token exists outside the client: stdout, once.
      std::printf("switchboard: admin API token (shown once, only its SHA-256 is stored): %s\n",
                  tokens.generated_token.c_str());
      // A ready command for the person who just got it (plaintext only: with
      // TLS sbctl needs certificate options too).
      if (!config.grpc.tls_enabled())
        std::printf("switchboard: try it: %s --server %s --token %s realm list\n",
                    sbctl_path().c_str(), api->address().c_str(),
                    tokens.generated_token.c_str());
      std::fflush(stdout);
      logger.info("api token created", {{"name", "admin"},
                                        {"role", "admin"},
                                        {"file", tokens.file},
                                        {"hint", "the token was printed once on stdout"}});
    }
  } else {
    logger.info("grpc disabled", {{"hint", "grpc.listen is off"}});
  }
  if (!tokens.generated_token.empty()) {
    OPENSSL_cleanse(tokens.generated_token.data(), tokens.generated_token.size());
    tokens.generated_token.clear();
  }

  // --- SIP server -----------------------------------------------------------
  switchboard::TagSource tags = switchboard::random_tag_source();
  auto fallback = std::make_shared<switchboard::DefaultRequestHandler>(
      tags, switchboard::registrar_capabilities());
  auto handler = std::make_shared<switchboard::RegistrarHandler>(registrar_core, fallback, tags);

  std::atomic<bool> stopping{false};
  switchboard::SipServerOptions options;
  options.listen = config.listen;
  options.threads = config.threads;
  options.transport.tcp.idle_timeout = config.tcp_idle_timeout;
  options.transport.tcp.max_connections = config.tcp_max_connections;
  options.handler = handler;
  options.tags = tags;
  options.logger = &logger;
  options.on_connection_closed = [&](const sip::transport::Source& connection, std::string_view) {
    if (stopping.load(std::memory_order_relaxed) || connection.connection == 0) return;
    size_t removed = location.remove_connection(connection.connection);
    if (removed > 0 && logger.enabled(switchboard::LogLevel::kDebug))
      logger.debug("connection bindings removed",
                   {{"source", connection.to_string()}, {"bindings", removed}});
  };

  switchboard::SipServer server(std::move(options));
  if (!server.start(&error)) {
    logger.error("cannot start", {{"error", error}});
    return 1;
  }
  for (const auto& a : server.bound())
    logger.info("listening", {{"transport", sip::transport::protocol_name(a.protocol)},
                              {"address", a.host_port()}});
  ExpiryTimer expiry(location, nonce_counts, clock, logger);
  logger.info("started", {{"version", SWITCHBOARD_VERSION}, {"threads", server.threads()}});

  int signal_number = 0;
  while (sigwait(&signals, &signal_number) != 0) {
  }
  logger.info("stopping", {{"signal", signal_number == SIGINT ? "SIGINT" : "SIGTERM"}});
  stopping.store(true);
  if (api) api->shutdown();
  server.stop();
  expiry.stop();
  bindings.store->flush();
  const auto& c = server.counters();
  logger.info("stopped", {{"received", c.received.load()},
                          {"parse_errors", c.parse_errors.load()},
                          {"dropped", c.dropped.load()},
                          {"bindings", location.binding_count()}});
  return 0;
}
