// Digest math (registrar/digest.h): every row of the shared corpus, algorithm
// and qop tokens, nonce-count parsing, constant-time comparison.
#include "registrar/digest.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/registrar/corpus.h"

namespace registrar {
namespace {

using ::registrar::testing::CorpusRow;
using ::registrar::testing::read_corpus;
using ::testing::ElementsAre;

const std::vector<CorpusRow>& vectors() {
  static const std::vector<CorpusRow> rows = read_corpus("vectors.tsv");
  return rows;
}

const std::vector<CorpusRow>& ha1_rows() {
  static const std::vector<CorpusRow> rows = read_corpus("ha1.tsv");
  return rows;
}

// --- vectors.tsv ------------------------------------------------------------

// Verifies the corpus was found and holds every case the tests below claim to
// cover (a missing file would otherwise instantiate zero cases).
TEST(DigestCorpus, HoldsEveryKindOfVector) {
  const auto& rows = vectors();
  ASSERT_EQ(rows.size(), 27u) << "vectors.tsv not found or changed under " SWITCHBOARD_DIGEST_DIR;
  int auth_int = 0, sess = 0, sha512 = 0, no_qop = 0, utf8 = 0, empty_password = 0;
  for (const CorpusRow& r : rows) {
    auth_int += r.at("qop") == "auth-int";
    sess += r.at("algorithm").ends_with("-sess");
    sha512 += r.at("algorithm") == "SHA-512-256";
    no_qop += r.at("qop").empty();
    empty_password += r.at("password").empty();
    for (unsigned char c : r.at("username") + r.at("password")) {
      if (c >= 0x80) {
        ++utf8;
        break;
      }
    }
  }
  EXPECT_EQ(auth_int, 2);
  EXPECT_EQ(sess, 3);
  EXPECT_EQ(sha512, 3);
  EXPECT_EQ(no_qop, 9);
  EXPECT_EQ(utf8, 2);
  EXPECT_EQ(empty_password, 1);
}

class DigestVector : public ::testing::TestWithParam<CorpusRow> {};

// Verifies HA1 (session HA1 for -sess), the response, expected_response() from
// the stored HA1, and the userhash where given, for one corpus row.
TEST_P(DigestVector, MatchesPublishedHa1AndResponse) {
  const CorpusRow& row = GetParam();
  const std::optional<DigestAlgorithm> alg = parse_digest_algorithm(row.at("algorithm"));
  ASSERT_TRUE(alg.has_value()) << row.at("algorithm");

  const std::string stored_ha1 =
      compute_ha1(*alg, row.at("username"), row.at("realm"), row.at("password"));
  EXPECT_EQ(stored_ha1.size(), digest_hex_length(*alg));
  const std::string ha1 = is_session_algorithm(*alg)
                              ? session_ha1(*alg, stored_ha1, row.at("nonce"), row.at("cnonce"))
                              : stored_ha1;
  EXPECT_EQ(ha1, row.at("expected_ha1"));

  DigestQop qop = DigestQop::kNone;
  if (!row.at("qop").empty()) {
    const auto parsed = parse_digest_qop(row.at("qop"));
    ASSERT_TRUE(parsed.has_value()) << row.at("qop");
    qop = *parsed;
    const auto nc = parse_nonce_count(row.at("nc"));
    ASSERT_TRUE(nc.has_value());
    EXPECT_GE(*nc, 1u);
  }
  const DigestRequest request{.method = row.at("method"),
                              .uri = row.at("uri"),
                              .nonce = row.at("nonce"),
                              .nc = row.at("nc"),
                              .cnonce = row.at("cnonce"),
                              .qop = qop,
                              .body_hash_hex = row.at("h_entity_body")};
  const std::string response = compute_response(*alg, ha1, request);
  EXPECT_EQ(response, row.at("expected_response"));
  EXPECT_EQ(expected_response(*alg, stored_ha1, request), row.at("expected_response"));
  EXPECT_TRUE(constant_time_equal(response, row.at("expected_response")));

  if (!row.at("userhash").empty()) {
    EXPECT_EQ(compute_userhash(*alg, row.at("username"), row.at("realm")), row.at("userhash"));
  }
}

// Verifies that a wrong password, realm or nc changes the response.
TEST_P(DigestVector, WrongInputsGiveAnotherResponse) {
  const CorpusRow& row = GetParam();
  const DigestAlgorithm alg = *parse_digest_algorithm(row.at("algorithm"));
  const DigestQop qop = row.at("qop").empty() ? DigestQop::kNone : *parse_digest_qop(row.at("qop"));
  DigestRequest request{.method = row.at("method"),
                        .uri = row.at("uri"),
                        .nonce = row.at("nonce"),
                        .nc = row.at("nc"),
                        .cnonce = row.at("cnonce"),
                        .qop = qop,
                        .body_hash_hex = row.at("h_entity_body")};
  const std::string wrong_password =
      compute_ha1(alg, row.at("username"), row.at("realm"), row.at("password") + "x");
  EXPECT_NE(expected_response(alg, wrong_password, request), row.at("expected_response"));
  const std::string wrong_realm =
      compute_ha1(alg, row.at("username"), row.at("realm") + ".", row.at("password"));
  EXPECT_NE(expected_response(alg, wrong_realm, request), row.at("expected_response"));
  const std::string right =
      compute_ha1(alg, row.at("username"), row.at("realm"), row.at("password"));
  request.method = "BYE";
  EXPECT_NE(expected_response(alg, right, request), row.at("expected_response"));
  if (qop != DigestQop::kNone) {
    request.method = row.at("method");
    request.nc = "00000099";
    EXPECT_NE(expected_response(alg, right, request), row.at("expected_response"));
  }
}

INSTANTIATE_TEST_SUITE_P(Corpus, DigestVector, ::testing::ValuesIn(vectors()),
                         [](const ::testing::TestParamInfo<CorpusRow>& row_info) {
                           return ::registrar::testing::test_name(row_info.param.at("id"));
                         });

// --- ha1.tsv ------------------------------------------------------------------

// Verifies the corpus file was found (8 rows: 4 users, Hash1 and Hash1b each).
TEST(Ha1Corpus, HoldsEveryRow) { ASSERT_EQ(ha1_rows().size(), 8u); }

class StoredHashVector : public ::testing::TestWithParam<CorpusRow> {};

// Verifies Hash1 = MD5(user:realm:password) and Hash1b =
// MD5(user@domain:realm:password) for one ha1.tsv row.
TEST_P(StoredHashVector, MatchesExpectedMd5) {
  const CorpusRow& row = GetParam();
  if (row.at("kind") == "hash1") {
    EXPECT_EQ(compute_hash1(row.at("username"), row.at("realm"), row.at("password")),
              row.at("expected_md5"));
    EXPECT_EQ(
        compute_ha1(DigestAlgorithm::kMd5, row.at("username"), row.at("realm"), row.at("password")),
        row.at("expected_md5"));
  } else {
    ASSERT_EQ(row.at("kind"), "hash1b");
    EXPECT_EQ(
        compute_hash1b(row.at("username"), row.at("domain"), row.at("realm"), row.at("password")),
        row.at("expected_md5"));
    // The same as an ordinary HA1 whose username is "user@domain".
    EXPECT_EQ(compute_ha1(DigestAlgorithm::kMd5, row.at("username") + "@" + row.at("domain"),
                          row.at("realm"), row.at("password")),
              row.at("expected_md5"));
  }
}

INSTANTIATE_TEST_SUITE_P(Corpus, StoredHashVector, ::testing::ValuesIn(ha1_rows()),
                         [](const ::testing::TestParamInfo<CorpusRow>& row_info) {
                           return ::registrar::testing::test_name(row_info.param.at("id"));
                         });

// --- algorithms -----------------------------------------------------------------

// Verifies the six RFC 7616 / RFC 8760 tokens parse, case-insensitively, and
// print back in canonical form.
TEST(DigestAlgorithmToken, ParsesEveryTokenCaseInsensitively) {
  struct Case {
    const char* token;
    DigestAlgorithm alg;
    const char* canonical;
  };
  const Case cases[] = {
      {"MD5", DigestAlgorithm::kMd5, "MD5"},
      {"md5", DigestAlgorithm::kMd5, "MD5"},
      {"MD5-sess", DigestAlgorithm::kMd5Sess, "MD5-sess"},
      {"md5-SESS", DigestAlgorithm::kMd5Sess, "MD5-sess"},
      {"SHA-256", DigestAlgorithm::kSha256, "SHA-256"},
      {"sha-256", DigestAlgorithm::kSha256, "SHA-256"},
      {"SHA-256-sess", DigestAlgorithm::kSha256Sess, "SHA-256-sess"},
      {"SHA-512-256", DigestAlgorithm::kSha512_256, "SHA-512-256"},
      {"Sha-512-256", DigestAlgorithm::kSha512_256, "SHA-512-256"},
      {"SHA-512-256-sess", DigestAlgorithm::kSha512_256Sess, "SHA-512-256-sess"},
      {"sha-512-256-SESS", DigestAlgorithm::kSha512_256Sess, "SHA-512-256-sess"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.token);
    EXPECT_EQ(parse_digest_algorithm(c.token), c.alg);
    EXPECT_EQ(digest_algorithm_name(c.alg), c.canonical);
    EXPECT_EQ(parse_digest_algorithm(digest_algorithm_name(c.alg)), c.alg);
  }
}

// Verifies tokens that are not Digest algorithms we implement are refused.
TEST(DigestAlgorithmToken, RefusesUnknownTokens) {
  for (const char* token : {"", "SHA-1", "SHA1", "SHA-512", "SHA-512/256", "SHA512-256", "MD5 ",
                            " MD5", "\"MD5\"", "MD5-sess-sess", "AKAv1-MD5", "MD"}) {
    SCOPED_TRACE(token);
    EXPECT_EQ(parse_digest_algorithm(token), std::nullopt);
  }
}

// Verifies that an absent algorithm parameter means MD5 (RFC 7616 §3.3) while
// a present but unknown or empty one is refused.
TEST(DigestAlgorithmToken, AbsentParameterMeansMd5) {
  EXPECT_EQ(kDefaultDigestAlgorithm, DigestAlgorithm::kMd5);
  EXPECT_EQ(digest_algorithm_from_param(std::nullopt), DigestAlgorithm::kMd5);
  EXPECT_EQ(digest_algorithm_from_param(std::string_view("SHA-256")), DigestAlgorithm::kSha256);
  EXPECT_EQ(digest_algorithm_from_param(std::string_view("")), std::nullopt);
  EXPECT_EQ(digest_algorithm_from_param(std::string_view("SHA-1")), std::nullopt);
}

// Verifies session flags, base algorithms, hex lengths and the offer order.
TEST(DigestAlgorithmToken, PropertiesOfEachAlgorithm) {
  EXPECT_FALSE(is_session_algorithm(DigestAlgorithm::kMd5));
  EXPECT_TRUE(is_session_algorithm(DigestAlgorithm::kMd5Sess));
  EXPECT_FALSE(is_session_algorithm(DigestAlgorithm::kSha256));
  EXPECT_TRUE(is_session_algorithm(DigestAlgorithm::kSha256Sess));
  EXPECT_FALSE(is_session_algorithm(DigestAlgorithm::kSha512_256));
  EXPECT_TRUE(is_session_algorithm(DigestAlgorithm::kSha512_256Sess));
  EXPECT_EQ(base_algorithm(DigestAlgorithm::kMd5Sess), DigestAlgorithm::kMd5);
  EXPECT_EQ(base_algorithm(DigestAlgorithm::kSha256Sess), DigestAlgorithm::kSha256);
  EXPECT_EQ(base_algorithm(DigestAlgorithm::kSha512_256Sess), DigestAlgorithm::kSha512_256);
  EXPECT_EQ(base_algorithm(DigestAlgorithm::kSha256), DigestAlgorithm::kSha256);
  EXPECT_EQ(digest_hex_length(DigestAlgorithm::kMd5), 32u);
  EXPECT_EQ(digest_hex_length(DigestAlgorithm::kMd5Sess), 32u);
  EXPECT_EQ(digest_hex_length(DigestAlgorithm::kSha256), 64u);
  EXPECT_EQ(digest_hex_length(DigestAlgorithm::kSha512_256Sess), 64u);
  EXPECT_THAT(
      kOfferedDigestAlgorithms,
      ElementsAre(DigestAlgorithm::kSha512_256, DigestAlgorithm::kSha256, DigestAlgorithm::kMd5));
  for (DigestAlgorithm alg : kOfferedDigestAlgorithms) EXPECT_TRUE(digest_algorithm_available(alg));
}

// Verifies H() against the FIPS 180-4 / RFC 1321 known answers, in lower-case
// hex, and that -sess forms hash with their base function.
TEST(HashHex, KnownAnswers) {
  EXPECT_EQ(hash_hex(DigestAlgorithm::kMd5, ""), "d41d8cd98f00b204e9800998ecf8427e");
  EXPECT_EQ(hash_hex(DigestAlgorithm::kMd5, "abc"), "900150983cd24fb0d6963f7d28e17f72");
  EXPECT_EQ(hash_hex(DigestAlgorithm::kSha256, ""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(hash_hex(DigestAlgorithm::kSha256, "abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(hash_hex(DigestAlgorithm::kSha512_256, ""),
            "c672b8d1ef56ed28ab87c3622c5114069bdd3ad7b8f9737498d0c01ecef0967a");
  EXPECT_EQ(hash_hex(DigestAlgorithm::kSha512_256, "abc"),
            "53048e2681941ef99b2e29b76b4c7dabe4c2d0c634fc6d46e0e2f13107e7af23");
  EXPECT_EQ(hash_hex(DigestAlgorithm::kSha512_256Sess, "abc"),
            hash_hex(DigestAlgorithm::kSha512_256, "abc"));
  EXPECT_EQ(hash_hex(DigestAlgorithm::kMd5Sess, "abc"), hash_hex(DigestAlgorithm::kMd5, "abc"));
  // Embedded NUL bytes are hashed, not treated as an end.
  EXPECT_EQ(hash_hex(DigestAlgorithm::kMd5, std::string_view("a\0b", 3)),
            "70350f6027bce3713f6b76473084309b");
}

// Verifies auth-int with a body hashed here: HA2 takes H(body) as its third
// field, so the response differs from the same request with qop=auth.
TEST(ComputeResponse, AuthIntUsesTheBodyHash) {
  const std::string ha1 = compute_ha1(DigestAlgorithm::kMd5, "bob", "biloxi.com", "zanzibar");
  DigestRequest r{.method = "INVITE",
                  .uri = "sip:bob@biloxi.com",
                  .nonce = "dcd98b7102dd2f0e8b11d0f600bfb0c093",
                  .nc = "00000001",
                  .cnonce = "0a4f113b",
                  .qop = DigestQop::kAuthInt};
  const std::string empty_body = hash_hex(DigestAlgorithm::kMd5, "");
  r.body_hash_hex = empty_body;
  const std::string with_empty = compute_response(DigestAlgorithm::kMd5, ha1, r);
  // H(HA1:nonce:nc:cnonce:auth-int:H(INVITE:sip:bob@biloxi.com:H(""))).
  const std::string ha2 =
      hash_hex(DigestAlgorithm::kMd5, "INVITE:sip:bob@biloxi.com:" + empty_body);
  EXPECT_EQ(with_empty,
            hash_hex(DigestAlgorithm::kMd5, ha1 +
                                                ":dcd98b7102dd2f0e8b11d0f600bfb0c093:00000001:"
                                                "0a4f113b:auth-int:" +
                                                ha2));
  r.qop = DigestQop::kAuth;
  EXPECT_EQ(compute_response(DigestAlgorithm::kMd5, ha1, r), "89eb0059246c02b2f6ee02c7961d5ea3");
  EXPECT_NE(with_empty, "89eb0059246c02b2f6ee02c7961d5ea3");
}

// --- qop and nc -------------------------------------------------------------------

// Verifies qop tokens and their canonical names.
TEST(DigestQopToken, ParsesAuthAndAuthInt) {
  EXPECT_EQ(parse_digest_qop("auth"), DigestQop::kAuth);
  EXPECT_EQ(parse_digest_qop("AUTH"), DigestQop::kAuth);
  EXPECT_EQ(parse_digest_qop("auth-int"), DigestQop::kAuthInt);
  EXPECT_EQ(parse_digest_qop("Auth-Int"), DigestQop::kAuthInt);
  EXPECT_EQ(parse_digest_qop(""), std::nullopt);
  EXPECT_EQ(parse_digest_qop("auth,auth-int"), std::nullopt);
  EXPECT_EQ(parse_digest_qop("auth-conf"), std::nullopt);
  EXPECT_EQ(digest_qop_name(DigestQop::kNone), "");
  EXPECT_EQ(digest_qop_name(DigestQop::kAuth), "auth");
  EXPECT_EQ(digest_qop_name(DigestQop::kAuthInt), "auth-int");
}

// Verifies nc is exactly 8 hex digits, read as a 32-bit count.
TEST(NonceCountParam, ExactlyEightHexDigits) {
  EXPECT_EQ(parse_nonce_count("00000001"), 1u);
  EXPECT_EQ(parse_nonce_count("0000000a"), 10u);
  EXPECT_EQ(parse_nonce_count("0000000A"), 10u);
  EXPECT_EQ(parse_nonce_count("00000100"), 256u);
  EXPECT_EQ(parse_nonce_count("ffffffff"), 0xffffffffu);
  EXPECT_EQ(parse_nonce_count("00000000"), 0u);
  for (const char* bad : {"", "1", "0000001", "000000001", "0000000g", "-0000001", "0x000001",
                          " 0000001", "0000001 "}) {
    SCOPED_TRACE(bad);
    EXPECT_EQ(parse_nonce_count(bad), std::nullopt);
  }
}

// --- constant_time_equal ------------------------------------------------------------

// Verifies equality on content and length, including empty strings, prefixes
// and embedded NULs.
TEST(ConstantTimeEqual, ComparesContentAndLength) {
  EXPECT_TRUE(constant_time_equal("", ""));
  EXPECT_TRUE(
      constant_time_equal("6629fae49393a05397450978507c4ef1", "6629fae49393a05397450978507c4ef1"));
  EXPECT_FALSE(
      constant_time_equal("6629fae49393a05397450978507c4ef1", "6629fae49393a05397450978507c4ef2"));
  EXPECT_FALSE(
      constant_time_equal("7629fae49393a05397450978507c4ef1", "6629fae49393a05397450978507c4ef1"));
  EXPECT_FALSE(constant_time_equal("6629fae49393a05397450978507c4ef1",
                                   "6629FAE49393A05397450978507C4EF1"));  // hex is lower-case
  EXPECT_FALSE(constant_time_equal("", "a"));
  EXPECT_FALSE(constant_time_equal("abc", "ab"));
  EXPECT_FALSE(constant_time_equal("ab", "abc"));
  EXPECT_TRUE(constant_time_equal(std::string_view("a\0b", 3), std::string_view("a\0b", 3)));
  EXPECT_FALSE(constant_time_equal(std::string_view("a\0b", 3), std::string_view("a\0c", 3)));
}

}  // namespace
}  // namespace registrar
