#include "clients/sbctl/rpc_error.h"

#include <iostream>

#include "clients/sbctl/exit_codes.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"

namespace sbctl {

const char* status_code_name(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK:
      return "OK";
    case grpc::StatusCode::CANCELLED:
      return "CANCELLED";
    case grpc::StatusCode::UNKNOWN:
      return "UNKNOWN";
    case grpc::StatusCode::INVALID_ARGUMENT:
      return "INVALID_ARGUMENT";
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return "DEADLINE_EXCEEDED";
    case grpc::StatusCode::NOT_FOUND:
      return "NOT_FOUND";
    case grpc::StatusCode::ALREADY_EXISTS:
      return "ALREADY_EXISTS";
    case grpc::StatusCode::PERMISSION_DENIED:
      return "PERMISSION_DENIED";
    case grpc::StatusCode::UNAUTHENTICATED:
      return "UNAUTHENTICATED";
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return "RESOURCE_EXHAUSTED";
    case grpc::StatusCode::FAILED_PRECONDITION:
      return "FAILED_PRECONDITION";
    case grpc::StatusCode::ABORTED:
      return "ABORTED";
    case grpc::StatusCode::OUT_OF_RANGE:
      return "OUT_OF_RANGE";
    case grpc::StatusCode::UNIMPLEMENTED:
      return "UNIMPLEMENTED";
    case grpc::StatusCode::INTERNAL:
      return "INTERNAL";
    case grpc::StatusCode::UNAVAILABLE:
      return "UNAVAILABLE";
    case grpc::StatusCode::DATA_LOSS:
      return "DATA_LOSS";
    default:
      return "UNKNOWN";
  }
}

int exit_code_for(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::UNAVAILABLE:
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return kExitUnreachable;
    case grpc::StatusCode::UNAUTHENTICATED:
    case grpc::StatusCode::PERMISSION_DENIED:
      return kExitAuth;
    case grpc::StatusCode::NOT_FOUND:
      return kExitNotFound;
    default:
      return kExitServerError;
  }
}

std::string describe_rpc_error(const grpc::Status& status, std::string_view hint) {
  std::string out = status_code_name(status.error_code());
  if (!status.error_message().empty()) out += ": " + status.error_message();

  google::rpc::Status details;
  if (!status.error_details().empty() && details.ParseFromString(status.error_details())) {
    for (const auto& any : details.details()) {
      google::rpc::BadRequest bad_request;
      google::rpc::ErrorInfo error_info;
      google::rpc::ResourceInfo resource_info;
      if (any.UnpackTo(&bad_request)) {
        for (const auto& violation : bad_request.field_violations()) {
          out += "\n  field " + violation.field() + ": " + violation.description();
        }
      } else if (any.UnpackTo(&error_info)) {
        out += "\n  reason " + error_info.reason();
        if (!error_info.domain().empty()) out += " (" + error_info.domain() + ")";
        for (const auto& [key, value] : error_info.metadata()) {
          out += "\n    " + key + "=" + value;
        }
      } else if (any.UnpackTo(&resource_info)) {
        out +=
            "\n  resource " + resource_info.resource_type() + " " + resource_info.resource_name();
        if (!resource_info.description().empty()) out += ": " + resource_info.description();
      } else {
        out += "\n  detail " + any.type_url();
      }
    }
  }
  // No details: the failure is the channel's (nothing answered), not the server's word.
  if (details.details().empty() && (status.error_code() == grpc::StatusCode::UNAVAILABLE ||
                                    status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED)) {
    out += "\n  cannot reach the server: is it running, and is --server right?";
  }
  if (!hint.empty()) out += "\n  " + std::string(hint);
  return out;
}

int report_rpc_error(const grpc::Status& status, std::string_view hint) {
  std::cerr << "sbctl: " << describe_rpc_error(status, hint) << std::endl;
  return exit_code_for(status.error_code());
}

int usage_error(std::string_view message) {
  std::cerr << "sbctl: " << message << "\n(see sbctl --help)" << std::endl;
  return kExitUsage;
}

}  // namespace sbctl
