// clients/sbctl/command_line.h — sbctl's argument parsing.
//
// Every option sbctl knows is declared once (command_line.cc) with whether it
// takes a value. parse_args() splits argv into words ("realm", "create",
// "acme.example") and options, which may appear anywhere after the program
// name, as "--name value" or "--name=value"; "--" ends the options.
//
// Usage errors are values: the first one is recorded in the Args (like a
// stream's failbit) and the accessors then return nullopt, so a command reads
// all its options and checks once:
//
//   sbctl::Args args = sbctl::parse_args(argc, argv);
//   args.allow_only({"--since", "--realm"});     // the command's own options
//   auto since = args.uint64("--since");
//   if (args.failed()) return usage_error(args.error());
//
// Threading: single-threaded use.
#ifndef SWITCHBOARD_CLIENTS_SBCTL_COMMAND_LINE_H_
#define SWITCHBOARD_CLIENTS_SBCTL_COMMAND_LINE_H_

#include <cstdint>
#include <initializer_list>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace sbctl {

class Args {
 public:
  // The positional words, in order ("realm", "get", "acme.example").
  const std::vector<std::string>& words() const { return words_; }
  // The i-th word, or "" when there are fewer.
  std::string word(size_t i) const { return i < words_.size() ? words_[i] : std::string(); }

  // Whether a flag (an option without a value) was given.
  bool flag(std::string_view name) const { return flags_.count(std::string(name)) > 0; }
  // Whether an option that takes a value was given.
  bool has(std::string_view name) const { return values_.count(std::string(name)) > 0; }
  // The value of an option (the last one when given twice); nullopt when absent.
  std::optional<std::string> value(std::string_view name) const;
  // Every value of a repeatable option, in command-line order (--header).
  std::vector<std::string> values(std::string_view name) const;
  // A decimal value within [min, max]; nullopt when absent or malformed (then failed()).
  std::optional<uint64_t> number(std::string_view name, uint64_t min, uint64_t max);

  // Records a usage error unless the command line holds exactly `count` words;
  // `synopsis` ("realm get NAME") goes into the message.
  void expect_words(size_t count, std::string_view synopsis);
  // Records a usage error for any command option given that is not in
  // `allowed` (global options are always allowed).
  void allow_only(const std::vector<std::string_view>& allowed);

  // Records `message` as the usage error unless one is recorded already.
  void fail(std::string message);
  bool failed() const { return !error_.empty(); }
  const std::string& error() const { return error_; }

 private:
  friend Args parse_args(int argc, const char* const* argv);

  std::vector<std::string> words_;
  std::set<std::string> flags_;
  std::map<std::string, std::string> values_;
  std::map<std::string, std::vector<std::string>> all_values_;
  std::string error_;
};

// Parses argv[1..]. Unknown options and missing values are recorded as the
// usage error of the returned Args.
Args parse_args(int argc, const char* const* argv);

// The global options, read from the Args and the environment
// (SWITCHBOARD_SERVER, SWITCHBOARD_TOKEN) after parse_args().
struct GlobalOptions {
  std::string server = "127.0.0.1:50051";
  std::string token;  // "" = send no authorization metadata
  bool json = false;
  double timeout_seconds = 10;  // per unary call; watch has no deadline
  bool tls = false;
  std::string ca_file;    // PEM roots; "" = the system's
  std::string cert_file;  // client certificate (mTLS), with key_file
  std::string key_file;
};

// Reads the global options; a malformed one is recorded in `args`.
GlobalOptions read_global_options(Args& args);

}  // namespace sbctl

#endif  // SWITCHBOARD_CLIENTS_SBCTL_COMMAND_LINE_H_
