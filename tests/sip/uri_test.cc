// URIs: parsing of sip, sips, tel and opaque schemes, and the equivalence
// rules of RFC 3261 §19.1.4 with the RFC's own examples.
#include <gtest/gtest.h>

#include "sip/lex.h"
#include "sip/uri.h"

namespace sip {
namespace {

Uri parse(std::string_view text) {
  Uri u;
  const char* why = nullptr;
  EXPECT_TRUE(parse_uri(text, u, &why)) << text << ": " << (why ? why : "");
  return u;
}

bool rejects(std::string_view text) {
  Uri u;
  return !parse_uri(text, u);
}

bool equal(std::string_view a, std::string_view b) { return uri_equal(parse(a), parse(b)); }

TEST(Uri, SipPartsAreViews) {
  Uri u = parse("sips:alice:secret@Atlanta.example.com:5061;transport=tls;lr?subject=hi&x=y");
  EXPECT_EQ(u.scheme, Scheme::kSips);
  EXPECT_EQ(u.user, "alice");
  EXPECT_EQ(u.password, "secret");
  EXPECT_EQ(u.host, "Atlanta.example.com");
  EXPECT_EQ(u.host_kind, HostKind::kHostname);
  EXPECT_EQ(u.port, 5061);
  EXPECT_EQ(u.param("transport"), "tls");
  EXPECT_EQ(u.param("lr"), "");
  EXPECT_FALSE(u.param("maddr").has_value());
  EXPECT_EQ(u.headers, "subject=hi&x=y");
}

TEST(Uri, HostKinds) {
  EXPECT_EQ(parse("sip:192.0.2.1").host_kind, HostKind::kIpv4);
  Uri v6 = parse("sip:bob@[2001:db8::10]:5070");
  EXPECT_EQ(v6.host_kind, HostKind::kIpv6);
  EXPECT_EQ(v6.host, "[2001:db8::10]");
  EXPECT_EQ(v6.host_address(), "2001:db8::10");
  EXPECT_EQ(v6.port, 5070);
  EXPECT_EQ(parse("sip:registrar.example.com").host_kind, HostKind::kHostname);
  EXPECT_FALSE(parse("sip:registrar.example.com").has_userinfo);
}

TEST(Uri, TelAndOpaqueSchemes) {
  Uri tel = parse("tel:+1-201-555-0123;phone-context=example.com");
  EXPECT_EQ(tel.scheme, Scheme::kTel);
  EXPECT_EQ(tel.user, "+1-201-555-0123");
  EXPECT_EQ(tel.param("phone-context"), "example.com");
  Uri other = parse("soap.beep://192.0.2.103:3002");
  EXPECT_EQ(other.scheme, Scheme::kOther);
  EXPECT_EQ(other.scheme_text, "soap.beep");
}

TEST(Uri, RejectsMalformed) {
  EXPECT_TRUE(rejects("alice@example.com"));          // no scheme
  EXPECT_TRUE(rejects("sip:"));                       // nothing after it
  EXPECT_TRUE(rejects("sip:@example.com"));           // empty user
  EXPECT_TRUE(rejects("sip:alice@"));                 // no host
  EXPECT_TRUE(rejects("sip:alice@example.com:0"));    // port 0
  EXPECT_TRUE(rejects("sip:alice@example.com:70000"));
  EXPECT_TRUE(rejects("sip:alice@[2001:db8::1"));     // unterminated IPv6
  EXPECT_TRUE(rejects("sip:alice@[zz::1]"));
  EXPECT_TRUE(rejects("sip:alice@example.com; lr"));  // LWS
  EXPECT_TRUE(rejects("<sip:alice@example.com>"));
  EXPECT_TRUE(rejects("sip:alice@example.com;;lr"));  // empty parameter
  EXPECT_TRUE(rejects("sip:al%zzice@example.com"));   // bad escape
  EXPECT_TRUE(rejects("sip:alice@300.1.1.1"));
}

TEST(Uri, AorKeyUnescapesUserAndLowersHost) {
  EXPECT_EQ(aor_key(parse("sip:%61lice@AtLanta.COM;transport=tcp")), "alice@atlanta.com");
}

// RFC 3261 §19.1.4: these pairs are equivalent.
TEST(UriComparison, EquivalentPairsFromTheRfc) {
  EXPECT_TRUE(equal("sip:%61lice@atlanta.com;transport=TCP", "sip:alice@AtLanTa.CoM;Transport=tcp"));
  EXPECT_TRUE(equal("sip:carol@chicago.com", "sip:carol@chicago.com;newparam=5"));
  EXPECT_TRUE(equal("sip:carol@chicago.com", "sip:carol@chicago.com;security=on"));
  EXPECT_TRUE(equal("sip:carol@chicago.com;newparam=5", "sip:carol@chicago.com;security=on"));
  EXPECT_TRUE(equal("sip:biloxi.com;transport=tcp;method=REGISTER?to=sip:bob%40biloxi.com",
                    "sip:biloxi.com;method=REGISTER;transport=tcp?to=sip:bob%40biloxi.com"));
  EXPECT_TRUE(equal("sip:alice@atlanta.com?subject=project%20x&priority=urgent",
                    "sip:alice@atlanta.com?priority=urgent&subject=project%20x"));
  EXPECT_TRUE(equal("sip:bob@[2001:db8::1]", "sip:bob@[2001:DB8:0::1]"));
}

// RFC 3261 §19.1.4: these pairs are not.
TEST(UriComparison, DifferentPairsFromTheRfc) {
  EXPECT_FALSE(equal("SIP:ALICE@AtLanTa.CoM;Transport=udp", "sip:alice@AtLanTa.CoM;Transport=UDP"));
  EXPECT_FALSE(equal("sip:bob@biloxi.com", "sip:bob@biloxi.com:5060"));
  EXPECT_FALSE(equal("sip:bob@biloxi.com", "sip:bob@biloxi.com;transport=udp"));
  EXPECT_FALSE(equal("sip:bob@biloxi.com", "sip:bob@biloxi.com:6000;transport=tcp"));
  EXPECT_FALSE(equal("sip:carol@chicago.com", "sip:carol@chicago.com?Subject=next%20meeting"));
  EXPECT_FALSE(equal("sip:bob@phone21.boxesbybob.com", "sip:bob@192.0.2.4"));
  EXPECT_FALSE(equal("sip:carol@chicago.com;security=on", "sip:carol@chicago.com;security=off"));
  EXPECT_FALSE(equal("sip:alice@atlanta.com", "sips:alice@atlanta.com"));
  EXPECT_FALSE(equal("sip:alice@atlanta.com;maddr=10.0.0.1", "sip:alice@atlanta.com"));
}

TEST(UriComparison, TelIgnoresVisualSeparators) {
  EXPECT_TRUE(equal("tel:+1-201-555-0123", "tel:+12015550123"));
  EXPECT_FALSE(equal("tel:+12015550123", "tel:+12015550124"));
}

}  // namespace
}  // namespace sip
