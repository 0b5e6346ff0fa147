#include "pipeline/worker_stage.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <mutex>
#include <sstream>
#include <vector>

#include "pipeline/queue.hpp"

extern char** environ;

namespace colo::pipeline {

namespace {

class Worker {
 public:
  Worker(const std::vector<std::string>& argv, std::string name)
      : m_argv(argv), m_name(std::move(name)) {}
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;
  ~Worker() { stop(); }

  // Starts the process and waits for {"ready": true}.
  Status start(double timeout_s, const CancelFlag* cancel) {
    int in[2];
    int out[2];
    if (::pipe2(in, O_CLOEXEC) != 0 || ::pipe2(out, O_CLOEXEC) != 0) {
      return fail(ErrorCode::process,
                  fmt::format("stage '{}': pipe: {}", m_name, std::strerror(errno)));
    }
    std::vector<char*> argv;
    for (const auto& a : m_argv) {
      argv.push_back(const_cast<char*>(a.c_str()));
    }
    argv.push_back(nullptr);
    std::vector<char*> envp;
    for (char** e = environ; e && *e; ++e) {
      if (std::strncmp(*e, "COLO_PROGRESS=", 14) != 0 && std::strncmp(*e, "COLO_START=", 11) != 0) {
        envp.push_back(*e);
      }
    }
    envp.push_back(nullptr);
    const pid_t parent = ::getpid();
    const pid_t pid = ::fork();
    if (pid < 0) {
      return fail(ErrorCode::process,
                  fmt::format("stage '{}': fork: {}", m_name, std::strerror(errno)));
    }
    if (pid == 0) {
      // Child: only async-signal-safe calls.
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != parent) {
        ::_exit(127);
      }
      ::dup2(in[0], 0);
      ::dup2(out[1], 1);
      ::execvpe(argv[0], argv.data(), envp.data());
      ::_exit(127);
    }
    ::close(in[0]);
    ::close(out[1]);
    m_pid = pid;
    m_in = in[1];
    m_out = out[0];
    m_buf.clear();
    auto line = read_line(timeout_s, cancel);
    if (!line) {
      stop();
      return fail(ErrorCode::process, fmt::format("stage '{}': worker '{}' did not say ready: {}",
                                                  m_name, m_argv[0], line.error().message));
    }
    auto j = nlohmann::json::parse(*line, nullptr, false);
    if (!j.is_object() || !j.value("ready", false)) {
      stop();
      return fail(ErrorCode::process, fmt::format("stage '{}': worker said '{}' instead of "
                                                  "{{\"ready\": true}}",
                                                  m_name, line->substr(0, 200)));
    }
    return {};
  }

  [[nodiscard]] bool running() const { return m_pid > 0; }

  Status call(QueryRecord& q, double ready_timeout_s) {
    if (!running()) {
      COLO_TRY(start(ready_timeout_s, &q.cancel));
    }
    const std::string req = nlohmann::json{{"query", q.id}, {"samples", q.samples}}.dump() + "\n";
    std::size_t done = 0;
    while (done < req.size()) {
      const ssize_t n = ::write(m_in, req.data() + done, req.size() - done);
      if (n < 0 && errno == EINTR) {
        continue;
      }
      if (n <= 0) {
        stop();
        return fail(ErrorCode::process, "the worker exited (cannot write its request)");
      }
      done += static_cast<std::size_t>(n);
    }
    auto line = read_line(-1, &q.cancel);
    if (!line) {
      stop();  // its answer, if it ever comes, must not be taken for the next query's
      return fail(line.error());
    }
    auto j = nlohmann::json::parse(*line, nullptr, false);
    if (j.is_object() && j.value("ok", false)) {
      return {};
    }
    if (j.is_object() && j.contains("error")) {
      return fail(ErrorCode::internal, "worker: " + j["error"].dump());
    }
    stop();
    return fail(ErrorCode::process, "the worker answered '" + line->substr(0, 200) + "'");
  }

  void stop() {
    if (m_in >= 0) {
      ::close(m_in);
      m_in = -1;
    }
    if (m_out >= 0) {
      ::close(m_out);
      m_out = -1;
    }
    if (m_pid > 0) {
      ::kill(m_pid, SIGKILL);
      int st = 0;
      while (::waitpid(m_pid, &st, 0) < 0 && errno == EINTR) {
      }
      m_pid = -1;
    }
  }

 private:
  // One line from the worker; fails at EOF, after timeout_s (< 0: none) or when cancelled.
  Result<std::string> read_line(double timeout_s, const CancelFlag* cancel) {
    const auto t0 = std::chrono::steady_clock::now();
    for (;;) {
      if (auto nl = m_buf.find('\n'); nl != std::string::npos) {
        std::string line = m_buf.substr(0, nl);
        m_buf.erase(0, nl + 1);
        return line;
      }
      if (cancel && cancel->is_set()) {
        return fail(ErrorCode::interrupted, "cancelled");
      }
      if (timeout_s >= 0 &&
          std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() >
              timeout_s) {
        return fail(ErrorCode::process, fmt::format("no answer within {} s", timeout_s));
      }
      pollfd p{m_out, POLLIN, 0};
      const int r = ::poll(&p, 1, 10);
      if (r < 0 && errno != EINTR) {
        return fail(ErrorCode::process, std::string("poll: ") + std::strerror(errno));
      }
      if (r > 0) {
        char buf[4096];
        const ssize_t n = ::read(m_out, buf, sizeof(buf));
        if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN)) {
          return fail(ErrorCode::process, "the worker exited");
        }
        if (n > 0) {
          m_buf.append(buf, static_cast<std::size_t>(n));
          if (m_buf.size() > (std::size_t{1} << 20)) {
            return fail(ErrorCode::process, "the worker wrote a line over 1 MiB");
          }
        }
      }
    }
  }

  std::vector<std::string> m_argv;
  std::string m_name;
  pid_t m_pid = -1;
  int m_in = -1;
  int m_out = -1;
  std::string m_buf;
};

class WorkerStage final : public Stage {
 public:
  WorkerStage(std::vector<std::unique_ptr<Worker>> workers, double ready_timeout_s)
      : m_workers(std::move(workers)), m_free(m_workers.size()), m_ready_timeout(ready_timeout_s) {
    for (std::size_t i = 0; i < m_workers.size(); ++i) {
      std::size_t k = i;
      m_free.push(k);
    }
  }
  Status process(QueryRecord& q) override {
    auto slot = m_free.pop();  // one worker per stage thread: never waits long
    if (!slot) {
      return fail(ErrorCode::internal, "no worker");
    }
    auto st = m_workers[*slot]->call(q, m_ready_timeout);
    std::size_t k = *slot;
    m_free.push(k);
    return st;
  }

 private:
  std::vector<std::unique_ptr<Worker>> m_workers;
  BoundedQueue<std::size_t> m_free;
  double m_ready_timeout;
};

}  // namespace

Result<std::unique_ptr<Stage>> make_worker_stage(const std::string& name, const std::string& cmd,
                                                 int workers, double ready_timeout_s) {
  std::vector<std::string> argv;
  std::istringstream words(cmd);
  for (std::string w; words >> w;) {
    argv.push_back(w);
  }
  if (argv.empty()) {
    return fail(ErrorCode::invalid_argument, fmt::format("stage '{}': empty worker cmd", name));
  }
  std::vector<std::unique_ptr<Worker>> pool;
  for (int i = 0; i < workers; ++i) {
    auto w = std::make_unique<Worker>(argv, name);
    COLO_TRY(w->start(ready_timeout_s, nullptr));
    pool.push_back(std::move(w));
  }
  return std::make_unique<WorkerStage>(std::move(pool), ready_timeout_s);
}

}  // namespace colo::pipeline
