// gateway/api/watch_reactor.cc — see watch_reactor.h.
#include "gateway/api/watch_reactor.h"

#include <utility>
#include <vector>

#include "gateway/api/convert.h"
#include "gateway/api/resource_names.h"
#include "gateway/api/status.h"

namespace switchboard::api {
namespace {

namespace v1 = ::switchboard::v1;

constexpr std::string_view kMethod = "RegistrationService/WatchRegistrations";

// The realm filter: "realms/{realm}" or the bare domain; "" for every realm.
std::optional<std::string> realm_filter(std::string_view text) {
  if (text.empty()) return std::string();
  if (text.find('/') == std::string_view::npos) return std::string(text);
  auto realm = parse_realm_name(text);
  if (!realm) return std::nullopt;
  if (*realm == "-") return std::string();
  return realm;
}

grpc::Status out_of_range(uint64_t since, uint64_t oldest, uint64_t newest) {
  std::string message;
  if (since > newest) {
    message = "since_sequence " + std::to_string(since) + " is newer than the newest event " +
              std::to_string(newest) + "; resume with a sequence this server sent";
  } else {
    message = "since_sequence " + std::to_string(since) +
              " is older than the oldest retained event " + std::to_string(oldest) + " (newest " +
              std::to_string(newest) +
              "): the events in between were trimmed; list the bindings again and watch "
              "with since_sequence " +
              std::to_string(oldest == 0 ? 0 : oldest - 1) + " or later";
  }
  return error_info(grpc::StatusCode::OUT_OF_RANGE, std::move(message), "SEQUENCE_OUT_OF_RANGE",
                    {{"since_sequence", std::to_string(since)},
                     {"oldest_sequence", std::to_string(oldest)},
                     {"newest_sequence", std::to_string(newest)}});
}

}  // namespace

WatchReactor::WatchReactor(const WatchDeps& deps, grpc::CallbackServerContext* context,
                           const v1::WatchRegistrationsRequest& request)
    : deps_(deps), handle_(std::make_shared<WatchHandle>(this)) {
  if (grpc::Status s = start(*context, request); !s.ok()) finish_now(std::move(s));
}

grpc::Status WatchReactor::start(grpc::CallbackServerContext& context,
                                 const v1::WatchRegistrationsRequest& request) {
  Caller caller;
  if (grpc::Status s = deps_.auth.authorize(context, Role::kRead, kMethod, &caller); !s.ok())
    return s;
  token_name_ = caller.token_name;

  registrar::EventFilter filter;
  std::vector<FieldViolation> bad;
  if (auto realm = realm_filter(request.realm())) {
    filter.realm = std::move(*realm);
  } else {
    bad.push_back(
        {"realm", "expected \"realms/{realm}\" or a bare domain, got \"" + request.realm() + "\""});
  }
  if (request.has_since_sequence()) filter.since = request.since_sequence();
  for (int i = 0; i < request.types_size(); ++i) {
    auto type = from_proto(v1::RegistrationEvent::Type(request.types(i)));
    if (!type) {
      bad.push_back({"types[" + std::to_string(i) + "]",
                     "unknown event type " + std::to_string(request.types(i))});
    } else {
      filter.types.push_back(*type);
    }
  }
  if (!bad.empty()) return invalid_argument(bad);

  // Read before subscribing: never later than the subscription's own start,
  // so resuming from it can repeat nothing and miss nothing.
  const uint64_t published = deps_.hub.last_sequence();
  registrar::SubscribeResult r = deps_.hub.subscribe(filter);
  if (!r.ok()) {
    switch (r.error) {
      case registrar::WatchError::kOutOfRange:
        ++deps_.counters.out_of_range;
        return out_of_range(filter.since.value_or(0), r.oldest_sequence, r.newest_sequence);
      case registrar::WatchError::kTooManyWatchers:
        ++deps_.counters.too_many_watchers;
        deps_.logger.warn("watch refused", {{"reason", "too many watchers"},
                                            {"max_watchers", deps_.max_watchers},
                                            {"token", token_name_}});
        return error_info(
            grpc::StatusCode::RESOURCE_EXHAUSTED,
            "too many watchers: this server streams to at most " +
                std::to_string(deps_.max_watchers) + " at once (events.max_watchers); retry later",
            "TOO_MANY_WATCHERS", {{"max_watchers", std::to_string(deps_.max_watchers)}});
      case registrar::WatchError::kClosed:
        return error_info(grpc::StatusCode::UNAVAILABLE, "the server is shutting down; retry later",
                          "SERVER_SHUTTING_DOWN");
      default:
        return error_info(grpc::StatusCode::UNAVAILABLE, "cannot read the event log: " + r.message,
                          "EVENT_LOG_READ_FAILED");
    }
  }
  subscription_ = std::move(r.subscription);
  last_sequence_ = filter.since.value_or(published);
  // Headers now, so a client knows the subscription exists before any event
  // (and before anything else can finish the stream).
  StartSendInitialMetadata();
  // Registered last: from here on a shutdown may close() the stream.
  if (!deps_.streams.add(handle_)) {
    subscription_.reset();
    return error_info(grpc::StatusCode::UNAVAILABLE,
                      "the server is shutting down; retry on another replica or later",
                      "SERVER_SHUTTING_DOWN");
  }
  subscription_->set_wakeup(
      [streams = &deps_.streams, handle = handle_] { streams->wake(handle); });
  if (deps_.logger.enabled(LogLevel::kDebug))
    deps_.logger.debug("watch started",
                       {{"token", token_name_},
                        {"realm", filter.realm.empty() ? "*" : filter.realm},
                        {"since", filter.since ? std::to_string(*filter.since) : "live"}});
  pump();
  return grpc::Status::OK;
}

WatchReactor::~WatchReactor() = default;

void WatchReactor::finish_now(grpc::Status status) {
  {
    std::lock_guard lock(mu_);
    finished_ = true;
  }
  Finish(std::move(status));
}

void WatchReactor::OnWriteDone(bool ok) {
  {
    std::lock_guard lock(mu_);
    writing_ = false;
    if (!ok) cancelled_ = true;  // the stream broke: the client is gone
  }
  if (ok) ++deps_.counters.events_sent;
  pump();
}

void WatchReactor::OnCancel() {
  {
    std::lock_guard lock(mu_);
    cancelled_ = true;
  }
  pump();
}

void WatchReactor::close() {
  {
    std::lock_guard lock(mu_);
    closing_ = true;
  }
  pump();
}

void WatchReactor::OnDone() {
  deps_.streams.remove(handle_.get());
  // done() may delete this reactor (and handle_ with it): keep the handle.
  std::shared_ptr<WatchHandle> handle = handle_;
  handle->done();
}

grpc::Status WatchReactor::end_status() const {
  const std::string last = std::to_string(last_sequence_);
  switch (end_error_) {
    case registrar::WatchError::kNone:
      return grpc::Status::OK;
    case registrar::WatchError::kFellBehind:
      return error_info(
          grpc::StatusCode::RESOURCE_EXHAUSTED,
          "watcher fell behind: more than " + std::to_string(deps_.watcher_buffer) +
              " events were waiting for it; resume with since_sequence " + last,
          "WATCHER_FELL_BEHIND",
          {{"last_sequence", last}, {"watcher_buffer", std::to_string(deps_.watcher_buffer)}});
    case registrar::WatchError::kOutOfRange:
      return error_info(grpc::StatusCode::OUT_OF_RANGE,
                        end_message_ + " (last sequence sent " + last + ")",
                        "SEQUENCE_OUT_OF_RANGE", {{"last_sequence", last}});
    case registrar::WatchError::kTooManyWatchers:
      return error_info(grpc::StatusCode::RESOURCE_EXHAUSTED, end_message_, "TOO_MANY_WATCHERS");
    case registrar::WatchError::kClosed:
      return error_info(grpc::StatusCode::UNAVAILABLE,
                        "the server is shutting down; resume with since_sequence " + last,
                        "SERVER_SHUTTING_DOWN", {{"last_sequence", last}});
    case registrar::WatchError::kStoreFailed:
      return error_info(
          grpc::StatusCode::UNAVAILABLE,
          "cannot read the event log (" + end_message_ + "); resume with since_sequence " + last,
          "EVENT_LOG_READ_FAILED", {{"last_sequence", last}});
  }
  return grpc::Status::OK;
}

void WatchReactor::pump() {
  std::unique_lock lock(mu_);
  if (pumping_) {
    again_ = true;  // the one inside polls once more before it leaves
    return;
  }
  pumping_ = true;
  for (;;) {
    if (finished_ || writing_) break;  // OnWriteDone pumps again
    if (cancelled_ || closing_ || (ended_ && pending_.empty())) {
      grpc::Status status;
      if (cancelled_) {
        status = grpc::Status::CANCELLED;
        ++deps_.counters.cancelled;
      } else if (closing_) {
        status =
            error_info(grpc::StatusCode::UNAVAILABLE,
                       "the server is shutting down; resume with since_sequence " +
                           std::to_string(last_sequence_),
                       "SERVER_SHUTTING_DOWN", {{"last_sequence", std::to_string(last_sequence_)}});
      } else {
        status = end_status();
        if (end_error_ == registrar::WatchError::kFellBehind) {
          ++deps_.counters.fell_behind;
          deps_.logger.warn("watcher fell behind", {{"token", token_name_},
                                                    {"last_sequence", last_sequence_},
                                                    {"watcher_buffer", deps_.watcher_buffer}});
        } else if (end_error_ == registrar::WatchError::kOutOfRange) {
          ++deps_.counters.out_of_range;
        }
      }
      finished_ = true;
      pumping_ = false;
      lock.unlock();
      // From here on the reactor may be done at any moment: touch nothing.
      Finish(std::move(status));
      return;
    }
    if (pending_.empty()) {
      again_ = false;
      lock.unlock();
      std::vector<registrar::RegistrationEvent> batch;
      registrar::Subscription::State state = subscription_->poll(batch, kPollBatch);
      lock.lock();
      for (auto& e : batch) pending_.push_back(std::move(e));
      if (state == registrar::Subscription::State::kEnded) {
        ended_ = true;
        end_error_ = subscription_->error();
        end_message_ = subscription_->message();
      }
      if (state == registrar::Subscription::State::kEmpty && pending_.empty() && !again_)
        break;  // the subscription's wakeup brings us back
      continue;
    }
    const registrar::RegistrationEvent& e = pending_.front();
    out_ = to_proto(e, last_sequence_);
    if (e.type != registrar::RegistrationEventType::kAuthFailed && e.sequence != 0)
      last_sequence_ = e.sequence;
    pending_.pop_front();
    writing_ = true;
    lock.unlock();
    StartWrite(&out_);
    lock.lock();
  }
  pumping_ = false;
}

}  // namespace switchboard::api
