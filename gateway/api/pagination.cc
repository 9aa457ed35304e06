// gateway/api/pagination.cc — see pagination.h.
#include "gateway/api/pagination.h"

#include "gateway/api/resource_names.h"
#include "gateway/api/status.h"

namespace switchboard::api {

grpc::Status read_page(int32_t page_size, std::string_view page_token, std::string_view collection,
                       Page& out) {
  std::vector<FieldViolation> violations;
  out = Page{};
  if (page_size < 0) {
    violations.push_back({"page_size", "must not be negative (0 means the default, 100; at most " +
                                           std::to_string(kMaxPageSize) + ")"});
  } else if (page_size > 0) {
    out.size = std::min(size_t(page_size), kMaxPageSize);
  }
  if (!page_token.empty()) {
    auto after = decode_page_token(collection, page_token);
    if (!after) {
      violations.push_back({"page_token",
                            "not a page token of this list: pass next_page_token of the previous "
                            "page unchanged, or leave it empty for the first page"});
    } else {
      out.after = std::move(*after);
    }
  }
  if (!violations.empty()) return invalid_argument(violations);
  return grpc::Status::OK;
}

}  // namespace switchboard::api
