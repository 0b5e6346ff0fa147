#include "core/private_dir.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <vector>

namespace colo {

namespace fs = std::filesystem;

Status create_private_dir(const std::string& path, ExistingDir existing) {
  if (path.empty()) {
    return fail(ErrorCode::invalid_argument, "empty directory path");
  }
  // Missing components, outermost first, each made 0700 (mkdir applies the umask: chmod after).
  std::vector<fs::path> missing;
  std::error_code ec;
  for (fs::path p = fs::path(path).lexically_normal(); !p.empty() && !fs::exists(p, ec);
       p = p.parent_path()) {
    missing.push_back(p);
    if (p == p.parent_path()) {
      break;
    }
  }
  for (auto it = missing.rbegin(); it != missing.rend(); ++it) {
    if (::mkdir(it->c_str(), 0700) != 0 && errno != EEXIST) {
      return fail(ErrorCode::io, fmt::format("cannot create directory '{}'", it->string()),
                  std::strerror(errno));
    }
    (void)::chmod(it->c_str(), 0700);
  }
  struct stat st{};
  if (::stat(path.c_str(), &st) != 0) {
    return fail(ErrorCode::io, fmt::format("cannot create directory '{}'", path),
                std::strerror(errno));
  }
  if (!S_ISDIR(st.st_mode)) {
    return fail(ErrorCode::io, fmt::format("'{}' exists and is not a directory", path));
  }
  if (st.st_uid != ::geteuid()) {
    return fail(ErrorCode::io,
                fmt::format("directory '{}' belongs to uid {}, not to this user (uid {}): use a "
                            "directory of your own",
                            path, st.st_uid, ::geteuid()));
  }
  if (existing == ExistingDir::make_private && (st.st_mode & 0777) != 0700 &&
      ::chmod(path.c_str(), 0700) != 0) {
    return fail(ErrorCode::io, fmt::format("cannot make '{}' private (chmod 0700)", path),
                std::strerror(errno));
  }
  return {};
}

Status make_private_file(const std::string& path) {
  struct stat st{};
  if (::stat(path.c_str(), &st) != 0) {
    return {};
  }
  if (st.st_uid != ::geteuid()) {
    return fail(ErrorCode::io, fmt::format("'{}' belongs to uid {}, not to this user (uid {})",
                                           path, st.st_uid, ::geteuid()));
  }
  if ((st.st_mode & 0777) != 0600 && ::chmod(path.c_str(), 0600) != 0) {
    return fail(ErrorCode::io, fmt::format("cannot make '{}' private (chmod 0600)", path),
                std::strerror(errno));
  }
  return {};
}

}  // namespace colo
