#include "launch/exit_classify.hpp"

#include <csignal>

#include <gtest/gtest.h>

namespace colo {
namespace {

ExitFacts exited(int code) {
  ExitFacts f;
  f.exited = true;
  f.exit_code = code;
  return f;
}

TEST(ExitClassify, OkAndFailed) {
  EXPECT_EQ(classify_exit(exited(0)).exit_class, ExitClass::ok);
  auto c = classify_exit(exited(3));
  EXPECT_EQ(c.exit_class, ExitClass::failed);
  EXPECT_NE(c.message.find("code 3"), std::string::npos);
}

TEST(ExitClassify, MalformedProgressLinesAreNotedWhateverTheClass) {
  auto f = exited(0);
  f.malformed_progress = 2;
  f.first_malformed = "malformed progress line ('event' is not a string): '{\"event\":null}'";
  auto c = classify_exit(f);
  EXPECT_EQ(c.exit_class, ExitClass::ok);
  EXPECT_NE(c.message.find("exited 0; ignored 2 malformed COLO_PROGRESS lines, the first: "
                           "malformed progress line ('event' is not a string)"),
            std::string::npos)
      << c.message;
  EXPECT_EQ(classify_exit(exited(0)).message, "exited 0");
}

TEST(ExitClassify, LimitsReachedAreNotedWithTheirCountsAndSizes) {
  auto f = exited(0);
  f.pids_refused = 37;
  f.pids_max = 4096;
  f.truncated_streams = {"stdout", "stderr"};
  f.output_limit = std::uint64_t{64} << 20;
  auto c = classify_exit(f);
  EXPECT_EQ(c.exit_class, ExitClass::ok);
  EXPECT_EQ(c.message,
            "exited 0; fork refused 37 times: pids limit 4096 (limits.pids); output truncated at "
            "64 MiB (limits.output): stdout, stderr");
  f = exited(1);
  f.pids_refused = 1;
  f.pids_max = 32;
  c = classify_exit(f);
  EXPECT_EQ(c.exit_class, ExitClass::failed);
  EXPECT_NE(c.message.find("; fork refused 1 time: pids limit 32 (limits.pids)"), std::string::npos)
      << c.message;
}

TEST(ExitClassify, StoppedByColoIsOkUnlessItNeededSigkill) {
  ExitFacts f;
  f.signal = SIGTERM;
  f.stopped_by_colo = true;
  EXPECT_EQ(classify_exit(f).exit_class, ExitClass::ok);
  f.signal = SIGKILL;
  f.killed_after_grace = true;
  EXPECT_EQ(classify_exit(f).exit_class, ExitClass::killed);
}

TEST(ExitClassify, OomAndGpuFaultFromStderrOrReport) {
  auto f = exited(1);
  f.stderr_tail = "RuntimeError: CUDA out of memory. Tried to allocate 2.00 GiB\n";
  EXPECT_EQ(classify_exit(f).exit_class, ExitClass::oom);
  f.stderr_tail = "CUDA error: an illegal memory access was encountered\n";
  EXPECT_EQ(classify_exit(f).exit_class, ExitClass::gpu_fault);
  ExitFacts r = exited(1);
  r.reported_error = "gpu_fault";
  r.reported_message = "Xid 31";
  EXPECT_EQ(classify_exit(r).exit_class, ExitClass::gpu_fault);
  // A clean exit that merely printed the words is not a failure.
  auto ok = exited(0);
  ok.stderr_tail = "retrying after out of memory\n";
  EXPECT_EQ(classify_exit(ok).exit_class, ExitClass::ok);
}

TEST(ExitClassify, StartFailuresTimeoutsInterruptions) {
  ExitFacts e;
  e.exec_failed = true;
  e.exec_error = "No such file or directory";
  EXPECT_EQ(classify_exit(e).exit_class, ExitClass::start_failed);
  ExitFacts n;
  n.never_ready = true;
  EXPECT_EQ(classify_exit(n).exit_class, ExitClass::start_failed);
  ExitFacts t;
  t.timed_out = true;
  t.stopped_by_colo = true;
  t.signal = SIGTERM;
  EXPECT_EQ(classify_exit(t).exit_class, ExitClass::timed_out);
  ExitFacts i = exited(0);
  i.interrupted = true;
  i.stopped_by_colo = true;
  EXPECT_EQ(classify_exit(i).exit_class, ExitClass::interrupted);
  ExitFacts k;
  k.signal = SIGKILL;
  EXPECT_EQ(classify_exit(k).exit_class, ExitClass::killed);
  EXPECT_NE(classify_exit(k).message.find("outside colo"), std::string::npos);
}

}  // namespace
}  // namespace colo
