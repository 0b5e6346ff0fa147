#include "doctor/doctor.hpp"

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <optional>

#include "store/store.hpp"

namespace colo {
namespace {

namespace fs = std::filesystem;

const Check* find(const std::vector<Check>& checks, const std::string& name,
                  std::optional<CheckLevel> level = std::nullopt) {
  for (const auto& c : checks) {
    if (c.name == name && (!level || c.level == *level)) {
      return &c;
    }
  }
  return nullptr;
}

class Doctor : public ::testing::Test {
 protected:
  void SetUp() override {
    m_dir = fs::temp_directory_path() /
            ("colo-doctor-" + std::to_string(::getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(m_dir);
    fs::create_directories(m_dir / "root");
    fs::permissions(m_dir, fs::perms::owner_all);
    m_opts.root = (m_dir / "root").string();
    m_opts.results_dir = (m_dir / "results").string();
    m_opts.nvml_library = "/nonexistent/libnvidia-ml.so.1";
    m_opts.mps_control = "colo-no-such-mps-control";
    m_opts.mps_server = "colo-no-such-mps-server";
  }
  void TearDown() override { fs::remove_all(m_dir); }

  void fake_driver() {
    fs::create_directories(m_dir / "root/proc/driver/nvidia");
    std::ofstream(m_dir / "root/proc/driver/nvidia/version")
        << "NVRM version: NVIDIA UNIX x86_64 Kernel Module  550.54.15\n";
  }

  fs::path m_dir;
  DoctorOptions m_opts;
};

TEST_F(Doctor, WithoutAGpuSaysSoAndIsNotAFailure) {
  const auto checks = run_doctor(m_opts);
  const auto* drv = find(checks, "driver", CheckLevel::info);
  ASSERT_NE(drv, nullptr);
  EXPECT_NE(drv->detail.find("no NVIDIA driver"), std::string::npos);
  EXPECT_NE(drv->detail.find("simulated GPU"), std::string::npos);
  EXPECT_NE(find(checks, "nvml", CheckLevel::info), nullptr);
  EXPECT_NE(find(checks, "mps-binaries", CheckLevel::info), nullptr);
  EXPECT_NE(find(checks, "store", CheckLevel::info), nullptr) << "no store yet is not a problem";
  EXPECT_NE(find(checks, "cgroup"), nullptr);
  // The exit code says whether anything failed, and nothing GPU-related does here.
  const bool any_fail = std::any_of(checks.begin(), checks.end(),
                                    [](const Check& c) { return c.level == CheckLevel::fail; });
  EXPECT_EQ(doctor_exit_code(checks), any_fail ? 1 : 0) << render_checks(checks);
  const std::string text = render_checks(checks);
  EXPECT_NE(text.find("info  driver: no NVIDIA driver"), std::string::npos) << text;
}

TEST_F(Doctor, FakeNvmlListsTheGpuAndMissingMpsToolsAreAWarningWithAFix) {
  fake_driver();
  m_opts.nvml_library = FAKE_NVML_PATH;
  const auto checks = run_doctor(m_opts);
  const auto* drv = find(checks, "driver", CheckLevel::ok);
  ASSERT_NE(drv, nullptr);
  EXPECT_NE(drv->detail.find("550.54.15"), std::string::npos);
  const auto* nvml = find(checks, "nvml", CheckLevel::ok);
  ASSERT_NE(nvml, nullptr) << render_checks(checks);
  EXPECT_NE(nvml->detail.find("H100"), std::string::npos) << nvml->detail;
  const auto* mps = find(checks, "mps-binaries", CheckLevel::warn);
  ASSERT_NE(mps, nullptr);
  EXPECT_NE(mps->detail.find("colo-no-such-mps-control"), std::string::npos);
  EXPECT_FALSE(mps->fix.empty());
}

TEST_F(Doctor, DriverWithoutNvmlIsAFailureAndTheExitCodeSaysSo) {
  fake_driver();
  const auto checks = run_doctor(m_opts);
  const auto* nvml = find(checks, "nvml", CheckLevel::fail);
  ASSERT_NE(nvml, nullptr) << render_checks(checks);
  EXPECT_NE(nvml->fix.find("libnvidia-ml.so.1"), std::string::npos);
  EXPECT_EQ(doctor_exit_code(checks), 1);
  EXPECT_NE(render_checks(checks).find("      fix: install the NVML library"), std::string::npos);
}

TEST_F(Doctor, StoreIntegrityIsChecked) {
  fs::create_directories(m_opts.results_dir);
  fs::permissions(m_opts.results_dir, fs::perms::owner_all);
  {
    auto s = Store::open(m_opts.results_dir + "/colo.db");
    ASSERT_TRUE(s) << s.error().what();
  }
  fs::permissions(m_opts.results_dir + "/colo.db", fs::perms::owner_read | fs::perms::owner_write);
  auto checks = run_doctor(m_opts);
  const auto* ok = find(checks, "store", CheckLevel::ok);
  ASSERT_NE(ok, nullptr) << render_checks(checks);
  EXPECT_NE(ok->detail.find("integrity_check ok"), std::string::npos);

  // Garbage where the store should be.
  fs::remove(m_opts.results_dir + "/colo.db");
  std::ofstream(m_opts.results_dir + "/colo.db") << std::string(8192, 'z');
  checks = run_doctor(m_opts);
  const auto* bad = find(checks, "store", CheckLevel::fail);
  ASSERT_NE(bad, nullptr) << render_checks(checks);
  EXPECT_FALSE(bad->fix.empty());
  EXPECT_EQ(doctor_exit_code(checks), 1);
}

TEST_F(Doctor, ResultsOpenToOthersAreReported) {
  fs::create_directories(m_opts.results_dir);
  fs::permissions(m_opts.results_dir, fs::perms::all);  // 0777
  auto checks = run_doctor(m_opts);
  const Check* perm = nullptr;
  for (const auto& c : checks) {
    if (c.name == "permissions" && c.detail.find(m_opts.results_dir) != std::string::npos) {
      perm = &c;
    }
  }
  ASSERT_NE(perm, nullptr) << render_checks(checks);
  EXPECT_EQ(perm->level, CheckLevel::fail);
  EXPECT_NE(perm->detail.find("writable by others"), std::string::npos);
  EXPECT_NE(perm->fix.find("chmod -R go-rwx"), std::string::npos);
  EXPECT_EQ(doctor_exit_code(checks), 1);
  fs::permissions(m_opts.results_dir, fs::perms::owner_all);
  checks = run_doctor(m_opts);
  for (const auto& c : checks) {
    EXPECT_FALSE(c.name == "permissions" && c.detail.find(m_opts.results_dir) != std::string::npos)
        << c.detail;
  }
}

TEST_F(Doctor, StaleMpsDaemonOfADeadColoIsAFailureWithAFix) {
  // A process that looks like an MPS daemon colo started (comm, COLO_MPS_OWNER) for a colo pid
  // that no longer exists.
  const pid_t dead = ::fork();
  if (dead == 0) {
    ::_exit(0);
  }
  ::waitpid(dead, nullptr, 0);
  const auto fake = m_dir / "nvidia-cuda-mps-control";
  fs::create_symlink("/bin/sleep", fake);
  const pid_t pid = ::fork();
  if (pid == 0) {
    const std::string owner = "COLO_MPS_OWNER=" + std::to_string(dead);
    const std::string pipe = "CUDA_MPS_PIPE_DIRECTORY=" + (m_dir / "pipe").string();
    char* const argv[] = {const_cast<char*>(fake.c_str()), const_cast<char*>("30"), nullptr};
    char* const envp[] = {const_cast<char*>(owner.c_str()), const_cast<char*>(pipe.c_str()),
                          nullptr};
    ::execve(fake.c_str(), argv, envp);
    ::_exit(127);
  }
  // Wait until it has exec'd (its comm changes).
  for (int i = 0; i < 200; ++i) {
    std::ifstream comm("/proc/" + std::to_string(pid) + "/comm");
    std::string c;
    std::getline(comm, c);
    if (c.rfind("nvidia-cuda-mps", 0) == 0) {
      break;
    }
    ::usleep(5000);
  }
  const auto checks = run_doctor(m_opts);
  ::kill(pid, SIGKILL);
  ::waitpid(pid, nullptr, 0);
  const Check* stale = nullptr;
  for (const auto& c : checks) {
    if (c.name == "mps-daemons" && c.detail.find(std::to_string(pid)) != std::string::npos) {
      stale = &c;
    }
  }
  ASSERT_NE(stale, nullptr) << render_checks(checks);
  EXPECT_EQ(stale->level, CheckLevel::fail);
  EXPECT_NE(stale->detail.find("which is gone"), std::string::npos);
  EXPECT_NE(stale->fix.find("quit"), std::string::npos);
  EXPECT_EQ(doctor_exit_code(checks), 1);
}

}  // namespace
}  // namespace colo
