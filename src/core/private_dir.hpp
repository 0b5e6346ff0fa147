#pragma once
// Directories that only their owner may enter (0700): results, run logs, MPS pipes. On a shared
// GPU server another user must neither read a workload's output nor plant files in colo's
// directories (docs/security.md). No privileges needed.
#include <string>

#include "core/result.hpp"

namespace colo {

// What to do with a directory that already exists.
enum class ExistingDir {
  keep_mode,     // a directory the user chose (--results): checked for owner, mode left alone
  make_private,  // colo's own (logs, run and MPS directories): set to 0700
};

// Creates `path` and its missing parents with mode 0700 (parents that exist are left alone),
// then makes sure `path` itself belongs to this user (and, with make_private, is 0700). Errors:
// cannot create, not a directory, owned by another user (naming it and its owner).
Status create_private_dir(const std::string& path,
                          ExistingDir existing = ExistingDir::make_private);

// Sets an existing file of ours to 0600 (no-op for a missing file). Errors: owned by another
// user, chmod failed.
Status make_private_file(const std::string& path);

}  // namespace colo
