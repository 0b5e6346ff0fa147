#include "launch/progress_protocol.hpp"

#include <gtest/gtest.h>

namespace colo {
namespace {

TEST(ProgressProtocol, ParsesEvents) {
  auto r = parse_progress_line(R"({"event":"ready"})");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->kind, ProgressKind::ready);
  auto s =
      parse_progress_line(R"({"event":"step","step":7,"samples":64,"loss":1.5,"latency_ms":3})");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->kind, ProgressKind::step);
  EXPECT_EQ(*s->step, 7);
  EXPECT_DOUBLE_EQ(s->samples, 64);
  EXPECT_DOUBLE_EQ(*s->loss, 1.5);
  EXPECT_DOUBLE_EQ(*s->latency_ms, 3);
  auto e = parse_progress_line(R"({"event":"error","kind":"oom","message":"CUDA out of memory"})");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->error_kind, "oom");
}

TEST(ProgressProtocol, AStepWithoutSamplesCountsOne) {
  auto s = parse_progress_line(R"({"event":"step"})");
  ASSERT_TRUE(s);
  EXPECT_DOUBLE_EQ(s->samples, 1);
}

TEST(ProgressProtocol, RejectsGarbage) {
  EXPECT_FALSE(parse_progress_line("epoch 3 loss 0.1"));
  EXPECT_FALSE(parse_progress_line("[1,2]"));
  EXPECT_FALSE(parse_progress_line(R"({"event":"step","samples":-5})"));
  EXPECT_FALSE(parse_progress_line(std::string(k_max_progress_line + 1, 'x')));
}

}  // namespace
}  // namespace colo
