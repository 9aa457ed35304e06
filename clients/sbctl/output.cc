#include "clients/sbctl/output.h"

#include <google/protobuf/empty.pb.h>
#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <ctime>
#include <iostream>

namespace sbctl {
namespace {

size_t display_width(std::string_view s) {
  // UTF-8 continuation bytes take no column of their own.
  return std::count_if(s.begin(), s.end(),
                       [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; });
}

void print_row(std::ostream& out, const std::vector<std::string>& row,
               const std::vector<size_t>& widths) {
  std::string line;
  for (size_t i = 0; i < row.size(); ++i) {
    line += row[i];
    if (i + 1 < row.size()) line.append(widths[i] - display_width(row[i]) + 2, ' ');
  }
  out << line << '\n';
}

std::string format_duration(int64_t seconds) {
  char buf[64];
  if (seconds >= 86400) {
    std::snprintf(buf, sizeof buf, "%" PRId64 "d%" PRId64 "h", seconds / 86400,
                  seconds % 86400 / 3600);
  } else if (seconds >= 3600) {
    std::snprintf(buf, sizeof buf, "%" PRId64 "h%" PRId64 "m", seconds / 3600, seconds % 3600 / 60);
  } else if (seconds >= 60) {
    std::snprintf(buf, sizeof buf, "%" PRId64 "m%" PRId64 "s", seconds / 60, seconds % 60);
  } else {
    std::snprintf(buf, sizeof buf, "%" PRId64 "s", seconds);
  }
  return buf;
}

}  // namespace

void Table::print(std::ostream& out) const {
  std::vector<size_t> widths(headers_.size());
  for (size_t i = 0; i < headers_.size(); ++i) widths[i] = display_width(headers_[i]);
  for (const auto& row : rows_) {
    for (size_t i = 0; i < row.size() && i < widths.size(); ++i) {
      widths[i] = std::max(widths[i], display_width(row[i]));
    }
  }
  print_row(out, headers_, widths);
  for (const auto& row : rows_) print_row(out, row, widths);
}

void print_fields(std::ostream& out,
                  const std::vector<std::pair<std::string, std::string>>& fields) {
  size_t width = 0;
  for (const auto& [key, value] : fields) width = std::max(width, key.size());
  for (const auto& [key, value] : fields) {
    out << key << std::string(width - key.size() + 2, ' ') << value << '\n';
  }
}

std::string to_json(const google::protobuf::Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  options.always_print_primitive_fields = true;
  std::string out;
  auto status = google::protobuf::util::MessageToJsonString(message, &out, options);
  if (!status.ok()) return "{}";  // only for messages with unknown Any types: never ours
  return out;
}

void print_json(const google::protobuf::Message& message) {
  std::cout << to_json(message) << std::endl;
}

void print_deleted(bool json, std::string_view name) {
  if (json)
    print_json(google::protobuf::Empty());
  else
    std::cout << "deleted " << name << "\n";
}

std::string format_time(const google::protobuf::Timestamp& time) {
  if (time.seconds() == 0 && time.nanos() == 0) return "-";
  std::time_t t = static_cast<std::time_t>(time.seconds());
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string format_relative(const google::protobuf::Timestamp& time) {
  if (time.seconds() == 0 && time.nanos() == 0) return "-";
  int64_t now = static_cast<int64_t>(std::time(nullptr));
  int64_t delta = time.seconds() - now;
  return delta >= 0 ? "in " + format_duration(delta) : format_duration(-delta) + " ago";
}

std::string quoted(std::string_view text) {
  std::string out = "\"";
  for (char ch : text) {
    unsigned char c = static_cast<unsigned char>(ch);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += ch;
    } else if (c < 0x20 || c == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    } else {
      out += ch;
    }
  }
  return out + "\"";
}

std::string or_dash(std::string_view text) { return text.empty() ? "-" : std::string(text); }

std::string join(const std::vector<std::string>& items, std::string_view separator) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) {
    if (i) out += separator;
    out += items[i];
  }
  return out;
}

}  // namespace sbctl
