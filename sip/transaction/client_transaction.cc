// sip/transaction/client_transaction.cc — see client_transaction.h.
#include "sip/transaction/client_transaction.h"

#include <algorithm>

namespace sip::transaction {

std::string client_transaction_key(std::string_view branch, std::string_view cseq_method) {
  std::string key;
  key.reserve(branch.size() + cseq_method.size() + 16);
  key.append(std::to_string(branch.size())).push_back(':');
  key.append(branch);
  key.append(std::to_string(cseq_method.size())).push_back(':');
  key.append(cseq_method);
  return key;
}

std::optional<std::string> client_transaction_key(const sip::Message& response) {
  if (!response.top_via() || !response.cseq()) return std::nullopt;
  if (!response.top_via()->rfc3261_branch()) return std::nullopt;
  return client_transaction_key(response.top_via()->branch(), response.cseq()->method);
}

ClientTransaction::ClientTransaction(RequestBuilder request, bool reliable, ClientTimers timers,
                                     time_point now)
    : request_(std::move(request)),
      bytes_(request_.build()),
      key_(client_transaction_key(request_.branch(), request_.cseq_method())),
      kind_(request_.method() == "INVITE" ? Kind::kInvite : Kind::kNonInvite),
      reliable_(reliable),
      timers_(timers),
      state_(kind_ == Kind::kInvite ? State::kCalling : State::kTrying) {
  // Timer A / E: retransmissions only where the transport may lose the request.
  if (!reliable_) {
    retransmit_interval_ = timers_.t1;
    retransmit_at_ = now + retransmit_interval_;
  }
  timeout_at_ = now + 64 * timers_.t1;  // Timer B / F
}

void ClientTransaction::terminate() {
  state_ = State::kTerminated;
  retransmit_at_.reset();
  timeout_at_.reset();
  end_at_.reset();
}

ClientTransaction::Action ClientTransaction::on_response(const sip::Message& response,
                                                         time_point now) {
  Action act;
  const int status = response.status_code();
  if (status < 100 || status > 699 || state_ == State::kTerminated) return act;

  if (kind_ == Kind::kInvite) {
    switch (state_) {
      case State::kCalling:
      case State::kProceeding:
        if (status < 200) {
          state_ = State::kProceeding;
          retransmit_at_.reset();  // §17.1.1.2: a provisional stops Timer A
          timeout_at_.reset();     // and the TU decides how long to ring
          act.deliver = true;
        } else if (status < 300) {
          // RFC 6026 §7.2: Accepted; the TU ACKs (the ACK of a 2xx is its own).
          state_ = State::kAccepted;
          retransmit_at_.reset();
          timeout_at_.reset();
          end_at_ = now + 64 * timers_.t1;  // Timer M
          act.deliver = true;
        } else {
          state_ = State::kCompleted;
          retransmit_at_.reset();
          timeout_at_.reset();
          ack_bytes_ = ack_for_non_2xx(request_, response.header(HeaderId::kTo)).build();
          act.send.push_back(ack_bytes_);
          act.deliver = true;
          if (reliable_) {
            terminate();
            act.terminated = true;
          } else {
            end_at_ = now + timers_.timer_d;
          }
        }
        break;
      case State::kAccepted:
        // A retransmitted 2xx (or a 2xx from another fork): up to the TU.
        if (status >= 200 && status < 300) act.deliver = true;
        break;
      case State::kCompleted:
        // The final again: our ACK was lost (§17.1.1.2). Provisionals are stale.
        if (status >= 300) act.send.push_back(ack_bytes_);
        break;
      default:
        break;
    }
    if (act.deliver) last_status_ = status;
    return act;
  }

  // Non-INVITE.
  switch (state_) {
    case State::kTrying:
    case State::kProceeding:
      if (status < 200) {
        state_ = State::kProceeding;
        if (retransmit_at_) {
          retransmit_interval_ = timers_.t2;  // §17.1.2.2: Proceeding retransmits at T2
        }
      } else {
        state_ = State::kCompleted;
        retransmit_at_.reset();
        timeout_at_.reset();
        if (reliable_) {
          terminate();
          act.terminated = true;
        } else {
          end_at_ = now + timers_.t4;  // Timer K
        }
      }
      act.deliver = true;
      last_status_ = status;
      break;
    default:
      break;  // Completed: retransmissions absorbed
  }
  return act;
}

ClientTransaction::Action ClientTransaction::on_timer(time_point now) {
  Action act;
  if (state_ == State::kTerminated) return act;
  if (end_at_ && now >= *end_at_) {  // Timer D / K / M
    terminate();
    act.terminated = true;
    return act;
  }
  if (timeout_at_ && now >= *timeout_at_) {  // Timer B / F
    terminate();
    act.timeout = true;
    act.terminated = true;
    return act;
  }
  if (retransmit_at_ && now >= *retransmit_at_) {  // Timer A / E
    act.send.push_back(bytes_);
    if (kind_ == Kind::kInvite) {
      retransmit_interval_ *= 2;  // §17.1.1.2: A doubles without a cap
    } else if (state_ == State::kTrying) {
      retransmit_interval_ = std::min(retransmit_interval_ * 2, timers_.t2);
    } else {
      retransmit_interval_ = timers_.t2;
    }
    // Late timer ticks fire once, not once per missed interval.
    retransmit_at_ = now + retransmit_interval_;
  }
  return act;
}

ClientTransaction::Action ClientTransaction::on_transport_error() {
  Action act;
  if (state_ == State::kTerminated) return act;
  bool pending = state_ == State::kCalling || state_ == State::kTrying ||
                 state_ == State::kProceeding;
  terminate();
  act.timeout = pending;
  act.terminated = true;
  return act;
}

std::optional<ClientTransaction::time_point> ClientTransaction::next_timer() const {
  std::optional<time_point> next;
  for (const auto& t : {retransmit_at_, timeout_at_, end_at_})
    if (t && (!next || *t < *next)) next = t;
  return next;
}

}  // namespace sip::transaction
