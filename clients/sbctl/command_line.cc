#include "clients/sbctl/command_line.h"

#include <charconv>
#include <cmath>
#include <cstdlib>

namespace sbctl {
namespace {

struct OptionSpec {
  std::string_view name;
  bool takes_value;
  bool global;
};

// Every option of every command, in one place.
constexpr OptionSpec kOptions[] = {
    // global
    {"--server", true, true},
    {"--token", true, true},
    {"--json", false, true},
    {"--timeout", true, true},
    {"--tls", false, true},
    {"--ca-file", true, true},
    {"--cert-file", true, true},
    {"--key-file", true, true},
    {"--help", false, true},
    {"-h", false, true},
    {"--version", false, true},
    // realm create / update
    {"--challenge", true, false},
    {"--algorithms", true, false},
    {"--allow-qop-less", true, false},
    {"--default-expires", true, false},
    {"--min-expires", true, false},
    {"--max-expires", true, false},
    {"--max-contacts", true, false},
    {"--overflow", true, false},
    {"--source-auth", true, false},
    // credential create / update
    {"--password-stdin", false, false},
    {"--password", true, false},
    {"--ha1-md5", true, false},
    {"--ha1-sha256", true, false},
    {"--ha1-sha512-256", true, false},
    {"--hash1", true, false},
    {"--hash1b", true, false},
    // binding list, watch
    {"--realm", true, false},
    {"--aor", true, false},
    {"--since", true, false},
    {"--type", true, false},
    // call create|get|list|hangup|dtmf|watch|answer|reject
    {"--to", true, false},
    {"--from", true, false},
    {"--from-name", true, false},
    {"--sip-auth-username", true, false},
    {"--sip-auth-password-stdin", false, false},
    {"--sdp", true, false},
    {"--header", true, false},
    {"--request-id", true, false},
    {"--wait", true, false},
    {"--state", true, false},
    {"--types", true, false},
    {"--call", true, false},
    {"--duration", true, false},
    {"--status", true, false},
};

const OptionSpec* find_option(std::string_view name) {
  for (const auto& spec : kOptions) {
    if (spec.name == name) return &spec;
  }
  return nullptr;
}

}  // namespace

std::optional<std::string> Args::value(std::string_view name) const {
  auto it = values_.find(std::string(name));
  if (it == values_.end()) return std::nullopt;
  return it->second;
}

std::optional<uint64_t> Args::number(std::string_view name, uint64_t min, uint64_t max) {
  auto text = value(name);
  if (!text) return std::nullopt;
  uint64_t n = 0;
  const char* end = text->data() + text->size();
  auto [ptr, ec] = std::from_chars(text->data(), end, n);
  if (text->empty() || ec != std::errc() || ptr != end || n < min || n > max) {
    fail(std::string(name) + ": expected a number from " + std::to_string(min) + " to " +
         std::to_string(max) + ", got \"" + *text + "\"");
    return std::nullopt;
  }
  return n;
}

std::vector<std::string> Args::values(std::string_view name) const {
  auto it = all_values_.find(std::string(name));
  if (it == all_values_.end()) return {};
  return it->second;
}

void Args::expect_words(size_t count, std::string_view synopsis) {
  if (words_.size() < count) {
    fail("missing arguments: usage: sbctl " + std::string(synopsis));
  } else if (words_.size() > count) {
    fail("unexpected argument \"" + words_[count] + "\": usage: sbctl " + std::string(synopsis));
  }
}

void Args::allow_only(const std::vector<std::string_view>& allowed) {
  auto check = [&](const std::string& name) {
    const OptionSpec* spec = find_option(name);
    if (spec && spec->global) return;
    for (auto a : allowed) {
      if (a == name) return;
    }
    std::string command = word(0) + (words_.size() > 1 ? " " + word(1) : "");
    fail(name + " does not apply to \"" + command + "\"");
  };
  for (const auto& name : flags_) check(name);
  for (const auto& [name, value] : values_) check(name);
}

void Args::fail(std::string message) {
  if (error_.empty()) error_ = std::move(message);
}

Args parse_args(int argc, const char* const* argv) {
  Args args;
  bool options_ended = false;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (options_ended || arg.size() < 2 || arg[0] != '-') {
      args.words_.emplace_back(arg);
      continue;
    }
    if (arg == "--") {
      options_ended = true;
      continue;
    }
    std::string_view name = arg;
    std::optional<std::string_view> inline_value;
    if (auto eq = arg.find('='); eq != std::string_view::npos) {
      name = arg.substr(0, eq);
      inline_value = arg.substr(eq + 1);
    }
    const OptionSpec* spec = find_option(name);
    if (!spec) {
      args.fail("unknown option " + std::string(name));
      continue;
    }
    if (!spec->takes_value) {
      if (inline_value) args.fail(std::string(name) + " takes no value");
      args.flags_.emplace(name);
      continue;
    }
    if (inline_value) {
      args.values_[std::string(name)] = std::string(*inline_value);
      args.all_values_[std::string(name)].emplace_back(*inline_value);
    } else if (i + 1 < argc) {
      args.values_[std::string(name)] = argv[++i];
      args.all_values_[std::string(name)].emplace_back(argv[i]);
    } else {
      args.fail(std::string(name) + " needs a value");
    }
  }
  return args;
}

GlobalOptions read_global_options(Args& args) {
  GlobalOptions options;
  if (const char* env = std::getenv("SWITCHBOARD_SERVER"); env && *env) options.server = env;
  if (auto v = args.value("--server")) options.server = *v;
  if (options.server.empty()) args.fail("--server: expected HOST:PORT");

  if (const char* env = std::getenv("SWITCHBOARD_TOKEN"); env && *env) options.token = env;
  if (auto v = args.value("--token")) options.token = *v;

  options.json = args.flag("--json");

  if (auto v = args.value("--timeout")) {
    char* end = nullptr;
    double seconds = std::strtod(v->c_str(), &end);
    if (v->empty() || *end != '\0' || !std::isfinite(seconds) || seconds <= 0 || seconds > 86400) {
      args.fail("--timeout: expected seconds (0 < S <= 86400), got \"" + *v + "\"");
    } else {
      options.timeout_seconds = seconds;
    }
  }

  options.ca_file = args.value("--ca-file").value_or("");
  options.cert_file = args.value("--cert-file").value_or("");
  options.key_file = args.value("--key-file").value_or("");
  // A certificate file only makes sense over TLS: naming one implies --tls.
  options.tls = args.flag("--tls") || !options.ca_file.empty() || !options.cert_file.empty() ||
                !options.key_file.empty();
  if (options.cert_file.empty() != options.key_file.empty()) {
    args.fail("--cert-file and --key-file go together (mutual TLS)");
  }
  return options;
}

}  // namespace sbctl
