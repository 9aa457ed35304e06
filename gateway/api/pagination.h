// gateway/api/pagination.h — page_size and page_token of the List methods
// (AIP-158): 0 means 100, more than 1000 is read as 1000, negative is an
// error; a page token this server did not issue for this list is an error.
//
//   Page page;
//   if (grpc::Status s = read_page(req.page_size(), req.page_token(), "realms", page); !s.ok())
//     return s;
//   … items with key > page.after, at most page.size …
//   resp.set_next_page_token(encode_page_token("realms", last_key));
//
// Threading: pure functions.
#ifndef SWITCHBOARD_GATEWAY_API_PAGINATION_H_
#define SWITCHBOARD_GATEWAY_API_PAGINATION_H_

#include <grpcpp/support/status.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace switchboard::api {

inline constexpr size_t kDefaultPageSize = 100;
inline constexpr size_t kMaxPageSize = 1000;

struct Page {
  size_t size = kDefaultPageSize;
  std::string after;  // the last key of the previous page; "" for the first page
};

// INVALID_ARGUMENT (with BadRequest) for a negative size or a foreign token.
grpc::Status read_page(int32_t page_size, std::string_view page_token, std::string_view collection,
                       Page& out);

}  // namespace switchboard::api

#endif  // SWITCHBOARD_GATEWAY_API_PAGINATION_H_
