#include "core/os.hpp"

#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

namespace colo {
namespace {

bool has(const std::vector<std::string>& env, const std::string& entry) {
  return std::find(env.begin(), env.end(), entry) != env.end();
}

TEST(Os, MergedEnvironmentOverridesAndAdds) {
  ::setenv("COLO_OS_TEST_KEEP", "1", 1);
  ::setenv("COLO_OS_TEST_REPLACE", "old", 1);
  const auto env =
      merged_environment({{"COLO_OS_TEST_REPLACE", "new"}, {"COLO_OS_TEST_ADD", "a=b"}});
  EXPECT_TRUE(has(env, "COLO_OS_TEST_KEEP=1"));
  EXPECT_TRUE(has(env, "COLO_OS_TEST_REPLACE=new"));
  EXPECT_FALSE(has(env, "COLO_OS_TEST_REPLACE=old"));
  EXPECT_TRUE(has(env, "COLO_OS_TEST_ADD=a=b"));
  EXPECT_EQ(
      std::count_if(env.begin(), env.end(),
                    [](const std::string& e) { return e.rfind("COLO_OS_TEST_REPLACE=", 0) == 0; }),
      1);
}

TEST(Os, ProcessEnvironmentReadsProcAndIsEmptyForAGoneProcess) {
  ::setenv("COLO_OS_TEST_SELF", "x", 1);  // /proc shows the environment at exec, not setenv's
  const auto self = process_environment(::getpid());
  ASSERT_FALSE(self.empty());
  EXPECT_TRUE(std::any_of(self.begin(), self.end(),
                          [](const std::string& e) { return e.find('=') != std::string::npos; }));
  EXPECT_TRUE(process_environment(0x3fffffff).empty());
}

TEST(Os, CStringsAreNullTerminatedViews) {
  std::vector<std::string> v{"a", "bc"};
  const auto p = c_strings(v);
  ASSERT_EQ(p.size(), 3U);
  EXPECT_STREQ(p[0], "a");
  EXPECT_STREQ(p[1], "bc");
  EXPECT_EQ(p[2], nullptr);
}

}  // namespace
}  // namespace colo
