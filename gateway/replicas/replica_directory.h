// gateway/replicas/replica_directory.h — which replicas are running and
// where their API is, as the other replicas dial it (docs/scale-out.md).
//
// A replica is "live" while its heartbeat is fresh; a replica without one is
// gone (stopped, or killed: its heartbeat lapses within the TTL). A live
// replica may advertise no address (replica.advertise unset): it runs, but
// nobody can forward to it.
//
//   std::optional<std::string> a = directory.address_of("sb-0");
//   if (!a) …            // gone: calls to the devices it held cannot be made
//   else if (a->empty()) // running, unreachable (no replica.advertise)
//   else dial(*a);       // "sb-0.switchboard.ns.svc:50051"
//   for (const Peer& p : directory.peers()) …   // every other reachable live replica
//
// Implementations: RedisReplicaDirectory (redis_replica_directory.h, the
// heartbeat keys in the shared Redis) and StaticReplicaDirectory (below,
// in memory: tests).
//
// Threading: every method from any thread at once.
#ifndef SWITCHBOARD_GATEWAY_REPLICAS_REPLICA_DIRECTORY_H_
#define SWITCHBOARD_GATEWAY_REPLICAS_REPLICA_DIRECTORY_H_

#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace switchboard::replicas {

struct Peer {
  std::string id;       // its replica.id
  std::string address;  // its replica.advertise, "HOST:PORT" (never "" here)
  bool operator==(const Peer&) const = default;
};

class ReplicaDirectory {
 public:
  virtual ~ReplicaDirectory() = default;

  // nullopt: `replica_id` is gone (no live heartbeat). "": it runs but
  // advertises no address. Else its "HOST:PORT". This replica's own id gives
  // its own address.
  virtual std::optional<std::string> address_of(std::string_view replica_id) = 0;

  // Every other live replica with an address, sorted by id.
  virtual std::vector<Peer> peers() = 0;
};

// In memory, set by hand: tests, and a fixed set of replicas.
class StaticReplicaDirectory final : public ReplicaDirectory {
 public:
  explicit StaticReplicaDirectory(std::string self) : self_(std::move(self)) {}

  // `id` is live at `address` ("" = live, no address).
  void set(const std::string& id, const std::string& address);
  // `id` is gone.
  void remove(const std::string& id);

  std::optional<std::string> address_of(std::string_view replica_id) override;
  std::vector<Peer> peers() override;

 private:
  const std::string self_;
  std::mutex mu_;
  std::map<std::string, std::string, std::less<>> live_;
};

}  // namespace switchboard::replicas

#endif  // SWITCHBOARD_GATEWAY_REPLICAS_REPLICA_DIRECTORY_H_
