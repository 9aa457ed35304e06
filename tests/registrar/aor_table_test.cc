// AorTable and AorRecord (registrar/aor_table.h): lookups across growth and
// collisions, binding sets of any size, and references that keep a dead
// record's AOR readable.
#include "registrar/aor_table.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "binding_fixtures.h"

namespace registrar {
namespace {

using testing::make_binding;

size_t hash_of(std::string_view aor) { return std::hash<std::string_view>{}(aor); }

std::vector<CompactBinding> packed(std::string_view aor, int n, ProfilePool& pool) {
  std::vector<CompactBinding> out;
  for (int i = 0; i < n; ++i) {
    const Binding b = make_binding(std::string(aor), "sip:c" + std::to_string(i) + "@192.0.2.1",
                                   testing::wall_ms(1000 + i));
    out.push_back(CompactBinding::pack(b, aor, pool));
  }
  return out;
}

// Verifies records are found by AOR while the table grows, and erased ones are gone.
TEST(AorTable, FindEmplaceEraseAcrossGrowth) {
  ProfilePool pool;
  AorTable table;
  std::vector<AorRecord*> records;
  for (int i = 0; i < 1000; ++i) {
    const std::string aor = "user" + std::to_string(i) + "@acme.test";
    ASSERT_EQ(table.find(aor, hash_of(aor)), nullptr);
    AorRecord* r = table.emplace(aor, hash_of(aor));
    r->set_bindings(packed(aor, 1, pool));
    records.push_back(r);
  }
  EXPECT_EQ(table.size(), 1000u);
  for (int i = 0; i < 1000; ++i) {
    const std::string aor = "user" + std::to_string(i) + "@acme.test";
    ASSERT_EQ(table.find(aor, hash_of(aor)), records[i]) << aor;
    EXPECT_EQ(records[i]->aor(), aor);
  }
  for (int i = 0; i < 1000; i += 2) {
    records[i]->set_bindings({});
    table.erase(records[i]);
  }
  EXPECT_EQ(table.size(), 500u);
  for (int i = 0; i < 1000; ++i) {
    const std::string aor = "user" + std::to_string(i) + "@acme.test";
    EXPECT_EQ(table.find(aor, hash_of(aor)), i % 2 == 0 ? nullptr : records[i]) << aor;
  }
}

// Verifies AORs whose hashes collide are told apart, and one is erased from the
// middle of a chain without losing the others.
TEST(AorTable, CollidingHashes) {
  AorTable table;
  constexpr size_t kSameHash = 0x1234'5678'0000'0001;
  AorRecord* a = table.emplace("a@acme.test", kSameHash);
  AorRecord* b = table.emplace("b@acme.test", kSameHash);
  AorRecord* c = table.emplace("c@acme.test", kSameHash);
  table.erase(b);
  EXPECT_EQ(table.find("a@acme.test", kSameHash), a);
  EXPECT_EQ(table.find("b@acme.test", kSameHash), nullptr);
  EXPECT_EQ(table.find("c@acme.test", kSameHash), c);
  EXPECT_EQ(table.find("a@acme.test", kSameHash ^ (size_t{1} << 40)), nullptr)
      << "the hash (bits 32..63) is compared too";
}

// Verifies a record holds 0, 1 or many bindings, inline or in an array, in order.
TEST(AorRecord, BindingSetsOfAnySize) {
  ProfilePool pool;
  AorTable table;
  const std::string aor = "alice@acme.test";
  AorRecord* r = table.emplace(aor, hash_of(aor));
  EXPECT_TRUE(r->empty());
  for (int n : {1, 3, 1, 5, 0, 2}) {
    SCOPED_TRACE(n);
    r->set_bindings(packed(aor, n, pool));
    ASSERT_EQ(r->bindings().size(), static_cast<size_t>(n));
    for (int i = 0; i < n; ++i) {
      EXPECT_EQ(r->bindings()[i].unpack(aor).contact, "sip:c" + std::to_string(i) + "@192.0.2.1");
    }
  }
  r->set_bindings({});
  EXPECT_EQ(pool.size(), 0u);
}

// Verifies a reference keeps an erased (dead) record's AOR readable, and that
// the table frees what it still holds when destroyed.
TEST(AorRecord, ReferenceOutlivesTheTable) {
  ProfilePool pool;
  AorRecordRef kept;
  {
    AorTable table;
    AorRecord* r = table.emplace("alice@acme.test", hash_of("alice@acme.test"));
    r->set_bindings(packed("alice@acme.test", 2, pool));
    kept = AorRecordRef(r);
    AorRecordRef copy = kept;
    r->set_bindings({});
    table.erase(r);
    EXPECT_EQ(copy->aor(), "alice@acme.test");
    AorRecord* other = table.emplace("bob@acme.test", hash_of("bob@acme.test"));
    other->set_bindings(packed("bob@acme.test", 1, pool));
  }
  EXPECT_TRUE(kept->empty());
  EXPECT_EQ(kept->aor(), "alice@acme.test");
  EXPECT_EQ(pool.size(), 0u) << "the table released bob's binding";
}

}  // namespace
}  // namespace registrar
