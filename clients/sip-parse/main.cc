// sip-parse — checks SIP messages from files with Switchboard's parser.
//
//   sip-parse [--stream] FILE...
//
// Prints one JSON object per file on its own line:
//   {"file":…, "ok":true, "kind":"request"|"response", "method":…, "request_uri":…,
//    "status_code":…, "call_id":…, "cseq":{"seq":…,"method":…}, "via_count":…,
//    "contact_count":…, "content_length":…, "body_bytes":…, "header_count":…,
//    "verdict":{"status":…, "reason":…}}
// or {"file":…, "ok":false, "error":"…", "status":400}.
// "ok" is the parser's word (syntax and framing). "verdict" is what Switchboard
// as a UAS would answer to a parsed request before any application logic
// (status 0: it would go on to process it).
// Exit status: 0 when every file parsed, 1 otherwise, 2 on a usage error.
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <string>
#include <string_view>

#include "sip/parser.h"
#include "sip/validate.h"

namespace {

// JSON string escaping; invalid UTF-8 bytes become U+FFFD.
void json_string(std::string& out, std::string_view s) {
  out.push_back('"');
  for (size_t i = 0; i < s.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(char(c));
    } else if (c < 0x20 || c == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out.append(buf);
    } else if (c < 0x80) {
      out.push_back(char(c));
    } else {
      size_t len = (c >= 0xf0 && c <= 0xf4) ? 4 : (c >= 0xe0) ? 3 : (c >= 0xc2 && c <= 0xdf) ? 2 : 0;
      bool valid = len > 0 && i + len <= s.size();
      for (size_t k = 1; valid && k < len; ++k)
        if ((static_cast<unsigned char>(s[i + k]) & 0xc0) != 0x80) valid = false;
      if (valid) {
        out.append(s.substr(i, len));
        i += len - 1;
      } else {
        out.append("\\ufffd");
      }
    }
  }
  out.push_back('"');
}

void field(std::string& out, std::string_view name) {
  out.append(", ");
  json_string(out, name);
  out.append(": ");
}

std::string describe(std::string_view file, const sip::ParseResult& r) {
  std::string out = "{";
  json_string(out, "file");
  out.append(": ");
  json_string(out, file);
  if (!r.ok()) {
    field(out, "ok");
    out.append("false");
    field(out, "error");
    json_string(out, r.error().reason);
    field(out, "status");
    out.append(std::to_string(r.error().status));
    out.append("}");
    return out;
  }
  const sip::Message& m = r.message();
  field(out, "ok");
  out.append("true");
  field(out, "kind");
  json_string(out, m.is_request() ? "request" : "response");
  if (m.is_request()) {
    field(out, "method");
    json_string(out, m.method());
    field(out, "request_uri");
    json_string(out, m.request_uri().text);
  } else {
    field(out, "status_code");
    out.append(std::to_string(m.status_code()));
    field(out, "reason_phrase");
    json_string(out, m.reason_phrase());
  }
  field(out, "call_id");
  if (m.call_id().empty()) out.append("null"); else json_string(out, m.call_id());
  field(out, "cseq");
  if (m.cseq()) {
    out.append("{\"seq\": ").append(std::to_string(m.cseq()->seq)).append(", \"method\": ");
    json_string(out, m.cseq()->method);
    out.append("}");
  } else {
    out.append("null");
  }
  field(out, "via_count");
  out.append(std::to_string(m.via_count()));
  field(out, "contact_count");
  out.append(std::to_string(m.contact_count()));
  field(out, "content_length");
  out.append(m.content_length() ? std::to_string(*m.content_length()) : "null");
  field(out, "body_bytes");
  out.append(std::to_string(m.body().size()));
  field(out, "header_count");
  out.append(std::to_string(m.headers().size()));
  if (m.is_request()) {
    sip::RequestPolicy policy;
    policy.supported = {"path", "outbound"};
    sip::Verdict v = sip::check_request(m, policy);
    field(out, "verdict");
    out.append("{\"status\": ").append(std::to_string(v.status)).append(", \"reason\": ");
    json_string(out, v.reason);
    out.append("}");
  } else {
    std::string why;
    field(out, "acceptable");
    out.append(sip::response_acceptable(m, &why) ? "true" : "false");
  }
  out.append("}");
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  bool stream = false;
  int first = 1;
  for (; first < argc; ++first) {
    std::string_view a = argv[first];
    if (a == "--stream") {
      stream = true;
    } else if (a == "--help" || a == "-h") {
      std::cout << "usage: sip-parse [--stream] FILE...\n"
                   "Parses each file as one SIP message (a UDP datagram, or with --stream one\n"
                   "message cut from a TCP stream) and prints one JSON object per file.\n"
                   "Exit status: 0 when every file parsed, 1 otherwise, 2 on a usage error.\n";
      return 0;
    } else if (a == "--") {
      ++first;
      break;
    } else if (a.size() > 1 && a[0] == '-') {
      std::cerr << "sip-parse: unknown option " << a << " (try --help)\n";
      return 2;
    } else {
      break;
    }
  }
  if (first >= argc) {
    std::cerr << "usage: sip-parse [--stream] FILE...\n";
    return 2;
  }
  bool all_ok = true;
  for (int i = first; i < argc; ++i) {
    std::ifstream in(argv[i], std::ios::binary);
    if (!in) {
      std::string out = "{";
      json_string(out, "file");
      out.append(": ");
      json_string(out, argv[i]);
      out.append(", \"ok\": false, \"error\": ");
      json_string(out, std::string("cannot read file: ") + std::strerror(errno));
      out.append("}");
      std::cout << out << "\n";
      all_ok = false;
      continue;
    }
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    sip::ParseResult r =
        sip::parse_message(bytes, stream ? sip::Framing::kStream : sip::Framing::kDatagram);
    std::cout << describe(argv[i], r) << "\n";
    all_ok = all_ok && r.ok();
  }
  return all_ok ? 0 : 1;
}
