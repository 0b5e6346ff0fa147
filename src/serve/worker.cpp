#include "serve/worker.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <thread>

namespace colo::serve {
namespace {

int remaining_ms(std::chrono::steady_clock::time_point until) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                        until - std::chrono::steady_clock::now())
                        .count();
  return left <= 0 ? 0 : static_cast<int>(std::min<long long>(left, 1'000'000'000));
}

}  // namespace

Result<std::unique_ptr<WorkerProcess>> WorkerProcess::start(SpawnRequest req) {
  int in[2];
  int out[2];
  if (::pipe2(in, O_CLOEXEC) != 0) {
    return fail(ErrorCode::process, "pipe failed", std::strerror(errno));
  }
  if (::pipe2(out, O_CLOEXEC) != 0) {
    ::close(in[0]);
    ::close(in[1]);
    return fail(ErrorCode::process, "pipe failed", std::strerror(errno));
  }
  req.stdin_fd = in[0];
  req.stdout_fd = out[1];
  req.stderr_fd = STDERR_FILENO;
  auto sp = spawn(req);
  ::close(in[0]);
  ::close(out[1]);
  if (!sp) {
    ::close(in[1]);
    ::close(out[0]);
    return fail(sp.error());
  }
  ::fcntl(in[1], F_SETFL, O_NONBLOCK);
  ::fcntl(out[0], F_SETFL, O_NONBLOCK);
  return std::unique_ptr<WorkerProcess>(new WorkerProcess(sp->pid, in[1], out[0]));
}

WorkerProcess::~WorkerProcess() {
  stop(std::chrono::milliseconds(500));
}

CallResult WorkerProcess::call(std::string_view line, Nanos timeout) {
  const auto until = std::chrono::steady_clock::now() +
                     std::chrono::duration_cast<std::chrono::nanoseconds>(timeout);
  if (m_in < 0 || m_out < 0) {
    return {CallStatus::crashed, {}, "worker is stopped"};
  }
  std::string msg(line);
  msg += '\n';
  std::size_t off = 0;
  while (off < msg.size()) {
    const ssize_t n = ::write(m_in, msg.data() + off, msg.size() - off);
    if (n > 0) {
      off += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0 && errno == EAGAIN) {
      pollfd p{m_in, POLLOUT, 0};
      const int ms = remaining_ms(until);
      if (ms == 0 || ::poll(&p, 1, ms) == 0) {
        return {CallStatus::timeout, {}, "the worker did not read its task before the deadline"};
      }
      continue;
    }
    return {CallStatus::crashed, {}, reap_reason(std::chrono::seconds(1))};  // EPIPE
  }
  while (true) {
    const auto nl = m_buf.find('\n');
    if (nl != std::string::npos) {
      CallResult r{CallStatus::ok, m_buf.substr(0, nl), {}};
      m_buf.erase(0, nl + 1);
      return r;
    }
    if (m_buf.size() > k_max_line) {
      return {CallStatus::crashed,
              {},
              fmt::format("the worker's answer exceeded {} bytes without a newline", k_max_line)};
    }
    pollfd p{m_out, POLLIN, 0};
    const int ms = remaining_ms(until);
    const int pr = ms == 0 ? 0 : ::poll(&p, 1, ms);
    if (pr < 0 && errno == EINTR) {
      continue;
    }
    if (pr == 0) {
      return {CallStatus::timeout, {}, "deadline exceeded while the worker ran the task"};
    }
    char buf[65536];
    const ssize_t n = ::read(m_out, buf, sizeof(buf));
    if (n > 0) {
      m_buf.append(buf, static_cast<std::size_t>(n));
    } else if (n == 0) {
      return {CallStatus::crashed, {}, reap_reason(std::chrono::seconds(1))};
    } else if (errno != EAGAIN && errno != EINTR) {
      return {CallStatus::crashed,
              {},
              fmt::format("reading the worker failed: {}", std::strerror(errno))};
    }
  }
}

std::string WorkerProcess::reap_reason(Nanos wait) {
  if (m_reaped) {
    return "worker exited";
  }
  const auto until = std::chrono::steady_clock::now() + wait;
  int st = 0;
  while (true) {
    const pid_t r = ::waitpid(m_pid, &st, WNOHANG);
    if (r == m_pid) {
      m_reaped = true;
      break;
    }
    if (r < 0 || std::chrono::steady_clock::now() >= until) {
      return "worker closed its stdout (it is being stopped)";
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  if (WIFSIGNALED(st)) {
    return fmt::format("worker was killed by signal {} ({})", WTERMSIG(st),
                       strsignal(WTERMSIG(st)));
  }
  return fmt::format("worker exited with status {}", WEXITSTATUS(st));
}

void WorkerProcess::stop(Nanos grace) {
  if (m_in >= 0) {
    ::close(m_in);
    m_in = -1;
  }
  if (!m_reaped && m_pid > 0) {
    const auto wait_exit = [&](Nanos d) {
      const auto until = std::chrono::steady_clock::now() + d;
      int st = 0;
      while (true) {
        const pid_t r = ::waitpid(m_pid, &st, WNOHANG);
        if (r == m_pid || r < 0) {
          m_reaped = true;
          return true;
        }
        if (std::chrono::steady_clock::now() >= until) {
          return false;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
      }
    };
    if (!wait_exit(grace)) {
      signal_group(m_pid, SIGTERM);
      if (!wait_exit(grace)) {
        signal_group(m_pid, SIGKILL);
        (void)wait_exit(std::chrono::seconds(5));
      }
    }
    // Whatever the worker forked in its group goes too.
    signal_group(m_pid, SIGKILL);
  }
  if (m_out >= 0) {
    ::close(m_out);
    m_out = -1;
  }
}

}  // namespace colo::serve
