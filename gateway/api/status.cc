// gateway/api/status.cc — see status.h.
#include "gateway/api/status.h"

#include <utility>

namespace switchboard::api {
namespace {

grpc::Status with_detail(grpc::StatusCode code, std::string message,
                         const google::protobuf::Message& detail) {
  google::rpc::Status s;
  s.set_code(int(code));
  s.set_message(message);
  s.add_details()->PackFrom(detail);
  return grpc::Status(code, std::move(message), s.SerializeAsString());
}

}  // namespace

grpc::Status invalid_argument(const std::vector<FieldViolation>& violations) {
  google::rpc::BadRequest bad;
  std::string message;
  for (const FieldViolation& v : violations) {
    auto* fv = bad.add_field_violations();
    fv->set_field(v.field);
    fv->set_description(v.description);
    if (!message.empty()) message += "; ";
    message += v.field.empty() ? v.description : v.field + ": " + v.description;
  }
  return with_detail(grpc::StatusCode::INVALID_ARGUMENT, std::move(message), bad);
}

grpc::Status invalid_argument(std::string field, std::string description) {
  return invalid_argument({FieldViolation{std::move(field), std::move(description)}});
}

grpc::Status not_found(std::string_view resource_type, std::string_view resource_name,
                       std::string message) {
  google::rpc::ResourceInfo info;
  info.set_resource_type(std::string(resource_type));
  info.set_resource_name(std::string(resource_name));
  info.set_description(message);
  return with_detail(grpc::StatusCode::NOT_FOUND, std::move(message), info);
}

grpc::Status already_exists(std::string_view resource_type, std::string_view resource_name,
                            std::string message) {
  google::rpc::ResourceInfo info;
  info.set_resource_type(std::string(resource_type));
  info.set_resource_name(std::string(resource_name));
  info.set_description(message);
  return with_detail(grpc::StatusCode::ALREADY_EXISTS, std::move(message), info);
}

grpc::Status error_info(grpc::StatusCode code, std::string message, std::string_view reason,
                        const std::map<std::string, std::string>& metadata) {
  google::rpc::ErrorInfo info;
  info.set_reason(std::string(reason));
  info.set_domain(std::string(kErrorDomain));
  for (const auto& [k, v] : metadata) (*info.mutable_metadata())[k] = v;
  return with_detail(code, std::move(message), info);
}

grpc::Status with_details(grpc::StatusCode code, std::string message,
                          std::initializer_list<const google::protobuf::Message*> details) {
  google::rpc::Status s;
  s.set_code(int(code));
  s.set_message(message);
  for (const google::protobuf::Message* d : details) s.add_details()->PackFrom(*d);
  return grpc::Status(code, std::move(message), s.SerializeAsString());
}

google::rpc::ErrorInfo make_error_info(std::string_view reason,
                                       const std::map<std::string, std::string>& metadata) {
  google::rpc::ErrorInfo info;
  info.set_reason(std::string(reason));
  info.set_domain(std::string(kErrorDomain));
  for (const auto& [k, v] : metadata) (*info.mutable_metadata())[k] = v;
  return info;
}

std::optional<google::rpc::Status> status_details(const grpc::Status& status) {
  if (status.error_details().empty()) return std::nullopt;
  google::rpc::Status s;
  if (!s.ParseFromString(status.error_details())) return std::nullopt;
  return s;
}

}  // namespace switchboard::api
