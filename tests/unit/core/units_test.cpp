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
  // Issue 11 item 6: no silent overflow.
  EXPECT_NE(parse_duration("99999999999999999h").error().message.find("too long a duration"),
            std::string::npos);
  EXPECT_FALSE(parse_duration(std::string(400, '9')));  // inf
  EXPECT_TRUE(parse_duration("366d").has_value() == false);
  EXPECT_TRUE(parse_duration("8784h"));  // 366 days: the cap itself
  EXPECT_FALSE(parse_duration("8785h"));
}

TEST(Units, ParsesBytes) {
  EXPECT_EQ(*parse_bytes("8G"), 8ULL << 30);
  EXPECT_EQ(*parse_bytes("512M"), 512ULL << 20);
  EXPECT_EQ(*parse_bytes("1.5GiB"), 3ULL << 29);
  EXPECT_EQ(*parse_bytes("1024"), 1024ULL);
  EXPECT_FALSE(parse_bytes("8Q"));
  EXPECT_FALSE(parse_bytes("lots"));
  // Issue 11 item 6: no silent overflow.
  EXPECT_NE(parse_bytes("99999999999999999G").error().message.find("too large a size"),
            std::string::npos);
  EXPECT_FALSE(parse_bytes(std::string(400, '9')));
  EXPECT_EQ(*parse_bytes("1024T"), 1ULL << 50);  // 1 PiB: the cap itself
  EXPECT_FALSE(parse_bytes("1025T"));
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
