#include "sip/validate.h"

#include <algorithm>

#include "sip/lex.h"

namespace sip {
namespace {

Verdict reject(int status, std::string reason) {
  Verdict v;
  v.status = status;
  v.reason = std::move(reason);
  return v;
}

// One each of the headers every request and response must carry (RFC 3261 §8.1.1).
bool check_once(const Message& m, std::string* why) {
  struct Required {
    HeaderId id;
    const char* name;
  };
  constexpr Required kRequired[] = {{HeaderId::kCallId, "Call-ID"},
                                    {HeaderId::kCSeq, "CSeq"},
                                    {HeaderId::kFrom, "From"},
                                    {HeaderId::kTo, "To"}};
  for (const Required& r : kRequired) {
    size_t n = m.count(r.id);
    if (n == 1) continue;
    *why = std::string(n == 0 ? "missing " : "more than one ") + r.name + " header";
    return false;
  }
  if (m.via_count() == 0) {
    *why = "missing Via header";
    return false;
  }
  if (m.count(HeaderId::kMaxForwards) > 1) {
    *why = "more than one Max-Forwards header";
    return false;
  }
  if (m.content_length_conflict()) {
    *why = "conflicting Content-Length values";
    return false;
  }
  return true;
}

}  // namespace

Verdict check_request(const Message& request, const RequestPolicy& policy) {
  std::string why;
  if (!check_once(request, &why)) return reject(400, std::move(why));
  if (request.cseq()->method != request.method())
    return reject(400, "CSeq method does not match the request method");
  const Uri& ruri = request.request_uri();
  if (!ruri.is_sip() && !(policy.accept_tel_uri && ruri.scheme == Scheme::kTel))
    return reject(416, "Unsupported URI Scheme");

  // Require (RFC 3261 §8.2.2.3): not checked for ACK and CANCEL.
  if (request.method_id() != Method::kAck && request.method_id() != Method::kCancel) {
    std::string unsupported;
    request.for_each_value(HeaderId::kRequire, [&](std::string_view tag) {
      if (tag.empty()) return true;
      bool known = std::any_of(policy.supported.begin(), policy.supported.end(),
                               [&](std::string_view s) { return lex::iequals(s, tag); });
      if (!known) {
        if (!unsupported.empty()) unsupported += ", ";
        unsupported.append(tag);
      }
      return true;
    });
    if (!unsupported.empty()) {
      Verdict v = reject(420, "Bad Extension");
      v.unsupported = std::move(unsupported);
      return v;
    }
  }
  return Verdict();
}

bool response_acceptable(const Message& response, std::string* why) {
  std::string local;
  return check_once(response, why ? why : &local);
}

}  // namespace sip
