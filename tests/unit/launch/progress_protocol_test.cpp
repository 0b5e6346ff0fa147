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

// Issue 11 item 2: none of these may throw; each is a malformed line (an error value).
TEST(ProgressProtocol, MalformedLinesAreErrorsNotExceptions) {
  for (const char* line : {R"({"event":null})",
                           R"({"event":1})",
                           R"({"event":true})",
                           R"({"event":[]})",
                           R"({"event":{}})",
                           "null",
                           "17",
                           "true",
                           "\"step\"",
                           "[{}]",
                           "{",
                           "",
                           R"({"event":"step","samples":"64"})",
                           R"({"event":"step","samples":1e400})",
                           R"({"event":"step","step":1.5})",
                           R"({"event":"step","step":"7"})",
                           R"({"event":"step","step":18446744073709551615})",
                           R"({"event":"step","loss":"x"})",
                           R"({"event":"step","latency_ms":[]})",
                           R"({"event":"error","kind":5})",
                           R"({"event":"error","message":{}})",
                           "{\"event\":\"step\",\"x\":\"\xff\"}"}) {
    Result<ProgressEvent> r;
    EXPECT_NO_THROW(r = parse_progress_line(line)) << line;
    EXPECT_FALSE(r) << line;
    if (!r) {
      EXPECT_NE(r.error().message.find("malformed progress line"), std::string::npos);
    }
  }
}

// The documented defaults (docs/progress-protocol.md).
TEST(ProgressProtocol, DefaultsAreTheDocumentedOnes) {
  auto empty = parse_progress_line("{}");  // no "event": a step of one sample
  ASSERT_TRUE(empty);
  EXPECT_EQ(empty->kind, ProgressKind::step);
  EXPECT_DOUBLE_EQ(empty->samples, 1);
  EXPECT_FALSE(empty->step);
  auto nulls = parse_progress_line(R"({"event":"step","samples":null,"loss":null,"step":null})");
  ASSERT_TRUE(nulls);  // null is absent
  EXPECT_DOUBLE_EQ(nulls->samples, 1);
  EXPECT_FALSE(nulls->loss);
  auto ready = parse_progress_line(R"({"event":"ready"})");
  ASSERT_TRUE(ready);
  EXPECT_DOUBLE_EQ(ready->samples, 0);
  auto future = parse_progress_line(R"({"event":"epoch","n":3})");  // unknown: ignored
  ASSERT_TRUE(future);
  EXPECT_EQ(future->kind, ProgressKind::other);
  auto big = parse_progress_line(R"({"event":"step","step":9223372036854775807})");
  ASSERT_TRUE(big);
  EXPECT_EQ(*big->step, INT64_MAX);
}

}  // namespace
}  // namespace colo
