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

}  // namespace sip::transaction

#endif  // SWITCHBOARD_SIP_TRANSACTION_TRANSACTION_KEY_H_
