// gateway/api/status.h — grpc::Status values with google.rpc.Status details
// (the `grpc-status-details-bin` trailer), so clients learn what went wrong
// in a form both people and programs read:
//
//   INVALID_ARGUMENT    google.rpc.BadRequest, one FieldViolation per bad field
//   NOT_FOUND,
//   ALREADY_EXISTS      google.rpc.ResourceInfo naming the resource
//   everything else     google.rpc.ErrorInfo: reason (UPPER_SNAKE_CASE),
//                       domain "switchboard.dev", metadata
//
//   return invalid_argument({{"credential.password", "must not be empty"}});
//   return not_found("switchboard.v1.Realm", "realms/acme.example");
//       // → NOT_FOUND `realm "acme.example" not found`
//   return error_info(grpc::StatusCode::OUT_OF_RANGE, "since_sequence 3 is older than …",
//                     "SEQUENCE_OUT_OF_RANGE", {{"oldest_sequence", "10"}});
//
// Threading: pure functions.
#ifndef SWITCHBOARD_GATEWAY_API_STATUS_H_
#define SWITCHBOARD_GATEWAY_API_STATUS_H_

#include <grpcpp/support/status.h>

#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"

namespace switchboard::api {

inline constexpr std::string_view kErrorDomain = "switchboard.dev";

struct FieldViolation {
  std::string field;        // "realm.max_expires_seconds", "page_size"
  std::string description;  // "must be at least 1", for a person
};

// INVALID_ARGUMENT; the message joins the violations ("field: description; …").
// REQUIRES: !violations.empty().
grpc::Status invalid_argument(const std::vector<FieldViolation>& violations);
grpc::Status invalid_argument(std::string field, std::string description);

// NOT_FOUND / ALREADY_EXISTS with ResourceInfo. `resource_type` is the proto
// message ("switchboard.v1.Realm"); the message reads `realm "acme.example"
// not found` / `credential "alice" already exists in realm "acme.example"`.
grpc::Status not_found(std::string_view resource_type, std::string_view resource_name,
                       std::string message);
grpc::Status already_exists(std::string_view resource_type, std::string_view resource_name,
                            std::string message);

// Any other code, with ErrorInfo{reason, domain, metadata}.
grpc::Status error_info(grpc::StatusCode code, std::string message, std::string_view reason,
                        const std::map<std::string, std::string>& metadata = {});

// Any code with several details at once (NOT_FOUND of a call with both
// ResourceInfo and ErrorInfo, for instance), packed in the order given.
grpc::Status with_details(grpc::StatusCode code, std::string message,
                          std::initializer_list<const google::protobuf::Message*> details);
// The ErrorInfo error_info() would attach.
google::rpc::ErrorInfo make_error_info(std::string_view reason,
                                       const std::map<std::string, std::string>& metadata = {});

// The google.rpc.Status a status carries (for tests and clients); nullopt
// when it has none or it does not parse.
std::optional<google::rpc::Status> status_details(const grpc::Status& status);

}  // namespace switchboard::api

#endif  // SWITCHBOARD_GATEWAY_API_STATUS_H_
