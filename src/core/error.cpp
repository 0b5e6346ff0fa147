#include "core/error.hpp"

namespace colo {

const char* to_string(ErrorCode code) {
  switch (code) {
    case ErrorCode::invalid_argument:
      return "invalid argument";
    case ErrorCode::not_found:
      return "not found";
    case ErrorCode::io:
      return "i/o error";
    case ErrorCode::store:
      return "store error";
    case ErrorCode::busy:
      return "busy";
    case ErrorCode::gpu:
      return "gpu error";
    case ErrorCode::unsupported:
      return "unsupported";
    case ErrorCode::process:
      return "process error";
    case ErrorCode::interrupted:
      return "interrupted";
    case ErrorCode::internal:
      return "internal error";
  }
  return "unknown error";
}

std::string Error::what() const {
  if (context.empty()) {
    return message;
  }
  return message + " (" + context + ")";
}

int exit_code_for(ErrorCode code) {
  switch (code) {
    case ErrorCode::invalid_argument:
    case ErrorCode::not_found:
    case ErrorCode::unsupported:
      return 2;
    case ErrorCode::io:
    case ErrorCode::store:
    case ErrorCode::busy:
      return 4;
    case ErrorCode::gpu:
      return 5;
    case ErrorCode::interrupted:
      return 130;
    case ErrorCode::process:
    case ErrorCode::internal:
      return 1;
  }
  return 1;
}

}  // namespace colo
