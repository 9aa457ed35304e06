// sip/header_id.h — header names: case-insensitive lookup including every compact
// form (RFC 3261 §7.3.3 and later RFCs), and canonical spellings for output.
//
//   sip::header_id("v");              // HeaderId::kVia
//   sip::header_id("CONTENT-length"); // HeaderId::kContentLength
//   sip::header_name(HeaderId::kVia); // "Via"
#ifndef SWITCHBOARD_SIP_HEADER_ID_H_
#define SWITCHBOARD_SIP_HEADER_ID_H_

#include <cstdint>
#include <string_view>

namespace sip {

enum class HeaderId : uint8_t {
  kOther = 0,
  kAccept, kAcceptContact, kAcceptEncoding, kAcceptLanguage, kAllow, kAllowEvents,
  kAuthorization, kCallId, kCallInfo, kContact, kContentDisposition, kContentEncoding,
  kContentLanguage, kContentLength, kContentType, kCSeq, kDate, kEvent, kExpires, kFlowTimer,
  kFrom, kIdentity, kIdentityInfo, kMaxForwards, kMinExpires, kPath, kPrivacy, kProxyAuthenticate,
  kProxyAuthorization, kProxyRequire, kReason, kRecordRoute, kReferTo, kReferredBy,
  kRejectContact, kReplaces, kRequestDisposition, kRequire, kRetryAfter, kRoute, kServer,
  kSessionExpires, kSubject, kSupported, kTimestamp, kTo, kUnsupported, kUserAgent, kVia,
  kWarning, kWwwAuthenticate,
  kCount
};

// The id of a header name (any case, long or compact form); kOther when unknown.
HeaderId header_id(std::string_view name);

// Canonical long name ("Call-ID", "CSeq", "WWW-Authenticate"); "" for kOther.
std::string_view header_name(HeaderId id);

// True for headers whose values may be comma-separated lists (RFC 3261 §7.3.1).
// Authorization-style headers are not: commas separate their parameters.
bool header_is_list(HeaderId id);

}  // namespace sip

#endif  // SWITCHBOARD_SIP_HEADER_ID_H_
