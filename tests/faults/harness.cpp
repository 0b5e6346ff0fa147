#include "faults/harness.hpp"
#include "support/procs.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>
#include <sqlite3.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <iostream>
#include <set>
#include <sstream>
#include <thread>

namespace colo::faults {
namespace {

std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<Row> query(sqlite3* db, const char* sql, std::string& error) {
  std::vector<Row> rows;
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(db, sql, -1, &st, nullptr) != SQLITE_OK) {
    error = fmt::format("{}: {}", sql, sqlite3_errmsg(db));
    return rows;
  }
  int rc = 0;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    Row r;
    for (int c = 0; c < sqlite3_column_count(st); ++c) {
      const auto* text = sqlite3_column_text(st, c);
      r[sqlite3_column_name(st, c)] =
          text == nullptr ? std::string("NULL") : reinterpret_cast<const char*>(text);
    }
    rows.push_back(std::move(r));
  }
  if (rc != SQLITE_DONE) {
    error = fmt::format("{}: {}", sql, sqlite3_errmsg(db));
  }
  sqlite3_finalize(st);
  return rows;
}

std::string get(const Row& r, const std::string& key) {
  auto it = r.find(key);
  return it == r.end() ? std::string("<absent>") : it->second;
}

// The part of a stored path below the results directory (cases differ above it).
std::string below_results(const std::string& path) {
  const auto at = path.find("/results/");
  return at == std::string::npos ? path : path.substr(at + 9);
}

bool within(const std::string& got, const std::string& want, double rel, double abs_slack = 0) {
  if (got == want) {
    return true;
  }
  if (got == "NULL" || want == "NULL") {
    return false;
  }
  const double g = std::stod(got);
  const double w = std::stod(want);
  return std::fabs(g - w) <= rel * std::fabs(w) + abs_slack;
}

// Both absent, or both positive and no more than `factor` apart.
bool within_factor(const std::string& got, const std::string& want, double factor) {
  if (got == want) {
    return true;
  }
  if (got == "NULL" || want == "NULL") {
    return false;
  }
  const double g = std::stod(got);
  const double w = std::stod(want);
  return g > 0 && w > 0 && g <= w * factor && w <= g * factor;
}

const std::vector<Row>& rows_of(const std::map<std::string, std::vector<Row>>& m,
                                const std::string& key) {
  static const std::vector<Row> none;
  auto it = m.find(key);
  return it == m.end() ? none : it->second;
}

}  // namespace

namespace {

// The suite's two workloads: each stops itself after a fixed number of steps. `pins` follows
// each one's args (e.g. ", gpus: [0]").
std::string suite_workloads(const std::string& pin_a = "", const std::string& pin_b = "") {
  return fmt::format(R"(workloads:
  - {{name: a, builtin: sim-gpu{}, args: {{duty: 0.6, sm: 0.4, bw: 0.2, mem: 2G, step-ms: 15, batch: 8, steps: 12}}}}
  - {{name: b, builtin: sim-gpu{}, args: {{duty: 0.4, sm: 0.3, bw: 0.3, mem: 2G, step-ms: 10, batch: 16, steps: 16}}}}
)",
                     pin_a, pin_b);
}

constexpr const char* k_suite_settings = R"(gpu: sim
warmup: {steps: 2}
stop: {exit: true, timeout: 60s}
grace: 2s
sample_period: 100ms
modes: [timeslice, mps]
)";

}  // namespace

std::string suite_spec(const std::string& name, const std::string& extra_workload_yaml) {
  return fmt::format("name: {}\n{}{}{}groups:\n  - [a, b]\n", name, k_suite_settings,
                     suite_workloads(), extra_workload_yaml);
}

std::string concurrent_suite_spec(const std::string& name) {
  return fmt::format(
      "name: {}\ngpus: [0, 1]\nparallel: true\n{}{}groups:\n"
      "  - {{workloads: [a, a], gpus: [0]}}\n  - {{workloads: [b, b], gpus: [1]}}\n",
      name, k_suite_settings, suite_workloads(", gpus: [0]", ", gpus: [1]"));
}

Case::Case(const std::string& tag) {
  m_dir = fs::temp_directory_path() / fmt::format("colo-faults-{}-{}", ::getpid(), tag);
  std::error_code ec;
  fs::remove_all(m_dir, ec);
  fs::create_directories(m_dir);
  m_name = fmt::format("flt-{}-{}", tag, ::getpid());
}

Case::~Case() {
  std::error_code ec;
  fs::remove_all(m_dir, ec);
}

fs::path Case::write_spec(const std::string& text) {
  const auto p = m_dir / "spec.yaml";
  std::ofstream(p) << text;
  return p;
}

pid_t Case::start(const std::vector<std::string>& args, long fsize_limit) {
  const int call = m_calls++;
  const std::string out = (m_dir / fmt::format("colo{}.out", call)).string();
  const std::string err = (m_dir / fmt::format("colo{}.err", call)).string();
  std::vector<std::string> argv_s{std::string(COLO_BIN_DIR) + "/colo", "--results",
                                  results().string()};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& s : argv_s) {
    argv.push_back(s.data());
  }
  argv.push_back(nullptr);
  const pid_t pid = ::fork();
  if (pid == 0) {
    const int o = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    const int e = ::open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ::dup2(o, 1);
    ::dup2(e, 2);
    if (::chdir(m_dir.c_str()) != 0) {
      ::_exit(126);
    }
    if (fsize_limit > 0) {
      ::signal(SIGXFSZ, SIG_IGN);
      const rlimit lim{static_cast<rlim_t>(fsize_limit), static_cast<rlim_t>(fsize_limit)};
      ::setrlimit(RLIMIT_FSIZE, &lim);
    }
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  m_started[pid] = {call, std::chrono::steady_clock::now()};
  return pid;
}

namespace {

std::string first_line(const fs::path& p) {
  std::ifstream in(p);
  std::string line;
  std::getline(in, line);
  return line;
}

// `pid` and its descendants (by /proc/<pid>/task/*/children), parents first.
std::vector<pid_t> process_tree(pid_t pid) {
  std::vector<pid_t> out{pid};
  for (std::size_t i = 0; i < out.size(); ++i) {
    std::error_code ec;
    for (const auto& task : fs::directory_iterator(fmt::format("/proc/{}/task", out[i]), ec)) {
      std::ifstream in(task.path() / "children");
      pid_t child = 0;
      while (in >> child) {
        out.push_back(child);
      }
    }
  }
  return out;
}

// What each process of the tree is doing: state and the kernel function each thread waits in.
std::string describe_tree(const std::vector<pid_t>& tree) {
  std::string out;
  for (pid_t p : tree) {
    const std::string stat = first_line(fmt::format("/proc/{}/stat", p));
    const auto close = stat.rfind(')');
    const std::string state = close == std::string::npos ? "?" : stat.substr(close + 2, 1);
    out += fmt::format("\n  pid {} state {} {}:", p, state,
                       first_line(fmt::format("/proc/{}/cmdline", p)).c_str());
    std::error_code ec;
    for (const auto& task : fs::directory_iterator(fmt::format("/proc/{}/task", p), ec)) {
      out += fmt::format(" [{} {}]", task.path().filename().string(),
                         first_line(task.path() / "wchan"));
    }
  }
  return out;
}

}  // namespace

ColoRun Case::finish(pid_t pid) {
  int st = 0;
  ColoRun r;
  const auto [call, t0] = m_started[pid];
  for (;;) {
    const pid_t got = ::waitpid(pid, &st, WNOHANG);
    if (got == pid || (got < 0 && errno != EINTR)) {
      break;
    }
    if (std::chrono::steady_clock::now() - t0 > k_colo_deadline) {
      // A hung colo fails its case with what it was doing, instead of the whole test timing out
      // with nothing said.
      const auto tree = process_tree(pid);
      r.hung =
          fmt::format("colo still running after {} s; process tree:{}",
                      std::chrono::duration_cast<std::chrono::seconds>(k_colo_deadline).count(),
                      describe_tree(tree));
      for (pid_t p : tree) {
        ::kill(p, SIGKILL);
      }
      while (::waitpid(pid, &st, 0) < 0 && errno == EINTR) {
      }
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (WIFEXITED(st)) {
    r.rc = WEXITSTATUS(st);
  } else if (WIFSIGNALED(st)) {
    r.signal = WTERMSIG(st);
    r.rc = 128 + r.signal;
  }
  r.out = slurp(m_dir / fmt::format("colo{}.out", call));
  r.err = slurp(m_dir / fmt::format("colo{}.err", call));
  if (!r.hung.empty()) {
    std::cerr << "FAULTS HUNG " << m_name << ": " << r.hung << "\n" << r.err << std::endl;
    r.err = r.hung + "\n" + r.err;
  }
  return r;
}

ColoRun Case::run(const std::vector<std::string>& args, long fsize_limit) {
  return finish(start(args, fsize_limit));
}

namespace {

StoreDump dump_store_opened(const std::string& path, const std::string& case_dir, int flags) {
  StoreDump d;
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, flags, nullptr) != SQLITE_OK) {
    d.error = fmt::format("cannot open '{}': {}", path, db ? sqlite3_errmsg(db) : "?");
    sqlite3_close(db);
    return d;
  }
  sqlite3_busy_timeout(db, 5000);
  std::string err;
  // A store colo created but was killed before it made its tables is empty, not broken.
  if (query(db, "SELECT name FROM sqlite_master WHERE name='experiments'", err).empty() &&
      err.empty()) {
    d.integrity = "ok";
    for (const auto& r : query(db, "PRAGMA integrity_check", err)) {
      d.integrity = r.begin()->second;
    }
    d.error = err;
    sqlite3_close(db);
    return d;
  }
  std::string integrity;
  for (const auto& r : query(db, "PRAGMA integrity_check", err)) {
    integrity += (integrity.empty() ? "" : "; ") + r.begin()->second;
  }
  d.integrity = integrity;
  d.experiments = query(db, "SELECT * FROM experiments ORDER BY id", err);
  d.runs = query(db, "SELECT * FROM runs ORDER BY experiment_id, seq, id", err);
  for (auto& w : query(db, "SELECT * FROM workloads ORDER BY run_id, name, copy, id", err)) {
    d.workloads[w["run_id"]].push_back(std::move(w));
  }
  for (auto& p :
       query(db, "SELECT rowid AS rowid_, * FROM progress ORDER BY workload_id, rowid", err)) {
    d.progress[p["workload_id"]].push_back(std::move(p));
  }
  d.error = err;
  sqlite3_close(db);
  auto scrub = [&](std::vector<Row>& rows) {
    for (auto& r : rows) {
      for (auto& [k, v] : r) {
        for (auto at = v.find(case_dir); !case_dir.empty() && at != std::string::npos;
             at = v.find(case_dir, at)) {
          v.replace(at, case_dir.size(), "<case>");
        }
      }
    }
  };
  scrub(d.experiments);
  scrub(d.runs);
  for (auto& [k, rows] : d.workloads) {
    scrub(rows);
  }
  return d;
}

}  // namespace

StoreDump dump_store(const std::string& path, const std::string& case_dir) {
  auto d = dump_store_opened(path, case_dir, SQLITE_OPEN_READONLY);
  // A store whose writer was killed mid-transaction (WAL without its index) can be read only
  // after WAL recovery, which a read-only connection may not run ("attempt to write a readonly
  // database"): read it as colo's resume would, read-write (no row is written; no file made).
  if (d.error.find("readonly") != std::string::npos) {
    d = dump_store_opened(path, case_dir, SQLITE_OPEN_READWRITE);
  }
  return d;
}

std::vector<std::string> compare_to_baseline(const StoreDump& got, const StoreDump& want) {
  std::vector<std::string> diffs;
  if (!got.error.empty()) {
    diffs.push_back("store unreadable: " + got.error);
    return diffs;
  }
  if (got.experiments.size() != 1) {
    diffs.push_back(fmt::format("{} experiments (want 1)", got.experiments.size()));
    return diffs;
  }
  for (const char* f : {"backend", "simulated", "status"}) {
    if (get(got.experiments[0], f) != get(want.experiments[0], f)) {
      diffs.push_back(fmt::format("experiment.{}: '{}' (want '{}')", f, get(got.experiments[0], f),
                                  get(want.experiments[0], f)));
    }
  }
  std::map<std::string, const Row*> got_runs;
  for (const auto& r : got.runs) {
    got_runs[get(r, "key")] = &r;
  }
  if (got.runs.size() != want.runs.size()) {
    diffs.push_back(fmt::format("{} runs (want {})", got.runs.size(), want.runs.size()));
  }
  for (const auto& w : want.runs) {
    const std::string key = get(w, "key");
    auto it = got_runs.find(key);
    if (it == got_runs.end()) {
      diffs.push_back(fmt::format("run '{}' missing", key));
      continue;
    }
    const Row& g = *it->second;
    for (const char* f : {"seq", "repetition", "mode", "mode_kind", "grp", "sweep", "settings_json",
                          "status", "error"}) {
      if (get(g, f) != get(w, f)) {
        diffs.push_back(fmt::format("run '{}'.{}: '{}' (want '{}')", key, f, get(g, f), get(w, f)));
      }
    }
    const auto& gw = rows_of(got.workloads, get(g, "id"));
    const auto& ww = rows_of(want.workloads, get(w, "id"));
    if (gw.size() != ww.size()) {
      diffs.push_back(fmt::format("run '{}': {} workloads (want {})", key, gw.size(), ww.size()));
      continue;
    }
    for (std::size_t i = 0; i < ww.size(); ++i) {
      const std::string who =
          fmt::format("run '{}' workload {}#{}", key, get(ww[i], "name"), get(ww[i], "copy"));
      for (const char* f : {"name", "copy", "gpu", "argv_json", "exit_class", "exit_code", "signal",
                            "message", "steps", "samples"}) {
        if (get(gw[i], f) != get(ww[i], f)) {
          diffs.push_back(
              fmt::format("{}.{}: '{}' (want '{}')", who, f, get(gw[i], f), get(ww[i], f)));
        }
      }
      for (const char* f : {"stdout_path", "stderr_path"}) {
        if (below_results(get(gw[i], f)) != below_results(get(ww[i], f))) {
          diffs.push_back(
              fmt::format("{}.{}: '{}' (want '{}')", who, f, get(gw[i], f), get(ww[i], f)));
        }
      }
      for (const char* f : {"throughput", "window_s"}) {
        if (!within_factor(get(gw[i], f), get(ww[i], f), k_throughput_factor)) {
          diffs.push_back(fmt::format("{}.{}: {} (want {}, within a factor of {:.0f})", who, f,
                                      get(gw[i], f), get(ww[i], f), k_throughput_factor));
        }
      }
      const auto& gp = rows_of(got.progress, get(gw[i], "id"));
      const auto& wp = rows_of(want.progress, get(ww[i], "id"));
      if (gp.size() != wp.size()) {
        diffs.push_back(fmt::format("{}: {} progress rows (want {})", who, gp.size(), wp.size()));
        continue;
      }
      for (std::size_t k = 0; k < wp.size(); ++k) {
        for (const char* f : {"step", "samples", "loss"}) {
          if (get(gp[k], f) != get(wp[k], f)) {
            diffs.push_back(fmt::format("{} progress[{}].{}: '{}' (want '{}')", who, k, f,
                                        get(gp[k], f), get(wp[k], f)));
          }
        }
        if (!within(get(gp[k], "latency_ms"), get(wp[k], "latency_ms"), k_latency_tolerance)) {
          diffs.push_back(fmt::format("{} progress[{}].latency_ms: {} (want {} +-{:.0f}%)", who, k,
                                      get(gp[k], "latency_ms"), get(wp[k], "latency_ms"),
                                      k_latency_tolerance * 100));
        }
      }
    }
  }
  return diffs;
}

StoreDump median_timing(const std::vector<StoreDump>& dumps) {
  StoreDump out = dumps.front();
  auto median = [](std::vector<std::string> values) {
    std::vector<double> v;
    for (const auto& s : values) {
      if (s != "NULL" && s != "<absent>") {
        v.push_back(std::stod(s));
      }
    }
    if (v.empty()) {
      return values.front();
    }
    std::sort(v.begin(), v.end());
    return fmt::format("{:.17g}", v[v.size() / 2]);
  };
  for (const auto& run : out.runs) {
    const std::string key = get(run, "key");
    std::vector<const std::vector<Row>*> ws;
    for (const auto& d : dumps) {
      for (const auto& r : d.runs) {
        if (get(r, "key") == key) {
          ws.push_back(&rows_of(d.workloads, get(r, "id")));
        }
      }
    }
    auto& mine = out.workloads[get(run, "id")];
    for (std::size_t i = 0; i < mine.size(); ++i) {
      for (const char* f : {"throughput", "window_s"}) {
        std::vector<std::string> vals;
        for (std::size_t k = 0; k < ws.size(); ++k) {
          if (i < ws[k]->size()) {
            vals.push_back(get((*ws[k])[i], f));
          }
        }
        mine[i][f] = median(vals);
      }
      auto& prog = out.progress[get(mine[i], "id")];
      for (std::size_t p = 0; p < prog.size(); ++p) {
        std::vector<std::string> vals;
        for (std::size_t k = 0; k < ws.size(); ++k) {
          if (i >= ws[k]->size()) {
            continue;
          }
          const auto& other = rows_of(dumps[k].progress, get((*ws[k])[i], "id"));
          if (p < other.size()) {
            vals.push_back(get(other[p], "latency_ms"));
          }
        }
        prog[p]["latency_ms"] = median(vals);
      }
    }
  }
  return out;
}

TimingDeviation max_timing_deviation(const StoreDump& got, const StoreDump& want) {
  TimingDeviation worst;
  auto dev = [](double& into, const std::string& g, const std::string& w) {
    if (g != "NULL" && w != "NULL" && std::stod(w) != 0) {
      into = std::max(into, std::fabs(std::stod(g) - std::stod(w)) / std::fabs(std::stod(w)));
    }
  };
  std::map<std::string, const Row*> got_runs;
  for (const auto& r : got.runs) {
    got_runs[get(r, "key")] = &r;
  }
  for (const auto& w : want.runs) {
    auto it = got_runs.find(get(w, "key"));
    if (it == got_runs.end()) {
      continue;
    }
    const auto& gw = rows_of(got.workloads, get(*it->second, "id"));
    const auto& ww = rows_of(want.workloads, get(w, "id"));
    for (std::size_t i = 0; i < std::min(gw.size(), ww.size()); ++i) {
      dev(worst.throughput, get(gw[i], "throughput"), get(ww[i], "throughput"));
      dev(worst.throughput, get(gw[i], "window_s"), get(ww[i], "window_s"));
      const auto& gp = rows_of(got.progress, get(gw[i], "id"));
      const auto& wp = rows_of(want.progress, get(ww[i], "id"));
      for (std::size_t k = 0; k < std::min(gp.size(), wp.size()); ++k) {
        dev(worst.latency, get(gp[k], "latency_ms"), get(wp[k], "latency_ms"));
      }
    }
  }
  return worst;
}

std::vector<std::string> structural_problems(const StoreDump& d) {
  std::vector<std::string> out;
  if (!d.error.empty()) {
    out.push_back("store unreadable: " + d.error);
    return out;
  }
  if (d.integrity != "ok") {
    out.push_back("PRAGMA integrity_check: " + d.integrity);
  }
  if (d.experiments.size() > 1) {
    out.push_back(fmt::format("{} experiments: a duplicate", d.experiments.size()));
  }
  std::set<std::string> keys;
  std::set<std::string> run_ids;
  for (const auto& r : d.runs) {
    if (!keys.insert(get(r, "experiment_id") + "/" + get(r, "key")).second) {
      out.push_back("duplicate run " + get(r, "key"));
    }
    run_ids.insert(get(r, "id"));
  }
  std::set<std::string> workload_ids;
  for (const auto& [run, ws] : d.workloads) {
    if (run_ids.count(run) == 0) {
      out.push_back(
          fmt::format("{} workload row(s) of a run that does not exist ({})", ws.size(), run));
    }
    std::set<std::string> names;
    for (const auto& w : ws) {
      workload_ids.insert(get(w, "id"));
      if (!names.insert(get(w, "name") + "#" + get(w, "copy")).second) {
        out.push_back(
            fmt::format("run {}: duplicate workload {}#{}", run, get(w, "name"), get(w, "copy")));
      }
    }
  }
  for (const auto& [wid, rows] : d.progress) {
    if (workload_ids.count(wid) == 0) {
      out.push_back(fmt::format("{} progress row(s) of a workload that does not exist ({})",
                                rows.size(), wid));
    }
    std::set<std::string> steps;
    for (const auto& p : rows) {
      if (!steps.insert(get(p, "step")).second) {
        out.push_back(fmt::format("workload {}: duplicate progress step {}", wid, get(p, "step")));
      }
    }
  }
  return out;
}

std::vector<std::string> finished_runs_changed(const StoreDump& before, const StoreDump& after) {
  std::vector<std::string> out;
  std::map<std::string, const Row*> after_runs;
  for (const auto& r : after.runs) {
    after_runs[get(r, "id")] = &r;
  }
  for (const auto& r : before.runs) {
    if (get(r, "status") != "done") {
      continue;
    }
    const std::string key = get(r, "key");
    auto it = after_runs.find(get(r, "id"));
    if (it == after_runs.end()) {
      out.push_back(fmt::format("finished run '{}' lost", key));
      continue;
    }
    if (*it->second != r) {
      out.push_back(fmt::format("finished run '{}' changed", key));
    }
    if (rows_of(after.workloads, get(r, "id")) != rows_of(before.workloads, get(r, "id"))) {
      out.push_back(fmt::format("finished run '{}': its workloads changed", key));
    }
    for (const auto& w : rows_of(before.workloads, get(r, "id"))) {
      if (rows_of(after.progress, get(w, "id")) != rows_of(before.progress, get(w, "id"))) {
        out.push_back(
            fmt::format("finished run '{}': progress of {} changed", key, get(w, "name")));
      }
    }
  }
  return out;
}

int processes_left(const std::string& name, std::chrono::milliseconds wait) {
  const std::string entry = "COLO_EXPERIMENT=" + name;
  const auto deadline = std::chrono::steady_clock::now() + wait;
  for (;;) {
    const int n = test::count_processes_with_env(entry);
    if (n == 0 || std::chrono::steady_clock::now() >= deadline) {
      return n;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

std::string join(const std::vector<std::string>& lines, std::size_t max) {
  std::string s;
  for (std::size_t i = 0; i < lines.size() && i < max; ++i) {
    s += "\n  " + lines[i];
  }
  if (lines.size() > max) {
    s += fmt::format("\n  ... and {} more", lines.size() - max);
  }
  return s;
}

}  // namespace colo::faults
