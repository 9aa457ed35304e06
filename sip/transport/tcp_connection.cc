// sip/transport/tcp_connection.cc — see tcp_connection.h.
#include "sip/transport/tcp_connection.h"

#include <boost/asio/buffer.hpp>
#include <boost/asio/write.hpp>

#include "sip/parser.h"
#include "sip/transport/connection_registry.h"

namespace sip::transport {

TcpConnection::TcpConnection(boost::asio::ip::tcp::socket socket, ConnectionId id,
                             const TcpOptions& options, const sip::Limits& limits,
                             Receiver& receiver, TransportCounters& counters,
                             ConnectionRegistry& registry)
    : socket_(std::move(socket)),
      idle_timer_(socket_.get_executor()),
      options_(options),
      limits_(limits),
      receiver_(receiver),
      counters_(counters),
      registry_(registry),
      framer_(limits),
      read_buffer_(new char[options.read_chunk_bytes]) {
  source_.protocol = Protocol::kTcp;
  source_.connection = id;
  boost::system::error_code ec;
  auto remote = socket_.remote_endpoint(ec);
  if (!ec) {
    source_.remote_address = remote.address();
    source_.remote_port = remote.port();
  }
  auto local = socket_.local_endpoint(ec);
  if (!ec) {
    source_.local_address = local.address();
    source_.local_port = local.port();
  }
  // SIP messages are small and latency matters more than segment count.
  socket_.set_option(boost::asio::ip::tcp::no_delay(true), ec);
}

void TcpConnection::start() {
  last_received_ = std::chrono::steady_clock::now();
  arm_idle_timer();
  read();
}

void TcpConnection::read() {
  socket_.async_read_some(
      boost::asio::buffer(read_buffer_.get(), options_.read_chunk_bytes),
      [self = shared_from_this()](const boost::system::error_code& ec, size_t size) {
        self->on_read(ec, size);
      });
}

void TcpConnection::on_read(const boost::system::error_code& ec, size_t size) {
  if (closed_) return;
  if (ec) {
    if (ec == boost::asio::error::eof) {
      close("peer closed");
    } else {
      close("read error: " + ec.message());
    }
    return;
  }
  last_received_ = std::chrono::steady_clock::now();

  auto framing_error = [this](std::string_view why) {
    bump(counters_.tcp_framing_errors);
    close("framing error: " + std::string(why));
  };
  if (!framer_.append(std::string_view(read_buffer_.get(), size))) {
    sip::StreamFramer::Frame f = framer_.next();
    framing_error(f.kind == sip::StreamFramer::Kind::kError && !f.error.empty()
                      ? std::string_view(f.error)
                      : std::string_view("message exceeds the size limit"));
    return;
  }
  for (;;) {
    sip::StreamFramer::Frame frame = framer_.next();
    switch (frame.kind) {
      case sip::StreamFramer::Kind::kNeedMore:
        read();
        return;
      case sip::StreamFramer::Kind::kPing:
        // RFC 5626 §4.4.1: a double-CRLF ping gets a single-CRLF pong.
        bump(counters_.keepalives_received);
        if (send("\r\n")) bump(counters_.pongs_sent);
        break;
      case sip::StreamFramer::Kind::kMessage: {
        sip::ParseResult parsed =
            sip::parse_message(frame.bytes, sip::Framing::kStream, limits_);
        receiver_.on_message(parsed, frame.bytes, source_);
        break;
      }
      case sip::StreamFramer::Kind::kError:
        framing_error(frame.error);
        return;
    }
    if (closed_) return;  // the Receiver or a failed send closed us
  }
}

bool TcpConnection::send(std::string bytes) {
  if (closed_) return false;
  if (queued_bytes_ + bytes.size() > options_.max_write_queue_bytes) {
    bump(counters_.tcp_write_overflows);
    close("write queue full");
    return false;
  }
  queued_bytes_ += bytes.size();
  write_queue_.push_back(std::move(bytes));
  if (!writing_) write_next();
  return true;
}

void TcpConnection::write_next() {
  writing_ = true;
  const std::string& front = write_queue_.front();
  boost::asio::async_write(
      socket_, boost::asio::buffer(front.data(), front.size()),
      [self = shared_from_this()](const boost::system::error_code& ec, size_t) {
        if (self->closed_) return;
        if (ec) {
          self->close("write error: " + ec.message());
          return;
        }
        self->queued_bytes_ -= self->write_queue_.front().size();
        self->write_queue_.pop_front();
        if (self->write_queue_.empty()) {
          self->writing_ = false;
        } else {
          self->write_next();
        }
      });
}

void TcpConnection::arm_idle_timer() {
  if (options_.idle_timeout.count() <= 0) return;
  // One timer per connection, re-armed lazily: reads only move
  // last_received_, the timer checks it when it fires.
  idle_timer_.expires_at(last_received_ + options_.idle_timeout);
  idle_timer_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
    if (ec || self->closed_) return;
    if (std::chrono::steady_clock::now() - self->last_received_ >= self->options_.idle_timeout) {
      bump(self->counters_.tcp_closed_idle);
      self->close("idle");
    } else {
      self->arm_idle_timer();
    }
  });
}

void TcpConnection::close(std::string_view why) {
  if (closed_) return;
  closed_ = true;
  // Keep ourselves alive until the end of this call: the registry may hold
  // the last strong reference.
  auto self = shared_from_this();
  boost::system::error_code ignored;
  socket_.shutdown(boost::asio::ip::tcp::socket::shutdown_both, ignored);
  socket_.close(ignored);
  idle_timer_.cancel();
  write_queue_.clear();
  queued_bytes_ = 0;
  counters_.tcp_active.fetch_sub(1, std::memory_order_relaxed);
  bump(counters_.tcp_closed);
  registry_.remove(id());
  receiver_.on_connection_event(source_, ConnectionEvent::kClosed, why);
}

}  // namespace sip::transport
