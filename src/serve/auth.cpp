#include "serve/auth.hpp"

namespace colo::serve {

bool constant_time_equal(std::string_view a, std::string_view b) {
  // Walk the longer length so that the loop's time does not reveal a shared prefix.
  const std::size_t n = a.size() > b.size() ? a.size() : b.size();
  unsigned diff = a.size() == b.size() ? 0U : 1U;
  for (std::size_t i = 0; i < n; ++i) {
    const auto x = static_cast<unsigned char>(i < a.size() ? a[i] : 0);
    const auto y = static_cast<unsigned char>(i < b.size() ? b[i] : 0);
    diff |= static_cast<unsigned>(x ^ y);
  }
  return diff == 0;
}

bool authorized(std::string_view authorization_header, std::string_view token) {
  if (token.empty()) {
    return true;
  }
  constexpr std::string_view k_prefix = "Bearer ";
  if (authorization_header.size() < k_prefix.size() ||
      authorization_header.substr(0, k_prefix.size()) != k_prefix) {
    return false;
  }
  return constant_time_equal(authorization_header.substr(k_prefix.size()), token);
}

}  // namespace colo::serve
