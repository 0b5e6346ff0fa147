#include "launch/supervisor.hpp"

#include <signal.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "launch/interrupt.hpp"

namespace colo {
namespace {

// Shell snippets speaking the progress protocol.
const std::string k_ready = R"(printf '{"event":"ready"}\n' >&3; head -c1 <&4 >/dev/null; )";
std::string steps(int n, int samples) {
  return "i=0; while [ $i -lt " + std::to_string(n) +
         " ]; do printf '{\"event\":\"step\",\"samples\":" + std::to_string(samples) +
         "}\\n' >&3; i=$((i+1)); done; ";
}

class Recorder final : public SupervisorObserver {
 public:
  void on_released() override { ++released; }
  void on_event(int client, double t, const ProgressEvent& e) override {
    if (e.kind == ProgressKind::step) {
      ++step_events[client];
      last_t = t;
    }
  }
  void on_exit(int, double, const ClientOutcome&) override { ++exits; }
  int released = 0;
  int exits = 0;
  std::map<int, int> step_events;
  double last_t = 0;
};

class SupervisorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    m_dir = std::filesystem::temp_directory_path() /
            ("colo-sup-" + std::to_string(::getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(m_dir);
    std::filesystem::create_directories(m_dir);
    m_token = make_run_token();
  }
  void TearDown() override {
    EXPECT_EQ(sweep_token(m_token), 0) << "processes of this test outlived it";
    std::filesystem::remove_all(m_dir);
  }

  ClientLaunch sh(const std::string& label, const std::string& script,
                  ProgressMode progress = ProgressMode::protocol) {
    ClientLaunch l;
    l.label = label;
    l.progress = progress;
    l.spawn.argv = {"/bin/sh", "-c", script};
    l.spawn.stdout_path = (m_dir / (label + ".out")).string();
    l.spawn.stderr_path = (m_dir / (label + ".err")).string();
    return l;
  }

  Result<SupervisorResult> run(std::vector<ClientLaunch> cs, StopPolicy p) {
    return supervise(std::move(cs), p, m_clock, m_rec, m_token);
  }

  std::filesystem::path m_dir;
  std::string m_token;
  SteadyClock m_clock;
  Recorder m_rec;
};

TEST_F(SupervisorTest, BarrierThenWorkloadsEndingByThemselves) {
  StopPolicy p;
  p.on_exit = true;
  p.timeout = Seconds(20);
  auto r = run({sh("a", k_ready + steps(5, 8)), sh("b", k_ready + steps(3, 8))}, p);
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_TRUE(r->released);
  EXPECT_EQ(m_rec.released, 1);
  EXPECT_EQ(r->clients[0].classification.exit_class, ExitClass::ok);
  EXPECT_EQ(r->clients[0].steps, 5);
  EXPECT_EQ(r->clients[1].steps, 3);
  EXPECT_EQ(m_rec.exits, 2);
}

// Issue 11 item 2: garbage on COLO_PROGRESS (null/number/bool/array/object events, plain
// text) is ignored and counted; the run goes on and the count is in the workload's message.
TEST_F(SupervisorTest, MalformedProgressLinesAreIgnoredAndCounted) {
  StopPolicy p;
  p.on_exit = true;
  p.timeout = Seconds(20);
  const std::string garbage =
      R"(printf '{"event":null}\n{"event":7}\n{"event":true}\n{"event":[1]}\n)"
      R"({"event":{}}\nnot json\n42\n' >&3; )";
  auto r = run({sh("a", k_ready + garbage + steps(3, 8))}, p);
  ASSERT_TRUE(r) << r.error().what();
  ASSERT_TRUE(r->released);
  const auto& o = r->clients[0];
  EXPECT_EQ(o.classification.exit_class, ExitClass::ok);
  EXPECT_EQ(o.steps, 3);
  EXPECT_EQ(o.facts.malformed_progress, 7);
  EXPECT_NE(o.classification.message.find("ignored 7 malformed COLO_PROGRESS lines"),
            std::string::npos)
      << o.classification.message;
}

TEST_F(SupervisorTest, NothingRunsBeforeEveryoneIsReady) {
  // b writes a marker only after release; a is slow to get ready. When b's marker exists,
  // a must already have said ready.
  const auto marker = (m_dir / "a_ready").string();
  StopPolicy p;
  p.on_exit = true;
  p.timeout = Seconds(20);
  auto r = run({sh("a", "sleep 0.3; touch " + marker + "; " + k_ready),
                sh("b", k_ready + "test -e " + marker + " || exit 7")},
               p);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->clients[1].classification.exit_class, ExitClass::ok)
      << r->clients[1].classification.message;
}

TEST_F(SupervisorTest, DurationStopsEveryone) {
  StopPolicy p;
  p.duration = Seconds(0.3);
  auto r = run({sh("a", k_ready + "while true; do " + steps(1, 1) + "sleep 0.01; done"),
                sh("b", "sleep 100", ProgressMode::wall_time)},
               p);
  ASSERT_TRUE(r);
  for (const auto& c : r->clients) {
    EXPECT_EQ(c.classification.exit_class, ExitClass::ok) << c.classification.message;
    EXPECT_TRUE(c.facts.stopped_by_colo);
    EXPECT_LT(c.runtime_s, 5.0);
  }
  EXPECT_GT(r->clients[0].steps, 3);
}

TEST_F(SupervisorTest, StepsRuleStopsEachWorkload) {
  StopPolicy p;
  p.steps = 4;
  p.timeout = Seconds(20);
  auto r = run({sh("a", k_ready + "while true; do " + steps(1, 1) + "sleep 0.01; done")}, p);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->clients[0].classification.exit_class, ExitClass::ok);
  EXPECT_GE(r->clients[0].steps, 4);
  EXPECT_LT(r->clients[0].steps, 20);
}

TEST_F(SupervisorTest, IgnoringSigtermEndsInSigkillAfterGrace) {
  StopPolicy p;
  p.duration = Seconds(0.2);
  p.grace = Seconds(0.3);
  auto r = run({sh("stubborn", "trap '' TERM; " + k_ready + "while true; do sleep 0.05; done")}, p);
  ASSERT_TRUE(r);
  const auto& c = r->clients[0];
  EXPECT_EQ(c.classification.exit_class, ExitClass::killed);
  EXPECT_TRUE(c.facts.killed_after_grace);
  EXPECT_EQ(c.facts.signal, SIGKILL);
}

TEST_F(SupervisorTest, HangingPastTheStopRuleTimesOut) {
  StopPolicy p;
  p.on_exit = true;
  p.timeout = Seconds(0.3);
  auto r = run({sh("hang", "sleep 100", ProgressMode::wall_time)}, p);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->clients[0].classification.exit_class, ExitClass::timed_out);
}

TEST_F(SupervisorTest, ExitOneAtOnceAbortsTheRunAndStopsTheOthers) {
  StopPolicy p;
  p.duration = Seconds(10);
  p.init_timeout = Seconds(10);
  auto r =
      run({sh("bad", "echo 'boom: bad flag' >&2; exit 1"), sh("good", k_ready + "sleep 100")}, p);
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->released);
  EXPECT_EQ(r->clients[0].classification.exit_class, ExitClass::failed);
  EXPECT_NE(r->clients[0].classification.message.find("boom: bad flag"), std::string::npos)
      << r->clients[0].classification.message;
  EXPECT_EQ(r->clients[1].classification.exit_class, ExitClass::interrupted);
}

// Issue 10: a workload killed at init_timeout is "not ready within init_timeout", not "ended
// before the start barrier".
TEST_F(SupervisorTest, NotReadyWithinInitTimeoutSaysSo) {
  StopPolicy p;
  p.init_timeout = Seconds(0.3);
  p.grace = Seconds(1);
  auto r = run({sh("slow", "sleep 100")}, p);
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_FALSE(r->released);
  const auto& c = r->clients[0];
  EXPECT_EQ(c.classification.exit_class, ExitClass::start_failed);
  EXPECT_NE(c.classification.message.find("not ready within init_timeout (0.3 s)"),
            std::string::npos)
      << c.classification.message;
}

// progress: auto. A silent workload (a plain script) is measured by wall time from the barrier
// once hello_timeout passes; one that speaks (a hello line) waits for its ready as before.
TEST_F(SupervisorTest, ProgressAutoMeasuresSilentWorkloadsByWallTime) {
  StopPolicy p;
  p.duration = Seconds(0.4);
  p.hello_timeout = Seconds(0.2);
  p.init_timeout = Seconds(20);
  const std::string hello = R"(printf '{"event":"hello"}\n' >&3; sleep 0.5; )";
  auto r =
      run({sh("plain", "sleep 100", ProgressMode::automatic),
           sh("speaker", hello + k_ready + "while true; do " + steps(1, 1) + "sleep 0.01; done",
              ProgressMode::automatic)},
          p);
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_TRUE(r->released);
  EXPECT_TRUE(r->clients[0].by_wall_time);
  EXPECT_EQ(r->clients[0].classification.exit_class, ExitClass::ok)
      << r->clients[0].classification.message;
  EXPECT_NEAR(r->clients[0].runtime_s, 0.4, 0.3);
  EXPECT_FALSE(r->clients[1].by_wall_time);  // it said hello: the protocol, after its ready
  EXPECT_GT(r->clients[1].steps, 3);
}

// progress: auto. A short plain script that ends before hello_timeout is a result (its wall
// time from launch), not a workload that "ended before the start barrier".
TEST_F(SupervisorTest, ProgressAutoAcceptsAShortSilentScript) {
  StopPolicy p;
  p.on_exit = true;
  p.timeout = Seconds(20);
  p.hello_timeout = Seconds(5);
  auto r = run({sh("short", "sleep 0.2", ProgressMode::automatic)}, p);
  ASSERT_TRUE(r) << r.error().what();
  const auto& c = r->clients[0];
  EXPECT_TRUE(c.by_wall_time);
  EXPECT_EQ(c.classification.exit_class, ExitClass::ok) << c.classification.message;
  EXPECT_GE(c.runtime_s, 0.15);
  EXPECT_LT(c.runtime_s, 4.0);
}

TEST_F(SupervisorTest, MissingExecutableIsStartFailed) {
  StopPolicy p;
  p.duration = Seconds(1);
  ClientLaunch l = sh("x", "");
  l.spawn.argv = {"colo-no-such-program-xyz"};
  auto r = run({l, sh("good", k_ready + "sleep 100")}, p);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->clients[0].classification.exit_class, ExitClass::start_failed);
  EXPECT_NE(r->clients[0].classification.message.find("not found"), std::string::npos);
  EXPECT_FALSE(r->released);
}

TEST_F(SupervisorTest, ChildrenAndEscapedGrandchildrenDieWithTheRun) {
  StopPolicy p;
  p.duration = Seconds(0.3);
  // Children in the group, and one that escapes into its own session (setsid).
  const std::string pidfile = (m_dir / "escaped.pid").string();
  auto r = run({sh("forker", "sleep 100 & sleep 100 & setsid sh -c 'echo $$ > " + pidfile +
                                 "; sleep 100' & " + k_ready + "wait")},
               p);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->clients[0].classification.exit_class, ExitClass::ok);
  EXPECT_FALSE(group_alive(r->clients[0].pid));
  std::ifstream in(pidfile);
  pid_t escaped = 0;
  in >> escaped;
  ASSERT_GT(escaped, 0);
  // Killed by the run-token sweep (it may linger as a zombie until reaped by its parent).
  for (int i = 0; i < 50 && ::kill(escaped, 0) == 0; ++i) {
    std::ifstream st("/proc/" + std::to_string(escaped) + "/stat");
    std::string s;
    std::getline(st, s);
    if (s.find(") Z") != std::string::npos || s.empty()) {
      break;
    }
    ::usleep(20000);
  }
  std::ifstream st("/proc/" + std::to_string(escaped) + "/stat");
  std::string s;
  std::getline(st, s);
  EXPECT_TRUE(s.empty() || s.find(") Z") != std::string::npos) << s;
}

TEST_F(SupervisorTest, InterruptStopsEverythingAndIsReported) {
  Interrupt::install();
  StopPolicy p;
  p.duration = Seconds(30);
  std::thread t([] {
    ::usleep(200000);
    Interrupt::trigger(SIGINT);
  });
  auto r = run({sh("a", k_ready + "sleep 100"), sh("b", k_ready + "sleep 100")}, p);
  t.join();
  Interrupt::clear();
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->interrupted);
  for (const auto& c : r->clients) {
    EXPECT_EQ(c.classification.exit_class, ExitClass::interrupted);
  }
}

TEST(Process, ResolveExecutableNamesTheProgram) {
  auto r = resolve_executable("colo-definitely-missing", "/");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("'colo-definitely-missing' not found in PATH"),
            std::string::npos);
  EXPECT_TRUE(resolve_executable("sh", "/"));
  auto rel = resolve_executable("./nope.sh", "/tmp");
  ASSERT_FALSE(rel);
  EXPECT_NE(rel.error().message.find("/tmp/nope.sh"), std::string::npos);
}

}  // namespace
}  // namespace colo
