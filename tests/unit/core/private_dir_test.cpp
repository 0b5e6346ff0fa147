#include "core/private_dir.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace colo {
namespace {

namespace fs = std::filesystem;

unsigned mode_of(const fs::path& p) {
  struct stat st{};
  EXPECT_EQ(::stat(p.c_str(), &st), 0) << p;
  return st.st_mode & 0777;
}

class PrivateDir : public ::testing::Test {
 protected:
  void SetUp() override {
    m_dir = fs::temp_directory_path() /
            ("colo-private-" + std::to_string(::getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(m_dir);
    fs::create_directories(m_dir);
  }
  void TearDown() override { fs::remove_all(m_dir); }
  fs::path m_dir;
};

TEST_F(PrivateDir, CreatesEveryMissingLevel0700WhateverTheUmask) {
  const mode_t old = ::umask(0);
  const auto deep = m_dir / "a" / "b" / "c";
  auto st = create_private_dir(deep.string());
  ::umask(old);
  ASSERT_TRUE(st) << st.error().what();
  EXPECT_EQ(mode_of(m_dir / "a"), 0700U);
  EXPECT_EQ(mode_of(m_dir / "a" / "b"), 0700U);
  EXPECT_EQ(mode_of(deep), 0700U);
}

TEST_F(PrivateDir, FixesAnOpenDirectoryOfColosButKeepsTheUsersChoice) {
  const auto logs = m_dir / "logs";
  fs::create_directories(logs);
  ::chmod(logs.c_str(), 0777);
  ASSERT_TRUE(create_private_dir(logs.string()));
  EXPECT_EQ(mode_of(logs), 0700U);
  const auto chosen = m_dir / "results";
  fs::create_directories(chosen);
  ::chmod(chosen.c_str(), 0755);
  ASSERT_TRUE(create_private_dir(chosen.string(), ExistingDir::keep_mode));
  EXPECT_EQ(mode_of(chosen), 0755U);
}

TEST_F(PrivateDir, RefusesAFileAndADirectoryOfAnotherUser) {
  std::ofstream(m_dir / "file") << "x";
  auto st = create_private_dir((m_dir / "file").string());
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().what().find("not a directory"), std::string::npos);
  if (::geteuid() != 0) {
    GTEST_SKIP() << "needs root to give a directory to another user";
  }
  const auto theirs = m_dir / "theirs";
  fs::create_directories(theirs);
  ASSERT_EQ(::chown(theirs.c_str(), 65534, 65534), 0);
  st = create_private_dir(theirs.string());
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().what().find("belongs to uid 65534"), std::string::npos) << st.error().what();
}

TEST_F(PrivateDir, FilesBecome0600) {
  const auto f = m_dir / "colo.db";
  std::ofstream(f) << "x";
  ::chmod(f.c_str(), 0644);
  ASSERT_TRUE(make_private_file(f.string()));
  EXPECT_EQ(mode_of(f), 0600U);
  EXPECT_TRUE(make_private_file((m_dir / "missing").string()));
}

}  // namespace
}  // namespace colo
