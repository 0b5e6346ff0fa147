#include "gpu/mps/mps_daemon.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "core/os.hpp"
#include "core/private_dir.hpp"

namespace colo {
namespace fs = std::filesystem;
namespace {

constexpr const char* k_owner = "COLO_MPS_OWNER=";
constexpr std::size_t k_max_pipe_dir = 70;  // + MPS's socket names stays under 108 bytes
constexpr const char* k_pipe = "COLO_MPS_PIPE=";
constexpr const char* k_cuda_pipe = "CUDA_MPS_PIPE_DIRECTORY=";

// Runs `control` with extra environment, `input` on stdin; returns its exit status.
Result<int> run_control(const std::string& control, const std::map<std::string, std::string>& env,
                        const std::string& args, const std::string& input) {
  auto env_s = merged_environment(env);
  const auto envp = c_strings(env_s);
  std::vector<std::string> argv_s{control};
  if (!args.empty()) {
    argv_s.push_back(args);
  }
  const auto argv = c_strings(argv_s);
  int in[2];
  if (::pipe2(in, O_CLOEXEC) != 0) {
    return fail(ErrorCode::process, "pipe failed", std::strerror(errno));
  }
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(in[0], 0);
    const int devnull = ::open("/dev/null", O_WRONLY);
    ::dup2(devnull, 1);
    ::dup2(devnull, 2);
    ::execvpe(argv[0], argv.data(), envp.data());
    ::_exit(127);
  }
  ::close(in[0]);
  if (pid < 0) {
    ::close(in[1]);
    return fail(ErrorCode::process, "fork failed", std::strerror(errno));
  }
  if (!input.empty()) {
    (void)!::write(in[1], input.data(), input.size());
  }
  ::close(in[1]);
  int st = 0;
  while (::waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

// Reaps MPS processes (control daemon, server) that were re-parented to colo, a child
// subreaper, so that none is left as a zombie: waits up to 10 s for those still exiting (with
// `wait_for`, only for those: the daemons of other GPUs, of concurrent runs under
// `parallel: true`, keep running and must not hold this one up; zombies are reaped either way).
void reap_mps_children(const std::vector<pid_t>* wait_for = nullptr) {
  const pid_t self = ::getpid();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  for (;;) {
    bool waiting = false;
    std::error_code ec;
    for (const auto& d : fs::directory_iterator("/proc", ec)) {
      std::ifstream in(d.path() / "stat");
      std::string stat;
      std::getline(in, stat);
      const auto open = stat.find(" (");
      const auto close = stat.rfind(')');
      if (open == std::string::npos || close == std::string::npos) {
        continue;
      }
      const std::string comm = stat.substr(open + 2, close - open - 2);
      if (comm.rfind("nvidia-cuda-mps", 0) != 0) {
        continue;
      }
      char state = 0;
      long ppid = 0;
      if (std::sscanf(stat.c_str() + close + 1, " %c %ld", &state, &ppid) != 2 || ppid != self) {
        continue;
      }
      const auto pid = static_cast<pid_t>(std::atol(stat.c_str()));
      int st = 0;
      if (state == 'Z') {
        ::waitpid(pid, &st, WNOHANG);
      } else if (!wait_for ||
                 std::find(wait_for->begin(), wait_for->end(), pid) != wait_for->end()) {
        waiting = true;
      }
    }
    if (!waiting || std::chrono::steady_clock::now() > deadline) {
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

enum class AskControl { quit, no };

// Quits the MPS processes of `pipe`: "quit" through the control client (unless `ask` is no: its
// control daemon is gone and nobody would answer), up to 10 s for them to go, then SIGKILL.
Status quit_pipe(const std::string& control, const std::string& pipe, const std::string& log,
                 AskControl ask = AskControl::quit) {
  auto mine = mps_processes(pipe);  // this pipe's daemons: the ones to reap below
  Result<int> rc = 0;
  if (ask == AskControl::quit) {
    rc = run_control(control, {{"CUDA_MPS_PIPE_DIRECTORY", pipe}, {"CUDA_MPS_LOG_DIRECTORY", log}},
                     "", "quit\n");
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!mps_processes(pipe).empty() && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  auto left = mps_processes(pipe);
  for (pid_t p : left) {
    ::kill(p, SIGKILL);
  }
  mine.insert(mine.end(), left.begin(), left.end());
  reap_mps_children(&mine);
  if (mps_processes(pipe).empty()) {
    std::error_code ec;
    fs::remove_all(pipe, ec);  // its sockets are dead; a stale directory misleads CUDA clients
  }
  if (!rc) {
    return fail(rc.error());
  }
  if (!left.empty() && ask == AskControl::quit) {
    return fail(ErrorCode::gpu,
                fmt::format("MPS daemon for '{}' did not quit in 10 s; killed {} process(es)", pipe,
                            left.size()));
  }
  return {};
}

// Size of a log file in bytes; 0 when it does not exist yet.
std::uintmax_t log_size(const fs::path& path) {
  std::error_code ec;
  const auto n = fs::file_size(path, ec);
  return ec ? 0 : n;
}

// A log file's text from byte `from` on (from the start when the file is now shorter: it was
// replaced); "" when it cannot be read.
std::string read_file(const fs::path& path, std::uintmax_t from = 0) {
  std::ifstream in(path);
  in.seekg(static_cast<std::streamoff>(from <= log_size(path) ? from : 0));
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

std::vector<MpsProcess> list_mps_processes() {
  std::vector<MpsProcess> out;
  std::error_code ec;
  for (const auto& d : fs::directory_iterator("/proc", ec)) {
    const auto name = d.path().filename().string();
    char* end = nullptr;
    const long pid = std::strtol(name.c_str(), &end, 10);
    if (*end != '\0' || pid <= 0) {
      continue;
    }
    MpsProcess p;
    p.pid = static_cast<pid_t>(pid);
    std::ifstream comm(d.path() / "comm");
    std::getline(comm, p.comm);
    std::string cuda_pipe;
    for (const auto& e : process_environment(p.pid)) {
      if (e.rfind(k_pipe, 0) == 0) {
        p.pipe_dir = e.substr(std::strlen(k_pipe));
        p.colo_started = true;
      } else if (e.rfind(k_cuda_pipe, 0) == 0) {
        cuda_pipe = e.substr(std::strlen(k_cuda_pipe));
      } else if (e.rfind(k_owner, 0) == 0) {
        p.owner = static_cast<pid_t>(std::atol(e.c_str() + std::strlen(k_owner)));
      }
    }
    if (!p.colo_started && p.comm.rfind("nvidia-cuda-mps", 0) != 0) {
      continue;
    }
    if (p.pipe_dir.empty()) {
      p.pipe_dir = cuda_pipe;
    }
    if (pid_alive(p.pid)) {
      out.push_back(std::move(p));
    }
  }
  return out;
}

std::vector<pid_t> mps_processes(const std::string& pipe_dir) {
  std::vector<pid_t> out;
  for (const auto& p : list_mps_processes()) {
    if (p.colo_started && p.pipe_dir == pipe_dir) {
      out.push_back(p.pid);
    }
  }
  return out;
}

Result<MpsDaemon> MpsDaemon::start(const std::string& dir, const std::string& uuid,
                                   const std::string& control) {
  // MPS makes unix sockets in the pipe directory; their paths must fit sun_path (108 bytes), so
  // a run directory too deep for that gets a private short one (0700) instead.
  std::string pipe = (fs::path(dir) / "pipe").string();
  std::error_code ec;
  if (pipe.size() > k_max_pipe_dir) {
    static int seq = 0;
    pipe = fmt::format("{}/colo-mps-{}/{}-{}", fs::temp_directory_path().string(), ::getuid(),
                       ::getpid(), seq++);
    // /tmp is shared: a directory another user planted there is refused, not used.
    COLO_TRY(create_private_dir(fs::path(pipe).parent_path().string()));
    fs::remove_all(pipe, ec);
  }
  MpsDaemon d(pipe, (fs::path(dir) / "log").string(), control);
  // 0700 and ours: whoever can reach the pipe directory can drive the daemon.
  COLO_TRY(create_private_dir(d.m_pipe));
  COLO_TRY(create_private_dir(d.m_log));
  d.m_control_from = log_size(fs::path(d.m_log) / "control.log");
  d.m_server_from = log_size(fs::path(d.m_log) / "server.log");
  // A daemon that just quit may still be releasing the GPU: retry a few times.
  Result<int> rc = 0;
  for (int attempt = 0; attempt < 4; ++attempt) {
    if (attempt > 0) {
      std::this_thread::sleep_for(std::chrono::seconds(attempt));
    }
    rc = run_control(control,
                     {{"CUDA_VISIBLE_DEVICES", uuid},
                      {"CUDA_MPS_PIPE_DIRECTORY", d.m_pipe},
                      {"CUDA_MPS_LOG_DIRECTORY", d.m_log},
                      {"COLO_MPS_PIPE", d.m_pipe},
                      {"COLO_MPS_OWNER", std::to_string(::getpid())}},
                     "-d", "");
    if (!rc || *rc == 0 || *rc == 127) {
      break;
    }
  }
  if (!rc) {
    return fail(rc.error());
  }
  if (*rc == 127) {
    return fail(
        ErrorCode::unsupported,
        fmt::format("cannot run '{}': MPS needs the NVIDIA MPS control binary on PATH", control));
  }
  if (*rc != 0) {
    reap_mps_children();  // daemons that died at start
    std::istringstream in(read_file(fs::path(d.m_log) / "control.log", d.m_control_from));
    std::string line;
    std::string last;
    while (std::getline(in, line)) {
      if (!line.empty()) {
        last = line;
      }
    }
    return fail(ErrorCode::gpu,
                fmt::format("'{} -d' failed with exit code {}: {}", control, *rc,
                            last.empty() ? "(control.log is empty)" : last),
                d.m_log);
  }
  d.m_running = true;
  // The daemon answers once its control pipe exists.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!fs::exists(fs::path(d.m_pipe) / "control") &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (!fs::exists(fs::path(d.m_pipe) / "control")) {
    (void)d.quit();
    return fail(ErrorCode::gpu,
                fmt::format("MPS control daemon did not come up (see {})", d.m_log));
  }
  // No client has connected yet, so no server runs: what serves this pipe is the control daemon.
  if (const auto procs = mps_processes(d.m_pipe); procs.size() == 1) {
    d.m_control_pid = procs.front();
  }
  return d;
}

MpsDaemon::MpsDaemon(MpsDaemon&& o) noexcept
    : m_pipe(std::move(o.m_pipe)),
      m_log(std::move(o.m_log)),
      m_control(std::move(o.m_control)),
      m_control_pid(o.m_control_pid),
      m_running(o.m_running),
      m_control_from(o.m_control_from),
      m_server_from(o.m_server_from) {
  o.m_running = false;
}

MpsDaemon::~MpsDaemon() {
  (void)quit();
}

std::map<std::string, std::string> MpsDaemon::client_env() const {
  return {{"CUDA_MPS_PIPE_DIRECTORY", m_pipe}, {"CUDA_MPS_LOG_DIRECTORY", m_log}};
}

Status MpsDaemon::quit() {
  if (!m_running) {
    return {};
  }
  const bool control_gone = m_control_pid > 0 && !pid_alive(m_control_pid);
  m_running = false;
  return quit_pipe(m_control, m_pipe, m_log, control_gone ? AskControl::no : AskControl::quit);
}

std::vector<MpsFault> MpsDaemon::faults() const {
  auto out = parse_mps_server_log(read_file(fs::path(m_log) / "server.log", m_server_from));
  if (auto why = lost()) {
    out.push_back({0, *why});
  }
  return out;
}

std::optional<std::string> MpsDaemon::lost() const {
  if (!m_running) {
    return std::nullopt;
  }
  if (m_control_pid > 0 && !pid_alive(m_control_pid)) {
    return fmt::format(
        "the MPS control daemon (nvidia-cuda-mps-control pid {}, pipe {}) died during the run "
        "(killed or crashed): its clients lost their GPU sharing",
        m_control_pid, m_pipe);
  }
  const auto servers =
      parse_mps_control_log(read_file(fs::path(m_log) / "control.log", m_control_from));
  if (!servers.empty()) {
    return fmt::format(
        "an MPS server of the daemon for pipe {} ended abnormally during the run "
        "(control log: {})",
        m_pipe, servers.front().message.substr(0, 300));
  }
  return std::nullopt;
}

std::vector<MpsFault> parse_mps_control_log(const std::string& text) {
  // e.g. "[2026-11-30 10:00:00.000 Control 1234] Server 5678 exited with status 9". A server
  // killed with SIGKILL is logged with status 0 too (driver 580, H200): what tells it from a
  // server colo shut down is that no "Try shutting down server 5678" came before.
  static const std::regex k_exit(R"(Server\s+(\d+)\s+exited with status\s+(-?\d+))",
                                 std::regex::icase);
  static const std::regex k_shutdown(R"(Try shutting down server\s+(\d+))", std::regex::icase);
  static const std::regex k_killed(R"(Server\s+(\d+)\b.*\b(killed|terminated|crashed))",
                                   std::regex::icase);
  std::vector<MpsFault> out;
  std::set<std::string> asked;  // servers the control daemon was told to shut down
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    std::smatch m;
    if (std::regex_search(line, m, k_shutdown)) {
      asked.insert(m[1].str());
    } else if (std::regex_search(line, m, k_exit)) {
      if (m[2].str() != "0" || !asked.contains(m[1].str())) {
        out.push_back({std::stoi(m[1].str()), line});
      }
    } else if (std::regex_search(line, m, k_killed)) {
      out.push_back({std::stoi(m[1].str()), line});
    }
  }
  return out;
}

std::vector<MpsFault> parse_mps_server_log(const std::string& text) {
  // e.g. "[2026-11-24 10:00:00.000 Other 1234] Client 5678 encountered a fatal GPU error."
  //      "... All clients belonging to error trigging process 5678 will be torn down"
  //      "... Client 5679 ... torn down"
  static const std::regex k_client(R"(Client\s+(\d+)\b.*(fatal|torn down|error))",
                                   std::regex::icase);
  static const std::regex k_process(
      R"(error trigg?ering process\s+(\d+)|error trigging process\s+(\d+))", std::regex::icase);
  std::vector<MpsFault> out;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    std::smatch m;
    if (std::regex_search(line, m, k_client)) {
      out.push_back({std::stoi(m[1].str()), line});
    } else if (std::regex_search(line, m, k_process)) {
      const auto pid = m[1].matched ? m[1].str() : m[2].str();
      out.push_back({std::stoi(pid), line});
    }
  }
  return out;
}

int cleanup_stale_mps(const std::string& control) {
  int found = 0;
  std::map<std::string, bool> done;
  for (const auto& f : list_mps_processes()) {
    if (!f.colo_started || done.count(f.pipe_dir) || pid_alive(f.owner)) {
      continue;
    }
    done[f.pipe_dir] = true;
    ++found;
    const std::string log = (fs::path(f.pipe_dir).parent_path() / "log").string();
    (void)quit_pipe(control, f.pipe_dir, log);
  }
  return found;
}

}  // namespace colo
