#include "cluster/command.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <array>
#include <cerrno>
#include <cstring>

namespace colo::cluster {
namespace {

// Closes what it holds on scope exit.
struct Fd {
  int fd = -1;
  Fd() = default;
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  Fd(Fd&&) = delete;
  Fd& operator=(Fd&&) = delete;
  ~Fd() { reset(); }
  void reset() {
    if (fd >= 0) {
      ::close(fd);
    }
    fd = -1;
  }
};

bool make_pipe(Fd& r, Fd& w) {
  std::array<int, 2> p{};
  if (::pipe2(p.data(), O_CLOEXEC) != 0) {
    return false;
  }
  r.fd = p[0];
  w.fd = p[1];
  return true;
}

}  // namespace

Result<CommandOutput> ProcessRunner::run(const std::vector<std::string>& argv) {
  if (argv.empty()) {
    return fail(ErrorCode::internal, "empty command");
  }
  Fd out_r;
  Fd out_w;
  Fd err_r;
  Fd err_w;
  Fd exec_r;
  Fd exec_w;
  if (!make_pipe(out_r, out_w) || !make_pipe(err_r, err_w) || !make_pipe(exec_r, exec_w)) {
    return fail(ErrorCode::process, fmt::format("pipe: {}", std::strerror(errno)), argv[0]);
  }
  std::vector<char*> args;
  args.reserve(argv.size() + 1);
  for (const auto& a : argv) {
    args.push_back(const_cast<char*>(a.c_str()));  // NOLINT(cppcoreguidelines-pro-type-const-cast)
  }
  args.push_back(nullptr);
  const pid_t pid = ::fork();
  if (pid < 0) {
    return fail(ErrorCode::process, fmt::format("fork: {}", std::strerror(errno)), argv[0]);
  }
  if (pid == 0) {
    const int devnull = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (devnull >= 0) {
      ::dup2(devnull, STDIN_FILENO);
    }
    ::dup2(out_w.fd, STDOUT_FILENO);
    ::dup2(err_w.fd, STDERR_FILENO);
    ::execvp(args[0], args.data());
    const int e = errno;
    (void)!::write(exec_w.fd, &e, sizeof(e));
    ::_exit(127);
  }
  out_w.reset();
  err_w.reset();
  exec_w.reset();
  int exec_errno = 0;
  const ssize_t got = ::read(exec_r.fd, &exec_errno, sizeof(exec_errno));
  CommandOutput result;
  std::array<pollfd, 2> fds{{{out_r.fd, POLLIN, 0}, {err_r.fd, POLLIN, 0}}};
  std::array<std::string*, 2> sinks{&result.out, &result.err};
  const auto deadline = std::chrono::steady_clock::now() + m_timeout;
  bool timed_out = false;
  while (got <= 0 && (fds[0].fd >= 0 || fds[1].fd >= 0)) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      timed_out = true;
      ::kill(pid, SIGKILL);
      break;
    }
    const int n = ::poll(fds.data(), fds.size(), static_cast<int>(left.count()));
    if (n < 0 && errno != EINTR) {
      break;
    }
    for (std::size_t i = 0; i < fds.size(); ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) {
        continue;
      }
      std::array<char, 4096> buf{};
      const ssize_t k = ::read(fds[i].fd, buf.data(), buf.size());
      if (k > 0) {
        sinks[i]->append(buf.data(), static_cast<std::size_t>(k));
      } else if (k == 0 || errno != EINTR) {
        fds[i].fd = -1;
      }
    }
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (got > 0) {
    return fail(exec_errno == ENOENT ? ErrorCode::not_found : ErrorCode::process,
                exec_errno == ENOENT
                    ? fmt::format("'{}' is not installed (not found in PATH)", argv[0])
                    : fmt::format("cannot run '{}': {}", argv[0], std::strerror(exec_errno)));
  }
  if (timed_out) {
    return fail(ErrorCode::process, fmt::format("'{}' did not answer within {} s (killed)",
                                                fmt::join(argv, " "), m_timeout.count()));
  }
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

}  // namespace colo::cluster
