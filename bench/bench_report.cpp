// Report generation at scale: an experiment of 8 runs x 2 workloads holding 1,000,000
// telemetry samples (10 Hz, 25 metrics, ~83 min of run time) plus progress, then
// `colo report` (HTML) timed as a child process with its peak RSS (wait4), next to `colo show`
// (summary only) on the same store. Targets: report < 2 s, < 500 MB RSS, HTML < 5 MB.
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "store/store.hpp"

namespace {
namespace fs = std::filesystem;

struct Child {
  double seconds = 0;
  double max_rss_mb = 0;
  int status = 0;
};

Child run(const std::vector<std::string>& args) {
  const auto t0 = std::chrono::steady_clock::now();
  const pid_t pid = ::fork();
  if (pid == 0) {
    const int devnull = ::open("/dev/null", O_WRONLY);
    ::dup2(devnull, 1);
    ::dup2(devnull, 2);
    std::vector<char*> argv;
    for (const auto& a : args) {
      argv.push_back(const_cast<char*>(a.c_str()));
    }
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  Child c;
  rusage ru{};
  ::wait4(pid, &c.status, 0, &ru);
  c.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  c.max_rss_mb = static_cast<double>(ru.ru_maxrss) / 1024.0;
  return c;
}

}  // namespace

int main() {
  const char* env_bin = std::getenv("COLO_BIN_DIR");
  const std::string colo = std::string(env_bin ? env_bin : COLO_BIN_DIR) + "/colo";
  const auto dir = fs::temp_directory_path() / fmt::format("colo-bench-report-{}", ::getpid());
  fs::remove_all(dir);
  fs::create_directories(dir);
  constexpr int k_runs = 8;
  constexpr int k_metrics = 25;
  constexpr long k_samples = 1'000'000;
  constexpr long k_per_run = k_samples / k_runs;
  constexpr long k_ticks = k_per_run / k_metrics;  // 10 Hz ticks per run
  {
    auto store = colo::Store::open((dir / "colo.db").string());
    if (!store) {
      fmt::print(stderr, "{}\n", store.error().what());
      return 1;
    }
    colo::ExperimentRecord e;
    e.name = "bench-report";
    e.backend = "sim";
    e.simulated = true;
    e.status = "done";
    e.spec_yaml = "name: bench-report\n";
    auto id = store->create_experiment(e);
    std::vector<colo::RunRecord> runs;
    for (int r = 0; r < k_runs; ++r) {
      colo::RunRecord rr;
      rr.seq = r;
      rr.key = fmt::format("r{}|solo|w", r);
      rr.repetition = r / 2;
      rr.mode = r % 2 ? "mps" : "solo";
      rr.mode_kind = rr.mode;
      rr.group = r % 2 ? "wx2" : "w";
      rr.settings_json = R"({"warmup": {"duration_s": 5.0}, "stop": {"duration_s": 600}})";
      runs.push_back(rr);
    }
    (void)store->add_runs(*id, runs);
    auto stored = store->runs(*id);
    for (auto& rr : *stored) {
      (void)store->start_run(rr.id, 0);
      rr.status = colo::RunStatus::done;
      rr.wall_s = static_cast<double>(k_ticks) / 10.0;
      (void)store->finish_run(rr);
      const int clients = rr.mode == "mps" ? 2 : 1;
      for (int c = 0; c < clients; ++c) {
        colo::WorkloadRecord w;
        w.run_id = rr.id;
        w.name = "w";
        w.copy = c;
        w.samples = 1e6;
        w.window_s = rr.wall_s - 5;
        w.throughput = 1000.0 / clients;
        auto wid = store->add_workload(w);
        std::vector<colo::ProgressRow> prog;
        for (long i = 0; i < k_ticks / 10; ++i) {
          prog.push_back({*wid, static_cast<double>(i), i, 1000.0 / clients, std::nullopt, 5.0});
        }
        (void)store->add_progress(prog);
      }
      std::vector<colo::SampleRow> rows;
      rows.reserve(static_cast<std::size_t>(k_per_run));
      for (long i = 0; i < k_ticks; ++i) {
        for (int m = 0; m < k_metrics; ++m) {
          const std::string name = m == 0   ? "DCGM_FI_PROF_SM_ACTIVE"
                                   : m == 1 ? "DCGM_FI_DEV_POWER_USAGE"
                                   : m == 2 ? "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION"
                                            : fmt::format("bench.metric{}", m);
          rows.push_back({rr.id, std::nullopt, 0, static_cast<double>(i) / 10.0, name,
                          static_cast<double>(i % 97)});
        }
      }
      (void)store->add_samples(rows);
    }
  }
  const auto out = (dir / "report.html").string();
  const auto show = run({colo, "--results", dir.string(), "show", "1"});
  const auto rep = run({colo, "--results", dir.string(), "report", "1", "-o", out});
  std::error_code ec;
  const double mb = static_cast<double>(fs::file_size(out, ec)) / (1024.0 * 1024.0);
  fmt::print("report generation: {} samples in {} runs ({} s of 10 Hz telemetry each)\n", k_samples,
             k_runs, k_ticks / 10);
  fmt::print("  colo show (summary only) : {:6.2f} s, max RSS {:6.1f} MB\n", show.seconds,
             show.max_rss_mb);
  fmt::print("  colo report (HTML)       : {:6.2f} s, max RSS {:6.1f} MB, exit {}; {:.2f}x show\n",
             rep.seconds, rep.max_rss_mb, WEXITSTATUS(rep.status), rep.seconds / show.seconds);
  fmt::print("  HTML size                : {:6.2f} MB\n", mb);
  fmt::print("  targets: < 2 s: {}; < 500 MB RSS: {}; HTML < 5 MB: {}\n",
             rep.seconds < 2 ? "met" : "NOT met", rep.max_rss_mb < 500 ? "met" : "NOT met",
             mb < 5 ? "met" : "NOT met");
  fs::remove_all(dir, ec);
  return 0;
}
