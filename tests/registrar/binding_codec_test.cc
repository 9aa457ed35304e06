// The binding blob (registrar/store/binding_codec.h): version 2 round-trips
// every field including the replica; version 1 blobs (written before replicas
// existed, still in SQLite event logs and Redis values) decode with replica "";
// anything else is refused.
#include "registrar/store/binding_codec.h"

#include <gtest/gtest.h>

#include <limits>

#include "binding_fixtures.h"
#include "registrar/store/varint.h"

namespace registrar {
namespace {

using testing::make_binding;
using testing::wall_ms;

constexpr int64_t kBase = 1'790'000'000'000;  // ms since the epoch

Binding sample() {
  Binding b = make_binding("alice@acme.test", "sip:alice@192.0.2.4:5062", wall_ms(kBase + 60'000));
  b.replica = "switchboard-1";
  return b;
}

std::string encode(const Binding& b, std::string_view row_aor = "alice@acme.test") {
  std::string out;
  encode_binding(b, row_aor, kBase, out);
  return out;
}

// `b` written by hand in format version 1 (binding_codec.h), as a binary from
// before replicas existed wrote it: no trailing replica.
std::string encode_version_1(const Binding& b, std::string_view row_aor) {
  std::string out;
  out.push_back('\x01');
  const bool aor_stored = b.aor != row_aor;
  out.push_back(aor_stored ? '\x01' : '\x00');
  if (aor_stored) put_string(out, b.aor);
  for (const std::string* s :
       {&b.realm, &b.contact, &b.username, &b.transport, &b.source_ip, &b.local_address, &b.path,
        &b.instance_id, &b.call_id, &b.user_agent}) {
    put_string(out, *s);
  }
  for (uint64_t n : {uint64_t{b.source_port}, b.connection_id, uint64_t{b.reg_id}, uint64_t{b.cseq}})
    put_varint(out, n);
  put_zigzag(out, b.q);
  for (WallTime t : {b.expires_at, b.first_registered, b.last_registered})
    put_zigzag(out, to_epoch_ms(t) - kBase);
  return out;
}

// Verifies the encoder writes version 2, and every field — the replica included —
// comes back, also with extreme values and an aor that differs from the row's.
TEST(BindingCodec, VersionTwoRoundTripsEveryField) {
  Binding b = sample();
  b.aor = "other@acme.test";
  b.transport = "tls";
  b.source_ip = "2001:db8::1";
  b.source_port = 65535;
  b.connection_id = std::numeric_limits<uint64_t>::max();
  b.path = "<sip:p1.example.com;lr>";
  b.instance_id = "<urn:uuid:00000000-0000-1000-8000-000A95A0E128>";
  b.reg_id = std::numeric_limits<uint32_t>::max();
  b.cseq = std::numeric_limits<uint32_t>::max();
  b.q = 1000;
  b.replica = std::string("pod-\0-\xe2\x98\x8e", 9);
  b.first_registered = wall_ms(0);
  const std::string blob = encode(b);
  EXPECT_EQ(blob[0], '\x02');
  Binding back;
  ASSERT_TRUE(decode_binding(blob, "alice@acme.test", kBase, back));
  EXPECT_EQ(back, b);

  b = sample();
  b.replica.clear();
  ASSERT_TRUE(decode_binding(encode(b), b.aor, kBase, back));
  EXPECT_EQ(back, b) << "an empty replica round-trips too";
}

// Verifies a version 1 blob decodes to the same binding with replica "", also into a
// Binding that held a replica before (decode overwrites it).
TEST(BindingCodec, VersionOneDecodesWithoutReplica) {
  Binding b = sample();
  b.replica.clear();
  Binding back;
  back.replica = "stale";
  ASSERT_TRUE(decode_binding(encode_version_1(b, b.aor), b.aor, kBase, back));
  EXPECT_EQ(back, b);

  b.aor = "bob@acme.test";
  ASSERT_TRUE(decode_binding(encode_version_1(b, "alice@acme.test"), "alice@acme.test", kBase,
                             back));
  EXPECT_EQ(back, b);
}

// Verifies version 1 and 2 differ exactly by the version byte and the trailing replica.
TEST(BindingCodec, VersionTwoIsVersionOnePlusReplica) {
  const Binding b = sample();
  std::string expected = encode_version_1(b, b.aor);
  expected[0] = '\x02';
  put_string(expected, b.replica);
  EXPECT_EQ(encode(b), expected);
}

// Verifies unknown versions, a truncated replica, and bytes after either version's end
// are refused.
TEST(BindingCodec, MalformedBlobsAreRefused) {
  const Binding b = sample();
  const std::string v2 = encode(b);
  const std::string v1 = encode_version_1(b, b.aor);
  Binding back;
  for (char version : {'\x00', '\x03', '\xff'}) {
    std::string other = v2;
    other[0] = version;
    EXPECT_FALSE(decode_binding(other, b.aor, kBase, back)) << int(version);
  }
  EXPECT_FALSE(decode_binding(v2.substr(0, v2.size() - 1), b.aor, kBase, back)) << "truncated";
  EXPECT_FALSE(decode_binding(v2 + "x", b.aor, kBase, back)) << "trailing byte";
  EXPECT_FALSE(decode_binding(v1 + std::string(1, '\0'), b.aor, kBase, back))
      << "a version 1 blob has no replica";
  std::string v1_as_v2 = v1;
  v1_as_v2[0] = '\x02';
  EXPECT_FALSE(decode_binding(v1_as_v2, b.aor, kBase, back)) << "version 2 needs the replica";
  EXPECT_FALSE(decode_binding("", b.aor, kBase, back));
}

}  // namespace
}  // namespace registrar
