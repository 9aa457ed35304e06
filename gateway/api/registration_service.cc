// gateway/api/registration_service.cc — see registration_service.h.
#include "gateway/api/registration_service.h"

#include <cctype>
#include <utility>

#include "gateway/api/convert.h"
#include "gateway/api/pagination.h"
#include "gateway/api/resource_names.h"
#include "gateway/api/status.h"
#include "gateway/api/unary.h"

namespace switchboard::api {
namespace {

namespace v1 = ::switchboard::v1;

constexpr std::string_view kBindingType = "switchboard.v1.Binding";
constexpr std::string_view kRealmType = "switchboard.v1.Realm";

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = char(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool istarts_with(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && lower(s.substr(0, prefix.size())) == prefix;
}

std::string domain_of(std::string_view aor) {
  size_t at = aor.rfind('@');
  return at == std::string_view::npos ? std::string() : std::string(aor.substr(at + 1));
}

}  // namespace

std::optional<std::string> parse_aor_filter(std::string_view text) {
  if (istarts_with(text, "sips:")) {
    text.remove_prefix(5);
  } else if (istarts_with(text, "sip:")) {
    text.remove_prefix(4);
  }
  // URI parameters and headers are not part of the AOR.
  if (size_t cut = text.find_first_of(";?>"); cut != std::string_view::npos)
    text = text.substr(0, cut);
  size_t at = text.rfind('@');
  if (at == std::string_view::npos || at == 0 || at + 1 == text.size()) return std::nullopt;
  auto user = percent_decode(text.substr(0, at));
  if (!user || user->empty()) return std::nullopt;
  std::string_view host = text.substr(at + 1);
  if (size_t colon = host.rfind(':'); colon != std::string_view::npos && host.front() != '[')
    host = host.substr(0, colon);  // a port is not part of the AOR either
  if (host.empty()) return std::nullopt;
  for (char c : host)
    if (std::isspace(static_cast<unsigned char>(c)) || c == '/' || c == '@') return std::nullopt;
  return *user + "@" + lower(host);
}

RegistrationService::RegistrationService(registrar::CredentialStore& credentials,
                                         registrar::LocationService& location, WatchDeps watch,
                                         const TokenAuthenticator& auth, Logger& logger)
    : credentials_(credentials),
      location_(location),
      watch_(std::move(watch)),
      auth_(auth),
      logger_(logger) {}

grpc::ServerUnaryReactor* RegistrationService::ListBindings(Ctx* ctx,
                                                            const v1::ListBindingsRequest* req,
                                                            v1::ListBindingsResponse* resp) {
  return run_unary(ctx, auth_, Role::kRead, "RegistrationService/ListBindings",
                   [&](const Caller&) { return list_bindings(*req, *resp); });
}

grpc::ServerUnaryReactor* RegistrationService::GetBinding(Ctx* ctx,
                                                          const v1::GetBindingRequest* req,
                                                          v1::Binding* resp) {
  return run_unary(ctx, auth_, Role::kRead, "RegistrationService/GetBinding", [&](const Caller&) {
    registrar::Binding b;
    grpc::Status s = find_binding(req->name(), b);
    if (s.ok()) *resp = to_proto(b);
    return s;
  });
}

grpc::ServerUnaryReactor* RegistrationService::DeleteBinding(Ctx* ctx,
                                                             const v1::DeleteBindingRequest* req,
                                                             google::protobuf::Empty*) {
  return run_unary(
      ctx, auth_, Role::kAdmin, "RegistrationService/DeleteBinding", [&](const Caller& caller) {
        registrar::Binding b;
        if (grpc::Status s = find_binding(req->name(), b); !s.ok()) return s;
        if (!location_.remove(b.aor, b.contact, "api"))
          return not_found(kBindingType, req->name(), "binding \"" + req->name() + "\" not found");
        logger_.info("api binding deleted",
                     {{"aor", b.aor}, {"contact", b.contact}, {"token", caller.token_name}});
        return grpc::Status::OK;
      });
}

grpc::ServerWriteReactor<grpc::ByteBuffer>* RegistrationService::WatchRegistrations(
    Ctx* ctx, const grpc::ByteBuffer* req) {
  static const grpc::ByteBuffer kEmpty;
  return new WatchReactor(watch_, ctx, req != nullptr ? *req : kEmpty);
}

grpc::Status RegistrationService::find_binding(std::string_view name, registrar::Binding& out) {
  auto parsed = parse_binding_name(name);
  if (!parsed)
    return invalid_argument("name",
                            "expected \"realms/{realm}/aors/{user}/bindings/{16 hex digits}\", "
                            "got \"" +
                                std::string(name) + "\"");
  for (registrar::Binding& b : location_.lookup(parsed->aor())) {
    if (binding_id(b.aor, b.contact) == parsed->id) {
      out = std::move(b);
      return grpc::Status::OK;
    }
  }
  return not_found(kBindingType, name, "binding \"" + std::string(name) + "\" not found");
}

grpc::Status RegistrationService::list_bindings(const v1::ListBindingsRequest& req,
                                                v1::ListBindingsResponse& resp) {
  std::vector<FieldViolation> bad;
  std::optional<std::string> realm;
  if (req.parent().empty()) {
    bad.push_back({"parent", "required: \"realms/{realm}\", or \"realms/-\" for every realm"});
  } else {
    realm = parse_realm_name(req.parent());
    if (!realm)
      bad.push_back(
          {"parent", "expected \"realms/{realm}\" or \"realms/-\", got \"" + req.parent() + "\""});
  }
  std::optional<std::string> aor;
  if (!req.aor().empty()) {
    aor = parse_aor_filter(req.aor());
    if (!aor)
      bad.push_back(
          {"aor", "expected \"sip:user@domain\" or \"user@domain\", got \"" + req.aor() + "\""});
  }
  Page page;
  if (grpc::Status s = read_page(req.page_size(), req.page_token(), "bindings", page); !s.ok())
    return s;
  if (!bad.empty()) return invalid_argument(bad);

  std::string realm_filter;
  if (*realm != "-") {
    auto found = credentials_.find_realm(*realm);
    if (!found)
      return not_found(kRealmType, realm_name(*realm), "realm \"" + *realm + "\" not found");
    realm_filter = found->name;
  }

  if (aor) {
    // One AOR: every binding at once (bounded by the realm's max_contacts).
    if (!realm_filter.empty() && domain_of(*aor) != lower(realm_filter))
      return invalid_argument("aor", "\"" + req.aor() + "\" is not in realm \"" + realm_filter +
                                         "\" (use parent \"realms/-\" or the AOR's realm)");
    if (!page.after.empty()) return grpc::Status::OK;  // the single page was served
    for (const registrar::Binding& b : location_.lookup(*aor)) *resp.add_bindings() = to_proto(b);
    return grpc::Status::OK;
  }

  registrar::LocationService::Page result = location_.list(realm_filter, page.after, page.size);
  for (const registrar::Binding& b : result.bindings) *resp.add_bindings() = to_proto(b);
  if (!result.next_aor.empty())
    resp.set_next_page_token(encode_page_token("bindings", result.next_aor));
  return grpc::Status::OK;
}

}  // namespace switchboard::api
