#pragma once
// Result<T> = tl::expected<T, Error>, the one alias for fallible calls (STYLE.md §7).
#include <tl/expected.hpp>

#include <string>
#include <utility>

#include "core/error.hpp"

namespace colo {

template <typename T>
using Result = tl::expected<T, Error>;

using Status = Result<void>;

inline tl::unexpected<Error> fail(ErrorCode code, std::string message, std::string context = {}) {
  return tl::unexpected<Error>(Error{code, std::move(message), std::move(context)});
}

inline tl::unexpected<Error> fail(Error e) {
  return tl::unexpected<Error>(std::move(e));
}

}  // namespace colo

// Propagates the error of a Result expression, like `?` in Rust.
#define COLO_TRY(expr)                                     \
  do {                                                     \
    auto colo_try_r_ = (expr);                             \
    if (!colo_try_r_) {                                    \
      return ::colo::fail(std::move(colo_try_r_).error()); \
    }                                                      \
  } while (0)
