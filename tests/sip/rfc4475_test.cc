// RFC 4475 torture messages: every file in shared/corpus/rfc4475 is handled as
// the RFC (and the corpus INDEX.tsv) says. Valid messages parse with the fields
// the index names; invalid ones are refused by the parser or by the UAS checks
// with the expected status.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <map>
#include <set>
#include <sstream>
#include <string>

#include "sip/lex.h"
#include "sip/parser.h"
#include "sip/validate.h"

namespace sip {
namespace {

std::string corpus_path(const std::string& file) { return std::string(SWITCHBOARD_RFC4475_DIR) + "/" + file; }

std::string load(const std::string& file) {
  std::ifstream in(corpus_path(file), std::ios::binary);
  EXPECT_TRUE(in.good()) << "cannot open " << corpus_path(file);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

struct IndexRow {
  std::string file, section, category;
  size_t bytes = 0;
};

std::vector<IndexRow> load_index() {
  std::ifstream in(corpus_path("INDEX.tsv"), std::ios::binary);
  std::vector<IndexRow> rows;
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    std::vector<std::string> cols;
    std::stringstream ss(line);
    std::string col;
    while (std::getline(ss, col, '\t')) cols.push_back(col);
    if (cols.size() < 8) continue;
    rows.push_back({cols[0], cols[1], cols[2], std::stoul(cols[6])});
  }
  return rows;
}

RequestPolicy uas_policy() {
  RequestPolicy p;
  p.supported = {"path", "outbound"};
  return p;
}

// What a UAS does with the datagram: the status it answers, 0 to process it,
// -1 to drop it (responses, or nothing to answer to).
int uas_outcome(const std::string& bytes) {
  ParseResult r = parse_message(bytes);
  if (!r.ok()) return r.error().status;
  if (r.message().is_response()) return response_acceptable(r.message()) ? 0 : -1;
  return check_request(r.message(), uas_policy()).status;
}

TEST(Rfc4475, CorpusIsIntact) {
  auto rows = load_index();
  ASSERT_EQ(rows.size(), 50u);
  for (const IndexRow& row : rows) EXPECT_EQ(load(row.file).size(), row.bytes) << row.file;
}

// Every message the RFC calls valid (or valid but odd) parses.
TEST(Rfc4475, EveryValidMessageParses) {
  for (const IndexRow& row : load_index()) {
    if (row.category == "invalid") continue;
    ParseResult r = parse_message(load(row.file));
    EXPECT_TRUE(r.ok()) << row.file << ": " << (r.ok() ? "" : r.error().reason);
  }
}

// Every message gets the outcome the RFC asks of a UAS, and nothing crashes.
TEST(Rfc4475, UasOutcomeMatchesTheRfc) {
  const std::map<std::string, std::set<int>> expected = {
      // 3.1.1 valid: processed by the UAS (method handling comes later).
      {"wsinv.dat", {0}}, {"intmeth.dat", {0}}, {"esc01.dat", {0}}, {"escnull.dat", {0}},
      {"esc02.dat", {0}}, {"lwsdisp.dat", {0}}, {"longreq.dat", {0}}, {"dblreq.dat", {0}},
      {"semiuri.dat", {0}}, {"transports.dat", {0}}, {"mpart01.dat", {0}}, {"unreason.dat", {0}},
      {"noreason.dat", {0}},
      // 3.1.2 invalid.
      {"badinv01.dat", {400}}, {"clerr.dat", {400}}, {"ncl.dat", {400}}, {"scalar02.dat", {400}},
      {"scalarlg.dat", {400, -1}}, {"quotbal.dat", {400}}, {"ltgtruri.dat", {400}},
      {"lwsruri.dat", {400}}, {"lwsstart.dat", {400, 0}}, {"trws.dat", {400, 0}},
      {"escruri.dat", {400, 0}}, {"baddate.dat", {400, 0}}, {"regbadct.dat", {400, 0}},
      {"badaspec.dat", {400, 0}}, {"baddn.dat", {400}}, {"badvers.dat", {505}},
      {"mismatch01.dat", {400}}, {"mismatch02.dat", {400, 501}}, {"bigcode.dat", {400, -1}},
      // 3.2 - 3.4 valid but odd.
      {"badbranch.dat", {0, 400}}, {"insuf.dat", {400}}, {"unkscm.dat", {416}},
      {"novelsc.dat", {416}}, {"unksm2.dat", {0}}, {"bext01.dat", {420}}, {"invut.dat", {0}},
      {"regaut01.dat", {0}}, {"multi01.dat", {400}}, {"mcl01.dat", {400}}, {"bcast.dat", {0}},
      {"zeromf.dat", {0}}, {"cparam01.dat", {0}}, {"cparam02.dat", {0}}, {"regescrt.dat", {0}},
      {"sdp01.dat", {0}}, {"inv2543.dat", {0}}, {"test.dat", {400, -1}},
  };
  auto rows = load_index();
  ASSERT_EQ(expected.size(), rows.size());
  for (const IndexRow& row : rows) {
    auto it = expected.find(row.file);
    ASSERT_NE(it, expected.end()) << row.file;
    int outcome = uas_outcome(load(row.file));
    EXPECT_THAT(it->second, testing::Contains(outcome)) << row.file << " (" << row.section << ")";
  }
}

TEST(Rfc4475, WsinvFoldedEverything) {
  ParseResult r = parse_message(load("wsinv.dat"));
  ASSERT_TRUE(r.ok()) << r.error().reason;
  const Message& m = r.message();
  EXPECT_EQ(m.method(), "INVITE");
  EXPECT_EQ(m.request_uri().text, "sip:vivekg@chair-dnrc.example.com;unknownparam");
  EXPECT_TRUE(m.request_uri().param("unknownparam").has_value());
  EXPECT_EQ(m.via_count(), 3u);
  auto vias = m.vias();
  ASSERT_EQ(vias.size(), 3u);
  EXPECT_EQ(vias[0].transport, "UDP");
  EXPECT_EQ(vias[0].host, "192.0.2.2");
  EXPECT_EQ(vias[0].branch(), "390skdjuw");
  EXPECT_EQ(vias[1].transport, "TCP");
  EXPECT_EQ(vias[1].host, "spindle.example.com");
  EXPECT_EQ(vias[1].branch(), "z9hG4bK9ikj8");
  EXPECT_EQ(vias[2].host, "192.168.255.111");
  EXPECT_EQ(vias[2].branch(), "z9hG4bK30239");
  EXPECT_EQ(m.cseq()->seq, 9u);
  EXPECT_EQ(m.cseq()->method, "INVITE");
  EXPECT_EQ(m.max_forwards(), 68u);
  EXPECT_EQ(m.to()->tag(), "1918181833n");
  EXPECT_EQ(m.from()->tag(), "98asjd8");
  EXPECT_EQ(m.from()->display_name_text(), "J Rosenberg \\\"");
  EXPECT_EQ(m.find("Subject")->value, "");
  EXPECT_EQ(m.find("UnknownHeaderWithUnusualValue")->value, ";;,,;;,;");
  EXPECT_EQ(lex::unfold(m.find("NewFangledHeader")->value), "newfangled value continued newfangled value");
  auto contacts = m.contacts();
  ASSERT_EQ(contacts.size(), 1u);
  EXPECT_EQ(contacts[0].display_name_text(), "Quoted string \"\"");
  EXPECT_EQ(contacts[0].param("newparam"), "newvalue");
  EXPECT_EQ(contacts[0].param("q"), "0.33");
  EXPECT_TRUE(contacts[0].param("secondparam").has_value());
  EXPECT_EQ(m.body().size(), 150u);
}

TEST(Rfc4475, IntmethKeepsTheMethodToken) {
  ParseResult r = parse_message(load("intmeth.dat"));
  ASSERT_TRUE(r.ok()) << r.error().reason;
  EXPECT_EQ(r.message().method(), "!interesting-Method0123456789_*+`.%indeed'~");
  EXPECT_EQ(r.message().method_id(), Method::kUnknown);
  EXPECT_EQ(r.message().content_length(), 0u);
}

TEST(Rfc4475, Esc01UnescapesOnce) {
  ParseResult r = parse_message(load("esc01.dat"));
  ASSERT_TRUE(r.ok()) << r.error().reason;
  const Message& m = r.message();
  EXPECT_EQ(lex::unescape(m.request_uri().user), "sips:user@example.com");
  EXPECT_EQ(m.request_uri().host, "example.net");
  EXPECT_EQ(lex::unescape(m.to()->uri.user), "user");
  auto contacts = m.contacts();
  ASSERT_EQ(contacts.size(), 1u);
  std::vector<std::string> params;
  for (const Param& p : contacts[0].uri.param_list())
    params.push_back(lex::unescape(p.name) + "=" + lex::unescape(p.value));
  EXPECT_THAT(params, testing::ElementsAre("lr=", "name=value%41"));
}

TEST(Rfc4475, EscnullKeepsEscapedNul) {
  ParseResult r = parse_message(load("escnull.dat"));
  ASSERT_TRUE(r.ok()) << r.error().reason;
  std::string user = lex::unescape(r.message().to()->uri.user);
  EXPECT_EQ(user, std::string("null-\0-null", 11));
  auto contacts = r.message().contacts();
  ASSERT_EQ(contacts.size(), 2u);
  EXPECT_FALSE(uri_equal(contacts[0].uri, contacts[1].uri));
}

TEST(Rfc4475, Esc02HasTwoContactsAndAnUnknownMethod) {
  ParseResult r = parse_message(load("esc02.dat"));
  ASSERT_TRUE(r.ok()) << r.error().reason;
  EXPECT_EQ(r.message().method(), "RE%47IST%45R");
  EXPECT_EQ(r.message().method_id(), Method::kUnknown);
  EXPECT_EQ(r.message().contact_count(), 2u);
  EXPECT_NE(r.message().find("C%6Fntact"), nullptr);
}

TEST(Rfc4475, LongreqHas34Vias) {
  ParseResult r = parse_message(load("longreq.dat"));
  ASSERT_TRUE(r.ok()) << r.error().reason;
  EXPECT_EQ(r.message().via_count(), 34u);
  EXPECT_EQ(r.message().body().size(), 150u);
}

TEST(Rfc4475, DblreqIgnoresTrailingDatagramNoise) {
  std::string bytes = load("dblreq.dat");
  ParseResult r = parse_message(bytes);
  ASSERT_TRUE(r.ok()) << r.error().reason;
  EXPECT_EQ(r.message().method(), "REGISTER");
  EXPECT_TRUE(r.message().body().empty());
  EXPECT_LT(r.message().bytes().size(), bytes.size());
  EXPECT_EQ(r.message().bytes().find("INVITE"), std::string_view::npos);
}

TEST(Rfc4475, SemiuriUserHoldsTheSemicolon) {
  ParseResult r = parse_message(load("semiuri.dat"));
  ASSERT_TRUE(r.ok()) << r.error().reason;
  const Uri& u = r.message().request_uri();
  EXPECT_EQ(lex::unescape(u.user), "user;par=u@example.net");
  EXPECT_EQ(u.host, "example.com");
  EXPECT_TRUE(u.params.empty());
}

TEST(Rfc4475, TransportsKeepsUnknownTransport) {
  ParseResult r = parse_message(load("transports.dat"));
  ASSERT_TRUE(r.ok()) << r.error().reason;
  std::vector<std::string> t;
  for (const Via& v : r.message().vias()) t.emplace_back(v.transport);
  EXPECT_THAT(t, testing::ElementsAre("UDP", "SCTP", "TLS", "UNKNOWN", "TCP"));
}

TEST(Rfc4475, Mpart01BodyFramedByContentLength) {
  ParseResult r = parse_message(load("mpart01.dat"));
  ASSERT_TRUE(r.ok()) << r.error().reason;
  EXPECT_EQ(r.message().body().size(), 553u);
  EXPECT_NE(r.message().body().find('\0'), std::string_view::npos);
}

TEST(Rfc4475, ResponsesWithOddReasonPhrases) {
  ParseResult unreason = parse_message(load("unreason.dat"));
  ASSERT_TRUE(unreason.ok()) << unreason.error().reason;
  EXPECT_EQ(unreason.message().status_code(), 200);
  EXPECT_THAT(std::string(unreason.message().reason_phrase()), testing::HasSubstr("простое"));
  ParseResult noreason = parse_message(load("noreason.dat"));
  ASSERT_TRUE(noreason.ok()) << noreason.error().reason;
  EXPECT_EQ(noreason.message().status_code(), 100);
  EXPECT_EQ(noreason.message().reason_phrase(), "");
}

TEST(Rfc4475, ContactParamsVersusUriParams) {
  ParseResult c1 = parse_message(load("cparam01.dat"));
  ASSERT_TRUE(c1.ok()) << c1.error().reason;
  auto a = c1.message().contacts();
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].uri.text, "sip:+19725552222@gw1.example.net");
  EXPECT_TRUE(a[0].param("unknownparam").has_value());

  ParseResult c2 = parse_message(load("cparam02.dat"));
  ASSERT_TRUE(c2.ok()) << c2.error().reason;
  auto b = c2.message().contacts();
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(b[0].uri.text, "sip:+19725552222@gw1.example.net;unknownparam");
  EXPECT_TRUE(b[0].uri.param("unknownparam").has_value());

  ParseResult rt = parse_message(load("regescrt.dat"));
  ASSERT_TRUE(rt.ok()) << rt.error().reason;
  auto c = rt.message().contacts();
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].uri.headers, "Route=%3Csip:sip.example.com%3E");
}

TEST(Rfc4475, Inv2543BodyRunsToTheEndOfTheDatagram) {
  ParseResult r = parse_message(load("inv2543.dat"));
  ASSERT_TRUE(r.ok()) << r.error().reason;
  EXPECT_FALSE(r.message().content_length().has_value());
  EXPECT_EQ(r.message().body().size(), 105u);
  EXPECT_FALSE(r.message().top_via()->rfc3261_branch());
}

TEST(Rfc4475, Bext01ListsTheUnsupportedTags) {
  ParseResult r = parse_message(load("bext01.dat"));
  ASSERT_TRUE(r.ok());
  Verdict v = check_request(r.message(), uas_policy());
  EXPECT_EQ(v.status, 420);
  EXPECT_EQ(v.unsupported, "nothingSupportsThis, nothingSupportsThisEither");
}

TEST(Rfc4475, ScalarOverflowsAreRejectedNotWrapped) {
  ParseResult r = parse_message(load("scalar02.dat"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().status, 400);
  EXPECT_THAT(r.error().reason, testing::HasSubstr("CSeq"));
}

TEST(Rfc4475, StreamFramingOfFramingErrors) {
  // Over a stream the parser sees exactly the framed bytes: a Content-Length
  // that disagrees with them is an error.
  ParseResult r = parse_message(load("clerr.dat"), Framing::kStream);
  EXPECT_FALSE(r.ok());
}

}  // namespace
}  // namespace sip
