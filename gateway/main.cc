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
#include "gateway/sip_router.h"
#include "gateway/sip_metrics.h"
#include "gateway/metrics/http_server.h"
#include "gateway/metrics/metrics.h"
#include "gateway/metrics/process_metrics.h"
#include "gateway/metrics/registrar_metrics.h"
#include "gateway/calls/call_engine.h"
#include "gateway/replicas/redis_replica_directory.h"
#include "gateway/replicas/replica_calls.h"
#include "registrar/authenticator.h"
#include "gateway/sip_server.h"
#include "registrar/auth_throttle.h"
#include "registrar/event_hub.h"
#include "registrar/location_service.h"
#include "registrar/nonce.h"
#include "registrar/random.h"
#include "registrar/registrar.h"
#include "registrar/store/memory_stores.h"
#include "registrar/store/sqlite_binding_store.h"
#include "registrar/store/sqlite_credential_store.h"
#include "registrar/store/redis/redis_binding_store.h"
#include "registrar/store/redis/redis_credential_store.h"
#include "registrar/store/redis/redis_event_tailer.h"
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

// SIGHUP: re-reads the configuration (file, environment, the same flags) and
// applies what can change safely while running: the log level, the realms
// and users of the file (upserted into the store: realms or users removed
// from the file stay until deleted through the API), and the API tokens
// (api.tokens, else the token file). Listen addresses, data directory,
// threads and limits need a restart. A configuration that does not load
// changes nothing (logged as an error).
void reload_configuration(const switchboard::CommandLine& cli, switchboard::Logger& logger,
                          registrar::CredentialStore& credentials,
                          switchboard::api::ApiServer* api) {
  switchboard::ConfigOrError loaded =
      switchboard::load_config(cli, switchboard::process_environment());
  if (!loaded.ok()) {
    logger.error("reload failed: configuration kept", {{"error", loaded.error}});
    return;
  }
  switchboard::Config next = std::move(*loaded.config);
  logger.set_level(next.log_level);
  switchboard::BootstrapResult boot = switchboard::bootstrap_credentials(next, credentials);
  next.drop_passwords();
  if (!boot.ok()) {
    logger.error("reload: cannot store configured credentials", {{"error", boot.error}});
    return;
  }
  size_t token_count = 0;
  if (api != nullptr && next.grpc.enabled()) {
    registrar::SystemRandom random;
    switchboard::ApiTokensBootstrap tokens = switchboard::bootstrap_api_tokens(next, random);
    if (!tokens.ok() || !tokens.generated_token.empty()) {
      // Never mint a token on reload (it could not be shown safely): keep the old ones.
      if (!tokens.generated_token.empty())
        OPENSSL_cleanse(tokens.generated_token.data(), tokens.generated_token.size());
      logger.error("reload: API tokens kept",
                   {{"error", tokens.ok() ? "no api.tokens and no token file" : tokens.error}});
    } else {
      token_count = tokens.tokens.size();
      api->replace_tokens(std::move(tokens.tokens));
    }
  }
  logger.info("configuration reloaded",
              {{"log_level", switchboard::log_level_name(next.log_level)},
               {"realms", boot.realms},
               {"users_written", boot.users},
               {"users_unchanged", boot.unchanged},
               {"api_tokens", token_count}});
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
  if (cli.print_config) {
    // Validated like a real start (a bad key exits 2 above), then nothing is opened.
    std::fputs(switchboard::render_config(config).c_str(), stdout);
    return 0;
  }

  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  // A client vanishing mid-write must not kill the process.
  signal(SIGPIPE, SIG_IGN);

  switchboard::Logger logger(config.log_level);
  // Each part logs with its "component"; one level for all (SIGHUP changes it).
  switchboard::Logger sip_log = logger.component("sip");
  switchboard::Logger registrar_log = logger.component("registrar");
  switchboard::Logger calls_log = logger.component("calls");
  switchboard::Logger api_log = logger.component("api");
  // gRPC logs through `api_log` (see below) only while it exists: this is
  // destroyed before it, after everything declared later.
  struct GrpcLogRouting {
    ~GrpcLogRouting() { switchboard::api::route_grpc_logs(nullptr); }
  } grpc_log_routing;

  // --- metrics --------------------------------------------------------------
  // Created first: the stores, the SIP server and the call layer count into it.
  switchboard::metrics::Registry metrics;
  switchboard::metrics::register_process_metrics(metrics);
  metrics.gauge("switchboard_build_info", "Build information; the value is always 1.",
                {"version"}, [](switchboard::metrics::GaugeWriter& w) {
                  w.set({SWITCHBOARD_VERSION}, 1);
                });
  auto& store_seconds = metrics.histogram(
      "switchboard_store_operation_seconds", "Time taken by store operations.", {"store", "op"},
      switchboard::metrics::latency_buckets());
  auto& register_seconds = metrics.histogram(
      "switchboard_register_duration_seconds",
      "REGISTER handling time: receipt to response (authentication, durable store write).", {},
      switchboard::metrics::latency_buckets());
  auto& call_setup_seconds = metrics.histogram(
      "switchboard_call_setup_seconds", "Outbound calls: CreateCall to answer.", {},
      switchboard::metrics::latency_buckets());
  auto& calls_ended = metrics.counter("switchboard_calls_total",
                                      "Calls ended, by direction and end reason.",
                                      {"direction", "end_reason"});
  switchboard::SipMetrics sip_metrics(metrics);
  switchboard::metrics::RegistrarMetrics registrar_metrics(metrics);

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
  // The embedded SQLite store (default), Redis (store.kind: redis: several
  // replicas share it, docs/scale-out.md) or memory. Everything below sees
  // only the interfaces (and, on Redis, the event-log follower).
  sip::SystemClock clock;
  std::unique_ptr<registrar::CredentialStore> credential_store;
  std::unique_ptr<registrar::BindingStore> binding_store;
  std::function<bool()> store_healthy;
  registrar::RedisBindingStore* redis_bindings = nullptr;  // on Redis: for the tailer
  std::optional<registrar::RedisUrl> redis_url;
  const bool on_redis = config.store.kind == switchboard::StoreKind::kRedis;
  const std::string store_name(switchboard::store_kind_name(config.store.kind));
  auto& commit_seconds = store_seconds.with({store_name, "commit"});
  auto& trim_seconds = store_seconds.with({store_name, "trim"});
  auto time_operation = [&commit_seconds, &trim_seconds](std::string_view op,
                                                         std::chrono::nanoseconds took) {
    (op == "commit" ? commit_seconds : trim_seconds)
        .observe(std::chrono::duration<double>(took).count());
  };
  if (on_redis) {
    registrar::RedisUrlOrError url = registrar::parse_redis_url(config.store.url);
    if (!url.ok()) {
      std::fprintf(stderr, "switchboard: store.url: %s\n", url.error.c_str());
      return 2;
    }
    registrar::RedisCredentialStoreOptions credential_options;
    credential_options.prefix = config.store.prefix;
    auto credentials = registrar::RedisCredentialStore::open(*url.url, credential_options);
    if (!credentials.ok()) {
      logger.error("cannot open credential store",
                   {{"redis", url.url->redacted()}, {"error", credentials.error}});
      return 1;
    }
    registrar::RedisBindingStoreOptions binding_options;
    binding_options.prefix = config.store.prefix;
    binding_options.events.max_events = config.events.max_count;
    binding_options.events.max_age = config.events.max_age;
    binding_options.clock = &clock;
    binding_options.on_operation = time_operation;
    auto bindings = registrar::RedisBindingStore::open(*url.url, binding_options);
    if (!bindings.ok()) {
      logger.error("cannot open binding store",
                   {{"redis", url.url->redacted()}, {"error", bindings.error}});
      return 1;
    }
    logger.info("store", {{"kind", "redis"}, {"redis", url.url->redacted()},
                          {"prefix", config.store.prefix}});
    store_healthy = [store = bindings.store.get()] { return store->healthy(); };
    redis_bindings = bindings.store.get();
    redis_url = *url.url;
    credential_store = std::move(credentials.store);
    binding_store = std::move(bindings.store);
  } else if (config.store.kind == switchboard::StoreKind::kMemory) {
    // For measurements and tests: no disk or network in the REGISTER path, and
    // nothing survives a restart (realms and users come from the file again).
    registrar::EventRetention retention{.max_events = config.events.max_count,
                                        .max_age = config.events.max_age};
    logger.warn("store", {{"kind", "memory"}, {"hint", "nothing survives a restart"}});
    store_healthy = [] { return true; };
    credential_store = std::make_unique<registrar::MemoryCredentialStore>();
    binding_store = std::make_unique<registrar::MemoryBindingStore>(retention, &clock);
  } else {
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
    registrar::SqliteBindingStoreOptions binding_options;
    binding_options.database = sqlite;
    binding_options.events.max_events = config.events.max_count;
    binding_options.events.max_age = config.events.max_age;
    binding_options.clock = &clock;
    binding_options.on_operation = time_operation;
    auto bindings = registrar::SqliteBindingStore::open(database, binding_options);
    if (!bindings.ok()) {
      logger.error("cannot open binding store", {{"path", database}, {"error", bindings.error}});
      return 1;
    }
    store_healthy = [store = bindings.store.get()] { return store->healthy(); };
    credential_store = std::move(credentials.store);
    binding_store = std::move(bindings.store);
  }

  switchboard::BootstrapResult boot =
      switchboard::bootstrap_credentials(config, *credential_store);
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
  registrar::EventHub hub(*binding_store, hub_options);
  registrar::LocationOptions location_options;
  if (on_redis) location_options.replica = config.replica.id;
  registrar::LocationService location(*binding_store, clock, location_options);
  location.add_observer(&hub);  // before any traffic
  location.add_observer(&registrar_metrics);
  // On Redis the observers get binding events from the log's follower (every
  // replica's, in the log's order), from where the hub stands: nothing
  // written while the cache loads is missed (the follower's step is
  // idempotent).
  const uint64_t tail_from = hub.last_sequence();
  size_t restored = location.load();
  std::unique_ptr<registrar::RedisEventTailer> tailer;
  if (redis_bindings != nullptr) {
    registrar::RedisEventTailerOptions tail_options;
    tail_options.prefix = config.store.prefix;
    tail_options.clock = &clock;
    tail_options.on_warning = [&logger](std::string_view message, std::string_view detail) {
      logger.warn(message, {{"detail", detail}});
    };
    tailer = std::make_unique<registrar::RedisEventTailer>(*redis_url, *redis_bindings, location,
                                                           tail_options);
    tailer->start(tail_from);
    store_healthy = [bindings = redis_bindings, t = tailer.get()] {
      return bindings->healthy() && t->healthy();
    };
  }
  registrar_metrics.seed(location);
  for (const registrar::Realm& realm : credential_store->list_realms())
    registrar_metrics.add_realm(realm.name);
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
      registrar::RegistrarDeps{.credentials = *credential_store,
                               .location = location,
                               .nonces = nonces,
                               .nonce_counts = nonce_counts,
                               .clock = clock,
                               .throttle = throttle ? &*throttle : nullptr,
                               .replica_id = on_redis ? config.replica.id : std::string()});

  // --- SIP server -----------------------------------------------------------
  switchboard::TagSource tags = switchboard::random_tag_source();
  auto fallback = std::make_shared<switchboard::DefaultRequestHandler>(
      tags, switchboard::call_capabilities());
  auto registrar_handler =
      std::make_shared<switchboard::RegistrarHandler>(registrar_core, fallback, tags);
  registrar_handler->set_duration_histogram(&register_seconds.with({}));
  auto router = std::make_shared<switchboard::SipRouter>(registrar_handler, nullptr, fallback);
  // The call engine is created after the server (it sends through it); until
  // then (and after it stops) responses have nowhere to go and are dropped.
  std::atomic<switchboard::calls::CallEngine*> call_engine_ptr{nullptr};

  std::atomic<bool> stopping{false};
  switchboard::SipServerOptions options;
  options.listen = config.listen;
  options.threads = config.threads;
  options.transport.tcp.idle_timeout = config.tcp_idle_timeout;
  options.transport.tcp.max_connections = config.tcp_max_connections;
  options.handler = router;
  options.on_response = [&call_engine_ptr](std::string_view raw,
                                           const sip::transport::Source& source) {
    if (auto* engine = call_engine_ptr.load(std::memory_order_acquire))
      engine->on_response(raw, source);
  };
  options.tags = tags;
  options.logger = &sip_log;
  options.metrics = &sip_metrics;
  options.on_connection_closed = [&](const sip::transport::Source& connection, std::string_view) {
    if (stopping.load(std::memory_order_relaxed) || connection.connection == 0) return;
    size_t removed = location.remove_connection(connection.connection);
    if (removed > 0 && logger.enabled(switchboard::LogLevel::kDebug))
      logger.debug("connection bindings removed",
                   {{"source", connection.to_string()}, {"bindings", removed}});
  };

  switchboard::SipServer server(std::move(options));

  // --- replicas (store.kind redis) ---------------------------------------------
  // Several processes on one Redis (docs/scale-out.md, "Calls across
  // replicas"). The directory's heartbeat tells the others that this replica
  // runs and where its API is (replica.advertise; it starts once the API
  // listens), and a node number keeps this replica's call ids apart from
  // theirs. Forwarding (below, with the API) needs replica.advertise and the
  // gRPC API: a replica nobody can reach does not forward either.
  std::unique_ptr<switchboard::replicas::RedisReplicaDirectory> replica_directory;
  std::optional<uint16_t> call_id_node;
  const bool forwards_calls = on_redis && !config.replica.advertise.empty() && config.grpc.enabled();
  if (on_redis) {
    if (!config.replica.advertise.empty() && !config.grpc.enabled())
      logger.warn("replica.advertise ignored", {{"hint", "grpc.listen is off: nothing to reach"}});
    switchboard::replicas::RedisReplicaDirectoryOptions directory_options;
    directory_options.prefix = config.store.prefix;
    directory_options.id = config.replica.id;
    directory_options.advertise = forwards_calls ? config.replica.advertise : "";
    directory_options.logger = &api_log;
    replica_directory = std::make_unique<switchboard::replicas::RedisReplicaDirectory>(
        *redis_url, directory_options);
    call_id_node = replica_directory->claim_node();
  }

  // --- calls ----------------------------------------------------------------
  registrar::Authenticator call_authenticator(*credential_store, nonces, nonce_counts,
                                              throttle ? &*throttle : nullptr);
  switchboard::calls::CallEngineOptions call_options;
  call_options.max_calls = config.calls.max_calls;
  call_options.create_rate_per_creator = config.calls.rate_per_token;
  call_options.create_burst_per_creator = config.calls.burst_per_token;
  call_options.inbound_ring_timeout = config.calls.inbound_ring_timeout;
  call_options.ended_retention = config.calls.ended_retention;
  call_options.max_ended_calls = config.calls.max_ended;
  call_options.user_agent = std::string("Switchboard/") + SWITCHBOARD_VERSION;
  call_options.advertised_host = config.sip_advertise;
  if (on_redis) {  // ring only the flows this replica holds; ids apart from the others'
    call_options.replica_id = config.replica.id;
    call_options.call_id_node = call_id_node;
  }
  switchboard::calls::CallEngineDeps call_deps;
  call_deps.location = &location;
  call_deps.credentials = credential_store.get();
  call_deps.authenticator = &call_authenticator;
  call_deps.sip = &server;
  call_deps.clock = std::shared_ptr<const sip::Clock>(&clock, [](const sip::Clock*) {});
  call_deps.tags = tags;
  call_deps.logger = &calls_log;
  auto call_engine = std::make_shared<switchboard::calls::CallEngine>(call_options, call_deps);
  router->set_calls(call_engine);  // before server.start(): workers read it unlocked
  call_engine->start();
  call_engine_ptr.store(call_engine.get(), std::memory_order_release);
  metrics.gauge("switchboard_calls_active", "Calls in progress (inbound and outbound).", {},
                [&call_engine](switchboard::metrics::GaugeWriter& w) {
                  w.set({}, double(call_engine->active_calls()));
                });
  // Call figures from the engine's own events (its thread; cheap).
  switchboard::calls::CallEventFilter ended_or_answered;
  ended_or_answered.types = {switchboard::calls::CallEventType::kAnswered,
                             switchboard::calls::CallEventType::kEnded};
  auto& setup = call_setup_seconds.with({});
  call_engine->subscribe(ended_or_answered, [&setup, &calls_ended](
                                                const switchboard::calls::CallEvent& e) {
    using switchboard::calls::CallEventType;
    if (e.type == CallEventType::kAnswered &&
        e.call.direction == switchboard::calls::Direction::kOutbound)
      setup.observe(std::chrono::duration<double>(e.call.answer_time - e.call.create_time).count());
    if (e.type == CallEventType::kEnded)
      calls_ended
          .with({e.call.direction == switchboard::calls::Direction::kOutbound ? "outbound"
                                                                               : "inbound",
                 switchboard::calls::end_reason_name(e.call.end_reason)})
          .inc();
  });

  // --- calls across replicas (store.kind redis) ----------------------------------
  // CreateCall for a device whose flow another replica holds, and the
  // call-id RPCs of calls another replica runs, go to that replica over its
  // API, with replica.token; local WatchCalls streams also see the calls the
  // other replicas run. Stopped after the API, before the engine.
  std::unique_ptr<switchboard::replicas::ReplicaCalls> replica_calls;
  if (on_redis) {
    switchboard::replicas::ReplicaCallsOptions replica_options;
    replica_options.self_id = config.replica.id;
    replica_options.forward = forwards_calls;
    replica_options.token = config.replica.token;
    if (forwards_calls && config.grpc.tls_enabled()) {
      // TLS to the peers too: trust the client CA bundle (mutual TLS; else the
      // system's roots) and present our own certificate.
      grpc::SslCredentialsOptions ssl;
      for (auto [file, out] : {std::pair{&config.grpc.tls.client_ca_file, &ssl.pem_root_certs},
                               std::pair{&config.grpc.tls.cert_file, &ssl.pem_cert_chain},
                               std::pair{&config.grpc.tls.key_file, &ssl.pem_private_key}}) {
        if (file->empty()) continue;
        auto text = switchboard::api::read_file(*file, &error);
        if (!text) {
          logger.error("cannot start", {{"error", error}});
          return 1;
        }
        *out = std::move(*text);
      }
      replica_options.credentials = grpc::SslCredentials(ssl);
    }
    replica_options.owners.ended_retention = config.calls.ended_retention;
    replica_options.owners.capacity = config.calls.max_calls + config.calls.max_ended;
    replica_calls = std::make_unique<switchboard::replicas::ReplicaCalls>(
        *call_engine, location, *replica_directory, clock, api_log, replica_options);
  }

  // --- gRPC API ---------------------------------------------------------------
  // After the stores are loaded (health SERVING means ready), before SIP.
  std::unique_ptr<switchboard::api::ApiServer> api;
  if (config.grpc.enabled()) {
    switchboard::api::route_grpc_logs(&api_log);  // gRPC's own lines as JSON too
    switchboard::api::ApiServerOptions api_options;
    api_options.listen = config.grpc.listen;
    if (config.grpc.tls_enabled())
      api_options.tls = switchboard::api::TlsFiles{config.grpc.tls.cert_file,
                                                   config.grpc.tls.key_file,
                                                   config.grpc.tls.client_ca_file};
    api_options.watcher_buffer = config.events.watcher_buffer;
    api_options.max_watchers = config.events.max_watchers;
    api_options.call_watch.buffer = config.calls.watcher_buffer;
    api_options.call_watch.max_watchers = config.calls.max_watchers;
    api = switchboard::api::ApiServer::start(
        switchboard::api::ApiServerDeps{.credentials = *credential_store,
                                        .location = location,
                                        .hub = hub,
                                        .tokens = tokens.tokens,
                                        .logger = api_log,
                                        .calls = call_engine.get(),
                                        .call_replicas = replica_calls
                                                             ? replica_calls->hooks()
                                                             : switchboard::api::CallReplicas{},
                                        .replica_token = config.replica.token},
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

  if (replica_directory) {
    // Listed for the others only now that they can reach us.
    replica_calls->start();
    std::string why = replica_directory->start();
    logger.info("replica", {{"id", config.replica.id},
                            {"advertise", forwards_calls ? config.replica.advertise : ""},
                            {"forwards_calls", forwards_calls},
                            {"call_id_node", call_id_node ? int(*call_id_node) : -1},
                            {"heartbeat", why.empty() ? "ok" : why}});
  }

  metrics.gauge("switchboard_events_watchers", "WatchRegistrations streams open.", {},
                [&api](switchboard::metrics::GaugeWriter& w) {
                  w.set({}, api ? double(api->watch_streams().active) : 0.0);
                });
  metrics.gauge("switchboard_sip_parse_errors_total", "SIP messages that did not parse.", {},
                [&server](switchboard::metrics::GaugeWriter& w) {
                  w.set({}, double(server.counters().parse_errors.load()));
                }, "counter");
  metrics.gauge("switchboard_sip_retransmissions_total",
                "Requests absorbed or answered by a server transaction.", {},
                [&server](switchboard::metrics::GaugeWriter& w) {
                  w.set({}, double(server.counters().retransmissions.load()));
                }, "counter");
  metrics.gauge("switchboard_tcp_connections", "Open SIP TCP connections.", {},
                [&server](switchboard::metrics::GaugeWriter& w) {
                  w.set({}, double(server.counters().transport.tcp_active.load()));
                });
  metrics.gauge("switchboard_location_conflicts_total",
                "Binding writes re-run because another replica wrote the AOR first.", {},
                [&location](switchboard::metrics::GaugeWriter& w) {
                  w.set({}, double(location.stats().conflicts));
                }, "counter");
  if (tailer) {
    metrics.gauge("switchboard_event_tail_sequence",
                  "The last registration event this replica has applied from the shared log.", {},
                  [t = tailer.get()](switchboard::metrics::GaugeWriter& w) {
                    w.set({}, double(t->last_sequence()));
                  });
    metrics.gauge("switchboard_event_tail_reads_total",
                  "AOR sets read back from the shared store after another replica changed them.",
                  {}, [t = tailer.get()](switchboard::metrics::GaugeWriter& w) {
                    w.set({}, double(t->stats().fetched_aors));
                  }, "counter");
    metrics.gauge("switchboard_event_tail_failures_total",
                  "Reads of the shared event log that failed (the store unreachable).", {},
                  [t = tailer.get()](switchboard::metrics::GaugeWriter& w) {
                    w.set({}, double(t->stats().failures));
                  }, "counter");
  }

  // --- readiness and the metrics endpoint -------------------------------------
  std::atomic<bool> draining{false};
  auto readiness = [&]() -> switchboard::metrics::Readiness {
    if (draining.load()) return {false, "draining"};
    if (!server.running()) return {false, "SIP listeners not up"};
    if (!store_healthy()) return {false, "binding store failing"};
    if (!credential_store->available()) return {false, "credential store unreachable"};
    return {true, ""};
  };
  std::unique_ptr<switchboard::metrics::HttpServer> metrics_http;
  if (config.metrics.enabled()) {
    switchboard::metrics::HttpServer::Options http;
    http.listen = config.metrics.listen;
    http.render_metrics = [&metrics] { return metrics.render(); };
    http.readiness = readiness;
    metrics_http = switchboard::metrics::HttpServer::start(http, &error);
    if (!metrics_http) {
      logger.error("cannot start", {{"error", error}});
      return 1;
    }
    logger.info("metrics listening", {{"address", metrics_http->address()}});
  }

  if (!server.start(&error)) {
    logger.error("cannot start", {{"error", error}});
    return 1;
  }
  for (const auto& a : server.bound())
    logger.info("listening", {{"transport", sip::transport::protocol_name(a.protocol)},
                              {"address", a.host_port()}});
  ExpiryTimer expiry(location, nonce_counts, clock, registrar_log);
  logger.info("started", {{"version", SWITCHBOARD_VERSION}, {"threads", server.threads()}});

  // --- signals ----------------------------------------------------------------
  // SIGHUP reloads; SIGTERM/SIGINT drain then stop; a second one during the
  // drain stops at once.
  // Once a second, the gRPC health service is set to the same readiness as
  // /readyz (a failing store turns it NOT_SERVING, a recovered one back).
  int signal_number = 0;
  bool serving = true;
  for (;;) {
    timespec tick{1, 0};
    signal_number = sigtimedwait(&signals, nullptr, &tick);
    if (signal_number < 0) {
      const switchboard::metrics::Readiness ready = readiness();
      if (api && ready.ready != serving) {
        api->set_serving(ready.ready);
        logger.warn(ready.ready ? "ready again" : "not ready", {{"reason", ready.reason}});
      }
      serving = ready.ready;
      continue;
    }
    if (signal_number != SIGHUP) break;
    reload_configuration(cli, logger, *credential_store, api.get());
  }
  const char* signal_name = signal_number == SIGINT ? "SIGINT" : "SIGTERM";
  logger.info("draining", {{"signal", signal_name},
                           {"grace_period_s", config.shutdown.grace_period.count()},
                           {"calls", call_engine->active_calls()}});
  // Readiness false everywhere: /readyz 503, gRPC health NOT_SERVING; new
  // REGISTERs and INVITEs get 503 + Retry-After; calls in progress go on.
  draining.store(true);
  if (api) api->set_serving(false);
  server.set_draining(true);
  call_engine->set_draining(true);
  const auto deadline = std::chrono::steady_clock::now() + config.shutdown.grace_period;
  bool forced = false;
  while (call_engine->active_calls() > 0 && std::chrono::steady_clock::now() < deadline) {
    timespec wait{0, 100'000'000};
    int again = sigtimedwait(&signals, nullptr, &wait);
    if (again == SIGINT || again == SIGTERM) {
      forced = true;
      break;
    }
  }
  logger.info("stopping", {{"signal", signal_name},
                           {"calls_left", call_engine->active_calls()},
                           {"forced", forced}});
  stopping.store(true);
  if (api) api->shutdown();
  // Peer streams and forwarded RPCs end; the others see this replica gone.
  if (replica_calls) replica_calls->stop();
  if (replica_directory) replica_directory->stop();
  // Calls still up end (CANCEL/BYE/480) while the SIP server can send them.
  call_engine->stop();
  call_engine_ptr.store(nullptr, std::memory_order_release);
  // No re-run after a replica conflict from here on (it would write after the
  // flush below, or answer through a stopped server): those get 503.
  location.stop_retries();
  server.stop();
  expiry.stop();
  binding_store->flush();
  if (metrics_http) metrics_http->stop();
  const auto& c = server.counters();
  logger.info("stopped", {{"received", c.received.load()},
                          {"parse_errors", c.parse_errors.load()},
                          {"dropped", c.dropped.load()},
                          {"bindings", location.binding_count()}});
  return 0;
}
