#include "sip/header_id.h"

#include <algorithm>
#include <iterator>
#include <cstring>

#include "sip/lex.h"

namespace sip {
namespace {

struct Entry {
  std::string_view lower;  // long name, lower case
  std::string_view canonical;
  HeaderId id;
};

// Long names. Lookup is by length first, so the table is small to scan.
constexpr Entry kLongNames[] = {
    {"accept", "Accept", HeaderId::kAccept},
    {"accept-contact", "Accept-Contact", HeaderId::kAcceptContact},
    {"accept-encoding", "Accept-Encoding", HeaderId::kAcceptEncoding},
    {"accept-language", "Accept-Language", HeaderId::kAcceptLanguage},
    {"allow", "Allow", HeaderId::kAllow},
    {"allow-events", "Allow-Events", HeaderId::kAllowEvents},
    {"authorization", "Authorization", HeaderId::kAuthorization},
    {"call-id", "Call-ID", HeaderId::kCallId},
    {"call-info", "Call-Info", HeaderId::kCallInfo},
    {"contact", "Contact", HeaderId::kContact},
    {"content-disposition", "Content-Disposition", HeaderId::kContentDisposition},
    {"content-encoding", "Content-Encoding", HeaderId::kContentEncoding},
    {"content-language", "Content-Language", HeaderId::kContentLanguage},
    {"content-length", "Content-Length", HeaderId::kContentLength},
    {"content-type", "Content-Type", HeaderId::kContentType},
    {"cseq", "CSeq", HeaderId::kCSeq},
    {"date", "Date", HeaderId::kDate},
    {"event", "Event", HeaderId::kEvent},
    {"expires", "Expires", HeaderId::kExpires},
    {"flow-timer", "Flow-Timer", HeaderId::kFlowTimer},
    {"from", "From", HeaderId::kFrom},
    {"identity", "Identity", HeaderId::kIdentity},
    {"identity-info", "Identity-Info", HeaderId::kIdentityInfo},
    {"max-forwards", "Max-Forwards", HeaderId::kMaxForwards},
    {"min-expires", "Min-Expires", HeaderId::kMinExpires},
    {"path", "Path", HeaderId::kPath},
    {"privacy", "Privacy", HeaderId::kPrivacy},
    {"proxy-authenticate", "Proxy-Authenticate", HeaderId::kProxyAuthenticate},
    {"proxy-authorization", "Proxy-Authorization", HeaderId::kProxyAuthorization},
    {"proxy-require", "Proxy-Require", HeaderId::kProxyRequire},
    {"reason", "Reason", HeaderId::kReason},
    {"record-route", "Record-Route", HeaderId::kRecordRoute},
    {"refer-to", "Refer-To", HeaderId::kReferTo},
    {"referred-by", "Referred-By", HeaderId::kReferredBy},
    {"reject-contact", "Reject-Contact", HeaderId::kRejectContact},
    {"replaces", "Replaces", HeaderId::kReplaces},
    {"request-disposition", "Request-Disposition", HeaderId::kRequestDisposition},
    {"require", "Require", HeaderId::kRequire},
    {"retry-after", "Retry-After", HeaderId::kRetryAfter},
    {"route", "Route", HeaderId::kRoute},
    {"server", "Server", HeaderId::kServer},
    {"session-expires", "Session-Expires", HeaderId::kSessionExpires},
    {"subject", "Subject", HeaderId::kSubject},
    {"supported", "Supported", HeaderId::kSupported},
    {"timestamp", "Timestamp", HeaderId::kTimestamp},
    {"to", "To", HeaderId::kTo},
    {"unsupported", "Unsupported", HeaderId::kUnsupported},
    {"user-agent", "User-Agent", HeaderId::kUserAgent},
    {"via", "Via", HeaderId::kVia},
    {"warning", "Warning", HeaderId::kWarning},
    {"www-authenticate", "WWW-Authenticate", HeaderId::kWwwAuthenticate},
};

// Compact forms: RFC 3261 §7.3.3 (c e f i k l m s t v), RFC 3265 (o u),
// RFC 3515 (r), RFC 3892 (b), RFC 3841 (a d j), RFC 4028 (x), RFC 4474 (n y).
constexpr HeaderId compact(char c) {
  switch (c) {
    case 'a': return HeaderId::kAcceptContact;
    case 'b': return HeaderId::kReferredBy;
    case 'c': return HeaderId::kContentType;
    case 'd': return HeaderId::kRequestDisposition;
    case 'e': return HeaderId::kContentEncoding;
    case 'f': return HeaderId::kFrom;
    case 'i': return HeaderId::kCallId;
    case 'j': return HeaderId::kRejectContact;
    case 'k': return HeaderId::kSupported;
    case 'l': return HeaderId::kContentLength;
    case 'm': return HeaderId::kContact;
    case 'n': return HeaderId::kIdentityInfo;
    case 'o': return HeaderId::kEvent;
    case 'r': return HeaderId::kReferTo;
    case 's': return HeaderId::kSubject;
    case 't': return HeaderId::kTo;
    case 'u': return HeaderId::kAllowEvents;
    case 'v': return HeaderId::kVia;
    case 'x': return HeaderId::kSessionExpires;
    case 'y': return HeaderId::kIdentity;
    default: return HeaderId::kOther;
  }
}

constexpr bool sorted() {
  for (size_t i = 1; i < std::size(kLongNames); ++i)
    if (!(kLongNames[i - 1].lower < kLongNames[i].lower)) return false;
  return true;
}
static_assert(sorted(), "kLongNames must stay sorted for binary search");

// The entries of each first letter, so a lookup compares against a handful.
struct Bucket {
  uint8_t begin = 0, end = 0;
};
struct Buckets {
  Bucket by_letter[26];
};
constexpr Buckets make_buckets() {
  Buckets b;
  for (size_t i = 0; i < std::size(kLongNames); ++i) {
    Bucket& k = b.by_letter[kLongNames[i].lower[0] - 'a'];
    if (k.end == 0) k.begin = uint8_t(i);
    k.end = uint8_t(i + 1);
  }
  return b;
}
constexpr Buckets kBuckets = make_buckets();

constexpr size_t kMaxKnownLength = 20;

}  // namespace

HeaderId header_id(std::string_view name) {
  if (name.size() == 1) return compact(lex::to_lower(name[0]));
  if (name.size() > kMaxKnownLength || name.empty()) return HeaderId::kOther;
  char first = lex::to_lower(name[0]);
  if (first < 'a' || first > 'z') return HeaderId::kOther;
  const Bucket& b = kBuckets.by_letter[first - 'a'];
  for (uint8_t i = b.begin; i < b.end; ++i) {
    const Entry& e = kLongNames[i];
    if (e.lower.size() != name.size()) continue;
    size_t k = 1;
    while (k < name.size() && lex::to_lower(name[k]) == e.lower[k]) ++k;
    if (k == name.size()) return e.id;
  }
  return HeaderId::kOther;
}

std::string_view header_name(HeaderId id) {
  for (const Entry& e : kLongNames)
    if (e.id == id) return e.canonical;
  return {};
}

bool header_is_list(HeaderId id) {
  switch (id) {
    case HeaderId::kAccept: case HeaderId::kAcceptContact: case HeaderId::kAcceptEncoding:
    case HeaderId::kAcceptLanguage: case HeaderId::kAllow: case HeaderId::kAllowEvents:
    case HeaderId::kCallInfo: case HeaderId::kContact: case HeaderId::kContentEncoding:
    case HeaderId::kContentLanguage: case HeaderId::kPath: case HeaderId::kPrivacy:
    case HeaderId::kProxyRequire: case HeaderId::kReason: case HeaderId::kRecordRoute:
    case HeaderId::kRejectContact: case HeaderId::kRequestDisposition: case HeaderId::kRequire:
    case HeaderId::kRoute: case HeaderId::kSupported: case HeaderId::kUnsupported:
    case HeaderId::kVia: case HeaderId::kWarning:
      return true;
    default:
      return false;
  }
}

}  // namespace sip
