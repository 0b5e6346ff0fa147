#include "launch/supervisor.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>

#include "launch/interrupt.hpp"

namespace colo {
namespace {

struct Client {
  ClientLaunch launch;
  pid_t pid = -1;
  int progress_fd = -1;  // read end
  int start_fd = -1;     // write end
  int pidfd = -1;
  std::string buffer;
  bool ready = false;
  bool spoke = false;     // any protocol line read (progress auto: it speaks the protocol)
  bool reaped = false;    // main process waited for
  bool finished = false;  // reaped and its process group is gone
  bool stop_sent = false;
  bool kill_sent = false;
  Nanos stop_time{0};
  ClientOutcome outcome;
  WorkloadCgroup cgroup;            // killed once the main process is reaped
  std::vector<OutputSink> outputs;  // capped stdout/stderr pipes (limits.output)
};

void close_fd(int& fd) {
  if (fd >= 0) {
    ::close(fd);
    fd = -1;
  }
}

std::string tail_of(const std::string& path, std::size_t bytes = 4096) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) {
    return {};
  }
  const auto size = static_cast<std::size_t>(in.tellg());
  const auto start = size > bytes ? size - bytes : 0;
  in.seekg(static_cast<std::streamoff>(start));
  std::string out(size - start, '\0');
  in.read(out.data(), static_cast<std::streamsize>(out.size()));
  return out;
}

int open_pidfd(pid_t pid) {
#ifdef SYS_pidfd_open
  return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
#else
  (void)pid;
  return -1;
#endif
}

class Run {
 public:
  Run(std::vector<ClientLaunch> launches, const StopPolicy& policy, const Clock& clock,
      SupervisorObserver& obs, std::string token)
      : m_policy(policy), m_clock(clock), m_obs(obs), m_token(std::move(token)) {
    for (auto& l : launches) {
      Client c;
      c.launch = std::move(l);
      m_clients.push_back(std::move(c));
    }
  }
  Run(const Run&) = delete;
  Run& operator=(const Run&) = delete;
  // Also on an exception out of execute(): no client outlives its run.
  ~Run() {
    for (auto& c : m_clients) {
      if (c.pid > 0 && !c.reaped) {
        signal_group(c.pid, SIGKILL);
        (void)::waitpid(c.pid, nullptr, 0);
      }
      close_fd(c.progress_fd);
      close_fd(c.start_fd);
      close_fd(c.pidfd);
    }
  }

  Result<SupervisorResult> execute() {
    m_launch_time = m_clock.now();
    bool aborted = false;
    for (std::size_t i = 0; i < m_clients.size() && !aborted; ++i) {
      auto st = start(static_cast<int>(i));
      if (!st) {
        return fail(st.error());
      }
      aborted = !*st;
    }
    if (!aborted) {
      aborted = !wait_ready();
    }
    if (aborted) {
      for (auto& c : m_clients) {
        if (c.pid <= 0 && !c.outcome.facts.exec_failed) {
          c.outcome.facts.interrupted = true;  // never started: a co-runner failed first
          c.reaped = c.finished = true;
        }
      }
      stop_all([](Client& c) { c.outcome.facts.interrupted = true; });
    } else {
      release();
    }
    run_loop();
    // A process may fork while a sweep passes over /proc: sweep until a pass finds none.
    for (int round = 0; round < 10; ++round) {
      const int n = sweep_token(m_token);
      m_result.swept += n;
      if (n == 0) {
        break;
      }
      ::usleep(20 * 1000);
    }
    for (auto& c : m_clients) {
      finalize(c);
      m_result.clients.push_back(c.outcome);
    }
    return m_result;
  }

 private:
  double since_release() const {
    return m_result.released ? to_seconds(m_clock.now() - m_release_time) : 0.0;
  }

  // false: the client could not be started (the run is aborted).
  Result<bool> start(int i) {
    auto& c = m_clients[static_cast<std::size_t>(i)];
    int progress[2] = {-1, -1};
    int start_pipe[2] = {-1, -1};
    if (::pipe2(progress, O_CLOEXEC) != 0 || ::pipe2(start_pipe, O_CLOEXEC) != 0) {
      return fail(ErrorCode::process, "pipe failed", std::strerror(errno));
    }
    ::fcntl(progress[0], F_SETFL, O_NONBLOCK);
    auto req = c.launch.spawn;
    req.progress_write_fd = progress[1];
    req.start_read_fd = start_pipe[0];
    req.env["COLO_PROGRESS"] = fmt::format("fd:{}", k_progress_fd);
    req.env["COLO_START"] = fmt::format("fd:{}", k_start_fd);
    req.env["COLO_RUN_TOKEN"] = m_token;
    req.env["COLO_WORKLOAD"] = c.launch.label;
    req.cgroup_token = session_token(m_token);  // the guard kills colo-<session> on a crash
    auto sp = spawn(req);
    ::close(progress[1]);
    ::close(start_pipe[0]);
    c.progress_fd = progress[0];
    c.start_fd = start_pipe[1];
    if (!sp) {
      c.outcome.facts.exec_failed = true;
      c.outcome.facts.exec_error = sp.error().what();
      c.reaped = c.finished = true;
      close_fd(c.progress_fd);
      close_fd(c.start_fd);
      return false;
    }
    c.pid = sp->pid;
    c.cgroup = std::move(sp->cgroup);
    c.outputs = std::move(sp->outputs);
    c.outcome.pid = c.pid;
    c.pidfd = open_pidfd(c.pid);
    c.ready = c.launch.progress == ProgressMode::wall_time;
    c.outcome.by_wall_time = c.ready;
    m_obs.on_started(i, c.pid);
    return true;
  }

  bool all_ready() const {
    return std::all_of(m_clients.begin(), m_clients.end(), [](const Client& c) { return c.ready; });
  }

  // progress auto: a client silent since its launch for hello_timeout, or one that ended
  // without a word, is measured by wall time and needs no ready.
  void settle_silent_clients() {
    const bool hello_passed =
        m_clock.now() >= m_launch_time + std::chrono::duration_cast<Nanos>(m_policy.hello_timeout);
    for (auto& c : m_clients) {
      if (c.launch.progress == ProgressMode::automatic && !c.spoke && !c.ready &&
          (hello_passed || c.reaped)) {
        c.ready = true;
        c.outcome.by_wall_time = true;
      }
    }
  }

  // false when a client ended, never got ready, or colo was interrupted.
  bool wait_ready() {
    const Nanos deadline = m_launch_time + std::chrono::duration_cast<Nanos>(m_policy.init_timeout);
    for (;;) {
      settle_silent_clients();
      if (all_ready()) {
        return true;
      }
      if (Interrupt::raised()) {
        m_result.interrupted = true;
        return false;
      }
      for (auto& c : m_clients) {
        if (c.reaped && !c.outcome.by_wall_time) {
          c.outcome.facts.never_ready = true;
          return false;
        }
      }
      const Nanos now = m_clock.now();
      if (now >= deadline) {
        for (auto& c : m_clients) {
          if (!c.ready) {
            c.outcome.facts.never_ready = true;
            c.outcome.facts.init_timed_out = true;
            c.outcome.facts.init_timeout_s = m_policy.init_timeout.count();
          }
        }
        return false;
      }
      poll_once(std::min<Nanos>(deadline - now, std::chrono::milliseconds(100)));
    }
  }

  void release() {
    m_release_time = m_clock.now();
    m_result.released = true;
    m_result.release_unix = m_clock.unix_now();
    for (auto& c : m_clients) {
      // Not to a client that ended or does not read it (a silent one): nobody would read, and
      // the write could raise SIGPIPE.
      if (c.start_fd >= 0 && !c.reaped && !c.outcome.by_wall_time) {
        const char go = 'g';
        (void)!::write(c.start_fd, &go, 1);
        close_fd(c.start_fd);
      }
    }
    m_obs.on_released();
  }

  template <typename Mark>
  void stop_all(Mark mark) {
    for (auto& c : m_clients) {
      if (!c.reaped && !c.stop_sent) {
        mark(c);
        send_stop(c);
      }
    }
  }

  void send_stop(Client& c) {
    c.stop_sent = true;
    c.outcome.facts.stopped_by_colo = true;
    c.stop_time = m_clock.now();
    signal_group(c.pid, SIGTERM);
  }

  void run_loop() {
    Nanos last_tick = m_clock.now();
    while (!std::all_of(m_clients.begin(), m_clients.end(),
                        [](const Client& c) { return c.finished; })) {
      const Nanos now = m_clock.now();
      if (Interrupt::raised() && !m_result.interrupted) {
        m_result.interrupted = true;
        stop_all([](Client& c) { c.outcome.facts.interrupted = true; });
      }
      if (m_result.released) {
        const double t = to_seconds(now - m_release_time);
        if (m_policy.duration && t >= m_policy.duration->count()) {
          stop_all([](Client&) {});
        }
        if (m_policy.timeout.count() > 0 && t >= m_policy.timeout.count()) {
          stop_all([](Client& c) { c.outcome.facts.timed_out = true; });
        }
      }
      for (auto& c : m_clients) {
        if (c.stop_sent && !c.kill_sent && !c.reaped &&
            now - c.stop_time >= std::chrono::duration_cast<Nanos>(m_policy.grace)) {
          c.kill_sent = true;
          c.outcome.facts.killed_after_grace = true;
          signal_group(c.pid, SIGKILL);
        }
      }
      if (now - last_tick >= std::chrono::milliseconds(100)) {
        last_tick = now;
        m_obs.on_tick(since_release());
      }
      poll_once(next_wait());
    }
  }

  Nanos next_wait() const {
    Nanos wait = std::chrono::milliseconds(100);
    const Nanos now = m_clock.now();
    auto consider = [&](Nanos at) { wait = std::max<Nanos>(Nanos(0), std::min(wait, at - now)); };
    if (m_result.released) {
      if (m_policy.duration) {
        consider(m_release_time + std::chrono::duration_cast<Nanos>(*m_policy.duration));
      }
      if (m_policy.timeout.count() > 0) {
        consider(m_release_time + std::chrono::duration_cast<Nanos>(m_policy.timeout));
      }
    }
    for (const auto& c : m_clients) {
      if (c.stop_sent && !c.kill_sent && !c.reaped) {
        consider(c.stop_time + std::chrono::duration_cast<Nanos>(m_policy.grace));
      }
      if (c.reaped && !c.finished) {
        consider(now + std::chrono::milliseconds(5));  // orphans of this group still exiting
      }
      if (!c.reaped && c.pidfd < 0) {
        consider(now + std::chrono::milliseconds(10));  // no pidfd: poll for exits
      }
    }
    return wait;
  }

  void poll_once(Nanos wait) {
    std::vector<pollfd> fds;
    std::vector<std::pair<int, int>> owners;  // (client, 0 = progress, 1 = pidfd), -1 interrupt
    for (std::size_t i = 0; i < m_clients.size(); ++i) {
      const auto& c = m_clients[i];
      if (c.progress_fd >= 0) {
        fds.push_back({c.progress_fd, POLLIN, 0});
        owners.emplace_back(static_cast<int>(i), 0);
      }
      if (c.pidfd >= 0 && !c.reaped) {
        fds.push_back({c.pidfd, POLLIN, 0});
        owners.emplace_back(static_cast<int>(i), 1);
      }
      for (std::size_t k = 0; k < c.outputs.size(); ++k) {
        if (c.outputs[k].fd() >= 0) {
          fds.push_back({c.outputs[k].fd(), POLLIN, 0});
          owners.emplace_back(static_cast<int>(i), 2 + static_cast<int>(k));
        }
      }
    }
    if (Interrupt::fd() >= 0 && !m_result.interrupted) {
      fds.push_back({Interrupt::fd(), POLLIN, 0});
      owners.emplace_back(-1, 0);
    }
    const int ms = static_cast<int>(
        std::chrono::ceil<std::chrono::milliseconds>(std::max<Nanos>(wait, Nanos(0))).count());
    const int n = ::poll(fds.data(), fds.size(), ms);
    if (n > 0) {
      for (std::size_t k = 0; k < fds.size(); ++k) {
        if (fds[k].revents == 0) {
          continue;
        }
        const auto [ci, what] = owners[k];
        if (ci < 0) {
          char buf[16];
          while (::read(fds[k].fd, buf, sizeof(buf)) > 0) {
          }
          continue;
        }
        if (what == 0) {
          read_progress(ci);
        } else if (what >= 2) {
          (void)m_clients[static_cast<std::size_t>(ci)]
              .outputs[static_cast<std::size_t>(what - 2)]
              .pump();
        }
      }
    }
    reap();
  }

  void read_progress(int i) {
    auto& c = m_clients[static_cast<std::size_t>(i)];
    char buf[8192];
    for (;;) {
      const ssize_t n = ::read(c.progress_fd, buf, sizeof(buf));
      if (n > 0) {
        c.buffer.append(buf, static_cast<std::size_t>(n));
        std::size_t pos = 0;
        for (auto nl = c.buffer.find('\n'); nl != std::string::npos;
             nl = c.buffer.find('\n', pos)) {
          handle_line(i, std::string_view(c.buffer).substr(pos, nl - pos));
          pos = nl + 1;
        }
        c.buffer.erase(0, pos);
        if (c.buffer.size() > k_max_progress_line) {
          c.buffer.clear();  // an endless line: drop it
          count_malformed(c, "a line longer than 64 KiB");
        }
        continue;
      }
      if (n < 0 && errno == EINTR) {
        continue;
      }
      if (n == 0) {
        close_fd(c.progress_fd);  // EOF
      }
      return;
    }
  }

  static void count_malformed(Client& c, const std::string& why) {
    if (c.outcome.facts.malformed_progress++ == 0) {
      c.outcome.facts.first_malformed = why;
    }
  }

  void handle_line(int i, std::string_view line) {
    if (line.empty()) {
      return;
    }
    auto& c = m_clients[static_cast<std::size_t>(i)];
    auto ev = parse_progress_line(line);
    if (!ev) {
      count_malformed(c, ev.error().message);  // ignored, counted (docs/progress-protocol.md)
      return;
    }
    c.spoke = true;
    switch (ev->kind) {
      case ProgressKind::ready:
        c.ready = true;
        break;
      case ProgressKind::step:
        ++c.outcome.steps;
        break;
      case ProgressKind::error:
        c.outcome.facts.reported_error = ev->error_kind.empty() ? "error" : ev->error_kind;
        c.outcome.facts.reported_message = ev->message;
        break;
      default:
        break;
    }
    m_obs.on_event(i, since_release(), *ev);
    if (ev->kind == ProgressKind::step && m_result.released && m_policy.steps &&
        c.outcome.steps >= *m_policy.steps && !c.stop_sent && !c.reaped) {
      send_stop(c);
    }
  }

  void reap() {
    for (std::size_t i = 0; i < m_clients.size(); ++i) {
      auto& c = m_clients[i];
      if (c.finished || c.pid <= 0) {
        continue;
      }
      if (!c.reaped) {
        int st = 0;
        const pid_t r = ::waitpid(c.pid, &st, WNOHANG);
        if (r == c.pid) {
          c.reaped = true;
          // A silent client that ended before the barrier: its wall time from its launch.
          const bool silent =
              c.outcome.by_wall_time || (c.launch.progress == ProgressMode::automatic && !c.spoke);
          c.outcome.runtime_s = m_result.released || !silent
                                    ? since_release()
                                    : to_seconds(m_clock.now() - m_launch_time);
          if (WIFEXITED(st)) {
            c.outcome.facts.exited = true;
            c.outcome.facts.exit_code = WEXITSTATUS(st);
          } else if (WIFSIGNALED(st)) {
            c.outcome.facts.signal = WTERMSIG(st);
          }
          close_fd(c.pidfd);
          // Whatever the workload left running in its group and its cgroup goes with it.
          m_result.swept += escaped(c);
          signal_group(c.pid, SIGKILL);
          (void)c.cgroup.kill();
          if (c.progress_fd >= 0) {
            read_progress(static_cast<int>(i));
          }
          close_fd(c.progress_fd);
        }
      }
      if (c.reaped) {
        // Reap orphans of this group that were re-parented to us (subreaper).
        siginfo_t si{};
        while (::waitid(P_PGID, static_cast<id_t>(c.pid), &si, WEXITED | WNOHANG) == 0 &&
               si.si_pid != 0) {
          si = siginfo_t{};
        }
        if (!group_alive(c.pid) && c.cgroup.members().empty()) {
          c.finished = true;
          close_outputs(c);
          c.outcome.facts.stderr_tail = tail_of(c.launch.spawn.stderr_path);
          c.outcome.classification = classify_exit(c.outcome.facts);
          m_obs.on_exit(static_cast<int>(i), c.outcome.runtime_s, c.outcome);
        } else {
          signal_group(c.pid, SIGKILL);
          (void)c.cgroup.kill();
        }
      }
    }
  }

  // Members of the client's cgroup that left its process group (setsid, daemons).
  static int escaped(const Client& c) {
    const auto members = c.cgroup.members();
    return static_cast<int>(std::count_if(members.begin(), members.end(),
                                          [&](pid_t p) { return ::getpgid(p) != c.pid; }));
  }

  void close_outputs(Client& c) {
    auto& f = c.outcome.facts;
    f.truncated_streams.clear();
    for (auto& o : c.outputs) {
      o.close();
      if (o.truncated()) {
        f.truncated_streams.push_back(o.stream());
        f.output_limit = o.limit();
      }
    }
    c.outcome.output_truncated = !f.truncated_streams.empty();
    f.pids_refused = c.cgroup.pids_refused();
    f.pids_max = c.launch.spawn.pids_max;
    c.outcome.pids_limit_hit = f.pids_refused > 0;
  }

  void finalize(Client& c) {
    close_outputs(c);
    if (c.outcome.facts.exec_failed || !c.launch.spawn.stderr_path.empty()) {
      if (c.outcome.facts.stderr_tail.empty()) {
        c.outcome.facts.stderr_tail = tail_of(c.launch.spawn.stderr_path);
      }
    }
    c.outcome.classification = classify_exit(c.outcome.facts);
  }

  StopPolicy m_policy;
  const Clock& m_clock;
  SupervisorObserver& m_obs;
  std::string m_token;
  std::vector<Client> m_clients;
  Nanos m_launch_time{0};
  Nanos m_release_time{0};
  SupervisorResult m_result;
};

}  // namespace

Result<SupervisorResult> supervise(std::vector<ClientLaunch> clients, const StopPolicy& policy,
                                   const Clock& clock, SupervisorObserver& observer,
                                   const std::string& run_token) {
  Run run(std::move(clients), policy, clock, observer, run_token);
  return run.execute();
}

}  // namespace colo
