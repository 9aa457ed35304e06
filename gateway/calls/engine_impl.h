// gateway/calls/engine_impl.h — the inside of CallEngine (private to
// gateway/calls): the call records, the client transactions, the timers and
// the engine thread. Split over several files by purpose:
//
//   call_engine.cc    the thread, posting, timers, events, API queries,
//                     ending and retaining calls, shutdown
//   outbound_call.cc  CreateCall: checks, forking, INVITE responses,
//                     challenges, CANCEL, best-response selection
//   inbound_call.cc   a device's INVITE: authentication (on the worker
//                     thread), offer to the API, answer/reject, CANCEL
//   in_dialog.cc      requests inside a dialog both ways: ACK, BYE, INFO
//                     (DTMF), re-INVITE/UPDATE, and our BYE/INFO
//
// Threading: every member below the "engine thread" line is touched only on
// the engine thread (io_). The atomics and the subscriber table (under its
// mutex) are the only state shared with other threads.
#ifndef SWITCHBOARD_GATEWAY_CALLS_ENGINE_IMPL_H_
#define SWITCHBOARD_GATEWAY_CALLS_ENGINE_IMPL_H_

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "gateway/calls/call_engine.h"
#include "gateway/calls/call_ids.h"
#include "gateway/calls/dialog.h"
#include "gateway/calls/timer_queue.h"
#include "registrar/binding.h"
#include "sip/message.h"
#include "sip/request_builder.h"
#include "sip/transaction/client_transaction.h"

namespace switchboard::calls {

using TimePoint = sip::Clock::time_point;
using Duration = sip::Clock::duration;

// Bounds on what the network and the API can make us hold.
inline constexpr size_t kMaxBranches = 16;            // bindings rung per call
inline constexpr size_t kMaxCustomHeaders = 20;
inline constexpr size_t kMaxHeaderValue = 1024;
inline constexpr size_t kMaxSdpBytes = 16 * 1024;
inline constexpr size_t kMaxQueuedDtmf = 64;          // digits waiting per call
inline constexpr std::chrono::milliseconds kDtmfGap{50};  // silence between paced digits
inline constexpr size_t kMaxWaiters = 64;             // pending done callbacks per call
inline constexpr size_t kMaxRateBuckets = 10000;      // creators tracked for rate limits

// How a message leaves towards a device: the flow and what our Via and
// Contact say about us on it.
struct Leg {
  sip::transport::Source flow;
  std::string via_transport;  // "UDP" / "TCP"
  std::string sent_by;        // "127.0.0.1:5060"
  std::string contact;        // "<sip:switchboard@127.0.0.1:5060>"
};

// One binding rung by an outbound call (a "branch", RFC 3261 §16.7).
struct Branch {
  std::string contact;        // the binding's Contact URI: the Request-URI
  Leg leg;
  sip::RequestBuilder invite; // the INVITE in flight (after a challenge, the answered one)
  std::string tx_key;         // its client transaction ("" once it ended)
  bool provisional = false;   // a 1xx arrived: CANCEL may be sent (§9.1)
  bool cancel_wanted = false; // CANCEL as soon as a provisional arrives
  bool cancel_sent = false;
  bool challenge_answered = false;  // one 401/407 answered, never two
  bool done = false;          // a final response (or a timeout) ended the INVITE
  int status = 0;             // that final status
  std::string reason;
  bool synthetic = false;     // 408 from Timer B / 503 from the transport, not the device
  // To tag → the ACK sent for a 2xx with it: a retransmitted 2xx gets the
  // same ACK again (§13.2.2.4). Bounded by kMaxBranches entries.
  std::map<std::string, std::string> acks;
};

struct Waiter {
  CreateCallRequest::WaitFor wait_for = CreateCallRequest::WaitFor::kNone;
  CallEngine::Done done;
};

struct Call {
  CallInfo info;

  // Outbound.
  std::vector<Branch> branches;
  std::string from_tag;
  std::string password;  // CreateCall's sip_auth_password: only for device challenges; wiped at end
  TimerId ring_timer = 0;
  std::vector<Waiter> waiters;
  int answered_branch = -1;

  // Inbound.
  std::optional<sip::Message> invite;  // the INVITE as received (reparsed here)
  Reply reply;                         // its server transaction
  sip::transport::Source source;       // where it came from: in-dialog requests go back there
  std::string local_tag;
  std::string cancel_key;              // how its CANCEL finds it
  bool final_sent = false;             // a final response to the INVITE went out
  std::vector<CallEngine::Done> answer_waiters;  // AnswerCall, released by the ACK

  // A 2xx we retransmit until its ACK (§13.3.1.4): the answer, or the answer
  // to a re-INVITE.
  std::string ok_bytes;
  uint32_t ok_cseq = 0;
  TimerId ok_timer = 0;
  Duration ok_interval{};
  TimePoint ok_deadline{};
  bool ok_initial = false;             // the 2xx to the dialog-creating INVITE
  sip::transport::Source ok_destination;  // where it goes (the INVITE's response route)

  // Both.
  std::optional<Dialog> dialog;
  std::deque<std::pair<char, std::chrono::milliseconds>> dtmf;  // digits to send
  bool dtmf_in_flight = false;
  bool dtmf_paced = false;       // a timer will send the next digit
  TimePoint dtmf_next_at{};      // no digit before this (pacing)
  int live_transactions = 0;           // client transactions still referring to it
  TimerId retention_timer = 0;

  bool ended() const { return info.state == CallState::kEnded; }
  bool outbound() const { return info.direction == Direction::kOutbound; }
};

enum class TxPurpose : uint8_t { kInvite, kCancel, kBye, kInfo };

struct TxEntry {
  sip::transaction::ClientTransaction tx;
  std::string call_id;  // CallInfo::id
  int branch = -1;      // kInvite/kCancel: the branch index
  TxPurpose purpose = TxPurpose::kInvite;
  sip::transport::Source destination;
  TimerId timer = 0;
};

// What the worker thread found out about a device's INVITE before posting it.
struct InboundOffer {
  std::string raw;
  sip::transport::Source source;
  Reply reply;
  std::string realm;
  std::string username;
};

class CallEngine::Impl {
 public:
  Impl(CallEngineOptions options, CallEngineDeps deps);
  ~Impl();

  // --- any thread -------------------------------------------------------
  void start();
  void stop(std::chrono::milliseconds grace);
  // Runs `work` on the engine thread; `unavailable` instead (at once, here)
  // once the engine is stopping.
  void submit(std::function<void()> work, std::function<void()> unavailable);
  void post_sip(std::function<void()> work);  // SIP side: runs while the thread lives
  CallEngine::SubscriptionId subscribe(CallEventFilter filter,
                                       std::function<void(const CallEvent&)> on_event);
  void unsubscribe(CallEngine::SubscriptionId id);
  void handle(const sip::Message& request, const sip::transport::Source& source, Reply reply);
  void on_response(std::string_view raw, const sip::transport::Source& source);

  std::atomic<bool> stopping_{false};
  std::atomic<bool> draining_{false};
  std::atomic<size_t> active_{0};

  // --- engine thread ----------------------------------------------------
  // API (call_engine.cc / outbound_call.cc / inbound_call.cc / in_dialog.cc).
  void create_call(CreateCallRequest request, CallEngine::Done done);
  void get_call(const std::string& id, CallEngine::Done done);
  void list_calls(const ListCallsQuery& query, std::function<void(std::vector<CallInfo>)> done);
  void hangup_call(const std::string& id, CallEngine::Done done);
  void send_dtmf(const std::string& id, const std::string& digits, std::chrono::milliseconds duration,
                 CallEngine::Done done);
  void answer_call(const std::string& id, std::string sdp, CallEngine::Done done);
  void reject_call(const std::string& id, int status, CallEngine::Done done);

  // SIP.
  void on_response_here(const std::string& raw, const sip::transport::Source& source);
  void on_inbound_invite(InboundOffer offer);
  void on_request_here(const std::string& raw, const sip::transport::Source& source, Reply reply);

 private:
  friend class CallEngine;

  // Threads and time (call_engine.cc).
  void run();
  void rearm();
  void on_wake();
  TimePoint now() const { return deps_.clock->now(); }
  WallTime wall() const { return deps_.clock->wall_now(); }
  std::string tag() { return deps_.tags(); }

  // Calls (call_engine.cc).
  Call* find(const std::string& id);
  Call& add_call(CallInfo info);
  void emit(Call& call, CallEventType type, std::string digit = {});
  void publish_peer(CallEvent event);  // CallEngine::publish_peer_event
  void end_call(Call& call, EndReason reason, int status, std::string_view sip_reason,
                std::string detail);
  void settle_waiters(Call& call);
  void schedule_retention(Call& call);
  void maybe_forget(const std::string& id);
  void forget(std::map<std::string, Call>::iterator it);
  bool wants_incoming(std::string_view realm);
  void shutdown_calls();
  size_t pending_transactions() const;
  CallResult result(const Call& call) const;

  // Client transactions (call_engine.cc).
  void start_tx(Call& call, int branch, TxPurpose purpose, sip::RequestBuilder request,
                const sip::transport::Source& destination);
  void apply(const std::string& key, sip::transaction::ClientTransaction::Action action,
             const sip::Message* response);
  void arm_tx_timer(const std::string& key);
  bool send(const sip::transport::Source& to, std::string bytes);

  // Outbound (outbound_call.cc).
  std::optional<Leg> leg_for(const registrar::Binding& binding);
  std::optional<Leg> leg_for_source(const sip::transport::Source& flow);
  void send_invite(Call& call, size_t index);
  void on_invite_response(Call& call, size_t index, const sip::Message& response);
  void on_invite_timeout(Call& call, size_t index, int status, std::string_view reason);
  void on_branch_2xx(Call& call, size_t index, const sip::Message& response);
  void cancel_branch(Call& call, size_t index);
  void cancel_branches(Call& call, int except);
  void check_branches_done(Call& call);
  void ring_timeout(const std::string& id);
  void send_late_bye(Call& call, size_t index, const sip::Message& ok);
  bool rate_allows(const std::string& creator);

  // Inbound (inbound_call.cc).
  void inbound_final(Call& call, int status, std::string_view reason,
                     std::vector<std::pair<std::string, std::string>> headers = {});
  void on_cancel(const sip::Message& cancel, Reply reply);
  void inbound_ring_timeout(const std::string& id);
  void start_ok_retransmit(Call& call, std::string bytes, uint32_t cseq, bool initial,
                           const sip::transport::Source& to);
  void on_ok_timer(const std::string& id);
  void stop_ok_retransmit(Call& call);

  // Dialogs (in_dialog.cc).
  void on_in_dialog(const sip::Message& request, Reply reply);
  void on_ack(const sip::Message& ack);
  void send_bye(Call& call);
  void pump_dtmf(Call& call);
  void on_dialog_response(Call& call, TxPurpose purpose, int status, bool timeout);
  Call* find_dialog(const sip::Message& request);
  std::string ok_with_sdp(const sip::Message& request, const Reply& reply, const Call& call);

  CallEngineOptions options_;
  CallEngineDeps deps_;
  sip::transaction::ClientTimers timers_;

  boost::asio::io_context io_{1};
  std::thread thread_;
  bool started_ = false;
  std::atomic<bool> shut_down_{false};  // the thread is gone: posted work is refused
  std::mutex lifecycle_mu_;             // start()/stop() from the controlling thread(s)

  // Subscribers: written from any thread, read on the engine thread; the lock
  // is held while an event is delivered so that unsubscribe() returning means
  // no more callbacks (recursive: a callback may unsubscribe itself).
  std::recursive_mutex subscribers_mu_;
  std::map<CallEngine::SubscriptionId, std::pair<CallEventFilter, std::function<void(const CallEvent&)>>>
      subscribers_;
  CallEngine::SubscriptionId next_subscription_ = 1;

  // ---- engine thread -----------------------------------------------------
  boost::asio::steady_timer wake_{io_};
  std::optional<TimePoint> wake_at_;
  TimerQueue timers_q_;
  CallIdGenerator ids_;
  uint64_t event_sequence_ = 0;
  std::map<std::string, Call> calls_;                  // by id: creation order
  std::unordered_map<std::string, std::string> by_dialog_;     // dialog key → call id
  std::unordered_map<std::string, std::string> by_cancel_key_; // inbound INVITE → call id
  std::unordered_map<std::string, std::string> by_request_id_; // creator \0 request_id → call id
  std::unordered_map<std::string, TxEntry> transactions_;      // client transactions by key
  std::deque<std::string> ended_order_;                // ended call ids, oldest first
  struct Bucket {
    double tokens = 0;
    TimePoint last{};
  };
  std::unordered_map<std::string, Bucket> buckets_;    // rate limit per creator
};

}  // namespace switchboard::calls

#endif  // SWITCHBOARD_GATEWAY_CALLS_ENGINE_IMPL_H_
