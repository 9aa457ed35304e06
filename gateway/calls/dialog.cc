// gateway/calls/dialog.cc — see dialog.h.
#include "gateway/calls/dialog.h"

#include <algorithm>

namespace switchboard::calls {

std::string dialog_key(std::string_view call_id, std::string_view local_tag,
                       std::string_view remote_tag) {
  std::string key;
  key.reserve(call_id.size() + local_tag.size() + remote_tag.size() + 16);
  for (std::string_view part : {call_id, local_tag, remote_tag}) {
    key.append(std::to_string(part.size())).push_back(':');
    key.append(part);
  }
  return key;
}

std::string Dialog::key() const { return dialog_key(call_id, local_tag, remote_tag); }

sip::RequestBuilder Dialog::request(std::string_view method, std::string_view branch) {
  sip::RequestBuilder r(method, remote_target);
  r.via(via_transport, sent_by, branch)
      .from_value(local_party)
      .to_value(remote_party)
      .call_id(call_id)
      .cseq(++local_cseq)
      .contact(local_contact);
  for (const std::string& route : route_set) r.route(route);
  return r;
}

sip::RequestBuilder Dialog::ack(uint32_t invite_cseq, std::string_view branch) const {
  sip::RequestBuilder r("ACK", remote_target);
  r.via(via_transport, sent_by, branch)
      .from_value(local_party)
      .to_value(remote_party)
      .call_id(call_id)
      .cseq(invite_cseq, "ACK");
  for (const std::string& route : route_set) r.route(route);
  return r;
}

bool Dialog::accept_remote_cseq(uint32_t cseq) {
  if (remote_cseq && cseq < *remote_cseq) return false;
  remote_cseq = cseq;
  return true;
}

std::vector<std::string> record_route_values(const sip::Message& m) {
  std::vector<std::string> out;
  m.for_each_value(sip::HeaderId::kRecordRoute, [&](std::string_view v) {
    if (out.size() < 16) out.emplace_back(v);
    return true;
  });
  return out;
}

namespace {

std::optional<std::string> first_contact_uri(const sip::Message& m) {
  std::optional<std::string> uri;
  m.for_each_contact([&](const sip::NameAddr& na) {
    if (!uri && na.uri.is_sip()) uri = std::string(na.uri.text);
  });
  return uri;
}

}  // namespace

std::optional<Dialog> dialog_from_2xx(const sip::RequestBuilder& invite, const sip::Message& ok,
                                      std::string_view local_tag) {
  if (!ok.to()) return std::nullopt;
  // A 2xx without Contact (or without a To tag) is broken, but it must still
  // be ACKed or the device retransmits it for 32 s: fall back to the
  // Request-URI as the remote target.
  std::optional<std::string> target = first_contact_uri(ok);
  if (!target) target = invite.request_uri();
  Dialog d;
  d.call_id = invite.call_id_value();
  d.local_tag = std::string(local_tag);
  d.remote_tag = std::string(ok.to()->tag());
  d.local_party = invite.from_value();
  d.remote_party = std::string(ok.header(sip::HeaderId::kTo));
  d.remote_target = std::move(*target);
  d.route_set = record_route_values(ok);
  std::reverse(d.route_set.begin(), d.route_set.end());
  d.local_cseq = invite.cseq_number();
  return d;
}

std::optional<Dialog> dialog_from_invite(const sip::Message& invite, std::string_view local_tag) {
  if (!invite.from() || invite.from()->tag().empty() || !invite.cseq()) return std::nullopt;
  std::optional<std::string> target = first_contact_uri(invite);
  if (!target) return std::nullopt;
  Dialog d;
  d.call_id = std::string(invite.call_id());
  d.local_tag = std::string(local_tag);
  d.remote_tag = std::string(invite.from()->tag());
  d.local_party = std::string(invite.header(sip::HeaderId::kTo)) + ";tag=" + std::string(local_tag);
  d.remote_party = std::string(invite.header(sip::HeaderId::kFrom));
  d.remote_target = std::move(*target);
  d.route_set = record_route_values(invite);
  d.remote_cseq = invite.cseq()->seq;
  d.local_cseq = 0;
  return d;
}

}  // namespace switchboard::calls
