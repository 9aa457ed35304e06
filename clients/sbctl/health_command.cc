// sbctl health — grpc.health.v1.Health/Check; sbctl version.
#include <google/protobuf/stubs/common.h>
#include <grpcpp/grpcpp.h>

#include <iostream>

#include "clients/sbctl/commands.h"
#include "clients/sbctl/exit_codes.h"
#include "clients/sbctl/output.h"
#include "clients/sbctl/rpc_error.h"
#include "grpc/health/v1/health.grpc.pb.h"

namespace sbctl {

int run_health_command(Session& session, Args& args) {
  if (args.words().size() > 2) args.expect_words(2, "health [SERVICE]");
  args.allow_only({});
  if (args.failed()) return usage_error(args.error());

  namespace health = ::grpc::health::v1;
  auto stub = health::Health::NewStub(session.channel());
  health::HealthCheckRequest request;
  request.set_service(args.word(1));  // "" = the server as a whole
  health::HealthCheckResponse response;
  grpc::Status status = stub->Check(session.context().get(), request, &response);
  if (!status.ok()) return report_rpc_error(status);
  if (session.json()) {
    print_json(response);
  } else {
    std::cout << health::HealthCheckResponse::ServingStatus_Name(response.status()) << "\n";
  }
  return response.status() == health::HealthCheckResponse::SERVING ? kExitOk : kExitServerError;
}

int run_version_command(Session& session, Args& args) {
  if (args.words().size() > 1) args.expect_words(1, "version");
  args.allow_only({});
  if (args.failed()) return usage_error(args.error());

  const int pb = GOOGLE_PROTOBUF_VERSION;  // 3021012 = 3.21.12
  std::string protobuf = std::to_string(pb / 1000000) + "." + std::to_string(pb / 1000 % 1000) +
                         "." + std::to_string(pb % 1000);
  std::string grpc_version = grpc::Version();
  if (session.json()) {
    std::cout << "{\"sbctl\":\"" << SBCTL_VERSION << "\",\"grpc\":\"" << grpc_version
              << "\",\"protobuf\":\"" << protobuf << "\"}" << std::endl;
  } else {
    std::cout << "sbctl " << SBCTL_VERSION << " (gRPC " << grpc_version << ", protobuf " << protobuf
              << ")\n";
  }
  return kExitOk;
}

}  // namespace sbctl
