// gateway/api/watch_reactor.cc — see watch_reactor.h.
#include "gateway/api/watch_reactor.h"

#include <grpcpp/support/proto_buffer_reader.h>

#include <utility>
#include <vector>

#include "gateway/api/convert.h"
#include "gateway/api/resource_names.h"
#include "gateway/api/status.h"
#include "gateway/api/watch_encoding.h"

namespace switchboard::api {
namespace {

namespace v1 = ::switchboard::v1;

constexpr std::string_view kMethod = "RegistrationService/WatchRegistrations";

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
                           const grpc::ByteBuffer& request)
    : deps_(deps), handle_(std::make_shared<WatchHandle>(this)) {
  if (grpc::Status s = start(*context, request); !s.ok()) finish_now(std::move(s));
}

grpc::Status WatchReactor::start(grpc::CallbackServerContext& context,
                                 const grpc::ByteBuffer& raw_request) {
  Caller caller;
  if (grpc::Status s = deps_.auth.authorize(context, Role::kRead, kMethod, &caller); !s.ok())
    return s;
  token_name_ = caller.token_name;

  v1::WatchRegistrationsRequest request;
  {
    grpc::ByteBuffer copy(raw_request);  // a reference to the same slices; parsing consumes it
    grpc::ProtoBufferReader reader(&copy);
    if (!reader.status().ok() || !request.ParseFromZeroCopyStream(&reader))
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          "the request is not a switchboard.v1.WatchRegistrationsRequest");
  }

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
  drive();
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
  background_priority();  // this gRPC thread now runs watch writes: the registrar comes first
  bool wait_for_pass;
  {
    std::lock_guard lock(mu_);
    writing_ = false;
    if (!ok) cancelled_ = true;  // the stream broke: the client is gone
    // A flushed burst that had caught up: the next one starts in a pass of
    // WatchStreams (the subscription's wakeup is armed), together with
    // whatever arrives until then. Anything else goes on at once.
    wait_for_pass = flushed_ && caught_up_ && !cancelled_ && !closing_ && !ended_;
  }
  if (ok) ++deps_.counters.events_sent;
  if (!wait_for_pass) drive();
}

void WatchReactor::OnCancel() {
  {
    std::lock_guard lock(mu_);
    cancelled_ = true;
  }
  drive();
}

void WatchReactor::close() {
  {
    std::lock_guard lock(mu_);
    closing_ = true;
  }
  drive();
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
  {
    std::lock_guard lock(mu_);
    caught_up_ = false;  // woken: something arrived since the last empty poll
  }
  drive();
}

void WatchReactor::drive() {
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
    if (!ended_ && (pending_.empty() || (pending_.size() == 1 && burst_ < kPollBatch))) {
      // Refill before the queue runs dry, so that a write knows whether
      // another follows it (the buffer hint below); a burst stops refilling
      // after kPollBatch events, so that it is flushed.
      again_ = false;
      lock.unlock();
      batch_.clear();
      registrar::Subscription::State state = subscription_->poll(batch_, kPollBatch);
      lock.lock();
      for (auto& e : batch_) pending_.push_back(std::move(e));
      // Caught up unless woken meanwhile (then again_ is set: poll once more).
      caught_up_ = state == registrar::Subscription::State::kEmpty && !again_;
      if (state == registrar::Subscription::State::kEnded) {
        ended_ = true;
        end_error_ = subscription_->error();
        end_message_ = subscription_->message();
      }
      if (pending_.empty()) {
        if (state == registrar::Subscription::State::kEmpty && !again_)
          break;  // the subscription's wakeup brings us back
        continue;
      }
    }
    registrar::SharedEvent e = std::move(pending_.front());
    pending_.pop_front();
    grpc::WriteOptions options;
    // More to write right after this one: let gRPC hold this message until
    // then. The last one taken goes without the hint and flushes them all.
    flushed_ = pending_.empty();
    if (flushed_) {
      burst_ = 0;
    } else {
      options.set_buffer_hint();
      ++burst_;
    }
    const uint64_t auth_failed_sequence = last_sequence_;
    if (e->type != registrar::RegistrationEventType::kAuthFailed && e->sequence != 0)
      last_sequence_ = e->sequence;
    writing_ = true;
    lock.unlock();
    // Encoded once for every stream (outside our lock: a miss converts and
    // serializes). An AUTH_FAILED event without a stored sequence before it
    // carries this stream's own resume point instead.
    if (e->type == registrar::RegistrationEventType::kAuthFailed && e->sequence == 0) {
      out_ = encode_event(*e, auth_failed_sequence);
    } else {
      out_ = deps_.streams.encoded().get(e);
    }
    e.reset();
    StartWrite(out_.get(), options);
    lock.lock();
  }
  pumping_ = false;
}

}  // namespace switchboard::api
