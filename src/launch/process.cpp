#include "launch/process.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>

#include "core/os.hpp"
#include "launch/progress_protocol.hpp"

namespace colo {
namespace {

bool is_executable_file(const std::string& p) {
  struct stat st{};
  return ::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(p.c_str(), X_OK) == 0;
}

// Child side of spawn(): only async-signal-safe calls from here to exec.
// `cgroup_fds`: open cgroup.procs files (-1 ends the list) the child enters first of all.
[[noreturn]] void child_exec(const char* path, char* const* argv, char* const* envp,
                             const char* cwd, int in_fd, int out_fd, int err_fd, int progress_fd,
                             int start_fd, int status_fd, pid_t parent, const int* cgroup_fds) {
  auto die = [&](int err) {
    (void)!::write(status_fd, &err, sizeof(err));
    ::_exit(127);
  };
  for (const int* fd = cgroup_fds; *fd >= 0; ++fd) {
    if (::write(*fd, "0", 1) != 1) {
      die(errno);
    }
  }
  ::setpgid(0, 0);
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != parent) {
    ::_exit(127);  // colo died between fork and prctl
  }
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  for (int s : {SIGINT, SIGTERM, SIGPIPE, SIGCHLD, SIGHUP, SIGQUIT}) {
    ::signal(s, SIG_DFL);
  }
  if (in_fd < 0) {
    in_fd = ::open("/dev/null", O_RDONLY);
  }
  if (in_fd < 0 || ::dup2(in_fd, 0) < 0 || ::dup2(out_fd, 1) < 0 || ::dup2(err_fd, 2) < 0) {
    die(errno);
  }
  // Move the protocol fds to 3 and 4 without clobbering each other or status_fd.
  int p = progress_fd >= 0 ? ::fcntl(progress_fd, F_DUPFD_CLOEXEC, 10) : -1;
  int s = start_fd >= 0 ? ::fcntl(start_fd, F_DUPFD_CLOEXEC, 10) : -1;
  int st = ::fcntl(status_fd, F_DUPFD_CLOEXEC, 10);
  if (st < 0) {
    ::_exit(127);
  }
  status_fd = st;
  if (p >= 0 && ::dup2(p, k_progress_fd) < 0) {
    die(errno);
  }
  if (s >= 0 && ::dup2(s, k_start_fd) < 0) {
    die(errno);
  }
  // Close everything else but fds 0..4 and the status pipe (close-on-exec).
  for (int fd = 3; fd < 4096; ++fd) {
    const bool keep =
        fd == status_fd || (fd == k_progress_fd && p >= 0) || (fd == k_start_fd && s >= 0);
    if (!keep) {
      ::close(fd);
    }
  }
  if (cwd[0] != '\0' && ::chdir(cwd) != 0) {
    die(errno);
  }
  ::execve(path, argv, envp);
  die(errno);
  ::_exit(127);
}

// Owner-only (0600): a workload's output may hold what other users of the host must not read.
int open_output(const std::string& path) {
  if (path.empty()) {
    return ::open("/dev/null", O_WRONLY | O_CLOEXEC);
  }
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd >= 0) {
    (void)::fchmod(fd, 0600);  // an existing file keeps its mode through O_CREAT
  }
  return fd;
}

// Closes the fds it holds when it goes out of scope (spawn's error paths).
struct FdSet {
  std::vector<int> fds;
  FdSet() = default;
  FdSet(const FdSet&) = delete;
  FdSet& operator=(const FdSet&) = delete;
  ~FdSet() {
    for (int fd : fds) {
      if (fd >= 0) {
        ::close(fd);
      }
    }
  }
  int add(int fd) {
    fds.push_back(fd);
    return fd;
  }
  // Stops owning `fd` (handed on to an OutputSink).
  void release(int fd) { std::erase(fds, fd); }
};

// The fd the child writes a stream to: the file itself, or a pipe into an OutputSink.
Result<int> output_fd(const std::string& path, const char* stream, std::uint64_t limit, FdSet& fds,
                      std::vector<OutputSink>& sinks) {
  const int file = open_output(path);
  if (file < 0) {
    return fail(ErrorCode::io, fmt::format("cannot create '{}'", path), std::strerror(errno));
  }
  fds.add(file);
  if (limit == 0 || path.empty()) {
    return file;
  }
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) {
    return fail(ErrorCode::process, "pipe failed", std::strerror(errno));
  }
  ::fcntl(p[0], F_SETFL, O_NONBLOCK);
  fds.add(p[1]);
  fds.release(file);
  sinks.emplace_back(p[0], file, limit, stream);
  return p[1];
}

}  // namespace

Result<std::string> resolve_executable(const std::string& program, const std::string& cwd) {
  namespace fs = std::filesystem;
  if (program.empty()) {
    return fail(ErrorCode::invalid_argument, "empty program name");
  }
  if (program.find('/') != std::string::npos) {
    fs::path p(program);
    if (p.is_relative() && !cwd.empty()) {
      p = (fs::path(cwd) / p).lexically_normal();
    }
    if (!fs::exists(p)) {
      return fail(ErrorCode::not_found, fmt::format("executable '{}' not found", p.string()));
    }
    if (!is_executable_file(p.string())) {
      return fail(ErrorCode::invalid_argument,
                  fmt::format("'{}' is not an executable file", p.string()));
    }
    return p.lexically_normal().string();
  }
  const char* path_env = std::getenv("PATH");
  std::string path = path_env ? path_env : "/usr/local/bin:/usr/bin:/bin";
  std::size_t start = 0;
  while (start <= path.size()) {
    auto end = path.find(':', start);
    const std::string dir =
        path.substr(start, end == std::string::npos ? std::string::npos : end - start);
    std::string cand = (fs::path(dir.empty() ? std::string(".") : dir) / program).string();
    if (is_executable_file(cand)) {
      return cand;
    }
    if (end == std::string::npos) {
      break;
    }
    start = end + 1;
  }
  return fail(ErrorCode::not_found, fmt::format("executable '{}' not found in PATH", program));
}

Result<Spawned> spawn(const SpawnRequest& req) {
  if (req.argv.empty()) {
    return fail(ErrorCode::invalid_argument, "empty command");
  }
  auto exe = resolve_executable(req.argv[0], req.cwd);
  if (!exe) {
    return fail(exe.error());
  }
  if (!req.cwd.empty() && !std::filesystem::is_directory(req.cwd)) {
    return fail(ErrorCode::not_found,
                fmt::format("working directory '{}' does not exist", req.cwd));
  }
  // Everything the child needs is built before fork.
  auto env_strings = merged_environment(req.env);
  const auto envp = c_strings(env_strings);
  std::vector<std::string> argv_strings = req.argv;
  const auto argv = c_strings(argv_strings);

  Spawned out;
  FdSet fds;  // the parent's copies of the child's ends, closed after fork
  if (!req.cgroup_token.empty()) {
    const Containment& c = req.containment != nullptr ? *req.containment : host_containment();
    auto g = WorkloadCgroup::create(c, req.cgroup_token, req.argv[0], req.pids_max);
    if (!g) {
      return fail(g.error());
    }
    out.cgroup = std::move(*g);
  }
  std::vector<int> cgroup_fds;
  for (const auto& dir : out.cgroup.dirs()) {
    const int fd = fds.add(::open((dir + "/cgroup.procs").c_str(), O_WRONLY | O_CLOEXEC));
    if (fd < 0) {
      return fail(ErrorCode::process, fmt::format("cannot open '{}/cgroup.procs'", dir),
                  std::strerror(errno));
    }
    cgroup_fds.push_back(fd);
  }
  cgroup_fds.push_back(-1);
  auto out_fd = req.stdout_fd >= 0
                    ? Result<int>(req.stdout_fd)
                    : output_fd(req.stdout_path, "stdout", req.output_limit, fds, out.outputs);
  if (!out_fd) {
    return fail(out_fd.error());
  }
  auto err_fd = req.stderr_fd >= 0
                    ? Result<int>(req.stderr_fd)
                    : output_fd(req.stderr_path, "stderr", req.output_limit, fds, out.outputs);
  if (!err_fd) {
    return fail(err_fd.error());
  }
  int status_pipe[2];
  if (::pipe2(status_pipe, O_CLOEXEC) != 0) {
    return fail(ErrorCode::process, "pipe failed", std::strerror(errno));
  }
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::close(status_pipe[0]);
    child_exec(exe->c_str(), argv.data(), envp.data(), req.cwd.c_str(), req.stdin_fd, *out_fd,
               *err_fd, req.progress_write_fd, req.start_read_fd, status_pipe[1], parent,
               cgroup_fds.data());
  }
  const int fork_errno = errno;
  ::close(status_pipe[1]);
  if (pid < 0) {
    ::close(status_pipe[0]);
    return fail(ErrorCode::process, "fork failed", std::strerror(fork_errno));
  }
  ::setpgid(pid, pid);  // also here, so the group exists before we signal it
  int child_errno = 0;
  ssize_t n = 0;
  do {
    n = ::read(status_pipe[0], &child_errno, sizeof(child_errno));
  } while (n < 0 && errno == EINTR);
  ::close(status_pipe[0]);
  if (n > 0) {
    int st = 0;
    ::waitpid(pid, &st, 0);
    return fail(ErrorCode::process, fmt::format("cannot start '{}'", req.argv[0]),
                std::strerror(child_errno));
  }
  out.pid = pid;
  return out;
}

OutputSink::OutputSink(OutputSink&& o) noexcept
    : m_pipe(o.m_pipe),
      m_file(o.m_file),
      m_limit(o.m_limit),
      m_stream(std::move(o.m_stream)),
      m_written(o.m_written),
      m_discarded(o.m_discarded),
      m_truncated(o.m_truncated) {
  o.m_pipe = -1;
  o.m_file = -1;
}

OutputSink::~OutputSink() {
  close();
}

std::string truncation_marker(std::uint64_t limit) {
  return fmt::format(
      "\n[colo: output truncated here: the limit of {} bytes (limits.output) was reached; the "
      "rest was discarded]\n",
      limit);
}

bool OutputSink::pump() {
  char buf[65536];
  while (m_pipe >= 0) {
    const ssize_t n = ::read(m_pipe, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      return true;  // EAGAIN: nothing more now
    }
    if (n == 0) {
      ::close(m_pipe);
      m_pipe = -1;
      return false;
    }
    auto len = static_cast<std::uint64_t>(n);
    const std::uint64_t room = m_limit > m_written ? m_limit - m_written : 0;
    const std::uint64_t keep = std::min(room, len);
    if (keep > 0 && m_file >= 0) {
      // A failed write (disk full) loses output, never the run: the bytes count as discarded.
      const ssize_t w = ::write(m_file, buf, keep);
      m_written += w > 0 ? static_cast<std::uint64_t>(w) : 0;
    }
    m_discarded += len - keep;
    if (keep < len && !m_truncated) {
      m_truncated = true;
      const std::string marker = truncation_marker(m_limit);
      if (m_file >= 0) {
        (void)!::write(m_file, marker.data(), marker.size());
      }
    }
  }
  return false;
}

void OutputSink::close() {
  if (m_pipe >= 0) {
    (void)pump();
  }
  if (m_pipe >= 0) {
    ::close(m_pipe);
    m_pipe = -1;
  }
  if (m_file >= 0) {
    ::close(m_file);
    m_file = -1;
  }
}

bool signal_group(pid_t pgid, int sig) {
  return pgid > 0 && ::kill(-pgid, sig) == 0;
}

int sweep_token(const std::string& token) {
  if (token.empty()) {
    return 0;
  }
  const std::string needle = "COLO_RUN_TOKEN=" + token;
  int killed = 0;
  DIR* proc = ::opendir("/proc");
  if (!proc) {
    return 0;
  }
  const pid_t self = ::getpid();
  while (auto* ent = ::readdir(proc)) {
    char* end = nullptr;
    const long pid = std::strtol(ent->d_name, &end, 10);
    if (*end != '\0' || pid <= 0 || pid == self) {
      continue;
    }
    for (const auto& entry : process_environment(static_cast<pid_t>(pid))) {
      // The token itself, or a run's sub-token of it ("<token>.<n>").
      if (entry == needle ||
          (entry.size() > needle.size() && entry.compare(0, needle.size(), needle) == 0 &&
           entry[needle.size()] == '.')) {
        if (::kill(static_cast<pid_t>(pid), SIGKILL) == 0) {
          ++killed;
        }
        break;
      }
    }
  }
  ::closedir(proc);
  return killed;
}

std::string make_run_token() {
  std::random_device rd;
  return fmt::format("{:08x}{:08x}-{}", rd(), rd(), ::getpid());
}

std::string sub_token(const std::string& token, long n) {
  return fmt::format("{}.{}", token, n);
}

std::string session_token(const std::string& token) {
  return token.substr(0, token.find('.'));
}

void become_subreaper() {
  ::prctl(PR_SET_CHILD_SUBREAPER, 1);
}

Result<Guard> Guard::start(const std::string& token) {
  const Containment& containment = host_containment();  // detected here, before the fork
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    return fail(ErrorCode::process, "pipe failed", std::strerror(errno));
  }
  const pid_t pid = ::fork();
  if (pid < 0) {
    ::close(fds[0]);
    ::close(fds[1]);
    return fail(ErrorCode::process, "fork failed (guard)", std::strerror(errno));
  }
  if (pid == 0) {
    // The guard: outlives colo on purpose; ignores terminal signals; on EOF kills the token's
    // cgroups, then sweeps the token.
    ::setsid();
    ::signal(SIGINT, SIG_IGN);
    ::signal(SIGTERM, SIG_IGN);
    ::signal(SIGHUP, SIG_IGN);
    const int keep = fds[0];
    for (int fd = 0; fd < 4096; ++fd) {
      if (fd != keep) {
        ::close(fd);
      }
    }
    char c = 0;
    for (;;) {
      const ssize_t n = ::read(keep, &c, 1);
      if (n > 0 || (n < 0 && errno == EINTR)) {
        continue;
      }
      break;
    }
    (void)kill_token_cgroups(containment, token);
    for (int round = 0; round < 5 && sweep_token(token) > 0; ++round) {
      ::usleep(100 * 1000);
    }
    ::_exit(0);
  }
  ::close(fds[0]);
  return Guard(pid, fds[1]);
}

void Guard::release() {
  if (m_fd >= 0) {
    ::close(m_fd);
    m_fd = -1;
  }
  if (m_pid > 0) {
    int st = 0;
    while (::waitpid(m_pid, &st, 0) < 0 && errno == EINTR) {
    }
    m_pid = -1;
  }
}

Guard::~Guard() {
  release();
}

}  // namespace colo
