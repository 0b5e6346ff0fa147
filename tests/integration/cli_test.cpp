// End-to-end tests of the colo binary on the simulated GPU: real processes, a real store.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include "launch/cgroup.hpp"
#include "store/store.hpp"
#include "support/procs.hpp"
#include "support/run_colo.hpp"

namespace colo {
namespace {
namespace fs = std::filesystem;

using test::Output;
using test::slurp;

class Cli : public ::testing::Test {
 protected:
  void SetUp() override {
    m_dir = fs::temp_directory_path() /
            ("colo-cli-" + std::to_string(::getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(m_dir);
    fs::create_directories(m_dir);
    m_name = std::string("it-") + ::testing::UnitTest::GetInstance()->current_test_info()->name() +
             "-" + std::to_string(::getpid());
  }
  void TearDown() override {
    EXPECT_EQ(test::count_processes_with_env("COLO_EXPERIMENT=" + m_name), 0) << "orphan workloads";
    std::error_code ec;
    fs::permissions(m_dir, fs::perms::owner_all, ec);
    fs::remove_all(m_dir, ec);
  }

  fs::path write_spec(const std::string& body, const std::string& file = "spec.yaml") {
    auto p = m_dir / file;
    std::ofstream(p) << "name: " << m_name << "\n" << body;
    return p;
  }

  pid_t start(const std::vector<std::string>& args, const std::string& tag) {
    std::vector<std::string> argv{std::string(COLO_BIN_DIR) + "/colo"};
    if (m_pass_results) {
      argv.insert(argv.end(), {"--results", (m_dir / "results").string()});
    }
    argv.insert(argv.end(), args.begin(), args.end());
    return test::start_in(m_dir, argv, tag);
  }

  Output finish(pid_t pid, const std::string& tag) { return test::finish_in(m_dir, pid, tag); }

  Output colo(const std::vector<std::string>& args) {
    const std::string tag = "cmd" + std::to_string(m_calls++);
    return finish(start(args, tag), tag);
  }

  Store store() {
    auto s = Store::open((m_dir / "results" / "colo.db").string(), OpenMode::read_only);
    EXPECT_TRUE(s) << s.error().what();
    return std::move(*s);
  }

  void stop_with_signal_then_resume(int sig);

  fs::path m_dir;
  std::string m_name;
  int m_calls = 0;
  bool m_pass_results = true;  // colo() adds --results <m_dir>/results
};

constexpr const char* k_sim_spec = R"(gpu: sim
warmup: 0.1s
stop: {duration: 0.6s}
sample_period: 100ms
modes: [timeslice, mps]
workloads:
  - name: small
    builtin: sim-gpu
    args: {duty: 0.5, sm: 0.25, bw: 0.1, mem: 2G, step-ms: 5, batch: 10}
    copies: [2]
)";

TEST_F(Cli, RunsASimulatedExperimentAndReadsItBack) {
  auto spec = write_spec(k_sim_spec);
  auto r = colo({"run", spec.string()});
  ASSERT_EQ(r.rc, 0) << r.out << r.err;
  EXPECT_EQ(r.out.find("*** SIMULATED GPU"), 1U) << r.out;
  EXPECT_NE(r.out.find("3/3 runs done"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Aggregate speed-up"), std::string::npos);
  EXPECT_NE(r.err.find("SIMULATED GPU"), std::string::npos);

  auto ls = colo({"ls"});
  ASSERT_EQ(ls.rc, 0) << ls.err;
  EXPECT_NE(ls.out.find(m_name), std::string::npos);
  EXPECT_NE(ls.out.find("3/3"), std::string::npos);
  EXPECT_NE(ls.out.find("sim"), std::string::npos);

  auto show = colo({"show", "1"});
  ASSERT_EQ(show.rc, 0) << show.err;
  EXPECT_NE(show.out.find("SIMULATED"), std::string::npos);
  EXPECT_NE(show.out.find("small#1"), std::string::npos);

  auto csv = colo({"export", "--format", "csv"});
  ASSERT_EQ(csv.rc, 0) << csv.err;
  EXPECT_EQ(std::count(csv.out.begin(), csv.out.end(), '\n'), 1 + 1 + 2 + 2);
  auto json = colo({"export", "1", "--format", "json"});
  ASSERT_EQ(json.rc, 0);
  auto j = nlohmann::json::parse(json.out);
  EXPECT_TRUE(j["experiment"]["simulated"].get<bool>());
  EXPECT_EQ(j["runs"].size(), 3U);

  // Everything was stored: per-workload throughput, progress events, host and GPU samples.
  auto s = store();
  auto runs = s.runs(1);
  ASSERT_EQ(runs->size(), 3U);
  for (const auto& run : *runs) {
    EXPECT_EQ(run.status, RunStatus::done);
    EXPECT_NE(run.settings_json.find("\"argv\""), std::string::npos);
    const auto ws = s.workloads(run.id);
    for (const auto& w : *ws) {
      ASSERT_TRUE(w.throughput) << w.name;
      EXPECT_GT(*w.throughput, 0);
      EXPECT_FALSE(s.progress(w.id)->empty());
    }
    bool gpu = false;
    bool host = false;
    const auto samples = s.samples(run.id);
    for (const auto& smp : *samples) {
      gpu = gpu || smp.metric == "DCGM_FI_PROF_SM_ACTIVE";
      host = host || smp.metric == "host.rss_bytes";
    }
    EXPECT_TRUE(gpu && host) << run.key;
  }
}

TEST_F(Cli, BadSpecsFailBeforeAnythingRuns) {
  struct Case {
    std::string body;
    std::string expect;
  };
  std::vector<Case> cases{
      {"stop: {duration: 1s\nworkloads: []\n", "spec.yaml:"},
      {"stop: {duration: 1s}\nflavour: x\nworkloads:\n  - {name: a, cmd: [true]}\n",
       "spec.yaml:3: flavour: unknown field"},
      {"stop: {duration: 1s}\nworkloads:\n  - {name: a, builtin: resnet9000}\n",
       "unknown workload 'resnet9000'"},
      {"stop: {duration: 1s}\nworkloads:\n  - {name: a, cmd: [colo-missing-binary-xyz]}\n",
       "workloads.a.cmd: executable 'colo-missing-binary-xyz' not found in PATH"},
      {"gpu: sim\nstop: {duration: 1s}\nmodes: [{mig: {layout: [3g.40gb, 3g.40gb]}}]\n"
       "workloads:\n  - {name: a, cmd: [true], copies: [2]}\n",
       "use mode mig-equivalent"},
  };
  for (const auto& c : cases) {
    auto spec = write_spec(c.body);
    auto r = colo({"run", spec.string()});
    EXPECT_EQ(r.rc, 2) << c.body << r.err;
    EXPECT_NE(r.err.find(c.expect), std::string::npos)
        << "expected '" << c.expect << "' in " << r.err;
  }
  EXPECT_FALSE(fs::exists(m_dir / "results" / "colo.db"));
  auto missing = colo({"run", (m_dir / "nope.yaml").string()});
  EXPECT_EQ(missing.rc, 2);
  EXPECT_NE(missing.err.find("nope.yaml"), std::string::npos);
}

TEST_F(Cli, MisbehavingWorkloadsAreClassifiedAndCleanedUp) {
  auto spec = write_spec(R"(gpu: sim
stop: {duration: 0.5s}
grace: 0.3s
init_timeout: 5s
solo_baseline: false
workloads:
  - {name: stubborn, cmd: [sh, -c, "trap '' TERM; while true; do sleep 0.05; done"], progress: false}
  - {name: forker, cmd: [sh, -c, "sleep 300 & sleep 300 & setsid sleep 300 & wait"], progress: false}
)");
  auto r = colo({"run", spec.string()});
  EXPECT_EQ(r.rc, 3) << r.out << r.err;
  EXPECT_NE(r.out.find("stubborn#0: killed: ignored SIGTERM"), std::string::npos) << r.out;
  auto s = store();
  auto ws = s.workloads((*s.runs(1))[0].id);
  ASSERT_EQ(ws->size(), 2U);
  EXPECT_EQ((*ws)[0].exit_class, ExitClass::killed);
  EXPECT_EQ((*ws)[1].exit_class, ExitClass::ok);
}

TEST_F(Cli, ImmediateFailureIsReportedWithItsStderr) {
  auto spec = write_spec(R"(gpu: sim
stop: {duration: 2s}
workloads:
  - {name: broken, cmd: [sh, -c, "echo 'ValueError: bad --lr' >&2; exit 1"]}
)");
  auto r = colo({"run", spec.string()});
  EXPECT_EQ(r.rc, 3) << r.err;
  EXPECT_NE(r.out.find("failed: exited with code 1"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("ValueError: bad --lr"), std::string::npos) << r.out;
}

TEST_F(Cli, SimulatedOutOfMemoryIsClassified) {
  auto spec = write_spec(R"(gpu: sim
stop: {duration: 0.5s}
solo_baseline: false
workloads:
  - {name: hog, builtin: sim-gpu, args: {mem: 60G}, copies: [2]}
)");
  auto r = colo({"run", spec.string()});
  EXPECT_EQ(r.rc, 3) << r.err;
  EXPECT_NE(r.out.find("oom: out of memory"), std::string::npos) << r.out;
}

TEST_F(Cli, StoreProblemsAreClearErrors) {
  auto spec = write_spec(k_sim_spec);
  // An unwritable results directory (a path below a regular file).
  std::ofstream(m_dir / "plainfile") << "x";
  auto bad = finish(start({"run", spec.string()}, "x"), "x");  // warm-up of helper
  (void)bad;
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::chdir(m_dir.c_str());
    const int devnull = ::open("/dev/null", O_WRONLY);
    ::dup2(devnull, 1);
    const int err = ::open((m_dir / "unwritable.err").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(err, 2);
    ::execl((std::string(COLO_BIN_DIR) + "/colo").c_str(), "colo", "--results",
            (m_dir / "plainfile" / "results").c_str(), "run", spec.c_str(), nullptr);
    ::_exit(127);
  }
  int st = 0;
  ::waitpid(pid, &st, 0);
  EXPECT_EQ(WEXITSTATUS(st), 4);
  EXPECT_NE(slurp(m_dir / "unwritable.err").find("plainfile"), std::string::npos);

  // A store written by a newer colo.
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open((m_dir / "results" / "colo.db").c_str(), &raw), SQLITE_OK);
  sqlite3_exec(raw, "PRAGMA user_version=42", nullptr, nullptr, nullptr);
  sqlite3_close(raw);
  auto newer = colo({"run", spec.string()});
  EXPECT_EQ(newer.rc, 4);
  EXPECT_NE(newer.err.find("newer than this colo"), std::string::npos) << newer.err;
  auto ls = colo({"ls"});
  EXPECT_EQ(ls.rc, 4);
  auto show = colo({"show", "999"});
  EXPECT_EQ(show.rc, 4);
  auto rep = colo({"report", "-o", (m_dir / "newer.html").string()});
  EXPECT_EQ(rep.rc, 4);
  EXPECT_NE(rep.err.find("newer than this colo"), std::string::npos) << rep.err;
  EXPECT_FALSE(fs::exists(m_dir / "newer.html"));
}

TEST_F(Cli, MissingExperimentIdIsAClearError) {
  auto spec = write_spec(k_sim_spec);
  ASSERT_EQ(colo({"run", spec.string()}).rc, 0);
  auto r = colo({"show", "999"});
  EXPECT_EQ(r.rc, 2);
  EXPECT_NE(r.err.find("no experiment 999"), std::string::npos);
  auto bad = colo({"show", "abc"});
  EXPECT_EQ(bad.rc, 2);
  EXPECT_NE(bad.err.find("not an experiment id"), std::string::npos);
}

TEST_F(Cli, ReportWritesEveryFormat) {
  auto spec = write_spec(k_sim_spec);
  ASSERT_EQ(colo({"run", spec.string()}).rc, 0);
  auto h = colo({"report", "-o", (m_dir / "r.html").string()});
  ASSERT_EQ(h.rc, 0) << h.err;
  const auto html = slurp(m_dir / "r.html");
  EXPECT_NE(html.find("SIMULATED GPU"), std::string::npos);
  EXPECT_NE(html.find("coloCharts"), std::string::npos);
  EXPECT_FALSE(fs::exists(m_dir / "r.html.tmp"));
  auto md = colo({"report", "1", "--format", "md"});
  ASSERT_EQ(md.rc, 0) << md.err;
  EXPECT_NE(md.out.find("## Aggregate speed-up"), std::string::npos) << md.out;
  EXPECT_NE(md.out.find("## Recommendation"), std::string::npos);
  auto j = colo({"report", "--format", "json"});
  ASSERT_EQ(j.rc, 0) << j.err;
  EXPECT_TRUE(nlohmann::json::parse(j.out)["simulated"].get<bool>());
  auto c = colo({"report", "--format", "csv", "-o", "-"});
  EXPECT_EQ(c.out.rfind("table,experiment,simulated", 0), 0U) << c.out;
  auto bad = colo({"report", "--format", "pdf"});
  EXPECT_EQ(bad.rc, 2);
  EXPECT_NE(bad.err.find("unknown report format 'pdf'"), std::string::npos) << bad.err;
  auto missing = colo({"report", "99", "-o", (m_dir / "none.html").string()});
  EXPECT_EQ(missing.rc, 2);
  EXPECT_NE(missing.err.find("no experiment 99"), std::string::npos) << missing.err;
  EXPECT_FALSE(fs::exists(m_dir / "none.html")) << "no empty file on error";
  auto cmp = colo({"compare", "1", "1"});
  ASSERT_EQ(cmp.rc, 0) << cmp.err;
  EXPECT_NE(cmp.out.find("simulated"), std::string::npos);
  EXPECT_NE(cmp.out.find("speed-up"), std::string::npos) << cmp.out;
  EXPECT_EQ(cmp.out.find("beyond noise"), std::string::npos) << "an experiment against itself";
}

// colo compare end to end: an identical comparison is never "beyond noise", every format
// parses, and --fail-above exits 6 only when B is slower beyond noise by more than PCT.
TEST_F(Cli, CompareFormatsAndTheFailAboveGate) {
  const std::string body = R"(gpu: sim
repeat: 2
warmup: 0.1s
stop: {duration: 0.6s}
modes: [timeslice]
workloads:
  - name: small
    builtin: sim-gpu
    args: {duty: 0.5, sm: 0.25, bw: 0.1, mem: 2G, step-ms: STEP, batch: 10}
    copies: [2]
)";
  auto with_step = [&](const std::string& step) {
    auto b = body;
    b.replace(b.find("STEP"), 4, step);
    return b;
  };
  ASSERT_EQ(colo({"run", write_spec(with_step("5"), "a.yaml").string()}).rc, 0);
  ASSERT_EQ(colo({"run", write_spec(with_step("10"), "b.yaml").string()}).rc, 0);

  auto same = colo({"compare", "1", "1", "--fail-above", "0"});
  ASSERT_EQ(same.rc, 0) << same.out << same.err;
  EXPECT_NE(same.out.find("within noise"), std::string::npos) << same.out;
  EXPECT_EQ(same.out.find("beyond noise"), std::string::npos) << same.out;
  EXPECT_NE(same.out.find("No differences"), std::string::npos) << same.out;

  auto text = colo({"compare", "1", "2"});
  ASSERT_EQ(text.rc, 0) << text.err;
  EXPECT_NE(text.out.find("small (x2 pooled)"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("spec: - "), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("step-ms: 10"), std::string::npos) << text.out;

  auto j = colo({"compare", "1", "2", "--format", "json"});
  ASSERT_EQ(j.rc, 0) << j.err;
  const auto parsed = nlohmann::json::parse(j.out);
  ASSERT_EQ(parsed["rows"].size(), 3U) << j.out;
  for (const auto& r : parsed["rows"]) {
    if (r["kind"] != "speed-up") {  // half the rate: beyond noise
      EXPECT_LT(r["change_pct"].get<double>(), -30) << r;
      EXPECT_TRUE(r["beyond_noise"].get<bool>()) << r;
    }
  }
  auto csv = colo({"compare", "1", "2", "--format", "csv"});
  EXPECT_EQ(csv.out.rfind("kind,mode,group,sweep,workload,", 0), 0U) << csv.out;
  auto md = colo({"compare", "1", "2", "--format", "md"});
  EXPECT_NE(md.out.find("| kind | mode |"), std::string::npos) << md.out;
  auto bad = colo({"compare", "1", "2", "--format", "pdf"});
  EXPECT_EQ(bad.rc, 2);
  EXPECT_NE(bad.err.find("unknown compare format 'pdf'"), std::string::npos) << bad.err;

  auto gate = colo({"compare", "1", "2", "--fail-above", "10"});
  EXPECT_EQ(gate.rc, 6) << gate.out << gate.err;
  EXPECT_NE(gate.err.find("regression: solo"), std::string::npos) << gate.err;
  EXPECT_EQ(colo({"compare", "1", "2", "--fail-above", "90"}).rc, 0);
  // B doubles the rates (+100%): a gate at 20% fires if it read the sign the wrong way round,
  // while the speed-up ratio, equal in both up to timing noise on a loaded machine, stays
  // clear of it (a gate at 0% would trip on that noise).
  const auto faster = colo({"compare", "2", "1", "--fail-above", "20"});
  EXPECT_EQ(faster.rc, 0) << "faster is no regression\n" << faster.out << faster.err;
}

TEST_F(Cli, ReportOfAFailedExperimentSaysWhatFailed) {
  auto spec = write_spec(R"(gpu: sim
stop: {duration: 1s}
solo_baseline: false
modes: [timeslice]
workloads:
  - {name: bad, cmd: [sh, -c, 'echo out of cheese >&2; exit 3'], progress: false}
  - {name: ok, builtin: sim-gpu}
groups: [[bad, ok]]
)");
  colo({"run", spec.string()});
  auto md = colo({"report", "--format", "md"});
  ASSERT_EQ(md.rc, 0) << md.err;
  EXPECT_NE(md.out.find("## What failed"), std::string::npos) << md.out;
  EXPECT_NE(md.out.find("out of cheese"), std::string::npos) << md.out;
}

TEST_F(Cli, ReportWhileRunningIsMarkedPartial) {
  auto spec = write_spec(R"(gpu: sim
stop: {duration: 4s}
workloads:
  - {name: a, builtin: sim-gpu, copies: [2]}
)");
  const pid_t pid = start({"run", spec.string()}, "bg");
  std::string out;
  for (int i = 0; i < 80 && out.find("PARTIAL") == std::string::npos; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    out = colo({"report", "--format", "md"}).out;
  }
  EXPECT_NE(out.find("PARTIAL"), std::string::npos) << out;
  EXPECT_EQ(finish(pid, "bg").rc, 0);
  EXPECT_EQ(colo({"report", "--format", "md"}).out.find("PARTIAL"), std::string::npos);
}

TEST_F(Cli, SecondRunOnTheSameStoreIsRefused) {
  auto spec = write_spec(R"(gpu: sim
stop: {duration: 3s}
workloads:
  - {name: a, builtin: sim-gpu}
)");
  const pid_t first = start({"run", spec.string()}, "first");
  // Wait until the first run holds the store.
  for (int i = 0; i < 100 && !fs::exists(m_dir / "results" / "logs"); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  auto second = colo({"run", spec.string()});
  EXPECT_EQ(second.rc, 4);
  EXPECT_NE(second.err.find("in use by another colo run (pid " + std::to_string(first)),
            std::string::npos)
      << second.err;
  auto r = finish(first, "first");
  EXPECT_EQ(r.rc, 0) << r.err;
}

TEST_F(Cli, KillNineThenResumeLosesAndDuplicatesNothing) {
  auto spec = write_spec(R"(gpu: sim
repeat: 2
stop: {duration: 0.7s}
workloads:
  - {name: a, builtin: sim-gpu, args: {step-ms: 5}, copies: [2]}
)");
  const pid_t pid = start({"run", spec.string()}, "killed");
  // Kill colo while its third run is going.
  auto db = (m_dir / "results" / "colo.db").string();
  bool killed = false;
  for (int i = 0; i < 200 && !killed; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    auto s = Store::open(db, OpenMode::read_only);
    if (!s) {
      continue;
    }
    auto runs = s->runs(1);
    if (runs && runs->size() == 4 && (*runs)[2].status == RunStatus::running) {
      ::kill(pid, SIGKILL);
      killed = true;
    }
  }
  ASSERT_TRUE(killed);
  auto k = finish(pid, "killed");
  EXPECT_EQ(k.rc, 128 + SIGKILL);
  // The guard kills the orphaned workloads.
  for (int i = 0; i < 100 && test::count_processes_with_env("COLO_EXPERIMENT=" + m_name) > 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(test::count_processes_with_env("COLO_EXPERIMENT=" + m_name), 0);
  {
    auto s = store();
    auto runs = s.runs(1);
    EXPECT_EQ((*runs)[0].status, RunStatus::done);
    EXPECT_EQ((*runs)[1].status, RunStatus::done);
    EXPECT_EQ((*runs)[2].status, RunStatus::running);
    EXPECT_EQ((*runs)[3].status, RunStatus::pending);
  }
  auto fresh = colo({"run", "--resume", spec.string()});
  ASSERT_EQ(fresh.rc, 0) << fresh.err;
  EXPECT_NE(fresh.err.find("resuming experiment 1"), std::string::npos);
  EXPECT_NE(fresh.out.find("4/4 runs done"), std::string::npos) << fresh.out;
  auto s = store();
  EXPECT_EQ(s.experiments()->size(), 1U);
  auto runs = s.runs(1);
  ASSERT_EQ(runs->size(), 4U);
  for (const auto& r : *runs) {
    EXPECT_EQ(r.status, RunStatus::done);
    EXPECT_EQ(s.workloads(r.id)->size(), r.group == "a" ? 1U : 2U) << r.key;
  }
  auto nothing = colo({"run", "--resume", spec.string()});
  EXPECT_EQ(nothing.rc, 2);
  EXPECT_NE(nothing.err.find("nothing to resume"), std::string::npos);
}

// Issue 17: two simulated GPUs; the groups pinned to one each, and `parallel: true`.
constexpr const char* k_two_gpu_spec = R"(gpu: sim
gpus: [0, 1]
parallel: true
stop: {duration: 1s}
sample_period: 100ms
modes: [mps]
workloads:
  - {name: a, builtin: sim-gpu, args: {duty: 0.5, sm: 0.3, step-ms: 5, batch: 8}, gpus: [0]}
  - {name: b, builtin: sim-gpu, args: {duty: 0.4, sm: 0.2, step-ms: 5, batch: 8}, gpus: [1]}
groups:
  - {workloads: [a, a], gpus: [0]}
  - {workloads: [b, b], gpus: [1]}
)";

std::string two_gpu_topology() {
  return std::string(COLO_SOURCE_DIR) + "/data/topologies/h100-80gb-x2.yaml";
}

// Runs on disjoint GPUs overlap in time; each run's workloads and GPU samples are of its GPU
// only; the same spec without `parallel` runs one run after another.
TEST_F(Cli, RunsOnDisjointGpusExecuteConcurrently) {
  auto spec = write_spec(k_two_gpu_spec);
  auto r = colo({"run", "--sim-topology", two_gpu_topology(), spec.string()});
  ASSERT_EQ(r.rc, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("4/4 runs done"), std::string::npos) << r.out;
  EXPECT_NE(r.err.find("on GPU 1 (concurrent)"), std::string::npos) << r.err;
  auto s = store();
  auto runs = s.runs(1);
  ASSERT_EQ(runs->size(), 4U);
  std::map<std::string, RunRecord> by_group;
  for (const auto& run : *runs) {
    EXPECT_EQ(run.status, RunStatus::done) << run.key;
    by_group[run.group] = run;
    const int gpu = run.group[0] == 'a' ? 0 : 1;
    EXPECT_NE(run.settings_json.find("\"run_gpus\":[" + std::to_string(gpu) + "]"),
              std::string::npos)
        << run.settings_json;
    const auto workloads = s.workloads(run.id);  // kept: the loop reads into it
    ASSERT_TRUE(workloads);
    for (const auto& w : *workloads) {
      EXPECT_EQ(w.gpu, gpu) << run.key;
      ASSERT_TRUE(w.throughput) << run.key;
    }
    bool any = false;
    const auto samples = s.samples(run.id);
    ASSERT_TRUE(samples);
    for (const auto& smp : *samples) {
      if (smp.gpu) {
        EXPECT_EQ(*smp.gpu, gpu) << run.key << " " << smp.metric;
        any = true;
      }
    }
    EXPECT_TRUE(any) << run.key;
  }
  // GPU 0's runs and GPU 1's runs overlap in time (each takes >= 1 s).
  const auto overlap = [](const RunRecord& x, const RunRecord& y) {
    return x.started_at < y.finished_at && y.started_at < x.finished_at;
  };
  EXPECT_TRUE(overlap(by_group["a"], by_group["b"]));
  EXPECT_TRUE(overlap(by_group["ax2"], by_group["bx2"]));
  // One GPU's runs stay in order, one after the other.
  EXPECT_LE(by_group["a"].finished_at, by_group["ax2"].started_at);

  // The same experiment sequentially (--parallel-gpus off, `parallel: false`): no overlap.
  std::string text = k_two_gpu_spec;
  text.replace(text.find("parallel: true"), 14, "parallel: false");
  m_name += "-seq";
  auto seq_spec = write_spec(text, "seq.yaml");
  auto q = colo({"run", "--sim-topology", two_gpu_topology(), seq_spec.string()});
  ASSERT_EQ(q.rc, 0) << q.out << q.err;
  auto seq_runs = store().runs(2);
  ASSERT_EQ(seq_runs->size(), 4U);
  for (std::size_t i = 1; i < seq_runs->size(); ++i) {
    EXPECT_LE((*seq_runs)[i - 1].finished_at, (*seq_runs)[i].started_at);
  }
}

// Issue 17: eight simulated GPUs, a workload pinned to each: its solo baseline and its MPS run
// on its GPU, all eight GPUs busy at once.
TEST_F(Cli, EightGpusRunEightPinnedWorkloadsAtOnce) {
  std::string body = R"(gpu: sim
gpus: [0, 1, 2, 3, 4, 5, 6, 7]
parallel: true
stop: {duration: 1s}
sample_period: 200ms
modes: [mps]
workloads:
)";
  for (int g = 0; g < 8; ++g) {
    body += "  - {name: w" + std::to_string(g) + ", builtin: sim-gpu, args: {step-ms: 5}, gpus: [" +
            std::to_string(g) + "], copies: [2]}\n";
  }
  auto spec = write_spec(body);
  auto r =
      colo({"run", "--sim-topology",
            std::string(COLO_SOURCE_DIR) + "/data/topologies/h100-80gb-x8.yaml", spec.string()});
  ASSERT_EQ(r.rc, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("16/16 runs done"), std::string::npos) << r.out;
  auto runs = *store().runs(1);
  ASSERT_EQ(runs.size(), 16U);
  // All eight solo baselines overlap one another: the latest start precedes the earliest end.
  double last_start = 0;
  double first_end = 1e300;
  for (const auto& run : runs) {
    if (run.mode_kind == "solo") {
      last_start = std::max(last_start, run.started_at);
      first_end = std::min(first_end, run.finished_at);
    }
  }
  EXPECT_LT(last_start, first_end);
  auto report = colo({"report", "1", "--format", "md"});
  ASSERT_EQ(report.rc, 0) << report.err;
  EXPECT_NE(report.out.find("GPU telemetry per GPU"), std::string::npos) << report.out;
  EXPECT_NE(report.out.find("per GPU (x)"), std::string::npos);
}

// A GPU the host does not have is named with the spec's line, exit 2, before anything runs.
TEST_F(Cli, UnknownGpusAreRefusedWithTheSpecLine) {
  auto spec = write_spec(R"(gpu: sim
gpus: [0, 3]
stop: {duration: 1s}
workloads:
  - {name: a, builtin: sim-gpu, copies: [2]}
)");
  auto r = colo({"run", "--sim-topology", two_gpu_topology(), spec.string()});
  EXPECT_EQ(r.rc, 2) << r.out << r.err;
  EXPECT_NE(r.err.find("spec.yaml:3: gpus: GPU 3 does not exist: the simulated host has 2 GPU(s) "
                       "(0, 1)"),
            std::string::npos)
      << r.err;
  EXPECT_FALSE(fs::exists(m_dir / "results" / "colo.db"));
}

// SIGINT while two runs execute at once: both stop, exit 130, nothing left; --resume finishes.
TEST_F(Cli, SigintStopsConcurrentRunsAndResumeFinishes) {
  std::string text = k_two_gpu_spec;
  text.replace(text.find("stop: {duration: 1s}"), 20, "stop: {duration: 3s}");
  auto spec = write_spec(text);
  const pid_t pid = start({"run", "--sim-topology", two_gpu_topology(), spec.string()}, "sig");
  for (int i = 0; i < 250 && test::count_processes_with_env("COLO_EXPERIMENT=" + m_name) < 2; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_EQ(test::count_processes_with_env("COLO_EXPERIMENT=" + m_name), 2)
      << "two solo baselines should run at once";
  ::kill(pid, SIGINT);
  auto r = finish(pid, "sig");
  EXPECT_EQ(r.rc, 130) << r.err;
  EXPECT_EQ(store().experiment(1)->status, "interrupted");
  int interrupted = 0;
  {
    auto st = store();
    const auto stopped = st.runs(1);  // kept: the loop reads into it
    ASSERT_TRUE(stopped);
    for (const auto& run : *stopped) {
      interrupted += run.status == RunStatus::interrupted ? 1 : 0;
    }
  }
  EXPECT_EQ(interrupted, 2);
  EXPECT_EQ(test::count_processes_with_env("COLO_EXPERIMENT=" + m_name), 0);
  auto resumed = colo({"run", "--resume", "--sim-topology", two_gpu_topology(), spec.string()});
  EXPECT_EQ(resumed.rc, 0) << resumed.err;
  EXPECT_EQ(store().experiment(1)->status, "done");
  auto after = store();
  const auto finished = after.runs(1);
  ASSERT_TRUE(finished);
  for (const auto& run : *finished) {
    EXPECT_EQ(run.status, RunStatus::done) << run.key;
  }
}

// A signal stops colo cleanly: exit 130, the experiment interrupted (not `running` for ever), no
// workload left; --resume finishes it.
void Cli::stop_with_signal_then_resume(int sig) {
  auto spec = write_spec(R"(gpu: sim
stop: {duration: 1s}
workloads:
  - {name: a, builtin: sim-gpu, copies: [2]}
)");
  const pid_t pid = start({"run", spec.string()}, "sig");
  for (int i = 0; i < 100 && test::count_processes_with_env("COLO_EXPERIMENT=" + m_name) == 0;
       ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ::kill(pid, sig);
  auto r = finish(pid, "sig");
  EXPECT_EQ(r.rc, 130) << r.err;
  EXPECT_NE(r.err.find("--resume"), std::string::npos);
  EXPECT_EQ(store().experiment(1)->status, "interrupted");
  EXPECT_EQ(test::count_processes_with_env("COLO_EXPERIMENT=" + m_name), 0);
  auto resumed = colo({"run", "--resume", spec.string()});
  EXPECT_EQ(resumed.rc, 0) << resumed.err;
  EXPECT_EQ(store().experiment(1)->status, "done");
}

TEST_F(Cli, SigintStopsCleanlyAndResumeFinishes) {
  stop_with_signal_then_resume(SIGINT);
}

// Issue 11 item 8: a closed terminal or SSH session (SIGHUP) is handled like SIGTERM.
TEST_F(Cli, SighupIsHandledLikeSigterm) {
  stop_with_signal_then_resume(SIGHUP);
}

// Issue 10: a plain script that never speaks the protocol is measured by wall time once
// hello_timeout passes (progress: auto, the default), not failed as start_failed.
TEST_F(Cli, PlainScriptsAreMeasuredByWallTime) {
  auto spec = write_spec(R"(gpu: sim
hello_timeout: 0.3s
stop: {duration: 0.5s}
workloads:
  - {name: plain, cmd: [sh, -c, "while true; do sleep 0.05; done"]}
)");
  auto r = colo({"run", spec.string()});
  ASSERT_EQ(r.rc, 0) << r.err;
  auto s = store();
  auto runs = s.runs(1);
  ASSERT_EQ(runs->size(), 1U);
  auto ws = s.workloads((*runs)[0].id);
  ASSERT_EQ(ws->size(), 1U);
  EXPECT_EQ((*ws)[0].exit_class, ExitClass::ok) << (*ws)[0].message;
  EXPECT_NE((*ws)[0].message.find("measured by wall time"), std::string::npos) << (*ws)[0].message;
  EXPECT_FALSE((*ws)[0].throughput);
  EXPECT_NEAR((*ws)[0].runtime_s, 0.5, 0.4);
}

// A Python workload imports colo's client without setting PYTHONPATH: colo puts its own
// share/colo/python there (build tree and install prefix alike).
constexpr const char* k_python_spec = R"(gpu: sim
stop: {duration: 0.6s}
workloads:
  - name: py
    cmd: [python3, -c, "import colo_progress, time\np = colo_progress.Progress()\np.ready()\nwhile True:\n    time.sleep(0.01)\n    p.step(8)\n"]
  - {name: sim, builtin: sim-gpu, args: {step-ms: 5}}
)";

bool have_python3() {
  return std::system("python3 -c 'import json' >/dev/null 2>&1") == 0;
}

TEST_F(Cli, PythonClientIsImportableWithoutPythonpath) {
  if (!have_python3()) {
    GTEST_SKIP() << "python3 not installed";
  }
  ::unsetenv("PYTHONPATH");
  auto spec = write_spec(k_python_spec);
  auto r = colo({"run", spec.string()});
  ASSERT_EQ(r.rc, 0) << r.err << r.out;
  auto s = store();
  const auto runs = s.runs(1);  // named: *temporary in a range-for dangles
  ASSERT_TRUE(runs) << runs.error().message;
  for (const auto& run : *runs) {
    const auto ws = s.workloads(run.id);
    ASSERT_TRUE(ws) << ws.error().message;
    for (const auto& w : *ws) {
      EXPECT_EQ(w.exit_class, ExitClass::ok) << w.name << ": " << w.message;
      EXPECT_TRUE(w.throughput) << w.name << " spoke the protocol";
    }
  }
}

// `cmake --install` gives a prefix whose bin/colo finds its builtins and its Python client.
TEST_F(Cli, InstalledColoFindsItsWorkloadsAndPythonClient) {
  if (!have_python3()) {
    GTEST_SKIP() << "python3 not installed";
  }
  const auto prefix = m_dir / "prefix";
  const std::string build = fs::path(COLO_BIN_DIR).parent_path().string();
  const std::string install = "cmake --install '" + build + "' --prefix '" + prefix.string() +
                              "' >'" + (m_dir / "install.log").string() + "' 2>&1";
  ASSERT_EQ(std::system(install.c_str()), 0) << slurp(m_dir / "install.log");
  ASSERT_TRUE(fs::exists(prefix / "bin" / "colo"));
  ASSERT_TRUE(fs::exists(prefix / "libexec" / "colo" / "colo-sim-gpu"));
  ASSERT_TRUE(fs::exists(prefix / "share" / "colo" / "python" / "colo_progress.py"));
  auto spec = write_spec(k_python_spec);
  const std::string run =
      "cd '" + m_dir.string() + "' && env -u PYTHONPATH -u COLO_WORKLOAD_DIR '" +
      (prefix / "bin" / "colo").string() + "' --results '" + (m_dir / "results").string() +
      "' run '" + spec.string() + "' >'" + (m_dir / "installed.log").string() + "' 2>&1";
  ASSERT_EQ(std::system(run.c_str()), 0) << slurp(m_dir / "installed.log");
  auto s = store();
  const auto runs = s.runs(1);  // named: *temporary in a range-for dangles
  ASSERT_TRUE(runs && !runs->empty());
  const auto ws = s.workloads(runs->back().id);
  ASSERT_TRUE(ws) << ws.error().message;
  for (const auto& w : *ws) {
    EXPECT_EQ(w.exit_class, ExitClass::ok) << w.name << ": " << w.message;
    EXPECT_TRUE(w.throughput) << w.name;
  }
}

TEST_F(Cli, MigEquivalentAndGreenRunOnTheSimulatedGpu) {
  auto spec = write_spec(R"(gpu: sim
stop: {duration: 0.4s}
modes: [{mig-equivalent: {layout: [3g.40gb, 3g.40gb]}}, {green: {sms: 66}}, {green: {sms: 66, over: timeslice}}, {mps: {thread_percent: 50}}]
workloads:
  - {name: big, builtin: sim-gpu, args: {duty: 0.9, sm: 0.9, bw: 0.3, mem: 8G, step-ms: 5}, copies: [2]}
)");
  auto r = colo({"run", spec.string()});
  ASSERT_EQ(r.rc, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("mig-equivalent(layout=3g.40gb+3g.40gb)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("green(sms=66)"), std::string::npos);
  EXPECT_NE(r.out.find("mps(tp=50)"), std::string::npos);
  EXPECT_NE(r.out.find("5/5 runs done"), std::string::npos) << r.out;
  // Green contexts of different processes only overlap under MPS: time-sliced, the two
  // 66-SM partitions of this GPU-bound pair take turns and get less done.
  auto s = store();
  auto runs = s.runs(1);
  ASSERT_TRUE(runs);
  std::map<std::string, double> sum;
  for (const auto& run : *runs) {
    auto ws = s.workloads(run.id);
    ASSERT_TRUE(ws);
    for (const auto& w : *ws) {
      sum[run.mode] += w.throughput.value_or(0);
    }
  }
  EXPECT_GT(sum.at("green(sms=66)"), 1.3 * sum.at("green(sms=66,over=timeslice)"));
}

TEST_F(Cli, WarmupRunIsExecutedButNotRecorded) {
  auto spec = write_spec(R"(gpu: sim
warmup_run: 0.3s
stop: {duration: 0.3s}
workloads:
  - {name: a, builtin: sim-gpu, copies: [2]}
)");
  auto r = colo({"run", spec.string()});
  ASSERT_EQ(r.rc, 0) << r.out << r.err;
  EXPECT_NE(r.err.find("warm-up run of a#0"), std::string::npos) << r.err;
  EXPECT_NE(r.out.find("2/2 runs done"), std::string::npos) << r.out;
  EXPECT_TRUE(fs::exists(m_dir / "results" / "logs" / "e1" / "warmup" / "warmup.err"));
  auto s = store();
  EXPECT_EQ(s.runs(1)->size(), 2U);
}

// The NVML path end to end on a machine without a GPU, through the fake NVML of tests/fakes:
// `colo run` creates the MIG layout, gives each workload its instance, destroys it afterwards.
TEST_F(Cli, MigRunCreatesAndDestroysInstancesThroughNvml) {
  const auto fake_state = m_dir / "fake-nvml.state";
  ::setenv("COLO_NVML_LIBRARY", FAKE_NVML_PATH, 1);
  ::setenv("FAKE_NVML_STATE", fake_state.c_str(), 1);
  ::setenv("COLO_STATE_DIR", (m_dir / "state").c_str(), 1);
  auto spec = write_spec(R"(gpu: nvml
stop: {duration: 0.5s}
sample_period: 100ms
modes: [{mig: {layout: [4g.40gb, 3g.40gb]}}]
workloads:
  - name: w
    cmd: [sh, -c, 'echo "$CUDA_VISIBLE_DEVICES" > vis.$$; exec sleep 30']
    progress: false
    copies: [2]
)");
  auto r = colo({"run", spec.string()});
  auto g = colo({"gpus", "--gpu", "nvml", "--json"});
  ::unsetenv("COLO_NVML_LIBRARY");
  ::unsetenv("FAKE_NVML_STATE");
  ::unsetenv("COLO_STATE_DIR");
  ASSERT_EQ(r.rc, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("mig(layout=4g.40gb+3g.40gb)"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("SIMULATED"), std::string::npos);
  std::set<std::string> seen;
  for (const auto& e : fs::directory_iterator(m_dir)) {
    if (e.path().filename().string().rfind("vis.", 0) == 0) {
      auto v = slurp(e.path());
      if (v.rfind("GPU-", 0) == 0) {
        continue;  // the solo baseline runs on the whole GPU
      }
      EXPECT_EQ(v.rfind("MIG-", 0), 0U) << v;
      seen.insert(v);
    }
  }
  EXPECT_EQ(seen.size(), 2U) << "each workload in its own MIG instance";
  // Every instance destroyed: the fake's state file lists none (only its id counter).
  std::ifstream in(fake_state);
  std::string line;
  int lines = 0;
  while (std::getline(in, line)) {
    ++lines;
  }
  EXPECT_EQ(lines, 1) << slurp(fake_state);
  ASSERT_EQ(g.rc, 0) << g.err;
  auto j = nlohmann::json::parse(g.out);
  EXPECT_EQ(j[0]["mig_mode"], "enabled");
  EXPECT_FALSE(j[0]["simulated"].get<bool>());
}

TEST_F(Cli, SimRunsPoliciesOnATraceAndRejectsMalformedRows) {
  const std::string data = COLO_SOURCE_DIR "/data/alibaba-gpu-v2023/";  // shipped copy
  auto r = colo({"sim", "--nodes", data + "openb_node_list_all_node.csv", "--pods",
                 data + "openb_pod_list_default.csv", "--policy", "firstfit,random", "--load",
                 "0.5", "--format", "json"});
  ASSERT_EQ(r.rc, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j.size(), 2U);
  EXPECT_EQ(j[0]["policy"], "firstfit");
  EXPECT_GE(j[0]["curve"].size(), 49U);
  EXPECT_GT(j[0]["allocated_pct"].get<double>(), 40.0);
  std::ofstream(m_dir / "bad.csv") << "sn,cpu_milli,memory_mib,gpu,model\nn0,x,1,1,G\n";
  auto bad = colo({"sim", "--nodes", (m_dir / "bad.csv").string(), "--pods",
                   data + "openb_pod_list_default.csv"});
  EXPECT_EQ(bad.rc, 2);
  EXPECT_NE(bad.err.find("bad.csv:2: cpu_milli: 'x' is not an integer"), std::string::npos)
      << bad.err;
  auto pol = colo({"sim", "--nodes", data + "openb_node_list_all_node.csv", "--pods",
                   data + "openb_pod_list_default.csv", "--policy", "magic"});
  EXPECT_EQ(pol.rc, 2);
  EXPECT_NE(pol.err.find("unknown policy 'magic'"), std::string::npos) << pol.err;
}

// A fresh clone: `colo sim` with no trace options runs the shipped default trace (the
// artifact's GPU-node list) and says which node list it used; a missing file is named.
TEST_F(Cli, SimDefaultsToTheShippedTraceAndNamesMissingFiles) {
  auto r = colo({"sim", "--policy", "fgd", "--load", "0.3", "--format", "md"});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.out.find("openb_node_list_gpu_node.csv"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("1213 nodes"), std::string::npos) << r.out;
  auto missing = colo({"sim", "--pods", (m_dir / "nope.csv").string()});
  EXPECT_EQ(missing.rc, 2);
  EXPECT_NE(missing.err.find("nope.csv' (no such file)"), std::string::npos) << missing.err;
}

// The CPU-heavy variant, the headroom bound and the MIG what-if's served column, end to end.
TEST_F(Cli, SimCpuHeavyVariantBoundAndMigServedColumn) {
  auto r = colo({"sim", "--policy", "fgd", "--load", "0.3", "--cpu-frac", "0.3", "--mechanism",
                 "fractional,mig", "--format", "md"});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.out.find("pods resampled (cpu=0.3)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("| bound | % of bound |"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("MIG-served shares"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("| fgd [mig] |"), std::string::npos) << r.out;
  auto bad = colo({"sim", "--cpu-frac", "1"});
  EXPECT_EQ(bad.rc, 2) << bad.err;
}

// The effective throughput next to GPU allocated, with its job and table, in every format.
TEST_F(Cli, SimReportsEffectiveThroughputWithItsJobAndTable) {
  const std::vector<std::string> base{
      "sim", "--policy", "fgd", "--load", "0.3", "--mechanism", "fractional,timeslice,mps"};
  auto with = [&](std::vector<std::string> extra) {
    auto a = base;
    a.insert(a.end(), extra.begin(), extra.end());
    return colo(a);
  };
  auto md = with({"--format", "md"});
  ASSERT_EQ(md.rc, 0) << md.err;
  EXPECT_NE(md.out.find("| throughput (GPU-eq) | throughput, no interference (GPU-eq) |"),
            std::string::npos)
      << md.out;
  EXPECT_NE(md.out.find("resnet50 (ResNet-50 b32)"), std::string::npos) << md.out;
  EXPECT_NE(md.out.find("src/sim/speedup_table.inc"), std::string::npos) << md.out;
  auto text = with({"--format", "text", "--job", "resnet18"});
  ASSERT_EQ(text.rc, 0) << text.err;
  EXPECT_NE(text.out.find("resnet18 (ResNet-18 b64)"), std::string::npos) << text.out;
  auto csv = with({"--format", "csv"});
  ASSERT_EQ(csv.rc, 0) << csv.err;
  EXPECT_NE(csv.out.find(",job,throughput_gpu_eq,throughput_no_interference_gpu_eq,"),
            std::string::npos);
  EXPECT_NE(csv.out.find(",resnet50,"), std::string::npos);
  // Transformer loses throughput to sharing at every measured N (ResNet-18's 2 time-sliced
  // copies measured above 2x, one noisy repetition, so the bound below holds per job only).
  auto js = with({"--format", "json", "--job", "transformer"});
  ASSERT_EQ(js.rc, 0) << js.err;
  const auto j = nlohmann::json::parse(js.out);
  ASSERT_EQ(j.size(), 3U);
  for (const auto& r : j) {
    const auto& t = r.at("throughput");
    EXPECT_EQ(t.at("job"), "transformer");
    EXPECT_EQ(t.at("source"), "bench/results/2026-11-30-h200-seeds/report.txt");
    EXPECT_LE(t.at("mechanism").get<double>(), t.at("no_interference").get<double>() + 1e-9);
  }
  auto html = with({"--format", "html", "--output", (m_dir / "thr.html").string()});
  ASSERT_EQ(html.rc, 0) << html.err;
  EXPECT_NE(slurp(m_dir / "thr.html").find("throughput (GPU-eq)"), std::string::npos);
  auto bad = with({"--job", "vgg"});
  EXPECT_EQ(bad.rc, 2);
  EXPECT_NE(bad.err.find("unknown job 'vgg'"), std::string::npos) << bad.err;
}

TEST_F(Cli, SimSavesABatchThatReportRendersAgain) {
  const std::string data = COLO_SOURCE_DIR "/data/alibaba-gpu-v2023/";  // shipped copy
  auto none = colo({"report", "--sim"});
  EXPECT_EQ(none.rc, 2);
  auto r = colo({"sim", "--nodes", data + "openb_node_list_all_node.csv", "--pods",
                 data + "openb_pod_list_default.csv", "--policy", "fgd,colo", "--load", "0.6",
                 "--repeat", "2", "--share-frac", "0.5", "--format", "md", "--save"});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.err.find("saved 4 run(s) as sim batch 1"), std::string::npos) << r.err;
  EXPECT_NE(r.out.find("pods resampled (share=0.5)"), std::string::npos) << r.out;
  // The stored batch renders to the same Markdown as the run printed.
  auto md = colo({"report", "--sim", "--format", "md"});
  ASSERT_EQ(md.rc, 0) << md.err;
  EXPECT_EQ(md.out, r.out);
  auto js = colo({"report", "--sim", "--batch", "1", "--format", "json"});
  ASSERT_EQ(js.rc, 0) << js.err;
  auto j = nlohmann::json::parse(js.out);
  ASSERT_EQ(j.size(), 4U);
  EXPECT_EQ(j[3]["policy"], "colo");
  EXPECT_EQ(j[3]["seed"], 2);
  EXPECT_TRUE(j[3]["simulated"].get<bool>());
  auto html = colo({"report", "--sim"});
  ASSERT_EQ(html.rc, 0) << html.err;
  EXPECT_GT(slurp(m_dir / "colo-sim-report-1.html").size(), 100000U) << html.err;
  auto ls = colo({"ls"});
  ASSERT_EQ(ls.rc, 0) << ls.err;
  EXPECT_NE(ls.out.find("colo sim batches"), std::string::npos) << ls.out;
  EXPECT_NE(ls.out.find("inflate"), std::string::npos) << ls.out;
  EXPECT_NE(ls.out.find("fgd,colo"), std::string::npos) << ls.out;
  auto missing = colo({"report", "--sim", "--batch", "5"});
  EXPECT_EQ(missing.rc, 2);
  EXPECT_NE(missing.err.find("no sim batch 5"), std::string::npos) << missing.err;
}

TEST_F(Cli, DoctorChecksTheHostAndTheStoreAndItsExitCodeSaysWhetherSomethingIsWrong) {
  auto spec = write_spec(
      "gpu: sim\nstop: {exit: true}\nworkloads:\n"
      "  - {name: a, builtin: sim-gpu, args: {steps: 3, step-ms: 5}}\n");
  ASSERT_EQ(colo({"run", spec.string()}).rc, 0);
  auto ok = colo({"doctor"});
  EXPECT_NE(ok.out.find(" driver: "), std::string::npos) << ok.out;
  EXPECT_NE(ok.out.find(" cgroup: "), std::string::npos) << ok.out;
  EXPECT_NE(ok.out.find("ok    store: "), std::string::npos) << ok.out;
  EXPECT_NE(ok.out.find("integrity_check ok"), std::string::npos) << ok.out;
  EXPECT_EQ(ok.rc, ok.out.find("FAIL ") == std::string::npos ? 0 : 1) << ok.out;
  // The store is damaged: doctor says so, with what to do, and exits 1.
  {
    std::fstream db(m_dir / "results" / "colo.db", std::ios::in | std::ios::out | std::ios::binary);
    db.seekp(0);
    db << std::string(100, '\xff');
  }
  auto bad = colo({"doctor"});
  EXPECT_EQ(bad.rc, 1) << bad.out;
  EXPECT_NE(bad.out.find("FAIL  store: "), std::string::npos) << bad.out;
  EXPECT_NE(bad.out.find("fix: "), std::string::npos) << bad.out;
}

TEST_F(Cli, GpusListsTheSimulatedDevice) {
  auto r = colo({"gpus", "--gpu", "sim", "--json"});
  ASSERT_EQ(r.rc, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j.size(), 1U);
  EXPECT_TRUE(j[0]["simulated"].get<bool>());
  EXPECT_EQ(j[0]["sm_count"], 132);
}

// Issue 11 item 2: garbage on COLO_PROGRESS is ignored and counted; the run completes and the
// count is in the workload's message (show, export).
TEST_F(Cli, MalformedProgressLinesAreCountedNotFatal) {
  auto spec = write_spec(R"(gpu: sim
stop: {exit: true}
workloads:
  - name: chatty
    cmd:
      - sh
      - -c
      - |
        printf '{"event":"ready"}\n' >&3; head -c1 <&4 >/dev/null
        printf '{"event":null}\n{"event":[1]}\n7\n{"event":"step","samples":4}\n' >&3
)");
  auto r = colo({"run", spec.string()});
  ASSERT_EQ(r.rc, 0) << r.out << r.err;
  auto js = colo({"export", "--format", "json"});
  ASSERT_EQ(js.rc, 0) << js.err;
  EXPECT_NE(js.out.find("exited 0; ignored 3 malformed COLO_PROGRESS lines, the first: "
                        "malformed progress line ('event' is not a string)"),
            std::string::npos)
      << js.out;
}

// Issue 11 item 5: a workload that reached limits.output (or limits.pids) says so in its stored
// message, in `colo show` and in the export, also when it ended ok.
TEST_F(Cli, LimitsReachedAreRecordedAndShown) {
  auto spec = write_spec(R"(gpu: sim
stop: {exit: true}
limits: {output: 4K}
workloads:
  - name: chatty
    progress: false
    cmd: [sh, -c, "head -c 100000 /dev/zero | tr '\\0' x; exit 0"]
)");
  auto r = colo({"run", spec.string()});
  ASSERT_EQ(r.rc, 0) << r.out << r.err;
  auto s = store();
  auto exps = s.experiments();
  ASSERT_TRUE(exps && !exps->empty());
  auto runs = s.runs(exps->front().id);
  ASSERT_TRUE(runs && runs->size() == 1);
  auto ws = s.workloads(runs->front().id);
  ASSERT_TRUE(ws && ws->size() == 1);
  const std::string note = "output truncated at 4 KiB (limits.output): stdout";
  EXPECT_EQ(ws->front().exit_class, ExitClass::ok);
  EXPECT_NE(ws->front().message.find(note), std::string::npos) << ws->front().message;
  auto show = colo({"show"});
  ASSERT_EQ(show.rc, 0) << show.err;
  EXPECT_NE(show.out.find(note), std::string::npos) << show.out;
  auto js = colo({"export", "--format", "json"});
  ASSERT_EQ(js.rc, 0) << js.err;
  EXPECT_NE(js.out.find(note), std::string::npos) << js.out;
}

TEST_F(Cli, ForkRefusedAtThePidsLimitIsRecordedAndShown) {
  if (host_containment().pids_base.empty()) {
    GTEST_SKIP() << "no writable pids controller: " << host_containment().describe();
  }
  auto spec = write_spec(R"(gpu: sim
stop: {exit: true, timeout: 30s}
limits: {pids: 8}
workloads:
  - name: forker
    progress: false
    cmd: [sh, -c, "for i in 1 2 3 4 5 6 7 8 9 10 11 12; do sleep 2 & done; wait; exit 0"]
)");
  auto r = colo({"run", spec.string()});
  auto show = colo({"show"});
  ASSERT_EQ(show.rc, 0) << show.err;
  EXPECT_NE(show.out.find("pids limit 8 (limits.pids)"), std::string::npos) << show.out;
  EXPECT_NE(show.out.find("; fork refused "), std::string::npos) << show.out;
}

// Issue 11 item 4: a workload's Latin-1 stderr must not break the JSON outputs.
TEST_F(Cli, NonUtf8StderrDoesNotBreakJsonOutput) {
  auto spec = write_spec(R"(gpu: sim
stop: {duration: 2s}
workloads:
  - {name: latin, cmd: [sh, -c, "printf 'Ger\\344t kaputt\\n' >&2; exit 1"]}
)");
  auto r = colo({"run", spec.string()});
  EXPECT_EQ(r.rc, 3) << r.out << r.err;
  for (const char* cmd : {"export", "report"}) {
    auto js = colo({cmd, "--format", "json"});
    ASSERT_EQ(js.rc, 0) << cmd << ": " << js.err;
    nlohmann::json j;
    EXPECT_NO_THROW(j = nlohmann::json::parse(js.out)) << cmd;
    EXPECT_NE(j.dump().find("Ger\xEF\xBF\xBDt kaputt"), std::string::npos) << cmd << js.out;
  }
}

// Issue 11 items 6 and 7: hostile inputs end in a clear message and exit 2, before anything runs.
TEST_F(Cli, HostileInputsAreRefusedWithExitTwo) {
  struct Case {
    std::vector<std::string> args;
    std::string expect;
  };
  const auto loop = m_dir / "loop";
  fs::create_symlink(loop, loop);
  auto dup = write_spec(
      "stop: {duration: 1s}\nstop: {duration: 2s}\nworkloads:\n"
      "  - {name: a, cmd: [true]}\n",
      "dup.yaml");
  auto multi = write_spec("stop: {duration: 1s}\nworkloads:\n  - {name: a, cmd: [true]}\n---\n",
                          "multi.yaml");
  auto slash = m_dir / "slash.yaml";
  std::ofstream(slash) << "name: ../../x\nstop: {duration: 1s}\nworkloads:\n"
                          "  - {name: a, cmd: [true]}\n";
  auto overflow = write_spec(
      "stop: {duration: 99999999999999999h}\nworkloads:\n"
      "  - {name: a, cmd: [true]}\n",
      "overflow.yaml");
  auto args = write_spec(
      "gpu: sim\nstop: {duration: 1s}\nworkloads:\n"
      "  - {name: a, builtin: sim-gpu, args: {dutty: 0.5}}\n",
      "args.yaml");
  const std::string results = (m_dir / "results").string();
  std::vector<Case> cases{
      {{"--results", "", "ls"}, "--results is empty"},
      {{"--results", "", "run", dup.string()}, "--results is empty"},
      {{"--results", loop.string(), "ls"}, "Too many levels of symbolic links"},
      {{"--results", (m_dir / std::string(300, 'r')).string(), "ls"}, "File name too long"},
      {{"--results", dup.string(), "ls"}, "is not a directory"},
      {{"--results", results, "run", "/dev/zero"}, "'/dev/zero' is not a regular file"},
      {{"--results", results, "run", loop.string()}, "Too many levels of symbolic links"},
      {{"--results", results, "run", dup.string()}, "dup.yaml:3: stop: duplicate key 'stop'"},
      {{"--results", results, "run", multi.string()}, "multi.yaml:5: (document): a second"},
      {{"--results", results, "run", slash.string()}, "slash.yaml:1: name: '../../x' contains"},
      {{"--results", results, "run", overflow.string()}, "overflow.yaml:2: stop.duration:"},
      {{"--results", results, "run", "--dry-run", args.string()},
       "args.yaml:5: workloads.a.args.dutty: builtin 'sim-gpu' has no argument 'dutty'"},
  };
  m_pass_results = false;
  for (const auto& c : cases) {
    auto r = colo(c.args);
    EXPECT_EQ(r.rc, 2) << c.expect << ": " << r.err;
    EXPECT_NE(r.err.find(c.expect), std::string::npos)
        << "expected '" << c.expect << "' in " << r.err;
    EXPECT_EQ(r.err.find("internal error"), std::string::npos) << r.err;
  }
  EXPECT_FALSE(fs::exists(m_dir / "results" / "colo.db"));
}

}  // namespace
}  // namespace colo
