#include "core/units.hpp"

#include <gtest/gtest.h>

namespace colo {
namespace {

TEST(Units, ParsesDurations) {
  EXPECT_DOUBLE_EQ(parse_duration("90s")->count(), 90.0);
  EXPECT_DOUBLE_EQ(parse_duration("250ms")->count(), 0.25);
  EXPECT_DOUBLE_EQ(parse_duration("1.5m")->count(), 90.0);
  EXPECT_DOUBLE_EQ(parse_duration("2h")->count(), 7200.0);
  EXPECT_DOUBLE_EQ(parse_duration("10")->count(), 10.0);
}

TEST(Units, RejectsBadDurations) {
  EXPECT_FALSE(parse_duration("ten seconds"));
  EXPECT_FALSE(parse_duration("-5s"));
  EXPECT_FALSE(parse_duration("5 fortnights"));
  EXPECT_NE(parse_duration("5x").error().message.find("unknown duration unit"), std::string::npos);
}

TEST(Units, ParsesBytes) {
  EXPECT_EQ(*parse_bytes("8G"), 8ULL << 30);
  EXPECT_EQ(*parse_bytes("512M"), 512ULL << 20);
  EXPECT_EQ(*parse_bytes("1.5GiB"), 3ULL << 29);
  EXPECT_EQ(*parse_bytes("1024"), 1024ULL);
  EXPECT_FALSE(parse_bytes("8Q"));
  EXPECT_FALSE(parse_bytes("lots"));
}

}  // namespace
}  // namespace colo

namespace colo {
namespace {
TEST(Units, ProgressBarWithEta) {
  EXPECT_EQ(format_progress(1, 4, Seconds(30), 8),
            "[##......] 1/4 runs, 30.0 s elapsed, ETA ~90.0 s");
  EXPECT_EQ(format_progress(0, 4, Seconds(1), 4), "[....] 0/4 runs, 1.0 s elapsed, ETA unknown");
  EXPECT_EQ(format_progress(4, 4, Seconds(60), 4), "[####] 4/4 runs, 60.0 s elapsed, finished");
}
}  // namespace
}  // namespace colo
