// Containment: escaped processes (env -i setsid, double-fork daemons), the pids limit, the
// output cap. The cgroup assertions run where this host offers a writable cgroup (root in most
// CI containers and VMs) and are skipped, saying why, where it does not; the fallback (the
// run-token sweep) is tested everywhere.
#include "launch/cgroup.hpp"

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "launch/supervisor.hpp"
#include "support/procs.hpp"

namespace colo {
namespace {

namespace fs = std::filesystem;
using test::read_pids;
using test::running;

const std::string k_ready = R"(printf '{"event":"ready"}\n' >&3; head -c1 <&4 >/dev/null; )";

// Gone or a zombie within a second (a killed orphan may wait a moment for its reaper).
bool gone_soon(pid_t pid) {
  for (int i = 0; i < 100 && running(pid); ++i) {
    ::usleep(10000);
  }
  return !running(pid);
}

class ContainmentTest : public ::testing::Test {
 protected:
  void SetUp() override {
    m_dir = fs::temp_directory_path() /
            ("colo-cg-" + std::to_string(::getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(m_dir);
    fs::create_directories(m_dir);
    m_token = make_run_token();
  }
  void TearDown() override {
    // Nothing of the test may outlive it, by any means of finding it.
    EXPECT_EQ(sweep_token(m_token), 0);
    EXPECT_TRUE(token_cgroup_members(host_containment(), m_token).empty());
    fs::remove_all(m_dir);
  }

  ClientLaunch sh(const std::string& label, const std::string& script,
                  const Containment* c = nullptr) {
    ClientLaunch l;
    l.label = label;
    l.spawn.argv = {"/bin/sh", "-c", script};
    l.spawn.stdout_path = (m_dir / (label + ".out")).string();
    l.spawn.stderr_path = (m_dir / (label + ".err")).string();
    l.spawn.containment = c;
    return l;
  }

  Result<SupervisorResult> run(std::vector<ClientLaunch> cs, double seconds) {
    StopPolicy p;
    p.duration = Seconds(seconds);
    p.grace = Seconds(1);
    SupervisorObserver quiet;
    return supervise(std::move(cs), p, m_clock, quiet, m_token);
  }

  // A workload that starts escapees, writing their pids to escaped.pids: one that leaves the
  // session with a clean environment (env -i setsid), and a classic double-fork daemon (its
  // parent exits, it calls setsid, it closes its fds).
  std::string escaping_script() const {
    const std::string f = (m_dir / "escaped.pids").string();
    return "env -i setsid /bin/sh -c 'echo $$ >> " + f + "; exec sleep 300' & " +
           "/bin/sh -c '( setsid /bin/sh -c \"echo \\$\\$ >> " + f +
           "; exec sleep 300\" </dev/null >/dev/null 2>&1 & ) ; exit 0' ; " + k_ready +
           "while [ $(wc -l < " + f + ") -lt 2 ]; do sleep 0.01; done; sleep 300";
  }

  fs::path m_dir;
  std::string m_token;
  SteadyClock m_clock;
};

bool have_cgroup() {
  return host_containment().kind != ContainmentKind::sweep;
}

TEST(Containment, DetectionReadsProcAndSaysWhyItFallsBack) {
  // A fake /proc naming a cgroup2 mount that is a plain directory: not a cgroup, so not used.
  const fs::path root = fs::temp_directory_path() / ("colo-cg-root-" + std::to_string(::getpid()));
  fs::remove_all(root);
  fs::create_directories(root / "proc/self");
  fs::create_directories(root / "sys/fs/cgroup/user.slice");
  std::ofstream(root / "proc/self/cgroup") << "0::/user.slice\n";
  std::ofstream(root / "proc/self/mountinfo")
      << "35 24 0:30 / /sys/fs/cgroup rw,nosuid shared:9 - cgroup2 cgroup2 rw,nsdelegate\n";
  const Containment c = detect_containment(root.string());
  EXPECT_EQ(c.kind, ContainmentKind::sweep);
  EXPECT_NE(c.reason.find(root.string() + "/sys/fs/cgroup/user.slice' is not writable"),
            std::string::npos)
      << c.reason;
  EXPECT_NE(c.describe().find("run-token sweep"), std::string::npos);
  fs::remove_all(root);
}

TEST(Containment, NoProcMeansTheSweep) {
  const Containment c = detect_containment("/nonexistent-colo-root");
  EXPECT_EQ(c.kind, ContainmentKind::sweep);
  EXPECT_FALSE(c.reason.empty());
}

TEST(Containment, EnvironmentForcesTheSweep) {
  ::setenv("COLO_CONTAINMENT", "sweep", 1);
  const Containment c = detect_containment();
  ::unsetenv("COLO_CONTAINMENT");
  EXPECT_EQ(c.kind, ContainmentKind::sweep);
  EXPECT_NE(c.reason.find("COLO_CONTAINMENT"), std::string::npos);
}

TEST_F(ContainmentTest, EscapedProcessesDieWithTheRunInTheirCgroup) {
  if (!have_cgroup()) {
    GTEST_SKIP() << "no writable cgroup on this host: " << host_containment().describe();
  }
  auto r = run({sh("escaper", escaping_script())}, 0.5);
  ASSERT_TRUE(r) << r.error().what();
  const auto escaped = read_pids(m_dir / "escaped.pids");
  ASSERT_EQ(escaped.size(), 2U) << "the workload did not start both escapees";
  for (pid_t p : escaped) {
    EXPECT_TRUE(gone_soon(p)) << "escaped process " << p << " survived the run";
  }
  EXPECT_GE(r->swept, 2);
  EXPECT_TRUE(token_cgroup_members(host_containment(), m_token).empty());
}

TEST_F(ContainmentTest, TheGuardKillsTheCgroupsOfAColoThatDied) {
  if (!have_cgroup()) {
    GTEST_SKIP() << "no writable cgroup on this host: " << host_containment().describe();
  }
  // A workload started outside any supervisor, as if colo had been killed -9 mid-run.
  SpawnRequest req;
  req.argv = {"/bin/sh", "-c", "env -i setsid sleep 300 & exec sleep 300"};
  req.cgroup_token = m_token;
  auto guard = Guard::start(m_token);
  ASSERT_TRUE(guard);
  auto sp = spawn(req);
  ASSERT_TRUE(sp) << sp.error().what();
  for (int i = 0; i < 200 && sp->cgroup.members().size() < 2; ++i) {
    ::usleep(5000);
  }
  const auto members = sp->cgroup.members();
  ASSERT_EQ(members.size(), 2U);
  guard->release();  // what the guard does when colo's end of its pipe closes
  for (pid_t p : members) {
    EXPECT_TRUE(gone_soon(p)) << p;
  }
  int st = 0;
  ::waitpid(sp->pid, &st, 0);
  EXPECT_TRUE(token_cgroup_members(host_containment(), m_token).empty());
}

TEST_F(ContainmentTest, TheSweepFallbackKillsEveryEscapeeThatKeepsItsEnvironment) {
  const Containment sweep;  // kind sweep: what a host without cgroups gets
  const std::string f = (m_dir / "escaped.pids").string();
  auto r = run({sh("escaper",
                   "setsid /bin/sh -c 'echo $$ >> " + f + "; exec sleep 300' & " +
                       "/bin/sh -c '( setsid /bin/sh -c \"echo \\$\\$ >> " + f +
                       "; exec sleep 300\" </dev/null >/dev/null 2>&1 & ) ; exit 0' ; " + k_ready +
                       "while [ $(wc -l < " + f + ") -lt 2 ]; do sleep 0.01; done; " + "sleep 300",
                   &sweep)},
               0.5);
  ASSERT_TRUE(r) << r.error().what();
  const auto escaped = read_pids(f);
  ASSERT_EQ(escaped.size(), 2U);
  for (pid_t p : escaped) {
    EXPECT_TRUE(gone_soon(p)) << "escaped process " << p << " survived the sweep";
  }
  EXPECT_GE(r->swept, 2);
}

TEST_F(ContainmentTest, ForkBombIsBoundedByThePidsLimit) {
  if (host_containment().pids_base.empty()) {
    GTEST_SKIP() << "no writable pids controller: " << host_containment().describe();
  }
  auto l = sh("bomb", k_ready + "b() { b | b & }; b; sleep 300");
  l.spawn.pids_max = 32;
  auto r = run({l}, 1.0);
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_TRUE(r->clients[0].pids_limit_hit);
  // The workload's message says how often, and under which limit (issue 11 item 5).
  EXPECT_GT(r->clients[0].facts.pids_refused, 0);
  EXPECT_NE(r->clients[0].classification.message.find(
                fmt::format("; fork refused {} time", r->clients[0].facts.pids_refused)),
            std::string::npos)
      << r->clients[0].classification.message;
  EXPECT_NE(r->clients[0].classification.message.find("pids limit 32 (limits.pids)"),
            std::string::npos)
      << r->clients[0].classification.message;
  EXPECT_TRUE(token_cgroup_members(host_containment(), m_token).empty());
}

TEST_F(ContainmentTest, OutputIsCappedWithAMarkerAndTheWorkloadIsNotBlocked) {
  auto l = sh("chatty", k_ready +
                            "head -c 3000000 /dev/zero | tr '\\0' x; "
                            "head -c 3000000 /dev/zero | tr '\\0' y >&2; exit 0");
  l.spawn.output_limit = 65536;
  StopPolicy p;
  p.on_exit = true;
  p.timeout = Seconds(60);
  SupervisorObserver quiet;
  auto r = supervise({l}, p, m_clock, quiet, m_token);
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_EQ(r->clients[0].classification.exit_class, ExitClass::ok);
  EXPECT_TRUE(r->clients[0].output_truncated);
  EXPECT_EQ(r->clients[0].classification.message,
            "exited 0; output truncated at 64 KiB (limits.output): stdout, stderr");
  const std::string marker = truncation_marker(65536);
  for (const char* ext : {".out", ".err"}) {
    const auto path = m_dir / (std::string("chatty") + ext);
    EXPECT_EQ(fs::file_size(path), 65536 + marker.size()) << path;
    std::ifstream in(path);
    std::stringstream s;
    s << in.rdbuf();
    EXPECT_EQ(s.str().substr(65536), marker);
    struct stat st{};
    ASSERT_EQ(::stat(path.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600U) << "workload output must be owner-only";
  }
}

TEST_F(ContainmentTest, OutputUnderTheCapIsKeptWhole) {
  auto l = sh("quiet", k_ready + "echo hello; echo oops >&2; exit 3");
  l.spawn.output_limit = 65536;
  StopPolicy p;
  p.on_exit = true;
  p.timeout = Seconds(60);
  SupervisorObserver quiet;
  auto r = supervise({l}, p, m_clock, quiet, m_token);
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->clients[0].output_truncated);
  EXPECT_EQ(r->clients[0].classification.message.find("truncated"), std::string::npos);
  EXPECT_EQ(r->clients[0].facts.exit_code, 3);
  EXPECT_NE(r->clients[0].facts.stderr_tail.find("oops"), std::string::npos);
  std::ifstream in(m_dir / "quiet.out");
  std::string line;
  std::getline(in, line);
  EXPECT_EQ(line, "hello");
}

}  // namespace
}  // namespace colo
