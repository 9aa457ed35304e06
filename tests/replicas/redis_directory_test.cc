// The replica directory in Redis against a real redis-server (skipped
// without one): heartbeats list a replica with its address, a clean stop
// removes it at once, a killed one (no more heartbeats) is gone after the
// TTL, node numbers differ.
#include <gtest/gtest.h>

#include <thread>

#include "gateway/replicas/redis_replica_directory.h"
#include "tests/registrar/redis_server.h"

namespace {

using namespace std::chrono_literals;
using registrar::testing::RedisServer;
using switchboard::replicas::Peer;
using switchboard::replicas::RedisReplicaDirectory;
using switchboard::replicas::RedisReplicaDirectoryOptions;

class RedisDirectory : public testing::Test {
 protected:
  void SetUp() override {
    if (!RedisServer::available()) GTEST_SKIP() << RedisServer::kNotInstalled;
    ASSERT_TRUE(redis.start()) << redis.error();
  }
  RedisReplicaDirectoryOptions options(std::string id, std::string advertise) {
    RedisReplicaDirectoryOptions o;
    o.prefix = "t:";
    o.id = std::move(id);
    o.advertise = std::move(advertise);
    o.cache = 0ms;  // every lookup reads Redis
    return o;
  }
  registrar::RedisUrl url() { return redis.url(); }
  RedisServer redis;
};

TEST_F(RedisDirectory, HeartbeatListsAndCleanStopRemoves) {
  RedisReplicaDirectory a(url(), options("sb-0", "10.0.0.1:50051"));
  RedisReplicaDirectory b(url(), options("sb-1", "10.0.0.2:50051"));
  RedisReplicaDirectory c(url(), options("sb-2", ""));  // runs, not reachable
  ASSERT_EQ(a.start(), "");
  ASSERT_EQ(b.start(), "");
  ASSERT_EQ(c.start(), "");
  EXPECT_EQ(b.address_of("sb-0"), "10.0.0.1:50051");
  EXPECT_EQ(b.address_of("sb-2"), "");
  EXPECT_EQ(b.address_of("sb-9"), std::nullopt);
  EXPECT_EQ(b.peers(), (std::vector<Peer>{{"sb-0", "10.0.0.1:50051"}}));
  a.stop();
  EXPECT_EQ(b.address_of("sb-0"), std::nullopt);
  EXPECT_TRUE(b.peers().empty());
}

// kill -9: the heartbeat stops without the key being deleted; it lapses
// after the TTL.
TEST_F(RedisDirectory, AReplicaWithoutHeartbeatIsGoneAfterTheTtl) {
  RedisReplicaDirectoryOptions o = options("sb-0", "10.0.0.1:50051");
  o.ttl = 300ms;
  o.heartbeat = 60s;  // never again within the test: as if killed
  RedisReplicaDirectory a(url(), o);
  RedisReplicaDirectory b(url(), options("sb-1", "10.0.0.2:50051"));
  ASSERT_EQ(a.start(), "");
  EXPECT_EQ(b.address_of("sb-0"), "10.0.0.1:50051");
  std::this_thread::sleep_for(500ms);
  EXPECT_EQ(b.address_of("sb-0"), std::nullopt);
  EXPECT_TRUE(b.peers().empty());
}

TEST_F(RedisDirectory, NodesDiffer) {
  RedisReplicaDirectory a(url(), options("sb-0", ""));
  RedisReplicaDirectory b(url(), options("sb-1", ""));
  auto na = a.claim_node(), nb = b.claim_node();
  ASSERT_TRUE(na && nb);
  EXPECT_NE(*na, *nb);
}

// Redis going away keeps the last answer rather than declaring replicas gone.
TEST_F(RedisDirectory, LastAnswerKeptWhileRedisIsDown) {
  RedisReplicaDirectory a(url(), options("sb-0", "10.0.0.1:50051"));
  RedisReplicaDirectoryOptions o = options("sb-1", "");
  o.connection.connect_timeout = 200ms;
  o.connection.io_timeout = 200ms;
  RedisReplicaDirectory b(url(), o);
  ASSERT_EQ(a.start(), "");
  EXPECT_EQ(b.address_of("sb-0"), "10.0.0.1:50051");
  EXPECT_EQ(b.peers(), (std::vector<Peer>{{"sb-0", "10.0.0.1:50051"}}));
  redis.stop();
  EXPECT_EQ(b.address_of("sb-0"), "10.0.0.1:50051");
  EXPECT_EQ(b.peers(), (std::vector<Peer>{{"sb-0", "10.0.0.1:50051"}}));
}

}  // namespace
