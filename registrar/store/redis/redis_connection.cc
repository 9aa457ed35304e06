// registrar/store/redis/redis_connection.cc — see redis_connection.h.
#include "registrar/store/redis/redis_connection.h"

#include <hiredis/hiredis.h>
#include <signal.h>
#include <sys/time.h>

#include <charconv>
#include <ctime>
#include <memory>

namespace registrar {
namespace {

struct ReplyDeleter {
  void operator()(redisReply* r) const {
    if (r != nullptr) freeReplyObject(r);
  }
};
using ReplyPtr = std::unique_ptr<redisReply, ReplyDeleter>;

// hiredis writes with write(2): a write to a connection Redis has reset
// raises SIGPIPE, which would kill the process. For the duration of a call
// this thread blocks SIGPIPE and swallows one it raised itself.
class SigpipeGuard {
 public:
  SigpipeGuard() {
    sigset_t pipe;
    sigemptyset(&pipe);
    sigaddset(&pipe, SIGPIPE);
    sigset_t pending;
    sigemptyset(&pending);
    sigpending(&pending);
    was_pending_ = sigismember(&pending, SIGPIPE) == 1;
    blocked_ = pthread_sigmask(SIG_BLOCK, &pipe, &old_) == 0;
  }
  ~SigpipeGuard() {
    if (!blocked_) return;
    if (!was_pending_) {
      sigset_t pending;
      sigemptyset(&pending);
      sigpending(&pending);
      if (sigismember(&pending, SIGPIPE) == 1) {
        sigset_t pipe;
        sigemptyset(&pipe);
        sigaddset(&pipe, SIGPIPE);
        const timespec zero{0, 0};
        (void)sigtimedwait(&pipe, nullptr, &zero);
      }
    }
    pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }
  SigpipeGuard(const SigpipeGuard&) = delete;
  SigpipeGuard& operator=(const SigpipeGuard&) = delete;

 private:
  sigset_t old_{};
  bool was_pending_ = false;
  bool blocked_ = false;
};

RedisReply convert(const redisReply* r) {
  RedisReply out;
  switch (r->type) {
    case REDIS_REPLY_STRING:
      out.type = RedisReply::Type::kString;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_STATUS:
      out.type = RedisReply::Type::kStatus;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_ERROR:
      out.type = RedisReply::Type::kError;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_INTEGER:
      out.type = RedisReply::Type::kInteger;
      out.integer = r->integer;
      break;
    case REDIS_REPLY_ARRAY:
      out.type = RedisReply::Type::kArray;
      out.elements.reserve(r->elements);
      for (size_t i = 0; i < r->elements; ++i) out.elements.push_back(convert(r->element[i]));
      break;
    default:
      out.type = RedisReply::Type::kNil;
      break;
  }
  return out;
}

timeval to_timeval(std::chrono::milliseconds ms) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(ms.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((ms.count() % 1000) * 1000);
  return tv;
}

bool parse_uint(std::string_view s, uint64_t max, uint64_t& out) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size() && out <= max;
}

std::string percent_decode(std::string_view in) {
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '%' && i + 2 < in.size() && hex(in[i + 1]) >= 0 && hex(in[i + 2]) >= 0) {
      out += static_cast<char>(hex(in[i + 1]) * 16 + hex(in[i + 2]));
      i += 2;
    } else {
      out += in[i];
    }
  }
  return out;
}

}  // namespace

std::string RedisUrl::redacted() const {
  std::string out = "redis://";
  if (!user.empty() || !password.empty()) out += user + ":***@";
  out += host.find(':') != std::string::npos ? "[" + host + "]" : host;
  out += ":" + std::to_string(port) + "/" + std::to_string(db);
  return out;
}

RedisUrlOrError parse_redis_url(std::string_view text) {
  RedisUrlOrError result;
  constexpr std::string_view kScheme = "redis://";
  if (text.substr(0, 9) == "rediss://") {
    // Debian 12's hiredis (0.14) has no TLS (hiredis_ssl came with 1.0).
    result.error =
        "redis URL: rediss:// (TLS) is not supported by this build's hiredis 0.14; reach Redis "
        "over a private network or a TLS tunnel (stunnel, a service mesh) with redis://";
    return result;
  }
  if (text.substr(0, kScheme.size()) != kScheme) {
    result.error = "redis URL: must start with redis://";
    return result;
  }
  std::string_view rest = text.substr(kScheme.size());
  RedisUrl url;
  if (const size_t at = rest.rfind('@'); at != std::string_view::npos) {
    const std::string_view userinfo = rest.substr(0, at);
    rest = rest.substr(at + 1);
    const size_t colon = userinfo.find(':');
    if (colon == std::string_view::npos) {
      url.password = percent_decode(userinfo);  // redis://password@host (lenient)
    } else {
      url.user = percent_decode(userinfo.substr(0, colon));
      url.password = percent_decode(userinfo.substr(colon + 1));
    }
  }
  std::string_view hostport = rest;
  if (const size_t slash = rest.find('/'); slash != std::string_view::npos) {
    hostport = rest.substr(0, slash);
    const std::string_view db = rest.substr(slash + 1);
    uint64_t n = 0;
    if (!db.empty()) {
      if (!parse_uint(db, 1'000'000, n)) {
        result.error = "redis URL: database '" + std::string(db) + "' is not a number";
        return result;
      }
      url.db = static_cast<int>(n);
    }
  }
  std::string_view port;
  if (!hostport.empty() && hostport.front() == '[') {
    const size_t close = hostport.find(']');
    if (close == std::string_view::npos) {
      result.error = "redis URL: unterminated [IPv6] host";
      return result;
    }
    url.host = std::string(hostport.substr(1, close - 1));
    const std::string_view after = hostport.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') {
        result.error = "redis URL: junk after [host]";
        return result;
      }
      port = after.substr(1);
    }
  } else if (const size_t colon = hostport.rfind(':'); colon != std::string_view::npos) {
    url.host = std::string(hostport.substr(0, colon));
    port = hostport.substr(colon + 1);
  } else {
    url.host = std::string(hostport);
  }
  if (url.host.empty()) {
    result.error = "redis URL: no host";
    return result;
  }
  if (!port.empty()) {
    uint64_t n = 0;
    if (!parse_uint(port, 65535, n) || n == 0) {
      result.error = "redis URL: port '" + std::string(port) + "' is not a port";
      return result;
    }
    url.port = static_cast<uint16_t>(n);
  }
  result.url = std::move(url);
  return result;
}

std::optional<long long> RedisReply::as_integer() const {
  if (type == Type::kInteger) return integer;
  if (type != Type::kString && type != Type::kStatus) return std::nullopt;
  long long n = 0;
  auto [p, ec] = std::from_chars(str.data(), str.data() + str.size(), n);
  if (ec != std::errc() || p != str.data() + str.size()) return std::nullopt;
  return n;
}

std::string redis_error(std::string_view command, const RedisReply& reply) {
  if (reply.is_error()) return "redis " + std::string(command) + ": " + reply.str;
  return "redis " + std::string(command) + ": unexpected reply";
}

void RedisConnection::ContextDeleter::operator()(redisContext* c) const {
  if (c != nullptr) redisFree(c);
}

RedisConnection::RedisConnection(RedisUrl url, RedisConnectionOptions options)
    : url_(std::move(url)), options_(options) {}

RedisConnection::~RedisConnection() = default;

void RedisConnection::disconnect() { context_.reset(); }

std::string RedisConnection::fail(std::string_view command, std::string_view what) {
  // `what` may point into the context (errstr): copy it before the context goes.
  std::string message = "redis " + std::string(command) + ": " + std::string(what);
  context_.reset();
  return message;
}

std::string RedisConnection::connect() {
  if (context_) return {};
  const SigpipeGuard no_sigpipe;
  const timeval connect_tv = to_timeval(options_.connect_timeout);
  redisContext* raw = redisConnectWithTimeout(url_.host.c_str(), url_.port, connect_tv);
  if (raw == nullptr) return "redis connect " + url_.redacted() + ": out of memory";
  std::unique_ptr<redisContext, ContextDeleter> c(raw);
  if (c->err != 0) {
    return "redis connect " + url_.redacted() + ": " + std::string(c->errstr);
  }
  if (redisSetTimeout(c.get(), to_timeval(options_.io_timeout)) != REDIS_OK) {
    return "redis connect " + url_.redacted() + ": cannot set the I/O timeout";
  }
  context_ = std::move(c);
  if (!url_.password.empty()) {
    std::vector<std::string> auth{"AUTH"};
    if (!url_.user.empty()) auth.push_back(url_.user);
    auth.push_back(url_.password);
    RedisResult r = command(auth);
    if (!r.ok()) return r.error;
    if (r.reply.is_error()) {
      context_.reset();
      return redis_error("AUTH", r.reply);  // Redis' message never echoes the password
    }
  }
  if (url_.db != 0) {
    RedisResult r = command({"SELECT", std::to_string(url_.db)});
    if (!r.ok()) return r.error;
    if (r.reply.is_error()) {
      context_.reset();
      return redis_error("SELECT", r.reply);
    }
  }
  ++connects_;
  return {};
}

RedisResult RedisConnection::command(const std::vector<std::string>& args) {
  RedisResult result;
  if (args.empty()) {
    result.error = "redis: empty command";
    return result;
  }
  const SigpipeGuard no_sigpipe;
  if (!context_) {
    if (std::string e = connect(); !e.empty()) {
      result.error = std::move(e);
      return result;
    }
  }
  std::vector<const char*> argv;
  std::vector<size_t> lens;
  argv.reserve(args.size());
  lens.reserve(args.size());
  for (const std::string& a : args) {
    argv.push_back(a.data());
    lens.push_back(a.size());
  }
  void* raw =
      redisCommandArgv(context_.get(), static_cast<int>(args.size()), argv.data(), lens.data());
  ReplyPtr reply(static_cast<redisReply*>(raw));
  if (!reply) {
    result.error = fail(args[0], context_->err != 0 ? context_->errstr : "no reply");
    return result;
  }
  result.reply = convert(reply.get());
  return result;
}

RedisPipelineResult RedisConnection::pipeline(
    const std::vector<std::vector<std::string>>& commands) {
  RedisPipelineResult result;
  if (commands.empty()) return result;
  const SigpipeGuard no_sigpipe;
  const std::string_view name = commands.front().empty() ? "pipeline" : commands.front()[0];
  if (!context_) {
    if (std::string e = connect(); !e.empty()) {
      result.error = std::move(e);
      return result;
    }
  }
  std::vector<const char*> argv;
  std::vector<size_t> lens;
  for (const std::vector<std::string>& args : commands) {
    argv.clear();
    lens.clear();
    for (const std::string& a : args) {
      argv.push_back(a.data());
      lens.push_back(a.size());
    }
    if (redisAppendCommandArgv(context_.get(), static_cast<int>(args.size()), argv.data(),
                               lens.data()) != REDIS_OK) {
      result.error = fail(name, "cannot queue the command");
      return result;
    }
  }
  result.replies.reserve(commands.size());
  for (size_t i = 0; i < commands.size(); ++i) {
    void* raw = nullptr;
    if (redisGetReply(context_.get(), &raw) != REDIS_OK || raw == nullptr) {
      const std::string why = context_->err != 0 ? context_->errstr : "no reply";
      result.replies.clear();
      result.error = fail(commands[i].empty() ? name : std::string_view(commands[i][0]), why);
      return result;
    }
    ReplyPtr reply(static_cast<redisReply*>(raw));
    result.replies.push_back(convert(reply.get()));
  }
  return result;
}

}  // namespace registrar
