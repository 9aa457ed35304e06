#include "sip/message.h"

#include "sip/lex.h"

namespace sip {

namespace {
struct MethodEntry {
  std::string_view name;
  Method id;
};
constexpr MethodEntry kMethods[] = {
    {"ACK", Method::kAck},         {"BYE", Method::kBye},           {"CANCEL", Method::kCancel},
    {"INFO", Method::kInfo},       {"INVITE", Method::kInvite},     {"MESSAGE", Method::kMessage},
    {"NOTIFY", Method::kNotify},   {"OPTIONS", Method::kOptions},   {"PRACK", Method::kPrack},
    {"PUBLISH", Method::kPublish}, {"REFER", Method::kRefer},       {"REGISTER", Method::kRegister},
    {"SUBSCRIBE", Method::kSubscribe}, {"UPDATE", Method::kUpdate},
};
}  // namespace

Method method_id(std::string_view token) {
  // Length and first letter leave at most two candidates.
  for (const MethodEntry& e : kMethods)
    if (e.name.size() == token.size() && e.name[0] == token[0] && e.name == token) return e.id;
  return Method::kUnknown;
}

std::string_view method_name(Method m) {
  for (const MethodEntry& e : kMethods)
    if (e.id == m) return e.name;
  return {};
}

const HeaderField* Message::find(HeaderId id) const {
  for (const HeaderField& h : headers_)
    if (h.id == id) return &h;
  return nullptr;
}

const HeaderField* Message::find(std::string_view name) const {
  HeaderId id = header_id(name);
  if (id != HeaderId::kOther) return find(id);
  for (const HeaderField& h : headers_)
    if (h.id == HeaderId::kOther && lex::iequals(h.name, name)) return &h;
  return nullptr;
}

std::string_view Message::header(HeaderId id) const {
  const HeaderField* h = find(id);
  return h ? h->value : std::string_view();
}

size_t Message::count(HeaderId id) const {
  size_t n = 0;
  for (const HeaderField& h : headers_)
    if (h.id == id) ++n;
  return n;
}

std::vector<Via> Message::vias() const {
  std::vector<Via> out;
  out.reserve(via_count_);
  for_each_via([&](const Via& v) { out.push_back(v); });
  return out;
}

std::vector<NameAddr> Message::contacts() const {
  std::vector<NameAddr> out;
  out.reserve(contact_count_);
  for_each_contact([&](const NameAddr& c) { out.push_back(c); });
  return out;
}

}  // namespace sip
