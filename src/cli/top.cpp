#include "cli/top.hpp"

#include <poll.h>
#include <signal.h>
#include <termios.h>
#include <unistd.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <ctime>
#include <map>
#include <ostream>

#include "cli/cli_common.hpp"
#include "core/units.hpp"
#include "report/table.hpp"
#include "store/store.hpp"

namespace colo {
namespace {

volatile sig_atomic_t g_quit = 0;
void on_signal(int) {
  g_quit = 1;
}

// Raw keyboard input and the alternate screen while alive; everything restored on destruction.
class Terminal {
 public:
  explicit Terminal(std::ostream& out) : m_out(out) {
    m_tty_in = ::isatty(STDIN_FILENO) && ::tcgetattr(STDIN_FILENO, &m_saved) == 0;
    if (m_tty_in) {
      termios raw = m_saved;
      raw.c_lflag &= ~static_cast<tcflag_t>(ICANON | ECHO);
      raw.c_cc[VMIN] = 0;
      raw.c_cc[VTIME] = 0;
      ::tcsetattr(STDIN_FILENO, TCSANOW, &raw);
    }
    m_tty_out = ::isatty(STDOUT_FILENO) != 0;
    if (m_tty_out) {
      m_out << "\x1b[?1049h\x1b[?25l" << std::flush;
    }
  }
  ~Terminal() {
    if (m_tty_out) {
      m_out << "\x1b[?25h\x1b[?1049l" << std::flush;
    }
    if (m_tty_in) {
      ::tcsetattr(STDIN_FILENO, TCSANOW, &m_saved);
    }
  }
  Terminal(const Terminal&) = delete;
  Terminal& operator=(const Terminal&) = delete;

  void show(const std::string& frame) {
    m_out << (m_tty_out ? "\x1b[H\x1b[2J" : "\n") << frame << std::flush;
  }
  // Waits up to `ms` for a key; true when the user asked to quit.
  bool wait_quit(int ms) {
    pollfd p{STDIN_FILENO, POLLIN, 0};
    if (::poll(&p, 1, ms) > 0 && (p.revents & POLLIN)) {
      char c = 0;
      if (::read(STDIN_FILENO, &c, 1) == 1 && (c == 'q' || c == 'Q' || c == 3)) {
        return true;
      }
      if (!m_tty_in && ::read(STDIN_FILENO, &c, 0) == 0) {
        // stdin at EOF (not a terminal): keep refreshing until interrupted
        ::usleep(static_cast<useconds_t>(ms) * 1000);
      }
    }
    return g_quit != 0;
  }

 private:
  std::ostream& m_out;
  termios m_saved{};
  bool m_tty_in = false;
  bool m_tty_out = false;
};

std::string bar(double frac, int width) {
  frac = std::clamp(frac, 0.0, 1.0);
  const int n = static_cast<int>(std::lround(frac * width));
  return "[" + std::string(static_cast<std::size_t>(n), '#') +
         std::string(static_cast<std::size_t>(width - n), '.') + "]";
}

Result<std::string> frame(Store& store, ExperimentId id) {
  auto e = store.experiment(id);
  if (!e) {
    return fail(e.error());
  }
  auto runs = store.runs(id);
  if (!runs) {
    return fail(runs.error());
  }
  int done = 0;
  const RunRecord* current = nullptr;
  for (const auto& r : *runs) {
    done += r.status == RunStatus::done ? 1 : 0;
    if (r.status == RunStatus::running) {
      current = &r;
    }
  }
  const auto now = std::time(nullptr);
  char clock[16] = {};
  std::strftime(clock, sizeof(clock), "%H:%M:%S", std::localtime(&now));
  std::string o =
      fmt::format("colo top - experiment {} \"{}\"{} - {} - {}/{} runs done - {}\n", e->id, e->name,
                  e->simulated ? " [SIMULATED GPU]" : "", e->status, done, runs->size(), clock);
  if (!current) {
    o += e->status == "running" ? "\n(between runs)\n"
                                : "\nno run in progress: `colo report` shows the results\n";
    o += "\nq: quit\n";
    return o;
  }
  double duration = 0;
  std::int64_t step_limit = 0;
  try {
    const auto s = nlohmann::json::parse(current->settings_json).at("stop");
    duration = s.value("duration_s", 0.0);
    step_limit = s.value("steps", std::int64_t{0});
  } catch (const std::exception&) {
    duration = 0;
  }
  const double elapsed = std::max(0.0, static_cast<double>(now) - current->started_at);
  o += fmt::format("\nrun {}/{}: {} {} rep {}   {} elapsed{}\n\n", current->seq + 1, runs->size(),
                   current->mode, current->group, current->repetition + 1,
                   format_duration(Seconds(elapsed)),
                   duration > 0 ? " of " + format_duration(Seconds(duration)) : "");
  auto ws = store.workloads(current->id);
  if (!ws) {
    return fail(ws.error());
  }
  auto samples = store.samples(current->id, elapsed - 5);
  if (!samples) {
    return fail(samples.error());
  }
  std::map<WorkloadId, double> mem;
  std::map<int, std::map<std::string, double>> gpu;
  for (const auto& x : *samples) {
    if (x.workload_id && x.metric == "gpu.mem_bytes") {
      mem[*x.workload_id] = x.value;
    }
    if (x.gpu) {
      gpu[*x.gpu][x.metric] = x.value;  // latest wins (rows are in time order)
    }
  }
  o += fmt::format("  {:<16} {:<34} {:>16} {:>12}\n", "workload", "progress", "rate", "GPU mem");
  for (const auto& w : *ws) {
    auto prog = store.progress(w.id, elapsed - 4);
    std::int64_t steps = 0;
    double rate = 0;
    if (prog && !prog->empty()) {
      steps = prog->back().step;
      if (prog->size() >= 2) {
        double n = 0;
        for (std::size_t i = 1; i < prog->size(); ++i) {
          n += (*prog)[i].samples;
        }
        const double span = prog->back().t - prog->front().t;
        rate = span > 0 ? n / span : 0;
      }
    }
    const double frac = step_limit > 0
                            ? static_cast<double>(steps) / static_cast<double>(step_limit)
                        : duration > 0 ? elapsed / duration
                                       : 0;
    o += fmt::format("  {:<16} {} {:>4.0f}% {:>19} {:>12}\n", w.name + "#" + std::to_string(w.copy),
                     bar(frac, 26), frac * 100, rate > 0 ? fixed4(rate) + " samples/s" : "-",
                     mem.count(w.id) ? format_bytes(static_cast<std::uint64_t>(mem[w.id])) : "-");
  }
  o += "\n";
  for (const auto& [g, m] : gpu) {
    auto get = [&](const char* k) { return m.count(k) ? m.at(k) : -1.0; };
    const double sm = get("DCGM_FI_PROF_SM_ACTIVE");
    const double util = get("DCGM_FI_DEV_GPU_UTIL");
    o += fmt::format(
        "  GPU {}: {}  memory {}  power {}\n", g,
        sm >= 0     ? fmt::format("SM active {:.0f}%", sm * 100)
        : util >= 0 ? fmt::format("utilization {:.0f}%", util)
                    : std::string("SM -"),
        get("DCGM_FI_DEV_FB_USED") >= 0
            ? format_bytes(static_cast<std::uint64_t>(get("DCGM_FI_DEV_FB_USED") * 1024 * 1024))
            : "-",
        get("DCGM_FI_DEV_POWER_USAGE") >= 0
            ? fmt::format("{:.0f} W", get("DCGM_FI_DEV_POWER_USAGE"))
            : "-");
  }
  o += "\nq: quit\n";
  return o;
}

}  // namespace

int cmd_top(const std::string& results, const std::string& id, bool once, std::ostream& out,
            std::ostream& err) {
  auto store = Store::open(store_path(results), OpenMode::read_only);
  if (!store) {
    return report_error(err, store.error());
  }
  auto e = pick_experiment(*store, id);
  if (!e) {
    return report_error(err, e.error());
  }
  if (once) {
    auto f = frame(*store, e->id);
    if (!f) {
      return report_error(err, f.error());
    }
    out << *f;
    return 0;
  }
  struct sigaction sa{};
  sa.sa_handler = on_signal;
  ::sigemptyset(&sa.sa_mask);
  struct sigaction old_int{};
  struct sigaction old_term{};
  ::sigaction(SIGINT, &sa, &old_int);
  ::sigaction(SIGTERM, &sa, &old_term);
  g_quit = 0;
  int rc = 0;
  {
    Terminal term(out);
    while (true) {
      auto f = frame(*store, e->id);
      if (!f) {
        rc = -1;
        term.show("colo top: " + f.error().what() + "\n");
      } else {
        term.show(*f);
      }
      if (term.wait_quit(1000)) {
        break;
      }
    }
  }
  ::sigaction(SIGINT, &old_int, nullptr);
  ::sigaction(SIGTERM, &old_term, nullptr);
  return rc < 0 ? 1 : 0;
}

}  // namespace colo
