// gateway/api/call_service.h — switchboard.v1.CallService: calls to
// registered devices and from them, over the call engine
// (gateway/calls/call_engine.h), and the live stream of call events
// (call_watch.h).
//
//   CallService calls(engine, auth, streams, watch_options, logger);
//   builder.RegisterService(&calls);
//   … shutdown: streams.close_all() also ends every WatchCalls stream (UNAVAILABLE)
//
// Every RPC but WatchCalls is a unary callback reactor that the engine's
// `done` callback finishes (on the engine thread): no gRPC thread ever waits
// for the engine, not even CreateCall with wait_for RINGING/ANSWERED, which
// may take the whole ring timeout. If the client cancels or its deadline
// passes first, the RPC ends at once (CANCELLED / DEADLINE_EXCEEDED at the
// client) and the call goes on: it is NOT hung up (HangupCall does that;
// GetCall/WatchCalls show where it went).
//
// Roles: CreateCall, HangupCall, SendDtmf, AnswerCall, RejectCall need
// calls (or admin); GetCall, ListCalls, WatchCalls need read. INCOMING
// events reach calls/admin watchers only (the ones that can answer): the
// engine answers 480 at once when no such watcher exists.
//
// Engine errors (CallError) → gRPC codes, with google.rpc.ErrorInfo
// {reason, "switchboard.dev", metadata call/sip_status/sip_reason when known};
// NOT_FOUND also carries ResourceInfo (the call, or the realm of `to`):
//   kInvalidArgument → INVALID_ARGUMENT (BadRequest)   kNotFound → NOT_FOUND
//   kPermissionDenied → PERMISSION_DENIED   kFailedPrecondition → FAILED_PRECONDITION
//   kResourceExhausted → RESOURCE_EXHAUSTED   kAborted → ABORTED
//   kDeadlineExceeded → DEADLINE_EXCEEDED   kUnavailable → UNAVAILABLE
//
// Replicas (docs/scale-out.md; CallReplicas, optional): a client's CreateCall
// for a device whose flow another replica holds, and the call-id RPCs for
// calls another replica runs, are carried to that replica and answered with
// its answer as it gave it (CallRouting); a replica's own request (the
// internal principal) is always run here. Local WatchCalls streams also see
// the calls other replicas run (CallWatchDemand, call_watch.h).
//
// Threading: handlers run on gRPC callback threads, several at once; done
// callbacks on the engine thread (or a gRPC client thread for a forwarded
// RPC). The engine must outlive the service.
#ifndef SWITCHBOARD_GATEWAY_API_CALL_SERVICE_H_
#define SWITCHBOARD_GATEWAY_API_CALL_SERVICE_H_

#include <grpcpp/server_context.h>
#include <grpcpp/support/server_callback.h>

#include <optional>
#include <string>
#include <string_view>

#include "gateway/api/call_routing.h"
#include "gateway/api/call_watch.h"
#include "gateway/api/token_auth.h"
#include "gateway/api/watch_streams.h"
#include "gateway/calls/call_engine.h"
#include "gateway/calls/call_types.h"
#include "gateway/json_log.h"
#include "switchboard/v1/call.grpc.pb.h"

namespace switchboard::api {

using CallServiceBase = ::switchboard::v1::CallService::CallbackService;

// Several replicas on one Redis; both null (one process): every call is local.
struct CallReplicas {
  CallRouting* routing = nullptr;
  CallWatchDemand* demand = nullptr;
};

class CallFinisher;  // call_service.cc: finishes one unary RPC

class CallService final : public CallServiceBase {
 public:
  // Every dependency must outlive the service.
  CallService(calls::CallEngine& engine, const TokenAuthenticator& auth, WatchStreams& streams,
              CallWatchOptions watch_options, Logger& logger, CallReplicas replicas = {});

  using Ctx = grpc::CallbackServerContext;

  grpc::ServerUnaryReactor* CreateCall(Ctx*, const ::switchboard::v1::CreateCallRequest*,
                                       ::switchboard::v1::Call*) override;
  grpc::ServerUnaryReactor* GetCall(Ctx*, const ::switchboard::v1::GetCallRequest*,
                                    ::switchboard::v1::Call*) override;
  grpc::ServerUnaryReactor* ListCalls(Ctx*, const ::switchboard::v1::ListCallsRequest*,
                                      ::switchboard::v1::ListCallsResponse*) override;
  grpc::ServerUnaryReactor* HangupCall(Ctx*, const ::switchboard::v1::HangupCallRequest*,
                                       ::switchboard::v1::Call*) override;
  grpc::ServerUnaryReactor* SendDtmf(Ctx*, const ::switchboard::v1::SendDtmfRequest*,
                                     ::switchboard::v1::Call*) override;
  grpc::ServerUnaryReactor* AnswerCall(Ctx*, const ::switchboard::v1::AnswerCallRequest*,
                                       ::switchboard::v1::Call*) override;
  grpc::ServerUnaryReactor* RejectCall(Ctx*, const ::switchboard::v1::RejectCallRequest*,
                                       ::switchboard::v1::Call*) override;
  grpc::ServerWriteReactor<::switchboard::v1::CallEvent>* WatchCalls(
      Ctx*, const ::switchboard::v1::WatchCallsRequest*) override;

  const CallWatchCounters& watch_counters() const { return watch_counters_; }

 private:
  // Authorizes with `needed`, then runs `op(caller, reactor)`, which either
  // returns an error (finished at once) or hands the reactor's done
  // callback to the engine and returns OK.
  template <class Op>
  grpc::ServerUnaryReactor* engine_unary(Ctx* ctx, Role needed, std::string_view method,
                                         google::protobuf::Message* response, Op&& op);

  // nullopt: run it here; else the RPC is forwarded (OK: the peer's answer
  // finishes it later) or refused (the error).
  std::optional<grpc::Status> route_by_id(const std::string& id, CallMethod method,
                                          const google::protobuf::Message& request,
                                          const Caller& caller, const Ctx& ctx,
                                          const CallFinisher& finish);
  std::optional<grpc::Status> routed(const CallRouting::Route& route, CallMethod method,
                                     const google::protobuf::Message& request,
                                     const Caller& caller, const Ctx& ctx,
                                     const CallFinisher& finish);

  calls::CallEngine& engine_;
  const TokenAuthenticator& auth_;
  WatchStreams& streams_;
  CallWatchOptions watch_options_;
  CallWatchCounters watch_counters_;
  Logger& logger_;
  CallReplicas replicas_;
};

// The gRPC status for a failed engine result (REQUIRES: !result.ok()).
// `field`: the request field an engine kInvalidArgument is about;
// `realm`: the realm of `to` for REALM_NOT_SERVED ("" when not CreateCall).
grpc::Status call_error_status(const calls::CallResult& result, std::string_view field,
                               std::string_view realm = {});

}  // namespace switchboard::api

#endif  // SWITCHBOARD_GATEWAY_API_CALL_SERVICE_H_
