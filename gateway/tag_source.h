// gateway/tag_source.h — where To tags come from (RFC 3261 §19.3: globally
// unique, at least 32 bits of randomness).
//
// Injectable so tests can predict tags. The default draws 64 random bits per
// tag from a per-thread generator seeded from std::random_device.
//
// Threading: a TagSource is called from every worker thread at once; the
// default is thread-safe, and so must be any replacement.
#ifndef SWITCHBOARD_GATEWAY_TAG_SOURCE_H_
#define SWITCHBOARD_GATEWAY_TAG_SOURCE_H_

#include <functional>
#include <string>

namespace switchboard {

using TagSource = std::function<std::string()>;

// 16 lower-case hex digits of randomness per call.
TagSource random_tag_source();

}  // namespace switchboard

#endif  // SWITCHBOARD_GATEWAY_TAG_SOURCE_H_
