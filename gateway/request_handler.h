// gateway/request_handler.h — the application's side of the SIP server.
//
// The server does everything RFC 3261 asks of a UAS core before a request
// reaches the application: parsing, §8.2 validation, and transaction matching
// (a retransmission never reaches the handler twice). The handler sees each
// new request once, with its Source and a Reply to answer through. The
// registrar plugs in here; the default handler answers OPTIONS and 501s the
// rest (default_handler.h).
//
//   class Registrar : public switchboard::RequestHandler {
//     void handle(const sip::Message& req, const Source& src, Reply reply) override {
//       reply.send(reply.response(req, 200).to_tag(tag).header("Contact", ...).build());
//     }
//   };
//
// ACK: handle() also sees ACKs that match no transaction (an ACK for a 2xx);
// their Reply is inert — nothing is ever sent in answer to an ACK.
//
// INVITE: the server has already sent "100 Trying" when handle() runs; the
// handler may send more 1xx, then one final. After a 2xx the server does not
// retransmit it (RFC 6026 Accepted): the handler does, e.g. by calling send()
// again with the same 2xx (a 2xx after a 2xx is let through for INVITE). A
// 3xx–6xx is retransmitted by the server until the ACK, which the handler
// never sees. CANCEL arrives as a request of its own; its INVITE's
// transaction key is sip::transaction::invite_key_for_cancel(cancel).
//
// Threading: handle() is called on worker threads, several at once, so the
// handler must be thread-safe. `request` is valid only during the call. The
// Reply may be kept and used later (asynchronous handlers): send() called on
// another thread is posted to the worker that received the request.
#ifndef SWITCHBOARD_GATEWAY_REQUEST_HANDLER_H_
#define SWITCHBOARD_GATEWAY_REQUEST_HANDLER_H_

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "sip/message.h"
#include "sip/response.h"
#include "sip/transaction/transaction_key.h"
#include "sip/transport/source.h"

namespace switchboard {

class Dispatcher;

// The way back to the client for one request: its server transaction and its
// RFC 3261 §18.2.2 response destination.
class Reply {
 public:
  Reply() = default;  // inert: send() returns false

  // Where the request came from.
  const sip::transport::Source& source() const { return source_; }
  // Where responses go (the connection, or the Via/rport-derived address).
  const sip::transport::Source& destination() const { return destination_; }
  // False for ACKs and for a default-constructed Reply.
  bool can_respond() const { return can_respond_; }

  // A response to `request` with received/rport already filled from the source.
  sip::ResponseBuilder response(const sip::Message& request, int status,
                                std::string_view reason = {}) const;

  // Sends a serialized response (it must start with "SIP/2.0 NNN") within the
  // request's transaction: a provisional is kept for retransmissions, a final
  // response is cached until Timer J (INVITE: see above) and a second final
  // is refused (except a repeated 2xx to an INVITE). On the
  // worker thread, false when nothing was sent (refused, transport failure,
  // server stopped); from another thread the send is queued to the worker
  // and true only means "queued".
  bool send(std::string response) const;

 private:
  friend class Dispatcher;
  Reply(std::weak_ptr<Dispatcher> dispatcher, const sip::transport::Source& source,
        const sip::transport::Source& destination,
        std::optional<sip::transaction::TransactionKey> key, bool can_respond,
        sip::Method method);

  std::weak_ptr<Dispatcher> dispatcher_;
  sip::Method method_ = sip::Method::kUnknown;  // the request's, for metrics
  sip::transport::Source source_;
  sip::transport::Source destination_;
  std::optional<sip::transaction::TransactionKey> key_;
  bool can_respond_ = false;
};

class RequestHandler {
 public:
  virtual ~RequestHandler() = default;
  virtual void handle(const sip::Message& request, const sip::transport::Source& source,
                      Reply reply) = 0;
};

// "SIP/2.0 200 OK..." → 200; 0 when `bytes` does not start with a status line.
int response_status(std::string_view bytes);

// A reason phrase safe to put on a status line: printable ASCII only, at most
// 128 bytes; `fallback` (then "Error") when nothing is left.
std::string safe_reason(std::string_view text, std::string_view fallback);

}  // namespace switchboard

#endif  // SWITCHBOARD_GATEWAY_REQUEST_HANDLER_H_
