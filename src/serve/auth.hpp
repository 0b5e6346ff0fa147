#pragma once
// Bearer-token checks for `colo serve`. Pure.
#include <string_view>

namespace colo::serve {

// Equality in time that depends only on the lengths, never on where the strings differ (a
// token cannot be guessed byte by byte from response times).
bool constant_time_equal(std::string_view a, std::string_view b);

// Whether an Authorization header value grants access: "Bearer <token>" with the right token.
// An empty `token` (loopback without one configured) grants every request.
bool authorized(std::string_view authorization_header, std::string_view token);

}  // namespace colo::serve
