// Hostile input: seeded random mutations of the RFC 4475 messages (byte flips,
// insertions of SIP metacharacters, truncations, duplications) go through the
// parser, the UAS checks, the response builder and the stream framer. Nothing
// may crash, hang or read out of bounds (run under ASan in CI-like builds).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>

#include "sip/parser.h"
#include "sip/response.h"
#include "sip/stream_framer.h"
#include "sip/validate.h"

namespace sip {
namespace {

std::vector<std::string> corpus() {
  std::vector<std::string> out;
  for (const auto& e : std::filesystem::directory_iterator(SWITCHBOARD_RFC4475_DIR)) {
    if (e.path().extension() != ".dat") continue;
    std::ifstream in(e.path(), std::ios::binary);
    out.emplace_back(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  return out;
}

std::string mutate(std::string s, std::mt19937& rng) {
  static const char kMeta[] = {'\r', '\n', ' ', '\t', ';', ',', ':', '<', '>', '"', '\\', '%', '@',
                               '=', '[', ']', '?', '/', '\0', '\x7f', '\xff'};
  int edits = 1 + int(rng() % 8);
  for (int i = 0; i < edits && !s.empty(); ++i) {
    size_t pos = rng() % s.size();
    switch (rng() % 5) {
      case 0: s[pos] = kMeta[rng() % sizeof kMeta]; break;
      case 1: s.insert(pos, 1, kMeta[rng() % sizeof kMeta]); break;
      case 2: s.erase(pos, 1 + rng() % 16); break;
      case 3: s.resize(pos); break;
      case 4: s.insert(pos, s.substr(pos, std::min<size_t>(64, s.size() - pos))); break;
    }
  }
  return s;
}

TEST(Mutation, ParserSurvivesRandomDamage) {
  const auto seeds = corpus();
  ASSERT_FALSE(seeds.empty());
  std::mt19937 rng(4475);
  size_t parsed = 0, rejected = 0;
  RequestPolicy policy;
  policy.supported = {"path"};
  for (int round = 0; round < 20000; ++round) {
    std::string bytes = mutate(seeds[rng() % seeds.size()], rng);
    ParseResult r = parse_message(bytes);
    if (r.ok()) {
      ++parsed;
      const Message& m = r.message();
      (void)m.vias();
      (void)m.contacts();
      if (m.is_request()) {
        Verdict v = check_request(m, policy);
        if (v.ok() || m.via_count() > 0) {
          std::string wire = ResponseBuilder(m, v.ok() ? 200 : v.status, v.reason)
                                 .to_tag("x")
                                 .received_from("192.0.2.1", 5060)
                                 .build();
          // What we send must always parse.
          ParseResult back = parse_message(wire);
          if (m.from() && m.to() && m.top_via()) {
            EXPECT_TRUE(back.ok()) << wire;
          }
        }
      }
      (void)serialize(m);
    } else {
      ++rejected;
      (void)build_error_for_unparsed(bytes, r.error().status, r.error().reason, "192.0.2.1", 5060, "x");
    }
    StreamFramer framer;
    framer.append(bytes);
    for (int i = 0; i < 8 && framer.next().kind == StreamFramer::Kind::kMessage; ++i) {
    }
  }
  EXPECT_GT(parsed, 100u);
  EXPECT_GT(rejected, 100u);
}

}  // namespace
}  // namespace sip
