// gateway/api/api_server.h — the gRPC server of the API: AdminService,
// RegistrationService, CallService (when a call engine is given),
// grpc.health.v1 and server reflection on one port.
//
//   std::string error;
//   auto api = switchboard::api::ApiServer::start(
//       {.credentials = store, .location = location, .hub = hub, .tokens = tokens,
//        .logger = logger, .calls = &call_engine},     // .calls optional: no CallService
//       {.listen = "127.0.0.1:50051"}, &error);
//   if (!api) die(error);                   // e.g. the port is taken
//   api->address();                          // "127.0.0.1:50051" (the real port when 0 was asked)
//   …
//   api->shutdown();                         // NOT_SERVING, end every watch stream, stop
//
// Serving: health status SERVING for "" and both services from start until
// shutdown() (start it once the stores are loaded). Bounded: max message
// size, concurrent streams per connection, watchers (the EventHub's limit).
// TLS when cert_file and key_file are given; mutual TLS when client_ca_file is
// too (clients must present a certificate that CA signed).
//
// Threading: start() and shutdown() from one thread (main); the services run
// on gRPC's callback threads and one watch-pump thread.
#ifndef SWITCHBOARD_GATEWAY_API_API_SERVER_H_
#define SWITCHBOARD_GATEWAY_API_API_SERVER_H_

#include <grpcpp/server.h>

#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "gateway/api/admin_service.h"
#include "gateway/api/api_token.h"
#include "gateway/api/call_service.h"
#include "gateway/api/call_watch.h"
#include "gateway/api/registration_service.h"
#include "gateway/api/token_auth.h"
#include "gateway/api/watch_reactor.h"
#include "gateway/api/watch_streams.h"
#include "gateway/json_log.h"
#include "registrar/event_hub.h"
#include "registrar/location_service.h"
#include "registrar/store/credential_store.h"

namespace switchboard::api {

struct TlsFiles {
  std::string cert_file;       // PEM certificate chain
  std::string key_file;        // PEM private key
  std::string client_ca_file;  // PEM CA bundle; "" = no client certificates (plain TLS)
};

struct ApiServerOptions {
  std::string listen = "127.0.0.1:50051";  // HOST:PORT, IPv6 as [::1]:50051; port 0 picks one
  std::optional<TlsFiles> tls;
  size_t watcher_buffer = 4096;  // the EventHub's, for messages
  size_t max_watchers = 1000;    // the EventHub's, for messages
  int max_message_bytes = 4 << 20;
  int max_concurrent_streams = 2000;               // per HTTP/2 connection
  std::chrono::milliseconds shutdown_grace{2000};  // then pending calls are cancelled
  CallWatchOptions call_watch;                     // WatchCalls: buffer per watcher, max watchers
};

struct ApiServerDeps {
  registrar::CredentialStore& credentials;
  registrar::LocationService& location;
  registrar::EventHub& hub;
  std::vector<ApiToken> tokens;
  Logger& logger;
  // Optional: serves CallService over this engine (started, and stopped
  // only after this server's shutdown()). nullptr: no CallService.
  calls::CallEngine* calls = nullptr;
  // Several replicas on one Redis (docs/scale-out.md), all optional: where
  // calls run and the peer event streams (gateway/replicas/), and the token
  // replicas present to each other (replica.token; "" = none accepted).
  CallReplicas call_replicas = {};  // "= {}": initialisers that omit it draw no -Wextra warning
  std::string replica_token = {};
};

class ApiServer {
 public:
  // Builds and starts the server; nullptr with `error` set when it cannot
  // listen or a TLS file cannot be read. Every dependency must outlive it.
  static std::unique_ptr<ApiServer> start(ApiServerDeps deps, const ApiServerOptions& options,
                                          std::string* error);
  ~ApiServer();  // shutdown()
  ApiServer(const ApiServer&) = delete;
  ApiServer& operator=(const ApiServer&) = delete;

  // The address listened on, with the real port ("127.0.0.1:50051").
  const std::string& address() const { return address_; }
  int port() const { return port_; }

  // Idempotent: health NOT_SERVING, every watch stream ended (UNAVAILABLE),
  // then Shutdown with the grace period; returns when every call is done.
  void shutdown();

  AuthStats auth_stats() const { return auth_.stats(); }

  // grpc.health.v1 status of "" and every service: false while draining, so
  // load balancers stop sending new work; shutdown() sets it false for good.
  void set_serving(bool serving);
  // Configuration reload: the next call is checked against these tokens.
  void replace_tokens(std::vector<ApiToken> tokens) { auth_.replace_tokens(std::move(tokens)); }
  const WatchCounters& watch_counters() const { return counters_; }
  WatchStreamStats watch_streams() const { return streams_.stats(); }
  // nullptr without a call engine.
  const CallWatchCounters* call_watch_counters() const {
    return calls_ ? &calls_->watch_counters() : nullptr;
  }

 private:
  ApiServer(ApiServerDeps& deps, const ApiServerOptions& options);

  ApiServerOptions options_;
  Logger& logger_;
  TokenAuthenticator auth_;
  WatchStreams streams_;
  WatchCounters counters_;
  AdminService admin_;
  RegistrationService registrations_;
  std::unique_ptr<CallService> calls_;  // with a call engine only
  std::string address_;
  int port_ = 0;
  std::once_flag shutdown_once_;
  std::unique_ptr<grpc::Server> server_;  // last: destroyed first
};

// Reads a whole file; nullopt (with `error`) when it cannot.
std::optional<std::string> read_file(const std::string& path, std::string* error);

}  // namespace switchboard::api

#endif  // SWITCHBOARD_GATEWAY_API_API_SERVER_H_
