// gateway/api/call_service.cc — see call_service.h.
#include "gateway/api/call_service.h"

#include <functional>
#include <memory>
#include <mutex>
#include <utility>

#include "gateway/api/call_convert.h"
#include "gateway/api/pagination.h"
#include "gateway/api/replica_metadata.h"
#include "gateway/api/resource_names.h"
#include "gateway/api/status.h"

namespace switchboard::api {

using Fill = std::function<grpc::Status(google::protobuf::Message& response)>;

// What a unary RPC's reactor and whoever finishes it share (below).
struct ReactorState {
  std::mutex mu;
  bool finished = false;
  bool cancelled = false;
  std::function<void()> cancel_hook;             // a forwarded RPC to cancel with ours
  grpc::ServerUnaryReactor* reactor = nullptr;  // valid until Finish (OnDone follows it)
  google::protobuf::Message* response = nullptr;

  template <class F>
  void finish(F&& fill) {
    grpc::Status status;
    std::function<void()> hook;  // dropped: nothing left to cancel
    {
      std::lock_guard lock(mu);
      if (finished) return;
      finished = true;
      status = fill(*response);
      if (!status.ok()) response->Clear();
      hook = std::move(cancel_hook);
    }
    reactor->Finish(std::move(status));
  }
};

// What an RPC's work gets to finish it: call it with a Fill; on_cancel() for
// work that must stop when the client goes (a forwarded RPC).
class CallFinisher {
 public:
  explicit CallFinisher(std::shared_ptr<ReactorState> state) : state_(std::move(state)) {}
  void operator()(const Fill& fill) const { state_->finish(fill); }
  // Runs `hook` when the client cancels; at once if it already has; never
  // once the RPC is finished.
  void on_cancel(std::function<void()> hook) const {
    {
      std::lock_guard lock(state_->mu);
      if (state_->finished && !state_->cancelled) return;
      if (!state_->cancelled) {
        state_->cancel_hook = std::move(hook);
        return;
      }
    }
    hook();
  }

 private:
  std::shared_ptr<ReactorState> state_;
};

namespace {

namespace v1 = ::switchboard::v1;

constexpr std::string_view kCallType = "switchboard.v1.Call";
constexpr std::string_view kRealmType = "switchboard.v1.Realm";

// A unary RPC that the engine (or another replica) finishes from its own
// thread. Whoever comes first finishes it, exactly once: the engine's done
// callback (filling the response), an error found before the engine was
// asked, or OnCancel (the client cancelled or its deadline passed). The done
// callback holds the shared State, never the reactor, so it may run after
// the reactor is gone.
class EngineUnaryReactor final : public grpc::ServerUnaryReactor {
 public:
  explicit EngineUnaryReactor(google::protobuf::Message* response)
      : state_(std::make_shared<ReactorState>()) {
    state_->reactor = this;
    state_->response = response;
  }

  // Finishes with `status` unless already finished.
  void finish(grpc::Status status) {
    state_->finish([&](google::protobuf::Message&) { return std::move(status); });
  }

  // A callable for the engine: runs `fill` on the response (it returns the
  // status to finish with) unless the RPC is already finished.
  CallFinisher finisher() const { return CallFinisher(state_); }

  void OnCancel() override {
    std::function<void()> hook;
    {
      std::lock_guard lock(state_->mu);
      state_->cancelled = true;
      hook = std::move(state_->cancel_hook);
    }
    finish(grpc::Status::CANCELLED);
    if (hook) hook();
  }
  void OnDone() override { delete this; }

 private:
  std::shared_ptr<ReactorState> state_;
};

// Finishes with another replica's answer, as it gave it.
CallRouting::Done forwarded_done(CallFinisher finish) {
  return [finish](grpc::Status status, const v1::Call& call) {
    finish([&](google::protobuf::Message& response) {
      if (status.ok()) static_cast<v1::Call&>(response) = call;
      return status;
    });
  };
}

std::map<std::string, std::string> call_metadata(const calls::CallResult& r) {
  std::map<std::string, std::string> m;
  if (!r.call) return m;
  const calls::CallInfo& c = *r.call;
  m["call"] = call_name(c.id);
  m["state"] = std::string(calls::call_state_name(c.state));
  if (c.sip_status != 0) m["sip_status"] = std::to_string(c.sip_status);
  if (!c.sip_reason.empty()) m["sip_reason"] = c.sip_reason;
  if (c.end_reason != calls::EndReason::kNone)
    m["end_reason"] = std::string(calls::end_reason_name(c.end_reason));
  return m;
}

std::string default_reason(calls::CallError e) {
  switch (e) {
    case calls::CallError::kNotFound:
      return "CALL_NOT_FOUND";
    case calls::CallError::kPermissionDenied:
      return "CREDENTIAL_MISMATCH";
    case calls::CallError::kFailedPrecondition:
      return "WRONG_STATE";
    case calls::CallError::kResourceExhausted:
      return "TOO_MANY_CALLS";
    case calls::CallError::kAborted:
      return "CALL_FAILED";
    case calls::CallError::kDeadlineExceeded:
      return "WAIT_TIMED_OUT";
    case calls::CallError::kUnavailable:
      return "SHUTTING_DOWN";
    default:
      return "CALL_ERROR";
  }
}

}  // namespace

grpc::Status call_error_status(const calls::CallResult& r, std::string_view field,
                               std::string_view realm) {
  const std::string reason = r.reason.empty() ? default_reason(r.error) : r.reason;
  std::string message = r.message.empty() ? reason : r.message;
  auto with_info = [&](grpc::StatusCode code) {
    return error_info(code, std::move(message), reason, call_metadata(r));
  };
  switch (r.error) {
    case calls::CallError::kOk:
      return grpc::Status::OK;
    case calls::CallError::kInvalidArgument:
      return invalid_argument(std::string(field), std::move(message));
    case calls::CallError::kNotFound: {
      google::rpc::ResourceInfo resource;
      if (reason == "REALM_NOT_SERVED") {
        resource.set_resource_type(std::string(kRealmType));
        resource.set_resource_name(realm.empty() ? std::string() : realm_name(realm));
      } else {
        resource.set_resource_type(std::string(kCallType));
        if (r.call) resource.set_resource_name(call_name(r.call->id));
      }
      resource.set_description(message);
      std::map<std::string, std::string> metadata = call_metadata(r);
      if (reason == "REALM_NOT_SERVED" && !realm.empty()) metadata["realm"] = std::string(realm);
      google::rpc::ErrorInfo info = make_error_info(reason, metadata);
      return with_details(grpc::StatusCode::NOT_FOUND, std::move(message), {&resource, &info});
    }
    case calls::CallError::kPermissionDenied:
      return with_info(grpc::StatusCode::PERMISSION_DENIED);
    case calls::CallError::kFailedPrecondition:
      return with_info(grpc::StatusCode::FAILED_PRECONDITION);
    case calls::CallError::kResourceExhausted:
      return with_info(grpc::StatusCode::RESOURCE_EXHAUSTED);
    case calls::CallError::kAborted:
      return with_info(grpc::StatusCode::ABORTED);
    case calls::CallError::kDeadlineExceeded:
      return with_info(grpc::StatusCode::DEADLINE_EXCEEDED);
    case calls::CallError::kUnavailable:
      return with_info(grpc::StatusCode::UNAVAILABLE);
  }
  return with_info(grpc::StatusCode::INTERNAL);
}

CallService::CallService(calls::CallEngine& engine, const TokenAuthenticator& auth,
                         WatchStreams& streams, CallWatchOptions watch_options, Logger& logger,
                         CallReplicas replicas)
    : engine_(engine),
      auth_(auth),
      streams_(streams),
      watch_options_(watch_options),
      logger_(logger),
      replicas_(replicas) {}

std::optional<grpc::Status> CallService::route_by_id(const std::string& id, CallMethod method,
                                                     const google::protobuf::Message& request,
                                                     const Caller& caller, const Ctx& ctx,
                                                     const CallFinisher& finish) {
  // A replica's request is always carried out here: forwarding it again
  // could loop.
  if (replicas_.routing == nullptr || caller.internal) return std::nullopt;
  CallRouting::Route route = replicas_.routing->route_call(id);
  return routed(route, method, request, caller, ctx, finish);
}

std::optional<grpc::Status> CallService::routed(const CallRouting::Route& route,
                                                CallMethod method,
                                                const google::protobuf::Message& request,
                                                const Caller& caller, const Ctx& ctx,
                                                const CallFinisher& finish) {
  switch (route.kind) {
    case CallRouting::Route::Kind::kLocal:
      return std::nullopt;
    case CallRouting::Route::Kind::kRefused:
      return route.refusal;
    case CallRouting::Route::Kind::kPeer:
      break;
  }
  if (logger_.enabled(LogLevel::kDebug))
    logger_.debug("api call forwarded", {{"replica", route.replica},
                                         {"address", route.address},
                                         {"token", caller.token_name}});
  finish.on_cancel(replicas_.routing->forward(route, method, request, caller.token_name,
                                              ctx.deadline(), forwarded_done(finish)));
  return grpc::Status::OK;
}

template <class Op>
grpc::ServerUnaryReactor* CallService::engine_unary(Ctx* ctx, Role needed, std::string_view method,
                                                    google::protobuf::Message* response, Op&& op) {
  auto* reactor = new EngineUnaryReactor(response);
  Caller caller;
  grpc::Status status = auth_.authorize(*ctx, needed, method, &caller);
  if (status.ok()) status = op(caller, reactor->finisher());
  if (!status.ok()) reactor->finish(std::move(status));
  return reactor;
}

// A `done` for the engine that answers with the call (or the mapped error).
// `field`, `realm`: see call_error_status().
static calls::CallEngine::Done call_done(std::function<void(const Fill&)> finish,
                                         std::string field, std::string realm = {}) {
  return [finish = std::move(finish), field = std::move(field),
          realm = std::move(realm)](calls::CallResult r) {
    finish([&](google::protobuf::Message& response) {
      if (!r.ok()) return call_error_status(r, field, realm);
      if (r.call) static_cast<v1::Call&>(response) = to_proto(*r.call);
      return grpc::Status::OK;
    });
  };
}

grpc::ServerUnaryReactor* CallService::CreateCall(Ctx* ctx, const v1::CreateCallRequest* req,
                                                  v1::Call* resp) {
  return engine_unary(
      ctx, Role::kCalls, "CallService/CreateCall", resp, [&](const Caller& caller, auto finish) {
        std::vector<FieldViolation> bad;
        // The creator scopes request_id and the rate: for a call another
        // replica forwarded, the client's token there, not "replica".
        const std::string creator = on_behalf_of(*ctx, caller);
        calls::CreateCallRequest request = create_call_from_proto(*req, creator, bad);
        if (!bad.empty()) return invalid_argument(bad);
        // Whose flow reaches the device (a replica's request is run here:
        // forwarding it again could loop).
        if (replicas_.routing != nullptr && !caller.internal) {
          CallRouting::Route route = replicas_.routing->route_create(request);
          if (auto s = routed(route, CallMethod::kCreate, *req, caller, *ctx, finish)) return *s;
        }
        std::vector<FieldViolation> ignored;
        std::string realm = check_call_uri(req->to(), "to", ignored).value_or("");
        if (logger_.enabled(LogLevel::kDebug))
          logger_.debug("api create call",
                        {{"to", request.to},
                         {"token", creator},
                         {"replica", forwarding_replica(*ctx, caller).value_or("")},
                         {"request_id", request.request_id}});
        engine_.create_call(std::move(request), call_done(std::move(finish), "to", realm));
        return grpc::Status::OK;
      });
}

grpc::ServerUnaryReactor* CallService::GetCall(Ctx* ctx, const v1::GetCallRequest* req,
                                               v1::Call* resp) {
  return engine_unary(ctx, Role::kRead, "CallService/GetCall", resp,
                      [&](const Caller& caller, auto finish) {
                        std::vector<FieldViolation> bad;
                        std::string id = call_id_from_name(req->name(), "name", bad);
                        if (!bad.empty()) return invalid_argument(bad);
                        if (auto s = route_by_id(id, CallMethod::kGet, *req, caller, *ctx, finish))
                          return *s;
                        engine_.get_call(std::move(id), call_done(std::move(finish), "name"));
                        return grpc::Status::OK;
                      });
}

grpc::ServerUnaryReactor* CallService::ListCalls(Ctx* ctx, const v1::ListCallsRequest* req,
                                                 v1::ListCallsResponse* resp) {
  return engine_unary(
      ctx, Role::kRead, "CallService/ListCalls", resp, [&](const Caller&, auto finish) {
        std::vector<FieldViolation> bad;
        calls::ListCallsQuery query;
        if (auto realm = realm_filter(req->realm())) {
          query.realm = std::move(*realm);
        } else {
          bad.push_back({"realm", "expected \"realms/{realm}\", \"realms/-\" or \"\", got \"" +
                                      req->realm() + "\""});
        }
        if (req->state() != v1::Call::STATE_UNSPECIFIED) {
          query.state = from_proto(req->state());
          if (!query.state)
            bad.push_back({"state", "unknown value " + std::to_string(req->state()) +
                                        " (TRYING, RINGING, ANSWERED or ENDED)"});
        }
        Page page;
        grpc::Status s = read_page(req->page_size(), req->page_token(), "calls", page);
        if (!s.ok()) return s;
        if (!bad.empty()) return invalid_argument(bad);
        query.after_id = page.after;
        query.limit = page.size + 1;  // one more: is there a next page?
        const size_t size = page.size;
        engine_.list_calls(std::move(query), [finish = std::move(finish),
                                              size](std::vector<calls::CallInfo> found) {
          finish([&](google::protobuf::Message& response) {
            auto& out = static_cast<v1::ListCallsResponse&>(response);
            const bool more = found.size() > size;
            if (more) found.resize(size);
            for (const calls::CallInfo& c : found) *out.add_calls() = to_proto(c);
            if (more && !found.empty())
              out.set_next_page_token(encode_page_token("calls", found.back().id));
            return grpc::Status::OK;
          });
        });
        return grpc::Status::OK;
      });
}

grpc::ServerUnaryReactor* CallService::HangupCall(Ctx* ctx, const v1::HangupCallRequest* req,
                                                  v1::Call* resp) {
  return engine_unary(ctx, Role::kCalls, "CallService/HangupCall", resp,
                      [&](const Caller& caller, auto finish) {
                        std::vector<FieldViolation> bad;
                        std::string id = call_id_from_name(req->name(), "name", bad);
                        if (!bad.empty()) return invalid_argument(bad);
                        if (auto s =
                                route_by_id(id, CallMethod::kHangup, *req, caller, *ctx, finish))
                          return *s;
                        logger_.info("api hangup call",
                                     {{"call", id}, {"token", on_behalf_of(*ctx, caller)}});
                        engine_.hangup_call(std::move(id), call_done(std::move(finish), "name"));
                        return grpc::Status::OK;
                      });
}

grpc::ServerUnaryReactor* CallService::SendDtmf(Ctx* ctx, const v1::SendDtmfRequest* req,
                                                v1::Call* resp) {
  return engine_unary(ctx, Role::kCalls, "CallService/SendDtmf", resp,
                      [&](const Caller& caller, auto finish) {
                        std::vector<FieldViolation> bad;
                        std::string id = call_id_from_name(req->name(), "name", bad);
                        check_dtmf_digits(req->digits(), bad);
                        std::chrono::milliseconds duration = dtmf_duration(*req, bad);
                        if (!bad.empty()) return invalid_argument(bad);
                        if (auto s =
                                route_by_id(id, CallMethod::kSendDtmf, *req, caller, *ctx, finish))
                          return *s;
                        engine_.send_dtmf(std::move(id), req->digits(), duration,
                                          call_done(std::move(finish), "digits"));
                        return grpc::Status::OK;
                      });
}

grpc::ServerUnaryReactor* CallService::AnswerCall(Ctx* ctx, const v1::AnswerCallRequest* req,
                                                  v1::Call* resp) {
  return engine_unary(ctx, Role::kCalls, "CallService/AnswerCall", resp,
                      [&](const Caller& caller, auto finish) {
                        std::vector<FieldViolation> bad;
                        std::string id = call_id_from_name(req->name(), "name", bad);
                        check_sdp(req->sdp_answer(), "sdp_answer", bad);
                        if (!bad.empty()) return invalid_argument(bad);
                        if (auto s =
                                route_by_id(id, CallMethod::kAnswer, *req, caller, *ctx, finish))
                          return *s;
                        logger_.info("api answer call",
                                     {{"call", id}, {"token", on_behalf_of(*ctx, caller)}});
                        engine_.answer_call(std::move(id), req->sdp_answer(),
                                            call_done(std::move(finish), "sdp_answer"));
                        return grpc::Status::OK;
                      });
}

grpc::ServerUnaryReactor* CallService::RejectCall(Ctx* ctx, const v1::RejectCallRequest* req,
                                                  v1::Call* resp) {
  return engine_unary(ctx, Role::kCalls, "CallService/RejectCall", resp,
                      [&](const Caller& caller, auto finish) {
                        std::vector<FieldViolation> bad;
                        std::string id = call_id_from_name(req->name(), "name", bad);
                        int status = reject_status(req->sip_status(), bad);
                        if (!bad.empty()) return invalid_argument(bad);
                        if (auto s =
                                route_by_id(id, CallMethod::kReject, *req, caller, *ctx, finish))
                          return *s;
                        logger_.info("api reject call", {{"call", id},
                                                         {"sip_status", status},
                                                         {"token", on_behalf_of(*ctx, caller)}});
                        engine_.reject_call(std::move(id), status,
                                            call_done(std::move(finish), "sip_status"));
                        return grpc::Status::OK;
                      });
}

grpc::ServerWriteReactor<v1::CallEvent>* CallService::WatchCalls(
    Ctx* ctx, const v1::WatchCallsRequest* req) {
  return new CallWatchReactor(CallWatchDeps{engine_, auth_, streams_, logger_, watch_counters_,
                                            watch_options_, replicas_.demand},
                              ctx, *req);
}

}  // namespace switchboard::api
