// registrar/store/redis/redis_codec.cc — see redis_codec.h.
#include "registrar/store/redis/redis_codec.h"

#include <algorithm>
#include <charconv>

#include "registrar/store/binding_codec.h"
#include "registrar/store/varint.h"

namespace registrar {
namespace {

constexpr std::string_view kSetMagic = "sb1 ";   // before stamps (read only)
constexpr std::string_view kSetMagic2 = "sb2 ";
constexpr uint8_t kEventVersion = 1;

}  // namespace

std::string binding_set_realms(const std::vector<Binding>& bindings) {
  std::vector<std::string_view> realms;
  for (const Binding& b : bindings) {
    if (!b.realm.empty()) realms.push_back(b.realm);
  }
  std::sort(realms.begin(), realms.end());
  realms.erase(std::unique(realms.begin(), realms.end()), realms.end());
  std::string out;
  for (std::string_view r : realms) {
    if (!out.empty()) out.push_back('\0');
    out.append(r);
  }
  return out;
}

std::string encode_binding_set(std::string_view aor, const std::vector<Binding>& bindings,
                               uint64_t stamp) {
  const std::string realms = binding_set_realms(bindings);
  int64_t base = 0;
  for (const Binding& b : bindings) base = std::max(base, to_epoch_ms(b.expires_at));
  std::string out(kSetMagic2);
  out += std::to_string(stamp);
  out += ' ';
  out += std::to_string(realms.size());
  out += '\n';
  out += realms;
  put_varint(out, static_cast<uint64_t>(base));
  put_varint(out, bindings.size());
  std::string blob;
  for (const Binding& b : bindings) {
    blob.clear();
    encode_binding(b, aor, base, blob);
    put_string(out, blob);
  }
  return out;
}

bool decode_binding_set(std::string_view value, std::string_view aor, std::vector<Binding>& out,
                        uint64_t* stamp) {
  out.clear();
  uint64_t read_stamp = 0;
  if (value.substr(0, kSetMagic2.size()) == kSetMagic2) {
    value.remove_prefix(kSetMagic2.size());
    const size_t sp = value.find(' ');
    if (sp == std::string_view::npos || sp == 0 || sp > 20) return false;
    auto [p, ec] = std::from_chars(value.data(), value.data() + sp, read_stamp);
    if (ec != std::errc() || p != value.data() + sp) return false;
    value.remove_prefix(sp + 1);
  } else if (value.substr(0, kSetMagic.size()) == kSetMagic) {
    value.remove_prefix(kSetMagic.size());  // written before stamps: stamp 0
  } else {
    return false;
  }
  if (stamp != nullptr) *stamp = read_stamp;
  const size_t nl = value.find('\n');
  if (nl == std::string_view::npos || nl == 0 || nl > 10) return false;
  size_t realms_len = 0;
  auto [p, ec] = std::from_chars(value.data(), value.data() + nl, realms_len);
  if (ec != std::errc() || p != value.data() + nl || realms_len > value.size() - nl - 1)
    return false;
  VarintReader r(value.substr(nl + 1 + realms_len));
  const uint64_t base = r.varint();
  const uint64_t count = r.varint();
  if (!r.ok() || base > static_cast<uint64_t>(INT64_MAX) || count > 100'000) return false;
  out.reserve(static_cast<size_t>(count));
  for (uint64_t i = 0; i < count; ++i) {
    const std::string_view blob = r.string();
    Binding b;
    if (!r.ok() || !decode_binding(blob, aor, static_cast<int64_t>(base), b) || b.aor != aor) {
      out.clear();
      return false;
    }
    out.push_back(std::move(b));
  }
  if (!r.done_ok()) {
    out.clear();
    return false;
  }
  return true;
}

std::string encode_event(std::string_view aor, const RegistrationEvent& e) {
  const int64_t time = to_epoch_ms(e.time);
  std::string out;
  out.push_back(static_cast<char>(kEventVersion));
  out.push_back(static_cast<char>(static_cast<uint8_t>(e.type)));
  put_string(out, e.reason);
  std::string blob;
  encode_binding(e.binding, aor, time, blob);
  put_string(out, blob);
  blob.clear();
  if (e.type == RegistrationEventType::kReplaced) encode_binding(e.previous, aor, time, blob);
  put_string(out, blob);
  return out;
}

bool decode_event(std::string_view blob, std::string_view aor, int64_t time_ms,
                  RegistrationEvent& e) {
  VarintReader r(blob);
  if (r.byte() != kEventVersion) return false;
  const uint8_t type = r.byte();
  if (type < 1 || type > 6) return false;
  e.type = static_cast<RegistrationEventType>(type);
  e.reason = std::string(r.string());
  const std::string_view binding = r.string();
  const std::string_view previous = r.string();
  if (!r.done_ok()) return false;
  if (!decode_binding(binding, aor, time_ms, e.binding)) return false;
  e.previous = Binding{};
  if (!previous.empty() && !decode_binding(previous, aor, time_ms, e.previous)) return false;
  return true;
}

}  // namespace registrar
