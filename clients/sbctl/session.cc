#include "clients/sbctl/session.h"

#include <chrono>
#include <fstream>
#include <sstream>

namespace sbctl {
namespace {

bool read_file(const std::string& path, std::string& out, std::string& error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    error = "cannot read " + path;
    return false;
  }
  std::ostringstream text;
  text << in.rdbuf();
  out = text.str();
  return true;
}

}  // namespace

bool Session::load_tls_files(std::string& error) {
  if (!options_.ca_file.empty() && !read_file(options_.ca_file, ssl_.pem_root_certs, error)) {
    return false;
  }
  if (!options_.cert_file.empty() && (!read_file(options_.cert_file, ssl_.pem_cert_chain, error) ||
                                      !read_file(options_.key_file, ssl_.pem_private_key, error))) {
    return false;
  }
  return true;
}

std::shared_ptr<grpc::Channel> Session::channel() {
  if (!channel_) {
    channel_ =
        grpc::CreateChannel(options_.server, options_.tls ? grpc::SslCredentials(ssl_)
                                                          : grpc::InsecureChannelCredentials());
  }
  return channel_;
}

std::unique_ptr<grpc::ClientContext> Session::context(bool with_deadline) const {
  auto context = std::make_unique<grpc::ClientContext>();
  // Plain metadata rather than call credentials: gRPC refuses to send call
  // credentials over a plaintext channel, and the server on loopback is plaintext.
  if (!options_.token.empty()) context->AddMetadata("authorization", "Bearer " + options_.token);
  if (with_deadline) {
    auto timeout = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::duration<double>(options_.timeout_seconds));
    context->set_deadline(std::chrono::system_clock::now() + timeout);
  }
  return context;
}

}  // namespace sbctl
