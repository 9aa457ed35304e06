// gateway/api/grpc_log.h — gRPC's own log lines (gpr_log: bind failures,
// TLS handshake errors, …) as JSON lines of our Logger, so stderr stays one
// JSON object per line.
//
//   switchboard::api::route_grpc_logs(&logger);   // at start, before the server
//   …
//   switchboard::api::route_grpc_logs(nullptr);   // before the logger goes away
//
//   → {"ts":…,"level":"error","msg":"grpc","detail":"No address added …",
//      "source":"chttp2_server.cc:1045"}
//
// Threading: gRPC logs from any of its threads; the Logger is thread-safe.
// The logger pointer is process-wide (gRPC's hook has no user data).
#ifndef SWITCHBOARD_GATEWAY_API_GRPC_LOG_H_
#define SWITCHBOARD_GATEWAY_API_GRPC_LOG_H_

#include "gateway/json_log.h"

namespace switchboard::api {

// `logger` must outlive the routing (call again with nullptr first); with
// nullptr, gRPC's lines go to stderr as plain text, as before.
void route_grpc_logs(Logger* logger);

}  // namespace switchboard::api

#endif  // SWITCHBOARD_GATEWAY_API_GRPC_LOG_H_
