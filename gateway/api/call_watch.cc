// gateway/api/call_watch.cc — see call_watch.h.
#include "gateway/api/call_watch.h"

#include <utility>
#include <vector>

#include "gateway/api/call_convert.h"
#include "gateway/api/replica_metadata.h"
#include "gateway/api/resource_names.h"
#include "gateway/api/status.h"

namespace switchboard::api {
namespace {

namespace v1 = ::switchboard::v1;

constexpr std::string_view kMethod = "CallService/WatchCalls";

constexpr calls::CallEventType kAllTypes[] = {
    calls::CallEventType::kCreated,  calls::CallEventType::kTrying,
    calls::CallEventType::kRinging,  calls::CallEventType::kAnswered,
    calls::CallEventType::kUpdated,  calls::CallEventType::kDtmf,
    calls::CallEventType::kEnded,    calls::CallEventType::kIncoming};

}  // namespace

CallWatchReactor::CallWatchReactor(const CallWatchDeps& deps, grpc::CallbackServerContext* context,
                                   const v1::WatchCallsRequest& request)
    : deps_(deps),
      handle_(std::make_shared<WatchHandle>(this)),
      inbox_(std::make_shared<Inbox>()) {
  if (grpc::Status s = start(*context, request); !s.ok()) finish_now(std::move(s));
}

CallWatchReactor::~CallWatchReactor() = default;

grpc::Status CallWatchReactor::start(grpc::CallbackServerContext& context,
                                     const v1::WatchCallsRequest& request) {
  Caller caller;
  if (grpc::Status s = deps_.auth.authorize(context, Role::kRead, kMethod, &caller); !s.ok())
    return s;
  const std::optional<std::string> peer = forwarding_replica(context, caller);
  token_name_ = peer ? std::string(kInternalPrincipal) + ":" + *peer : caller.token_name;
  const bool may_answer = role_allows(caller.role, Role::kCalls);

  calls::CallEventFilter filter;
  // A peer stream relays only this replica's own calls (never what it relays
  // itself: events would loop between replicas); a local one sees them all.
  filter.peer_events = !peer;
  std::vector<FieldViolation> bad;
  if (auto realm = realm_filter(request.realm())) {
    filter.realm = std::move(*realm);
  } else {
    bad.push_back(
        {"realm", "expected \"realms/{realm}\" or a bare domain, got \"" + request.realm() + "\""});
  }
  if (!request.call().empty()) filter.call_id = call_id_from_name(request.call(), "call", bad);
  bool wants_incoming = false;
  for (int i = 0; i < request.types_size(); ++i) {
    auto type = from_proto(v1::CallEvent::Type(request.types(i)));
    if (!type) {
      bad.push_back({"types[" + std::to_string(i) + "]",
                     "unknown event type " + std::to_string(request.types(i))});
      continue;
    }
    if (*type == calls::CallEventType::kIncoming) wants_incoming = true;
    filter.types.push_back(*type);
  }
  if (!bad.empty()) return invalid_argument(bad);
  if (wants_incoming && !may_answer)
    return error_info(grpc::StatusCode::PERMISSION_DENIED,
                      std::string(kMethod) +
                          ": INCOMING events need a token with role calls (or admin); token \"" +
                          token_name_ + "\" has role " + std::string(role_name(caller.role)),
                      "INCOMING_NEEDS_CALLS_ROLE",
                      {{"needed_role", "calls"}, {"token_role", std::string(role_name(caller.role))}});
  if (filter.types.empty() && !may_answer) {
    // Everything but INCOMING: a read watcher cannot answer, so it must not
    // count as a consumer of inbound calls either.
    for (calls::CallEventType t : kAllTypes)
      if (t != calls::CallEventType::kIncoming) filter.types.push_back(t);
  }

  const uint64_t active = ++deps_.counters.active;
  counted_ = true;
  if (active > deps_.options.max_watchers) {
    ++deps_.counters.too_many_watchers;
    deps_.logger.warn("call watch refused", {{"reason", "too many watchers"},
                                             {"max_watchers", deps_.options.max_watchers},
                                             {"token", token_name_}});
    return error_info(grpc::StatusCode::RESOURCE_EXHAUSTED,
                      "too many call watchers: this server streams calls to at most " +
                          std::to_string(deps_.options.max_watchers) + " at once; retry later",
                      "TOO_MANY_WATCHERS",
                      {{"max_watchers", std::to_string(deps_.options.max_watchers)}});
  }
  ++deps_.counters.started;

  // Registered before subscribing, so a shutdown that has begun refuses us
  // and nothing is subscribed for nothing.
  if (!deps_.streams.add(handle_))
    return error_info(grpc::StatusCode::UNAVAILABLE,
                      "the server is shutting down; retry on another replica or later",
                      "SERVER_SHUTTING_DOWN");
  // The callback runs on the engine thread: it queues and wakes, nothing more.
  // It holds the inbox and the handle, never the reactor.
  subscription_ = deps_.engine.subscribe(
      filter, [inbox = inbox_, streams = &deps_.streams, handle = handle_,
               cap = deps_.options.buffer](const calls::CallEvent& event) {
        std::lock_guard lock(inbox->mu);
        if (inbox->detached || inbox->overflow) return;
        if (inbox->events.size() >= cap) {
          inbox->overflow = true;
          inbox->events.clear();
        } else {
          inbox->events.push_back(event);
        }
        streams->wake(handle);  // under inbox->mu: OnDone's detach waits for it
      });
  if (deps_.logger.enabled(LogLevel::kDebug))
    deps_.logger.debug("call watch started",
                       {{"token", token_name_},
                        {"peer", peer.has_value()},
                        {"realm", filter.realm.empty() ? "*" : filter.realm},
                        {"call", filter.call_id.empty() ? "*" : filter.call_id}});
  if (deps_.demand != nullptr && !peer) {
    // Headers once the other replicas stream to us too (ready may run at
    // once, on this thread).
    gate_ = std::make_shared<Gate>();
    gate_->reactor = this;
    {
      std::lock_guard lock(mu_);
      gated_ = true;
    }
    demand_id_ = deps_.demand->watcher_started(filter, [gate = gate_] {
      std::lock_guard lock(gate->mu);
      if (gate->reactor != nullptr) gate->reactor->open_gate();
    });
    return grpc::Status::OK;
  }
  // Headers now: a client that has them knows the subscription exists.
  {
    std::lock_guard lock(mu_);
    headers_due_ = true;
  }
  drive();
  return grpc::Status::OK;
}

void CallWatchReactor::finish_now(grpc::Status status) {
  {
    std::lock_guard lock(mu_);
    finished_ = true;
  }
  Finish(std::move(status));
}

void CallWatchReactor::open_gate() {
  {
    std::lock_guard lock(mu_);
    if (!gated_) return;
    gated_ = false;
    headers_due_ = true;
  }
  drive();
}

void CallWatchReactor::OnWriteDone(bool ok) {
  {
    std::lock_guard lock(mu_);
    writing_ = false;
    if (!ok) cancelled_ = true;
  }
  if (ok) ++deps_.counters.events_sent;
  drive();
}

void CallWatchReactor::OnCancel() {
  {
    std::lock_guard lock(mu_);
    cancelled_ = true;
  }
  drive();
}

void CallWatchReactor::close() {
  {
    std::lock_guard lock(mu_);
    closing_ = true;
  }
  drive();
}

void CallWatchReactor::OnDone() {
  if (gate_) {
    std::lock_guard lock(gate_->mu);
    gate_->reactor = nullptr;
  }
  {
    std::lock_guard lock(inbox_->mu);
    inbox_->detached = true;
    inbox_->events.clear();
  }
  if (demand_id_) deps_.demand->watcher_ended(*demand_id_);
  if (subscription_) deps_.engine.unsubscribe(*subscription_);
  if (counted_) --deps_.counters.active;
  deps_.streams.remove(handle_.get());
  std::shared_ptr<WatchHandle> handle = handle_;  // done() may delete this reactor
  handle->done();
}

void CallWatchReactor::drive() {
  std::unique_lock lock(mu_);
  if (pumping_) {
    again_ = true;
    return;
  }
  pumping_ = true;
  for (;;) {
    again_ = false;
    if (finished_ || writing_) break;  // OnWriteDone drives again
    std::optional<calls::CallEvent> next;
    bool overflow = false;
    if (!cancelled_ && !closing_) {
      std::lock_guard inbox(inbox_->mu);
      overflow = inbox_->overflow;
      // Gated: events wait in the inbox (bounded as ever) for open_gate().
      if (!overflow && !gated_ && !inbox_->events.empty()) {
        next = std::move(inbox_->events.front());
        inbox_->events.pop_front();
      }
    }
    if (cancelled_ || closing_ || overflow) {
      const std::string last = std::to_string(last_sequence_);
      grpc::Status status;
      if (cancelled_) {
        status = grpc::Status::CANCELLED;
        ++deps_.counters.cancelled;
      } else if (closing_) {
        status = error_info(grpc::StatusCode::UNAVAILABLE,
                            "the server is shutting down; watch again elsewhere or later (call "
                            "events are live only: ListCalls shows where calls are)",
                            "SERVER_SHUTTING_DOWN", {{"last_sequence", last}});
      } else {
        ++deps_.counters.fell_behind;
        deps_.logger.warn("call watcher fell behind", {{"token", token_name_},
                                                       {"last_sequence", last_sequence_},
                                                       {"buffer", deps_.options.buffer}});
        status = error_info(
            grpc::StatusCode::RESOURCE_EXHAUSTED,
            "call watcher fell behind: more than " + std::to_string(deps_.options.buffer) +
                " events were waiting for it; watch again and ListCalls to catch up",
            "WATCHER_FELL_BEHIND",
            {{"last_sequence", last}, {"buffer", std::to_string(deps_.options.buffer)}});
      }
      finished_ = true;
      pumping_ = false;
      lock.unlock();
      Finish(std::move(status));  // the reactor may be done from here on: touch nothing
      return;
    }
    if (headers_due_) {
      // A client that has the headers knows its subscriptions exist.
      headers_due_ = false;
      lock.unlock();
      StartSendInitialMetadata();
      lock.lock();
    }
    if (!next) {
      if (again_) continue;
      break;  // the subscription's wakeup brings us back
    }
    last_sequence_ = next->sequence;
    writing_ = true;
    lock.unlock();
    out_ = to_proto(*next);
    StartWrite(&out_);
    lock.lock();
  }
  pumping_ = false;
}

}  // namespace switchboard::api
