// Stored credentials (registrar/credentials.h): HA1s from a password match the
// corpus, stored hashes are validated with clear errors, nothing secret is
// printed.
#include "registrar/credentials.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cctype>
#include <map>
#include <sstream>
#include <string>

#include "tests/registrar/corpus.h"

namespace registrar {
namespace {

using ::registrar::testing::CorpusRow;
using ::registrar::testing::read_corpus;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

// Verifies that, for every vectors.tsv row, the HA1 stored by from_password()
// for the row's algorithm gives the published HA1 and response.
TEST(CredentialFromPassword, MatchesEveryDigestVector) {
  const std::vector<CorpusRow> rows = read_corpus("vectors.tsv");
  ASSERT_EQ(rows.size(), 27u);
  for (const CorpusRow& row : rows) {
    SCOPED_TRACE(row.at("id"));
    const Credential c =
        Credential::from_password(row.at("realm"), row.at("username"), row.at("password"));
    const DigestAlgorithm alg = *parse_digest_algorithm(row.at("algorithm"));
    const std::optional<std::string_view> stored = c.ha1(alg);
    ASSERT_TRUE(stored.has_value());
    const std::string ha1 = is_session_algorithm(alg)
                                ? session_ha1(alg, *stored, row.at("nonce"), row.at("cnonce"))
                                : std::string(*stored);
    EXPECT_EQ(ha1, row.at("expected_ha1"));
    // What an authenticator does with it: recompute and compare in constant time.
    const DigestRequest request{
        .method = row.at("method"),
        .uri = row.at("uri"),
        .nonce = row.at("nonce"),
        .nc = row.at("nc"),
        .cnonce = row.at("cnonce"),
        .qop = row.at("qop").empty() ? DigestQop::kNone : *parse_digest_qop(row.at("qop")),
        .body_hash_hex = row.at("h_entity_body")};
    EXPECT_TRUE(
        constant_time_equal(expected_response(alg, *c.ha1_for(alg, row.at("username")), request),
                            row.at("expected_response")));
  }
}

// Verifies Hash1 and Hash1b from from_password() against every ha1.tsv row.
TEST(CredentialFromPassword, MatchesEveryStoredHashRow) {
  const std::vector<CorpusRow> rows = read_corpus("ha1.tsv");
  ASSERT_EQ(rows.size(), 8u);
  for (const CorpusRow& row : rows) {
    SCOPED_TRACE(row.at("id"));
    const Credential c = Credential::from_password(row.at("realm"), row.at("username"),
                                                   row.at("password"), row.at("domain"));
    EXPECT_EQ(c.domain(), row.at("domain"));
    if (row.at("kind") == "hash1") {
      EXPECT_EQ(c.ha1(DigestAlgorithm::kMd5), row.at("expected_md5"));
      EXPECT_EQ(c.ha1_for(DigestAlgorithm::kMd5, row.at("username")), row.at("expected_md5"));
    } else {
      ASSERT_EQ(row.at("kind"), "hash1b");
      EXPECT_EQ(c.hash1b(), row.at("expected_md5"));
      const std::string user_at_domain = row.at("username") + "@" + row.at("domain");
      EXPECT_EQ(c.ha1_for(DigestAlgorithm::kMd5, user_at_domain), row.at("expected_md5"));
      EXPECT_EQ(c.ha1_for(DigestAlgorithm::kMd5Sess, user_at_domain), row.at("expected_md5"));
    }
  }
}

// Verifies from_password() stores all three HA1s (each a known value), and
// hash1b only when a domain is given.
TEST(CredentialFromPassword, StoresEveryAlgorithm) {
  const Credential c = Credential::from_password("registrar.example", "erin", "hunter2");
  EXPECT_EQ(c.realm(), "registrar.example");
  EXPECT_EQ(c.username(), "erin");
  EXPECT_EQ(c.domain(), "");
  EXPECT_EQ(c.ha1(DigestAlgorithm::kMd5), compute_hash1("erin", "registrar.example", "hunter2"));
  EXPECT_EQ(c.ha1(DigestAlgorithm::kSha256),
            compute_ha1(DigestAlgorithm::kSha256, "erin", "registrar.example", "hunter2"));
  // reg-sha512256-*-erin in vectors.tsv.
  EXPECT_EQ(c.ha1(DigestAlgorithm::kSha512_256),
            "8ba8ac636edd88e4532d3dc17737de1d7c70c83c79ece4c503ad49f32d2f32d4");
  EXPECT_EQ(c.ha1(DigestAlgorithm::kSha512_256Sess), c.ha1(DigestAlgorithm::kSha512_256));
  EXPECT_EQ(c.hash1b(), std::nullopt);
  EXPECT_EQ(c.ha1_for(DigestAlgorithm::kMd5, "erin@registrar.example"), std::nullopt);
  EXPECT_THAT(
      c.offerable_algorithms(),
      ElementsAre(DigestAlgorithm::kSha512_256, DigestAlgorithm::kSha256, DigestAlgorithm::kMd5));
}

// Verifies ha1_for(): the plain username gets the HA1 of the algorithm;
// "user@domain" gets hash1b for MD5 only; anything else gets nothing.
TEST(CredentialFromPassword, Ha1ForPresentedUsername) {
  const Credential c =
      Credential::from_password("registrar.example", "sipuser1", "password", "registrar.example");
  EXPECT_EQ(c.ha1_for(DigestAlgorithm::kMd5, "sipuser1"), "03fa746d07cf2e464ac8a34df9b07806");
  EXPECT_EQ(c.ha1_for(DigestAlgorithm::kMd5, "sipuser1@registrar.example"),
            "89b33e2a9c08a02750765f2af75a2973");
  EXPECT_EQ(c.ha1_for(DigestAlgorithm::kSha256, "sipuser1@registrar.example"), std::nullopt);
  EXPECT_EQ(c.ha1_for(DigestAlgorithm::kSha256, "sipuser1"), c.ha1(DigestAlgorithm::kSha256));
  for (const char* other :
       {"SIPUSER1", "sipuser", "sipuser1@other.example", "sipuser1@registrar.example.",
        "sipuser1:registrar.example", "sipuser1@", ""}) {
    SCOPED_TRACE(other);
    EXPECT_EQ(c.ha1_for(DigestAlgorithm::kMd5, other), std::nullopt);
  }
}

// --- from_hashes ------------------------------------------------------------------

// Verifies stored hashes are accepted in either case, lower-cased, and equal
// to the credential computed from the password.
TEST(CredentialFromHashes, AcceptsValidHexInEitherCase) {
  const Credential from_password =
      Credential::from_password("registrar.example", "sipuser1", "password", "registrar.example");
  const std::string sha256 = std::string(*from_password.ha1(DigestAlgorithm::kSha256));
  std::string sha256_upper = sha256;
  for (char& ch : sha256_upper)
    ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  const auto r =
      Credential::from_hashes({.realm = "registrar.example",
                               .username = "sipuser1",
                               .domain = "registrar.example",
                               .ha1_md5 = "03FA746D07CF2E464AC8A34DF9B07806",
                               .ha1_sha256 = sha256_upper,
                               .ha1_sha512_256 = *from_password.ha1(DigestAlgorithm::kSha512_256),
                               .hash1b = "89b33e2a9c08a02750765f2af75a2973"});
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_THAT(r.error, IsEmpty());
  EXPECT_EQ(r.credential->ha1(DigestAlgorithm::kMd5), "03fa746d07cf2e464ac8a34df9b07806");
  EXPECT_EQ(r.credential->ha1(DigestAlgorithm::kSha256), sha256);
  EXPECT_EQ(*r.credential, from_password);
}

// Verifies a credential with only some hashes offers only those algorithms.
TEST(CredentialFromHashes, PartialHashesLimitTheOffer) {
  const auto r = Credential::from_hashes(
      {.realm = "registrar.example",
       .username = "dave",
       .ha1_sha256 = "1a07eda248321600b028414f777c5b37a003f13388b0282d7b1efc832b160902"});
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_FALSE(r.credential->supports(DigestAlgorithm::kMd5));
  EXPECT_FALSE(r.credential->supports(DigestAlgorithm::kSha512_256));
  EXPECT_TRUE(r.credential->supports(DigestAlgorithm::kSha256Sess));
  EXPECT_EQ(r.credential->ha1(DigestAlgorithm::kMd5), std::nullopt);
  EXPECT_THAT(r.credential->offerable_algorithms(), ElementsAre(DigestAlgorithm::kSha256));
  EXPECT_EQ(r.credential->hash1b(), std::nullopt);
}

// Verifies each kind of bad input is refused with a message naming the field
// and the problem (and never the value).
TEST(CredentialFromHashes, BadInputIsRefusedWithAClearMessage) {
  const std::string md5 = "03fa746d07cf2e464ac8a34df9b07806";
  const std::string sha = "1a07eda248321600b028414f777c5b37a003f13388b0282d7b1efc832b160902";
  struct Case {
    const char* what;
    StoredHashes in;
    const char* error;
  };
  const std::string md5_31 = md5.substr(0, 31);
  const std::string md5_33 = md5 + "0";
  const std::string md5_g = "03fa746d07cf2e464ac8a34df9b0780g";
  const std::string sha_63 = sha.substr(0, 63);
  const std::string sha_space = " " + sha.substr(1);
  const Case cases[] = {
      {"MD5 too short",
       {.realm = "r.example", .username = "u", .ha1_md5 = md5_31},
       "credential for \"u\" in realm \"r.example\": MD5 HA1 must be 32 hex digits, got 31 "
       "characters"},
      {"MD5 too long",
       {.realm = "r.example", .username = "u", .ha1_md5 = md5_33},
       "credential for \"u\" in realm \"r.example\": MD5 HA1 must be 32 hex digits, got 33 "
       "characters"},
      {"MD5 given a SHA-256 HA1",
       {.realm = "r.example", .username = "u", .ha1_md5 = sha},
       "credential for \"u\" in realm \"r.example\": MD5 HA1 must be 32 hex digits, got 64 "
       "characters"},
      {"SHA-256 given an MD5 HA1",
       {.realm = "r.example", .username = "u", .ha1_sha256 = md5},
       "credential for \"u\" in realm \"r.example\": SHA-256 HA1 must be 64 hex digits, got 32 "
       "characters"},
      {"SHA-512-256 too short",
       {.realm = "r.example", .username = "u", .ha1_sha512_256 = sha_63},
       "credential for \"u\" in realm \"r.example\": SHA-512-256 HA1 must be 64 hex digits, got "
       "63 characters"},
      {"non-hex character",
       {.realm = "r.example", .username = "u", .ha1_md5 = md5_g},
       "credential for \"u\" in realm \"r.example\": MD5 HA1 must be hex digits only; character "
       "32 is not"},
      {"leading space",
       {.realm = "r.example", .username = "u", .ha1_sha256 = sha_space},
       "credential for \"u\" in realm \"r.example\": SHA-256 HA1 must be hex digits only; "
       "character 1 is not"},
      {"empty string is not absent",
       {.realm = "r.example", .username = "u", .ha1_md5 = ""},
       "credential for \"u\" in realm \"r.example\": MD5 HA1 must be 32 hex digits, got 0 "
       "characters"},
      {"bad hash1b",
       {.realm = "r.example", .username = "u", .ha1_md5 = md5, .hash1b = md5_31},
       "credential for \"u\" in realm \"r.example\": hash1b must be 32 hex digits, got 31 "
       "characters"},
      {"no hash at all",
       {.realm = "r.example", .username = "u"},
       "credential for \"u\" in realm \"r.example\": no HA1 given"},
      {"empty realm", {.realm = "", .username = "u", .ha1_md5 = md5}, "credential: realm is empty"},
      {"empty username",
       {.realm = "r.example", .username = "", .ha1_md5 = md5},
       "credential: username is empty"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    const CredentialOrError r = Credential::from_hashes(c.in);
    EXPECT_FALSE(r.ok());
    EXPECT_EQ(r.credential, std::nullopt);
    EXPECT_EQ(r.error, c.error);
    EXPECT_THAT(r.error, Not(HasSubstr(md5.substr(0, 8))));
    EXPECT_THAT(r.error, Not(HasSubstr(sha.substr(0, 8))));
  }
}

// --- redaction ---------------------------------------------------------------------

// Verifies redacted(), operator<< and gtest's printer show the names and which
// hashes exist, and no part of any hash.
TEST(CredentialRedaction, NeverPrintsHashes) {
  const Credential c =
      Credential::from_password("registrar.example", "sipuser1", "password", "registrar.example");
  const std::string expected =
      "Credential{username=\"sipuser1\", realm=\"registrar.example\", "
      "domain=\"registrar.example\", ha1=[SHA-512-256,SHA-256,MD5], hash1b=yes}";
  EXPECT_EQ(c.redacted(), expected);
  std::ostringstream os;
  os << c;
  EXPECT_EQ(os.str(), expected);
  EXPECT_EQ(::testing::PrintToString(c), expected);
  for (const std::string_view secret :
       {*c.ha1(DigestAlgorithm::kMd5), *c.ha1(DigestAlgorithm::kSha256),
        *c.ha1(DigestAlgorithm::kSha512_256), *c.hash1b()}) {
    EXPECT_THAT(expected, Not(HasSubstr(std::string(secret.substr(0, 6)))));
  }
  EXPECT_THAT(expected, Not(HasSubstr("password")));

  const auto partial = Credential::from_hashes(
      {.realm = "r.example", .username = "u", .ha1_md5 = "03fa746d07cf2e464ac8a34df9b07806"});
  ASSERT_TRUE(partial.ok());
  EXPECT_EQ(partial.credential->redacted(),
            "Credential{username=\"u\", realm=\"r.example\", ha1=[MD5], hash1b=no}");
}

}  // namespace
}  // namespace registrar
