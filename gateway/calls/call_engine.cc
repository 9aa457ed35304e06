// gateway/calls/call_engine.cc — CallEngine's public methods, the engine
// thread, its timers, events, queries, the end and retention of calls, client
// transactions, and shutdown. See engine_impl.h for the map of files.
#include "gateway/calls/call_engine.h"

#include <openssl/crypto.h>
#include <pthread.h>

#include <algorithm>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>

#include "gateway/calls/engine_impl.h"
#include "gateway/sip_server.h"
#include "sip/lex.h"
#include "sip/parser.h"
#include "sip/validate.h"

namespace switchboard::calls {

// ---------------------------------------------------------------------------
// CallEventFilter

bool CallEventFilter::wants(const CallEvent& event) const {
  if (!realm.empty() && !sip::lex::iequals(realm, event.call.realm)) return false;
  if (!call_id.empty() && call_id != event.call.id) return false;
  if (types.empty()) return true;
  for (CallEventType t : types)
    if (t == event.type) return true;
  return false;
}

// About this engine's own inbound calls, so peer_events plays no part.
bool CallEventFilter::wants_incoming(std::string_view r) const {
  if (!realm.empty() && !sip::lex::iequals(realm, r)) return false;
  if (!call_id.empty()) return false;  // a new call cannot have a known id yet
  if (types.empty()) return true;
  for (CallEventType t : types)
    if (t == CallEventType::kIncoming) return true;
  return false;
}

// ---------------------------------------------------------------------------
// CallEngine: every public method hands its work to the engine thread.

namespace {

CallResult unavailable() {
  return CallResult{CallError::kUnavailable, "the server is shutting down", "SHUTTING_DOWN", {}};
}

}  // namespace

CallEngine::CallEngine(CallEngineOptions options, CallEngineDeps deps)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(deps))) {}

CallEngine::~CallEngine() { stop(); }

void CallEngine::start() { impl_->start(); }
void CallEngine::stop(std::chrono::milliseconds grace) { impl_->stop(grace); }

void CallEngine::create_call(CreateCallRequest request, Done done) {
  Impl* impl = impl_.get();
  impl->submit(
      [impl, request = std::move(request), done]() mutable {
        impl->create_call(std::move(request), std::move(done));
      },
      [done] { done(unavailable()); });
}

void CallEngine::get_call(std::string id, Done done) {
  Impl* impl = impl_.get();
  impl->submit([impl, id = std::move(id), done] { impl->get_call(id, done); },
               [done] { done(unavailable()); });
}

void CallEngine::list_calls(ListCallsQuery query,
                            std::function<void(std::vector<CallInfo>)> done) {
  Impl* impl = impl_.get();
  impl->submit([impl, query = std::move(query), done] { impl->list_calls(query, done); },
               [done] { done({}); });
}

void CallEngine::hangup_call(std::string id, Done done) {
  Impl* impl = impl_.get();
  impl->submit([impl, id = std::move(id), done] { impl->hangup_call(id, done); },
               [done] { done(unavailable()); });
}

void CallEngine::send_dtmf(std::string id, std::string digits, std::chrono::milliseconds duration,
                           Done done) {
  Impl* impl = impl_.get();
  impl->submit(
      [impl, id = std::move(id), digits = std::move(digits), duration, done] {
        impl->send_dtmf(id, digits, duration, done);
      },
      [done] { done(unavailable()); });
}

void CallEngine::answer_call(std::string id, std::string sdp_answer, Done done) {
  Impl* impl = impl_.get();
  impl->submit(
      [impl, id = std::move(id), sdp = std::move(sdp_answer), done]() mutable {
        impl->answer_call(id, std::move(sdp), done);
      },
      [done] { done(unavailable()); });
}

void CallEngine::reject_call(std::string id, int sip_status, Done done) {
  Impl* impl = impl_.get();
  impl->submit([impl, id = std::move(id), sip_status, done] { impl->reject_call(id, sip_status, done); },
               [done] { done(unavailable()); });
}

CallEngine::SubscriptionId CallEngine::subscribe(CallEventFilter filter,
                                                 std::function<void(const CallEvent&)> on_event) {
  return impl_->subscribe(std::move(filter), std::move(on_event));
}

void CallEngine::unsubscribe(SubscriptionId id) { impl_->unsubscribe(id); }

void CallEngine::publish_peer_event(CallEvent event) {
  Impl* impl = impl_.get();
  impl->submit([impl, event = std::move(event)]() mutable { impl->publish_peer(std::move(event)); },
               [] {});
}

void CallEngine::set_draining(bool draining) { impl_->draining_ = draining; }

size_t CallEngine::active_calls() const { return impl_->active_.load(std::memory_order_relaxed); }

void CallEngine::handle(const sip::Message& request, const sip::transport::Source& source,
                        Reply reply) {
  impl_->handle(request, source, std::move(reply));
}

void CallEngine::on_response(std::string_view raw, const sip::transport::Source& source) {
  impl_->on_response(raw, source);
}

bool CallEngine::handles_method(std::string_view method) {
  switch (sip::method_id(method)) {
    case sip::Method::kInvite:
    case sip::Method::kAck:
    case sip::Method::kBye:
    case sip::Method::kCancel:
    case sip::Method::kInfo:
    case sip::Method::kUpdate:
    case sip::Method::kPrack:
      return true;
    default:
      return false;
  }
}

// ---------------------------------------------------------------------------
// Impl: lifecycle

CallEngine::Impl::Impl(CallEngineOptions options, CallEngineDeps deps)
    : options_(std::move(options)),
      deps_(std::move(deps)),
      ids_(deps_.tags, options_.call_id_node) {
  timers_.t1 = options_.t1;
  timers_.t2 = options_.t2;
  timers_.t4 = options_.t4;
  if (options_.max_calls == 0) options_.max_calls = 1;
}

CallEngine::Impl::~Impl() = default;

void CallEngine::Impl::start() {
  std::lock_guard lock(lifecycle_mu_);
  if (started_ || shut_down_) return;
  started_ = true;
  thread_ = std::thread([this] { run(); });
}

void CallEngine::Impl::run() {
  pthread_setname_np(pthread_self(), "sip-calls");
  auto guard = boost::asio::make_work_guard(io_);
  boost::asio::post(io_, [this] { rearm(); });
  io_.run();
}

void CallEngine::Impl::stop(std::chrono::milliseconds grace) {
  std::lock_guard lock(lifecycle_mu_);
  if (shut_down_) return;
  stopping_ = true;
  if (started_) {
    auto deadline = std::chrono::steady_clock::now() + grace;
    auto drain = std::make_shared<boost::asio::steady_timer>(io_);
    // Ends every call, then checks every 10 ms whether their transactions
    // have finished (or the grace is over) before the thread exits.
    std::shared_ptr<std::function<void()>> check = std::make_shared<std::function<void()>>();
    *check = [this, deadline, drain, check] {
      if (pending_transactions() == 0 || std::chrono::steady_clock::now() >= deadline) {
        io_.stop();
        *check = nullptr;  // break the cycle
        return;
      }
      drain->expires_after(std::chrono::milliseconds(10));
      drain->async_wait([check](const boost::system::error_code&) {
        if (*check) (*check)();
      });
    };
    boost::asio::post(io_, [this, check] {
      shutdown_calls();
      rearm();
      (*check)();
    });
    thread_.join();
  }
  shut_down_ = true;
  // Work posted meanwhile still runs once, here, so that every `done` is
  // called (with kUnavailable); SIP work is dropped.
  io_.restart();
  io_.poll();
}

void CallEngine::Impl::submit(std::function<void()> work, std::function<void()> refuse) {
  if (stopping_ || shut_down_) {
    refuse();
    return;
  }
  boost::asio::post(io_, [this, work = std::move(work), refuse = std::move(refuse)] {
    if (shut_down_) return refuse();
    work();
    rearm();
  });
}

void CallEngine::Impl::post_sip(std::function<void()> work) {
  if (shut_down_) return;
  boost::asio::post(io_, [this, work = std::move(work)] {
    if (shut_down_) return;
    work();
    rearm();
  });
}

// ---------------------------------------------------------------------------
// Impl: time. Timers live on the injected clock's time line; the thread
// sleeps until the next one, but never longer than T1, so that a clock that
// jumps (a ManualClock in tests, or a wall-clock step) is noticed promptly.

void CallEngine::Impl::rearm() {
  std::optional<TimePoint> next = timers_q_.next();
  if (!next) {
    if (wake_at_) {
      wake_.cancel();
      wake_at_.reset();
    }
    return;
  }
  Duration delay = *next - now();
  Duration cap = std::clamp<Duration>(timers_.t1, std::chrono::milliseconds(5),
                                      std::chrono::milliseconds(500));
  delay = std::clamp<Duration>(delay, Duration::zero(), cap);
  wake_at_ = *next;
  wake_.expires_after(delay);
  wake_.async_wait([this](const boost::system::error_code& ec) {
    if (!ec && !shut_down_) on_wake();  // after stop() nothing fires any more
  });
}

void CallEngine::Impl::on_wake() {
  wake_at_.reset();
  timers_q_.run_due(now());
  rearm();
}

// ---------------------------------------------------------------------------
// Impl: subscribers

CallEngine::SubscriptionId CallEngine::Impl::subscribe(
    CallEventFilter filter, std::function<void(const CallEvent&)> on_event) {
  std::lock_guard lock(subscribers_mu_);
  SubscriptionId id = next_subscription_++;
  subscribers_.emplace(id, std::make_pair(std::move(filter), std::move(on_event)));
  return id;
}

void CallEngine::Impl::unsubscribe(SubscriptionId id) {
  std::lock_guard lock(subscribers_mu_);
  subscribers_.erase(id);
}

bool CallEngine::Impl::wants_incoming(std::string_view realm) {
  std::lock_guard lock(subscribers_mu_);
  for (const auto& [id, s] : subscribers_)
    if (s.first.wants_incoming(realm)) return true;
  return false;
}

void CallEngine::Impl::emit(Call& call, CallEventType type, std::string digit) {
  CallEvent event;
  event.sequence = ++event_sequence_;
  event.type = type;
  event.time = wall();
  event.call = call.info;
  event.digit = std::move(digit);
  // One info line per call milestone; the in-between events at debug.
  const LogLevel level = type == CallEventType::kCreated || type == CallEventType::kIncoming ||
                                 type == CallEventType::kAnswered || type == CallEventType::kEnded
                             ? LogLevel::kInfo
                             : LogLevel::kDebug;
  if (deps_.logger && deps_.logger->enabled(level)) {
    deps_.logger->log(level, "call event", {{"call", call.info.id},
                                      {"event", call_event_type_name(type)},
                                      {"direction", call.outbound() ? "outbound" : "inbound"},
                                      {"realm", call.info.realm},
                                      {"sip_status", call.info.sip_status},
                                      {"end_reason", end_reason_name(call.info.end_reason)}});
  }
  std::lock_guard lock(subscribers_mu_);
  std::vector<SubscriptionId> ids;
  for (const auto& [id, s] : subscribers_)
    if (s.first.wants(event)) ids.push_back(id);
  for (SubscriptionId id : ids) {
    auto it = subscribers_.find(id);  // a callback may have unsubscribed another
    if (it != subscribers_.end()) it->second.second(event);
  }
}

void CallEngine::Impl::publish_peer(CallEvent event) {
  event.sequence = ++event_sequence_;
  std::lock_guard lock(subscribers_mu_);
  std::vector<SubscriptionId> ids;
  for (const auto& [id, s] : subscribers_)
    if (s.first.peer_events && s.first.wants(event)) ids.push_back(id);
  for (SubscriptionId id : ids) {
    auto it = subscribers_.find(id);  // a callback may have unsubscribed another
    if (it != subscribers_.end()) it->second.second(event);
  }
}

// ---------------------------------------------------------------------------
// Impl: calls

Call* CallEngine::Impl::find(const std::string& id) {
  auto it = calls_.find(id);
  return it == calls_.end() ? nullptr : &it->second;
}

Call& CallEngine::Impl::add_call(CallInfo info) {
  std::string id = info.id;
  Call& call = calls_[id];
  call.info = std::move(info);
  active_.fetch_add(1, std::memory_order_relaxed);
  return call;
}

CallResult CallEngine::Impl::result(const Call& call) const {
  CallResult r;
  r.call = call.info;
  return r;
}

void CallEngine::Impl::settle_waiters(Call& call) {
  if (call.waiters.empty()) return;
  using WaitFor = CreateCallRequest::WaitFor;
  std::vector<Waiter> keep;
  std::vector<Waiter> ready;
  for (Waiter& w : call.waiters) {
    bool reached = false;
    switch (w.wait_for) {
      case WaitFor::kNone:
        reached = !call.ended();
        break;
      case WaitFor::kRinging:
        reached = call.info.state == CallState::kRinging || call.info.state == CallState::kAnswered;
        break;
      case WaitFor::kAnswered:
        reached = call.info.state == CallState::kAnswered;
        break;
    }
    if (reached || call.ended()) ready.push_back(std::move(w));
    else keep.push_back(std::move(w));
  }
  call.waiters = std::move(keep);
  for (Waiter& w : ready) {
    if (!call.ended()) {
      w.done(result(call));
      continue;
    }
    CallResult r;
    r.call = call.info;
    if (call.info.end_reason == EndReason::kTimeout) {
      r.error = CallError::kDeadlineExceeded;
      r.reason = "RING_TIMEOUT";
      r.message = "the call was not answered within the ring timeout";
    } else {
      r.error = CallError::kAborted;
      r.reason = "CALL_FAILED";
      r.message = "the call ended: " + std::string(end_reason_name(call.info.end_reason));
      if (call.info.sip_status != 0)
        r.message += " (" + std::to_string(call.info.sip_status) + " " + call.info.sip_reason + ")";
    }
    w.done(std::move(r));
  }
}

void CallEngine::Impl::end_call(Call& call, EndReason reason, int status,
                                std::string_view sip_reason, std::string detail) {
  if (call.ended()) return;
  call.info.state = CallState::kEnded;
  call.info.end_reason = reason;
  if (status != 0) {
    call.info.sip_status = status;
    call.info.sip_reason = std::string(sip_reason);
  }
  call.info.detail = std::move(detail);
  call.info.end_time = wall();
  timers_q_.cancel(call.ring_timer);
  call.ring_timer = 0;
  stop_ok_retransmit(call);
  // The password answered device challenges; nothing needs it any more.
  if (!call.password.empty()) OPENSSL_cleanse(call.password.data(), call.password.size());
  call.password.clear();
  call.password.shrink_to_fit();
  if (call.dialog) {
    auto it = by_dialog_.find(call.dialog->key());
    if (it != by_dialog_.end() && it->second == call.info.id) by_dialog_.erase(it);
  }
  if (!call.cancel_key.empty()) by_cancel_key_.erase(call.cancel_key);
  call.dtmf.clear();
  active_.fetch_sub(1, std::memory_order_relaxed);

  emit(call, CallEventType::kEnded);
  settle_waiters(call);
  std::vector<CallEngine::Done> answers = std::move(call.answer_waiters);
  call.answer_waiters.clear();
  for (auto& done : answers)
    done(CallResult{CallError::kAborted, "the call ended before the ACK", "CALL_FAILED", call.info});

  ended_order_.push_back(call.info.id);
  schedule_retention(call);
  // Over the count limit: forget the oldest ended calls — after this handler,
  // so that no caller up the stack holds a reference to a forgotten call.
  if (ended_order_.size() > options_.max_ended_calls) {
    timers_q_.schedule(now(), [this] {
      while (ended_order_.size() > options_.max_ended_calls) {
        std::string id = std::move(ended_order_.front());
        ended_order_.pop_front();
        auto it = calls_.find(id);
        if (it != calls_.end()) forget(it);
      }
    });
  }
}

void CallEngine::Impl::schedule_retention(Call& call) {
  timers_q_.cancel(call.retention_timer);
  std::string id = call.info.id;
  call.retention_timer = timers_q_.schedule(now() + options_.ended_retention,
                                            [this, id] { maybe_forget(id); });
}

void CallEngine::Impl::maybe_forget(const std::string& id) {
  auto it = calls_.find(id);
  if (it == calls_.end()) return;
  Call& call = it->second;
  call.retention_timer = 0;
  if (!call.ended()) return;
  if (call.live_transactions > 0) {
    // Its transactions still need it (a late 2xx gets ACK + BYE); look again later.
    call.retention_timer =
        timers_q_.schedule(now() + 64 * timers_.t1, [this, id] { maybe_forget(id); });
    return;
  }
  forget(it);
  while (!ended_order_.empty() && !calls_.count(ended_order_.front())) ended_order_.pop_front();
}

void CallEngine::Impl::forget(std::map<std::string, Call>::iterator it) {
  Call& call = it->second;
  if (!call.info.request_id.empty()) {
    auto r = by_request_id_.find(call.info.creator + '\0' + call.info.request_id);
    if (r != by_request_id_.end() && r->second == call.info.id) by_request_id_.erase(r);
  }
  if (call.dialog) {
    auto d = by_dialog_.find(call.dialog->key());
    if (d != by_dialog_.end() && d->second == call.info.id) by_dialog_.erase(d);
  }
  if (!call.cancel_key.empty()) {
    auto c = by_cancel_key_.find(call.cancel_key);
    if (c != by_cancel_key_.end() && c->second == call.info.id) by_cancel_key_.erase(c);
  }
  timers_q_.cancel(call.ring_timer);
  timers_q_.cancel(call.ok_timer);
  timers_q_.cancel(call.retention_timer);
  if (!call.ended()) active_.fetch_sub(1, std::memory_order_relaxed);
  calls_.erase(it);
}

// ---------------------------------------------------------------------------
// Impl: API queries

void CallEngine::Impl::get_call(const std::string& id, CallEngine::Done done) {
  Call* call = find(id);
  if (!call) return done(CallResult{CallError::kNotFound, "no such call", "CALL_NOT_FOUND", {}});
  done(result(*call));
}

void CallEngine::Impl::list_calls(const ListCallsQuery& query,
                                  std::function<void(std::vector<CallInfo>)> done) {
  std::vector<CallInfo> out;
  size_t limit = std::clamp<size_t>(query.limit, 1, 1000);
  auto it = query.after_id.empty() ? calls_.begin() : calls_.upper_bound(query.after_id);
  for (; it != calls_.end() && out.size() < limit; ++it) {
    const CallInfo& info = it->second.info;
    if (!query.realm.empty() && !sip::lex::iequals(query.realm, info.realm)) continue;
    if (query.state && *query.state != info.state) continue;
    out.push_back(info);
  }
  done(std::move(out));
}

// ---------------------------------------------------------------------------
// Impl: client transactions

bool CallEngine::Impl::send(const sip::transport::Source& to, std::string bytes) {
  return deps_.sip && deps_.sip->send(to, std::move(bytes));
}

void CallEngine::Impl::start_tx(Call& call, int branch, TxPurpose purpose,
                                sip::RequestBuilder request,
                                const sip::transport::Source& destination) {
  sip::transaction::ClientTransaction tx(std::move(request), destination.reliable(), timers_,
                                         now());
  std::string key = tx.key();
  std::string bytes = tx.request_bytes();
  auto [it, inserted] = transactions_.try_emplace(
      key, TxEntry{std::move(tx), call.info.id, branch, purpose, destination, 0});
  if (!inserted) return;  // a repeated branch: the tag source is broken; never send twice
  ++call.live_transactions;
  if (purpose == TxPurpose::kInvite && branch >= 0) call.branches[size_t(branch)].tx_key = key;
  if (!send(destination, std::move(bytes))) {
    // §17.1.4: a transport error ends the transaction; it is reported as 503
    // (the device cannot be reached on its flow), not as Timer B's 408.
    sip::transaction::ClientTransaction::Action act = it->second.tx.on_transport_error();
    act.timeout = false;
    apply(key, std::move(act), nullptr);
    if (purpose == TxPurpose::kInvite) {
      on_invite_timeout(call, size_t(branch), 503, "Service Unavailable");
    } else if (purpose != TxPurpose::kCancel) {
      on_dialog_response(call, purpose, 503, true);
    }
    return;
  }
  arm_tx_timer(key);
}

void CallEngine::Impl::arm_tx_timer(const std::string& key) {
  auto it = transactions_.find(key);
  if (it == transactions_.end()) return;
  TxEntry& e = it->second;
  timers_q_.cancel(e.timer);
  e.timer = 0;
  if (std::optional<TimePoint> at = e.tx.next_timer()) {
    e.timer = timers_q_.schedule(*at, [this, key] {
      auto found = transactions_.find(key);
      if (found == transactions_.end()) return;
      found->second.timer = 0;
      apply(key, found->second.tx.on_timer(now()), nullptr);
    });
  }
}

void CallEngine::Impl::apply(const std::string& key,
                             sip::transaction::ClientTransaction::Action action,
                             const sip::Message* response) {
  auto it = transactions_.find(key);
  if (it == transactions_.end()) return;
  TxEntry& e = it->second;
  for (std::string& bytes : action.send) send(e.destination, std::move(bytes));
  const std::string call_id = e.call_id;
  const int branch = e.branch;
  const TxPurpose purpose = e.purpose;
  if (action.terminated) {
    timers_q_.cancel(e.timer);
    transactions_.erase(it);
  } else {
    arm_tx_timer(key);
  }

  Call* call = find(call_id);
  if (!call) return;
  if (action.terminated) {
    --call->live_transactions;
    if (branch >= 0 && size_t(branch) < call->branches.size() &&
        call->branches[size_t(branch)].tx_key == key)
      call->branches[size_t(branch)].tx_key.clear();
  }
  switch (purpose) {
    case TxPurpose::kInvite:
      if (action.deliver && response) {
        on_invite_response(*call, size_t(branch), *response);
      } else if (action.timeout) {
        on_invite_timeout(*call, size_t(branch), 408, "Request Timeout");  // Timer B
      }
      break;
    case TxPurpose::kCancel:
      break;  // 200 or 481: the INVITE's own final response is what counts
    case TxPurpose::kBye:
    case TxPurpose::kInfo:
      if (action.deliver && response && response->status_code() >= 200)
        on_dialog_response(*call, purpose, response->status_code(), false);
      else if (action.timeout)
        on_dialog_response(*call, purpose, 408, true);
      break;
  }
}

size_t CallEngine::Impl::pending_transactions() const {
  using State = sip::transaction::ClientTransaction::State;
  size_t n = 0;
  for (const auto& [key, e] : transactions_) {
    State s = e.tx.state();
    if (s == State::kCalling || s == State::kTrying || s == State::kProceeding) ++n;
  }
  return n;
}

// ---------------------------------------------------------------------------
// Impl: the SIP side's entry points (worker threads)

void CallEngine::Impl::on_response(std::string_view raw, const sip::transport::Source& source) {
  if (raw.size() > 65535) return;
  post_sip([this, raw = std::string(raw), source] { on_response_here(raw, source); });
}

void CallEngine::Impl::on_response_here(const std::string& raw,
                                        const sip::transport::Source& source) {
  sip::ParseResult parsed = sip::parse_message(raw);
  if (!parsed.ok() || !parsed.message().is_response()) return;  // hostile or broken: dropped
  const sip::Message& response = parsed.message();
  if (!sip::response_acceptable(response)) return;
  std::optional<std::string> key = sip::transaction::client_transaction_key(response);
  if (!key) return;
  auto it = transactions_.find(*key);
  if (it == transactions_.end()) return;  // a stray or late retransmission
  apply(*key, it->second.tx.on_response(response, now()), &response);
}

// ---------------------------------------------------------------------------
// Impl: shutdown

void CallEngine::Impl::shutdown_calls() {
  std::vector<std::string> ids;
  for (auto& [id, call] : calls_)
    if (!call.ended()) ids.push_back(id);
  for (const std::string& id : ids) {
    Call* call = find(id);
    if (!call || call->ended()) continue;
    if (call->dialog && (call->info.state == CallState::kAnswered || !call->ok_bytes.empty())) {
      send_bye(*call);
      end_call(*call, EndReason::kShutdown, 0, "", "the server stopped");
    } else if (call->outbound()) {
      cancel_branches(*call, -1);
      end_call(*call, EndReason::kShutdown, 487, "Request Terminated", "the server stopped");
    } else {
      inbound_final(*call, 480, "Temporarily Unavailable");
      end_call(*call, EndReason::kShutdown, 480, "Temporarily Unavailable", "the server stopped");
    }
  }
}

}  // namespace switchboard::calls
