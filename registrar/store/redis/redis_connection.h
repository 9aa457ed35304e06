// registrar/store/redis/redis_connection.h — one synchronous hiredis
// connection: URL parsing, timeouts, AUTH/SELECT, reconnect, pipelines.
//
//   auto url = registrar::parse_redis_url("redis://:secret@127.0.0.1:6379/2");
//   if (!url.ok()) return fail(url.error);
//   registrar::RedisConnection redis(*url.url, {});
//   registrar::RedisResult r = redis.command({"GET", "sb:events:last"});
//   if (!r.ok()) log(r.error);                 // "redis GET: …" (never a password)
//   else if (r.reply.is_string()) use(r.reply.str);
//   registrar::RedisPipelineResult p = redis.pipeline({{"INCR", "a"}, {"GET", "b"}});  // one round
//   trip
//
// Connecting: lazily, on the first call, with `connect_timeout`; then AUTH
// (user and password, or password alone) and SELECT db. Every read and write
// is bounded by `io_timeout` (a dead Redis never hangs a caller). After an
// I/O or protocol error the context is dropped and the NEXT call reconnects
// (the failing call is not retried: the caller cannot know whether its
// writes were applied).
//
// Errors: a connection-level failure makes the whole call !ok with "redis
// <COMMAND>: <what>"; a Redis error reply (WRONGTYPE, NOSCRIPT…) is not a
// connection failure: it comes back as a reply of type kError whose `str` is
// Redis' message (RedisReply::error_text() prefixes the command).
//
// Threading: a RedisConnection is NOT thread-safe; callers serialise (one
// connection per thread, or a mutex).
#ifndef SWITCHBOARD_REGISTRAR_STORE_REDIS_REDIS_CONNECTION_H_
#define SWITCHBOARD_REGISTRAR_STORE_REDIS_REDIS_CONNECTION_H_

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

struct redisContext;

namespace registrar {

struct RedisUrl {
  std::string host = "127.0.0.1";
  uint16_t port = 6379;
  std::string user;      // "" = the default user (password-only AUTH)
  std::string password;  // "" = no AUTH
  int db = 0;

  // "redis://host:port/db" with the password replaced by "***": for logs.
  std::string redacted() const;
};

struct RedisUrlOrError {
  std::optional<RedisUrl> url;
  std::string error;  // set iff !url; never contains the password
  bool ok() const { return url.has_value(); }
};

// redis://[[user]:password@]host[:port][/db]; host may be [IPv6].
[[nodiscard]] RedisUrlOrError parse_redis_url(std::string_view text);

struct RedisConnectionOptions {
  std::chrono::milliseconds connect_timeout{1000};
  std::chrono::milliseconds io_timeout{1000};
};

// A reply, copied out of hiredis' redisReply (which is freed at once).
struct RedisReply {
  enum class Type : uint8_t { kNil, kString, kStatus, kError, kInteger, kArray };
  Type type = Type::kNil;
  std::string str;  // kString, kStatus, kError
  long long integer = 0;
  std::vector<RedisReply> elements;  // kArray

  bool is_nil() const { return type == Type::kNil; }
  bool is_string() const { return type == Type::kString; }
  bool is_error() const { return type == Type::kError; }
  bool is_integer() const { return type == Type::kInteger; }
  bool is_array() const { return type == Type::kArray; }
  // An integer reply, or a string/status holding a decimal integer.
  std::optional<long long> as_integer() const;
};

struct RedisResult {
  RedisReply reply;
  std::string error;  // connection-level failure; set iff !ok()
  bool ok() const { return error.empty(); }
};

struct RedisPipelineResult {
  std::vector<RedisReply> replies;  // one per command, in order, iff ok()
  std::string error;
  bool ok() const { return error.empty(); }
};

class RedisConnection {
 public:
  RedisConnection(RedisUrl url, RedisConnectionOptions options);
  ~RedisConnection();
  RedisConnection(const RedisConnection&) = delete;
  RedisConnection& operator=(const RedisConnection&) = delete;

  // Connects now if not connected: "" or the error.
  std::string connect();
  bool connected() const { return context_ != nullptr; }
  // Drops the connection (the next call reconnects).
  void disconnect();

  RedisResult command(const std::vector<std::string>& args);
  // Appends every command, then reads every reply: one round trip.
  // REQUIRES: no command is empty.
  RedisPipelineResult pipeline(const std::vector<std::vector<std::string>>& commands);

  // Connections made so far (1 after the first successful connect).
  uint64_t connects() const { return connects_; }
  const RedisUrl& url() const { return url_; }

 private:
  struct ContextDeleter {
    void operator()(redisContext* c) const;
  };
  std::string fail(std::string_view command, std::string_view what);

  RedisUrl url_;
  RedisConnectionOptions options_;
  std::unique_ptr<redisContext, ContextDeleter> context_;
  uint64_t connects_ = 0;
};

// "redis <COMMAND>: <message>" for an error reply (or an unexpected type).
std::string redis_error(std::string_view command, const RedisReply& reply);

}  // namespace registrar

#endif  // SWITCHBOARD_REGISTRAR_STORE_REDIS_REDIS_CONNECTION_H_
