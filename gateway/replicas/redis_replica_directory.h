// gateway/replicas/redis_replica_directory.h — the replica directory in the
// Redis the replicas share (docs/scale-out.md, "Calls across replicas").
//
// Keys (prefix = store.prefix):
//   {prefix}replica:{id}     this replica's advertise address ("" when it has
//                            none), SET with PX ttl (10 s) and refreshed every
//                            heartbeat (2 s) by its own thread: a replica
//                            killed with kill -9 is gone within the TTL.
//                            Deleted on a clean stop.
//   {prefix}replicas         sorted set of replica ids (score: when the key
//                            expires, ms): lets peers() list replicas without
//                            a SCAN of the whole key space. Only the keys say
//                            who is live; members are pruned a minute after
//                            their key should have lapsed.
//   {prefix}replica-nodes    a counter: claim_node() takes the next value, a
//                            16-bit number that no other live replica holds
//                            unless 65,536 replicas started since (call ids
//                            carry it: gateway/calls/call_ids.h).
//
//   RedisReplicaDirectory directory(*url, {.prefix = "sb:", .id = "sb-0",
//                                          .advertise = "sb-0.sb.ns.svc:50051"});
//   auto node = directory.claim_node();   // before the call engine
//   directory.start();                    // heartbeat: once the API listens
//   …
//   directory.stop();                     // the key goes: peers see us gone at once
//
// Lookups (address_of, peers) read Redis at most once per `cache` (1 s) per
// question, on the caller's thread (bounded by the connection's timeouts);
// when Redis cannot be read, the last answer is kept (a replica is not
// declared gone because Redis hiccupped), and with none, "gone".
//
// Threading: every method from any thread; the heartbeat has its own thread
// and RedisConnection, lookups share one under a mutex.
#ifndef SWITCHBOARD_GATEWAY_REPLICAS_REDIS_REPLICA_DIRECTORY_H_
#define SWITCHBOARD_GATEWAY_REPLICAS_REDIS_REPLICA_DIRECTORY_H_

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "gateway/json_log.h"
#include "gateway/replicas/replica_directory.h"
#include "registrar/store/redis/redis_connection.h"

namespace switchboard::replicas {

struct RedisReplicaDirectoryOptions {
  std::string prefix = "sb:";
  std::string id;         // this replica (required)
  std::string advertise;  // "HOST:PORT"; "" = running, not reachable
  std::chrono::milliseconds ttl{10000};
  std::chrono::milliseconds heartbeat{2000};
  std::chrono::milliseconds cache{1000};
  registrar::RedisConnectionOptions connection;
  Logger* logger = nullptr;  // optional
};

class RedisReplicaDirectory final : public ReplicaDirectory {
 public:
  RedisReplicaDirectory(registrar::RedisUrl url, RedisReplicaDirectoryOptions options);
  ~RedisReplicaDirectory() override;  // stop()
  RedisReplicaDirectory(const RedisReplicaDirectory&) = delete;
  RedisReplicaDirectory& operator=(const RedisReplicaDirectory&) = delete;

  // A node number for this replica's call ids; nullopt (logged) when Redis
  // cannot be reached: ids are then random-started only.
  std::optional<uint16_t> claim_node();

  // Writes the heartbeat now (returns "" or why it failed; the thread keeps
  // trying either way) and refreshes it every `heartbeat` until stop().
  std::string start();
  // Stops the heartbeat and deletes the key. Idempotent.
  void stop();

  std::optional<std::string> address_of(std::string_view replica_id) override;
  std::vector<Peer> peers() override;

 private:
  using Steady = std::chrono::steady_clock;
  struct Cached {
    std::optional<std::string> address;
    Steady::time_point at;
  };

  std::string beat(registrar::RedisConnection& redis);
  std::string key(std::string_view id) const;
  int64_t now_ms() const;

  const RedisReplicaDirectoryOptions options_;
  const registrar::RedisUrl url_;

  std::mutex lookup_mu_;  // the lookup connection and both caches
  registrar::RedisConnection lookup_;
  std::map<std::string, Cached, std::less<>> addresses_;
  std::optional<std::vector<Peer>> peers_;
  Steady::time_point peers_at_{};

  std::mutex heartbeat_mu_;  // start()/stop()
  std::jthread heartbeat_;
  bool started_ = false;
};

}  // namespace switchboard::replicas

#endif  // SWITCHBOARD_GATEWAY_REPLICAS_REDIS_REPLICA_DIRECTORY_H_
