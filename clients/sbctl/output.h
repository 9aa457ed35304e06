// clients/sbctl/output.h — how sbctl prints: aligned tables and "key  value"
// blocks for people, one JSON object per line (proto field names, every field
// present) for scripts.
//
//   sbctl::Table table({"NAME", "CHALLENGE"});
//   table.add({"realms/acme.example", "401"});
//   table.print(std::cout);
//
//   sbctl::print_json(realm);   //
//   {"name":"realms/acme.example","challenge":"CHALLENGE_MODE_401",…}
//
// JSON follows the proto3 JSON mapping: enums by name, Timestamps as RFC 3339
// strings, 64-bit integers (RegistrationEvent.sequence) as decimal strings.
// Threading: stdout is shared; call from one thread.
#ifndef SWITCHBOARD_CLIENTS_SBCTL_OUTPUT_H_
#define SWITCHBOARD_CLIENTS_SBCTL_OUTPUT_H_

#include <google/protobuf/message.h>
#include <google/protobuf/timestamp.pb.h>

#include <ostream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sbctl {

// A table with a header row; columns are as wide as their widest cell
// (counted in UTF-8 code points) and separated by two spaces.
class Table {
 public:
  explicit Table(std::vector<std::string> headers) : headers_(std::move(headers)) {}
  // REQUIRES: row.size() == number of headers.
  void add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  void print(std::ostream& out) const;

 private:
  std::vector<std::string> headers_;
  std::vector<std::vector<std::string>> rows_;
};

// Prints "key   value" lines, keys padded to the longest.
void print_fields(std::ostream& out,
                  const std::vector<std::pair<std::string, std::string>>& fields);

// The message as one line of JSON (proto field names, defaults included).
std::string to_json(const google::protobuf::Message& message);
// to_json() plus a newline on stdout, flushed (watchers read line by line).
void print_json(const google::protobuf::Message& message);
// What a Delete* command prints: "{}" (the Empty reply) with --json, else "deleted NAME".
void print_deleted(bool json, std::string_view name);

// "2026-11-26T10:00:00Z" (UTC, whole seconds); "-" when unset.
std::string format_time(const google::protobuf::Timestamp& time);
// "in 59m59s" / "1m2s ago" relative to now; "-" when unset.
std::string format_relative(const google::protobuf::Timestamp& time);
// The text in double quotes, with '"', '\\' and control characters escaped.
std::string quoted(std::string_view text);
// The text, or "-" when empty (tables never have empty cells).
std::string or_dash(std::string_view text);
// Items joined with `separator`.
std::string join(const std::vector<std::string>& items, std::string_view separator);

}  // namespace sbctl

#endif  // SWITCHBOARD_CLIENTS_SBCTL_OUTPUT_H_
