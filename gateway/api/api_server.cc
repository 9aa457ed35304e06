// gateway/api/api_server.cc — see api_server.h.
#include "gateway/api/api_server.h"

#include <absl/synchronization/mutex.h>
#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server_builder.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace switchboard::api {
namespace {

constexpr const char* kServiceNames[] = {"switchboard.v1.AdminService",
                                         "switchboard.v1.RegistrationService"};
constexpr const char* kCallServiceName = "switchboard.v1.CallService";

std::shared_ptr<grpc::ServerCredentials> credentials_for(const ApiServerOptions& options,
                                                         std::string* error) {
  if (!options.tls) return grpc::InsecureServerCredentials();
  const TlsFiles& tls = *options.tls;
  auto cert = read_file(tls.cert_file, error);
  if (!cert) return nullptr;
  auto key = read_file(tls.key_file, error);
  if (!key) return nullptr;
  grpc::SslServerCredentialsOptions ssl;
  ssl.pem_key_cert_pairs.push_back({*key, *cert});
  if (!tls.client_ca_file.empty()) {
    auto ca = read_file(tls.client_ca_file, error);
    if (!ca) return nullptr;
    ssl.pem_root_certs = *ca;
    ssl.client_certificate_request = GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY;
  } else {
    ssl.client_certificate_request = GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE;
  }
  return grpc::SslServerCredentials(ssl);
}

// "127.0.0.1:0" with port 41234 → "127.0.0.1:41234".
std::string with_port(const std::string& listen, int port) {
  size_t colon = listen.rfind(':');
  return (colon == std::string::npos ? listen : listen.substr(0, colon)) + ":" +
         std::to_string(port);
}

}  // namespace

std::optional<std::string> read_file(const std::string& path, std::string* error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    if (error) *error = "cannot read " + path + ": " + std::strerror(errno);
    return std::nullopt;
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) {
    if (error) *error = "cannot read " + path;
    return std::nullopt;
  }
  return text.str();
}

ApiServer::ApiServer(ApiServerDeps& deps, const ApiServerOptions& options)
    : options_(options),
      logger_(deps.logger),
      auth_(std::move(deps.tokens), &deps.logger, deps.replica_token),
      admin_(deps.credentials, deps.location, auth_, deps.logger),
      registrations_(deps.credentials, deps.location,
                     WatchDeps{deps.hub, auth_, streams_, deps.logger, counters_,
                               options.watcher_buffer, options.max_watchers},
                     auth_, deps.logger) {
  if (deps.calls != nullptr)
    calls_ = std::make_unique<CallService>(*deps.calls, auth_, streams_, options.call_watch,
                                           deps.logger, deps.call_replicas);
}

std::unique_ptr<ApiServer> ApiServer::start(ApiServerDeps deps, const ApiServerOptions& options,
                                            std::string* error) {
  std::shared_ptr<grpc::ServerCredentials> creds = credentials_for(options, error);
  if (!creds) return nullptr;

  std::unique_ptr<ApiServer> api(new ApiServer(deps, options));
  // Both are process-wide switches that must precede the builder.
  grpc::EnableDefaultHealthCheckService(true);
  // Process-wide too: Debian's Abseil is built with Mutex deadlock detection
  // on, which tracks every lock gRPC takes (a graph update per Lock); about a
  // quarter of the instructions gRPC spends per streamed message. We do not
  // debug gRPC's lock order in production.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();

  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(options.listen, creds, &port);
  // Without this a second server could share the port (SO_REUSEPORT) and the
  // bind "succeed"; a taken port must be an error.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS, options.max_concurrent_streams);
  // Find watchers whose peer vanished without closing the connection.
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, 60'000);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 20'000);
  builder.SetMaxReceiveMessageSize(options.max_message_bytes);
  builder.SetMaxSendMessageSize(options.max_message_bytes);
  builder.RegisterService(&api->admin_);
  builder.RegisterService(&api->registrations_);
  if (api->calls_) builder.RegisterService(api->calls_.get());
  api->server_ = builder.BuildAndStart();
  if (!api->server_ || port == 0) {
    if (error)
      *error = "cannot listen on " + options.listen +
               " (gRPC API): the address is in use or not available here";
    return nullptr;  // the destructor stops a half-started server
  }
  api->port_ = port;
  api->address_ = with_port(options.listen, port);
  if (grpc::HealthCheckServiceInterface* health = api->server_->GetHealthCheckService()) {
    health->SetServingStatus("", true);
    for (const char* service : kServiceNames) health->SetServingStatus(service, true);
    if (api->calls_) health->SetServingStatus(kCallServiceName, true);
  }
  return api;
}

ApiServer::~ApiServer() { shutdown(); }

void ApiServer::set_serving(bool serving) {
  if (!server_) return;
  // SetServingStatus(bool) flips every registered service at once, "" included.
  if (grpc::HealthCheckServiceInterface* health = server_->GetHealthCheckService())
    health->SetServingStatus(serving);
}

void ApiServer::shutdown() {
  std::call_once(shutdown_once_, [this] {
    if (!server_) return;
    if (grpc::HealthCheckServiceInterface* health = server_->GetHealthCheckService())
      health->SetServingStatus(false);
    const WatchStreamStats before = streams_.stats();
    streams_.close_all();  // WatchRegistrations and WatchCalls streams
    const auto deadline = std::chrono::system_clock::now() + options_.shutdown_grace;
    server_->Shutdown(deadline);
    bool idle = streams_.wait_idle(std::chrono::steady_clock::now() + options_.shutdown_grace);
    logger_.info("grpc stopped", {{"watchers_ended", before.active}, {"clean", idle}});
  });
}

}  // namespace switchboard::api
