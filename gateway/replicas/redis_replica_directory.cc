// gateway/replicas/redis_replica_directory.cc — see redis_replica_directory.h.
#include "gateway/replicas/redis_replica_directory.h"

#include <algorithm>

namespace switchboard::replicas {
namespace {

// How long after its key should have lapsed a member leaves {prefix}replicas
// (generous: the score is written with the writer's clock).
constexpr int64_t kPruneAfterMs = 60'000;

}  // namespace

RedisReplicaDirectory::RedisReplicaDirectory(registrar::RedisUrl url,
                                             RedisReplicaDirectoryOptions options)
    : options_(std::move(options)), url_(url), lookup_(std::move(url), options_.connection) {}

RedisReplicaDirectory::~RedisReplicaDirectory() { stop(); }

std::string RedisReplicaDirectory::key(std::string_view id) const {
  return options_.prefix + "replica:" + std::string(id);
}

int64_t RedisReplicaDirectory::now_ms() const {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::optional<uint16_t> RedisReplicaDirectory::claim_node() {
  std::lock_guard lock(lookup_mu_);
  registrar::RedisResult r = lookup_.command({"INCR", options_.prefix + "replica-nodes"});
  std::optional<long long> n = r.ok() ? r.reply.as_integer() : std::nullopt;
  if (!n) {
    if (options_.logger != nullptr)
      options_.logger->warn("replica node not claimed",
                            {{"error", r.ok() ? registrar::redis_error("INCR", r.reply) : r.error},
                             {"hint", "call ids fall back to random sequences"}});
    return std::nullopt;
  }
  return uint16_t(*n & 0xffff);
}

std::string RedisReplicaDirectory::beat(registrar::RedisConnection& redis) {
  const int64_t now = now_ms();
  const std::string ttl = std::to_string(options_.ttl.count());
  registrar::RedisPipelineResult p = redis.pipeline({
      {"SET", key(options_.id), options_.advertise, "PX", ttl},
      {"ZADD", options_.prefix + "replicas", std::to_string(now + options_.ttl.count()),
       options_.id},
      {"ZREMRANGEBYSCORE", options_.prefix + "replicas", "-inf",
       "(" + std::to_string(now - kPruneAfterMs)},
  });
  if (!p.ok()) return p.error;
  for (const registrar::RedisReply& reply : p.replies)
    if (reply.is_error()) return registrar::redis_error("heartbeat", reply);
  return "";
}

std::string RedisReplicaDirectory::start() {
  std::lock_guard lock(heartbeat_mu_);
  if (started_) return "";
  started_ = true;
  // The first beat on the caller's thread, so that the replica is listed
  // as soon as start() returns (when Redis answers).
  auto redis = std::make_shared<registrar::RedisConnection>(url_, options_.connection);
  std::string error = beat(*redis);
  heartbeat_ = std::jthread([this, redis](const std::stop_token& stop) {
    std::mutex mu;
    std::condition_variable_any cv;
    bool failing = false;
    while (!stop.stop_requested()) {
      {
        std::unique_lock sleeping(mu);
        cv.wait_for(sleeping, stop, options_.heartbeat, [] { return false; });
      }
      if (stop.stop_requested()) break;
      std::string why = beat(*redis);
      // Log the change, not every beat: Redis down means a beat fails every 2 s.
      if (!why.empty() && !failing && options_.logger != nullptr)
        options_.logger->warn("replica heartbeat failing",
                              {{"replica", options_.id},
                               {"error", why},
                               {"hint", "other replicas see this one as gone after the TTL"}});
      if (why.empty() && failing && options_.logger != nullptr)
        options_.logger->info("replica heartbeat back", {{"replica", options_.id}});
      failing = !why.empty();
    }
    // A clean stop: gone at once, rather than after the TTL.
    redis->pipeline({{"DEL", key(options_.id)},
                     {"ZREM", options_.prefix + "replicas", options_.id}});
  });
  return error;
}

void RedisReplicaDirectory::stop() {
  std::lock_guard lock(heartbeat_mu_);
  if (!heartbeat_.joinable()) return;
  heartbeat_.request_stop();
  heartbeat_.join();
}

std::optional<std::string> RedisReplicaDirectory::address_of(std::string_view replica_id) {
  if (replica_id == options_.id) return options_.advertise;
  const auto now = Steady::now();
  std::lock_guard lock(lookup_mu_);
  auto it = addresses_.find(replica_id);
  if (it != addresses_.end() && now - it->second.at < options_.cache) return it->second.address;
  registrar::RedisResult r = lookup_.command({"GET", key(replica_id)});
  if (!r.ok() || r.reply.is_error()) {
    // Keep the last answer: Redis trouble is not a replica's death. And keep
    // it for `cache` too, so that callers do not queue behind one reconnect
    // attempt (1 s) each while Redis is away.
    if (it != addresses_.end()) {
      it->second.at = now;
      return it->second.address;
    }
    return std::nullopt;
  }
  std::optional<std::string> address;
  if (r.reply.is_string()) address = r.reply.str;
  if (addresses_.size() >= 1024) addresses_.clear();  // bounded; ids are few
  addresses_[std::string(replica_id)] = Cached{address, now};
  return address;
}

std::vector<Peer> RedisReplicaDirectory::peers() {
  const auto now = Steady::now();
  std::lock_guard lock(lookup_mu_);
  if (peers_ && now - peers_at_ < options_.cache) return *peers_;
  registrar::RedisResult ids = lookup_.command({"ZRANGE", options_.prefix + "replicas", "0", "-1"});
  if (!ids.ok() || !ids.reply.is_array()) {
    peers_at_ = now;  // the last answer, kept for `cache` (see address_of)
    return peers_.value_or(std::vector<Peer>{});
  }
  std::vector<std::string> mget{"MGET"};
  std::vector<std::string> names;
  for (const registrar::RedisReply& id : ids.reply.elements) {
    if (!id.is_string() || id.str == options_.id) continue;
    names.push_back(id.str);
    mget.push_back(key(id.str));
  }
  std::vector<Peer> out;
  if (!names.empty()) {
    registrar::RedisResult values = lookup_.command(mget);
    if (!values.ok() || !values.reply.is_array() || values.reply.elements.size() != names.size()) {
      peers_at_ = now;
      return peers_.value_or(std::vector<Peer>{});
    }
    for (size_t i = 0; i < names.size(); ++i) {
      const registrar::RedisReply& v = values.reply.elements[i];
      if (v.is_string() && !v.str.empty()) out.push_back(Peer{names[i], v.str});
    }
  }
  std::sort(out.begin(), out.end(), [](const Peer& a, const Peer& b) { return a.id < b.id; });
  peers_ = out;
  peers_at_ = now;
  return out;
}

}  // namespace switchboard::replicas
