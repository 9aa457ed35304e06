// gateway/reply.cc — Reply and the status-line helpers of request_handler.h.
#include <boost/asio/post.hpp>

#include "gateway/dispatcher.h"
#include "gateway/request_handler.h"

namespace switchboard {

Reply::Reply(std::weak_ptr<Dispatcher> dispatcher, const sip::transport::Source& source,
             const sip::transport::Source& destination,
             std::optional<sip::transaction::TransactionKey> key, bool can_respond,
             sip::Method method)
    : dispatcher_(std::move(dispatcher)),
      method_(method),
      source_(source),
      destination_(destination),
      key_(std::move(key)),
      can_respond_(can_respond) {}

sip::ResponseBuilder Reply::response(const sip::Message& request, int status,
                                     std::string_view reason) const {
  sip::ResponseBuilder builder(request, status, reason);
  builder.received_from(source_.remote_ip(), source_.remote_port);
  return builder;
}

bool Reply::send(std::string response) const {
  if (!can_respond_) return false;
  std::shared_ptr<Dispatcher> dispatcher = dispatcher_.lock();
  if (!dispatcher) return false;
  if (dispatcher->io().get_executor().running_in_this_thread())
    return dispatcher->send_response(key_, destination_, std::move(response), method_);
  // An asynchronous handler answering from elsewhere: the transaction table
  // and the sockets belong to the worker thread.
  boost::asio::post(dispatcher->io(), [dispatcher, key = key_, destination = destination_,
                                       method = method_, response = std::move(response)]() mutable {
    dispatcher->send_response(key, destination, std::move(response), method);
  });
  return true;
}

int response_status(std::string_view bytes) {
  constexpr std::string_view kVersion = "SIP/2.0 ";
  if (bytes.size() < kVersion.size() + 3 || bytes.substr(0, kVersion.size()) != kVersion) return 0;
  int status = 0;
  for (size_t i = kVersion.size(); i < kVersion.size() + 3; ++i) {
    char c = bytes[i];
    if (c < '0' || c > '9') return 0;
    status = status * 10 + (c - '0');
  }
  if (bytes.size() > kVersion.size() + 3 && bytes[kVersion.size() + 3] != ' ') return 0;
  return status >= 100 && status <= 699 ? status : 0;
}

std::string safe_reason(std::string_view text, std::string_view fallback) {
  std::string out;
  for (char c : text) {
    if (out.size() >= 128) break;
    if (c >= 0x20 && c < 0x7f) out += c;
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  if (out.empty()) out = fallback.empty() ? std::string("Error") : std::string(fallback);
  return out;
}

}  // namespace switchboard
