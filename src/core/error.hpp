#pragma once
// Errors are values (STYLE.md §7). An Error carries a code, a human message naming the problem,
// and optional context (the failed call, file:line, an NVML return code).
#include <string>

namespace colo {

enum class ErrorCode {
  invalid_argument,  // bad user input: spec, flag, id
  not_found,         // a file, binary, experiment or device that does not exist
  io,                // filesystem or pipe failure (disk full, permission denied)
  store,             // SQLite failure or incompatible store
  busy,              // a resource held by someone else (store lock)
  gpu,               // a GPU backend failure (driver, NVML, MPS)
  unsupported,       // a feature the chosen backend or device cannot provide
  process,           // fork/exec/wait failure
  interrupted,       // stopped by SIGINT/SIGTERM
  internal,          // a broken invariant
};

const char* to_string(ErrorCode code);

struct Error {
  ErrorCode code = ErrorCode::internal;
  std::string message;
  std::string context;

  // "message (context)" or just "message".
  [[nodiscard]] std::string what() const;
};

// Process exit code colo uses for an error of this code (documented in docs/cli.md).
int exit_code_for(ErrorCode code);

}  // namespace colo
