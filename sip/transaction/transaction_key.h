// sip/transaction/transaction_key.h — which server transaction a request
// belongs to (RFC 3261 §17.2.3).
//
// RFC 3261 requests (top Via branch starting with the magic cookie
// "z9hG4bK") match on: branch + sent-by of the top Via + method, where an ACK
// counts as INVITE (it belongs to the INVITE transaction) and a CANCEL keeps
// its own method (it is a transaction of its own).
//
// RFC 2543 requests (no magic cookie) match on: Request-URI, To tag, From tag,
// Call-ID, CSeq (number and method) and the top Via. For INVITE and ACK the
// To tag is left out: an INVITE's retransmission carries the same (absent) tag
// anyway, and the ACK carries the tag of our response, which the INVITE did
// not (§17.2.3 compares it with the response's tag instead).
//
// A key is an opaque byte string: every field is length-prefixed, so no
// choice of field contents can make two different requests collide.
//
//   auto key = sip::transaction::server_transaction_key(request);
//   if (key) table.find(*key);
//
// A CANCEL names the INVITE it cancels by the same top Via (§9.1: same
// branch and sent-by; for RFC 2543 also the same Request-URI, Call-ID, From,
// CSeq number): invite_key_for_cancel() gives the key that INVITE has.
//
//   auto invite = sip::transaction::invite_key_for_cancel(cancel);
//   if (invite && table.find(*invite)) { 200 to the CANCEL, 487 to the INVITE }
//
// Threading: pure functions.
#ifndef SWITCHBOARD_SIP_TRANSACTION_TRANSACTION_KEY_H_
#define SWITCHBOARD_SIP_TRANSACTION_TRANSACTION_KEY_H_

#include <optional>
#include <string>
#include <string_view>

#include "sip/message.h"

namespace sip::transaction {

struct TransactionKey {
  std::string value;    // opaque; equal keys mean the same transaction
  bool rfc3261 = true;  // false: matched the RFC 2543 way

  bool operator==(const TransactionKey& other) const { return value == other.value; }
};

// The method a request matches transactions under: ACK → "INVITE", every
// other method (CANCEL included) itself.
std::string_view transaction_method(const sip::Message& request);

// nullopt when the request lacks what matching needs (a top Via; for RFC 2543
// matching also CSeq). REQUIRES: request.is_request().
std::optional<TransactionKey> server_transaction_key(const sip::Message& request);

// The key of the INVITE server transaction that a CANCEL targets (RFC 3261
// §9.2): the CANCEL's own key computed as if its method were INVITE. nullopt
// as for server_transaction_key(). REQUIRES: request.is_request() (meant for
// CANCEL; for any other request it is that request's key under "INVITE").
std::optional<TransactionKey> invite_key_for_cancel(const sip::Message& cancel);

}  // namespace sip::transaction

#endif  // SWITCHBOARD_SIP_TRANSACTION_TRANSACTION_KEY_H_
