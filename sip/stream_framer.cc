#include "sip/stream_framer.h"

#include <algorithm>

#include "sip/header_id.h"
#include "sip/lex.h"

namespace sip {
namespace {

// Reads the Content-Length of a header block (which ends with CRLF CRLF).
// Returns false with `why` for a framing error; 0 when the header is absent.
bool content_length_of(std::string_view block, size_t& length, std::string& why) {
  bool seen = false;
  size_t pos = block.find("\r\n");  // skip the start line
  while (pos != std::string_view::npos && pos + 2 < block.size()) {
    size_t begin = pos + 2;
    size_t end = block.find("\r\n", begin);
    if (end == std::string_view::npos || end == begin) break;
    // Extend over folded continuation lines.
    while (end + 2 < block.size() && lex::is_wsp(block[end + 2])) {
      size_t next = block.find("\r\n", end + 2);
      if (next == std::string_view::npos) break;
      end = next;
    }
    std::string_view line = block.substr(begin, end - begin);
    size_t colon = line.find(':');
    if (colon != std::string_view::npos) {
      std::string_view name = line.substr(0, colon);
      while (!name.empty() && lex::is_wsp(name.back())) name.remove_suffix(1);
      if (header_id(name) == HeaderId::kContentLength) {
        auto v = lex::parse_uint(lex::trim_lws(line.substr(colon + 1)), UINT32_MAX);
        if (!v) {
          why = "Content-Length is not a non-negative number";
          return false;
        }
        if (seen && *v != length) {
          why = "conflicting Content-Length values";
          return false;
        }
        seen = true;
        length = size_t(*v);
      }
    }
    pos = end;
  }
  if (!seen) length = 0;  // RFC 3261 §18.3 requires it on streams; absent means no body
  return true;
}

}  // namespace

bool StreamFramer::append(std::string_view data) {
  if (failed_) return false;
  // Drop what was already framed before growing, so the buffer stays bounded
  // by one partial message plus one read.
  if (consumed_ > 0) {
    buffer_.erase(0, consumed_);
    scan_from_ = scan_from_ > consumed_ ? scan_from_ - consumed_ : 0;
    consumed_ = 0;
  }
  buffer_.append(data);
  return true;
}

StreamFramer::Frame StreamFramer::next() {
  Frame f;
  if (failed_) {
    f.kind = Kind::kError;
    f.error = error_;
    return f;
  }
  std::string_view s(buffer_);
  // Keep-alive (RFC 5626 §4.4.1): CRLF CRLF is a ping; a lone CRLF between
  // messages is ignored (RFC 3261 §7.5).
  for (;;) {
    std::string_view rest = s.substr(consumed_);
    if (rest.empty()) return f;
    if (rest[0] != '\r' && rest[0] != '\n') break;
    if (rest.size() >= 4 && rest.substr(0, 4) == "\r\n\r\n") {
      consumed_ += 4;
      scan_from_ = consumed_;
      f.kind = Kind::kPing;
      return f;
    }
    if (rest.size() < 4 && std::string_view("\r\n\r\n").substr(0, rest.size()) == rest) return f;
    consumed_ += (rest.size() >= 2 && rest.substr(0, 2) == "\r\n") ? 2 : 1;
    scan_from_ = consumed_;
  }
  if (scan_from_ < consumed_) scan_from_ = consumed_;
  size_t end = s.find("\r\n\r\n", scan_from_);
  if (end == std::string_view::npos) {
    if (s.size() - consumed_ > limits_.max_message_bytes) return fail("header block too large");
    scan_from_ = s.size() >= 3 ? std::max(consumed_, s.size() - 3) : consumed_;
    return f;
  }
  size_t header_len = end + 4 - consumed_;
  size_t body_len = 0;
  std::string why;
  if (!content_length_of(s.substr(consumed_, header_len), body_len, why)) return fail(why);
  if (header_len + body_len > limits_.max_message_bytes) return fail("message too large");
  if (s.size() - consumed_ < header_len + body_len) {
    scan_from_ = end;  // the header end is known; wait for the body
    return f;
  }
  f.kind = Kind::kMessage;
  f.bytes = s.substr(consumed_, header_len + body_len);
  consumed_ += header_len + body_len;
  scan_from_ = consumed_;
  return f;
}

StreamFramer::Frame StreamFramer::fail(std::string why) {
  failed_ = true;
  error_ = std::move(why);
  Frame f;
  f.kind = Kind::kError;
  f.error = error_;
  return f;
}

}  // namespace sip
