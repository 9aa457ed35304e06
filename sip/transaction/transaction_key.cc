// sip/transaction/transaction_key.cc — see transaction_key.h.
#include "sip/transaction/transaction_key.h"

namespace sip::transaction {
namespace {

void append_field(std::string& key, std::string_view field) {
  key += std::to_string(field.size());
  key += ':';
  key += field;
}

// Host names and IPv6 hex compare case-insensitively (RFC 3261 §19.1.4).
std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = char(c + 32);
  return out;
}

}  // namespace

std::string_view transaction_method(const sip::Message& request) {
  if (request.method_id() == sip::Method::kAck) return "INVITE";
  return request.method();
}

namespace {

// `method` is the method the request matches under (see transaction_method).
std::optional<TransactionKey> key_under(const sip::Message& request, std::string_view method) {
  const std::optional<sip::Via>& via = request.top_via();
  if (!via) return std::nullopt;

  TransactionKey key;
  if (via->rfc3261_branch()) {
    key.rfc3261 = true;
    key.value.reserve(via->branch().size() + via->host.size() + method.size() + 24);
    key.value += "3261;";
    append_field(key.value, via->branch());
    append_field(key.value, lower(via->host));
    append_field(key.value, std::to_string(via->port));
    append_field(key.value, method);
    return key;
  }

  const std::optional<sip::CSeq>& cseq = request.cseq();
  if (!cseq) return std::nullopt;
  key.rfc3261 = false;
  key.value += "2543;";
  append_field(key.value, method);
  append_field(key.value, request.request_uri().text);
  // For INVITE and its ACK (and a CANCEL looked up as its INVITE) the To tag
  // is left out: see the header.
  bool invite_like = method == "INVITE";
  append_field(key.value, invite_like || !request.to() ? std::string_view() : request.to()->tag());
  append_field(key.value, request.from() ? request.from()->tag() : std::string_view());
  append_field(key.value, request.call_id());
  append_field(key.value, std::to_string(cseq->seq));
  append_field(key.value, via->text);
  return key;
}

}  // namespace

std::optional<TransactionKey> server_transaction_key(const sip::Message& request) {
  return key_under(request, transaction_method(request));
}

std::optional<TransactionKey> invite_key_for_cancel(const sip::Message& cancel) {
  return key_under(cancel, "INVITE");
}

}  // namespace sip::transaction
