// The NVML backend against tests/fakes/fake_nvml.cpp (an H100 with MIG enabled, fixed
// telemetry): discovery, telemetry in DCGM units, a lost GPU, and MIG instances created,
// handed to clients and destroyed, with foreign and stale instances.
#include <dlfcn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>

#include "gpu/mig/mig_profiles.hpp"
#include "gpu/nvml/nvml_api.hpp"
#include "gpu/nvml/nvml_backend.hpp"

namespace colo {
namespace {
namespace fs = std::filesystem;

// The fake's own entry points, for arranging instances behind colo's back.
struct Fake {
  void* h = ::dlopen(FAKE_NVML_PATH, RTLD_NOW | RTLD_LOCAL);
  template <typename F>
  F* fn(const char* name) {
    return reinterpret_cast<F*>(::dlsym(h, name));
  }
  void reset() { fn<void()>("fake_nvml_reset")(); }
  // GPU instances on GPU 0 (any profile colo knows).
  int count() {
    int n = 0;
    auto get = fn<nvml::Return(nvml::Device, unsigned int, nvml::GpuInstance*, unsigned int*)>(
        "nvmlDeviceGetGpuInstances");
    nvml::Device d = nullptr;
    fn<nvml::Return(unsigned int, nvml::Device*)>("nvmlDeviceGetHandleByIndex_v2")(0, &d);
    for (unsigned int id : {19U, 14U, 9U, 5U, 0U, 15U}) {
      nvml::GpuInstance buf[8];
      unsigned int k = 8;
      if (get(d, id, buf, &k) == nvml::k_success) {
        n += static_cast<int>(k);
      }
    }
    return n;
  }
  // Creates a GPU instance of profile id `id` at `start` directly (someone else's instance).
  unsigned int create(unsigned int id, unsigned int start, unsigned int size) {
    nvml::Device d = nullptr;
    fn<nvml::Return(unsigned int, nvml::Device*)>("nvmlDeviceGetHandleByIndex_v2")(0, &d);
    nvml::GpuInstancePlacement p{start, size};
    nvml::GpuInstance gi = nullptr;
    EXPECT_EQ((fn<nvml::Return(nvml::Device, unsigned int, const nvml::GpuInstancePlacement*,
                               nvml::GpuInstance*)>("nvmlDeviceCreateGpuInstanceWithPlacement")(
                  d, id, &p, &gi)),
              nvml::k_success);
    nvml::GpuInstanceInfo info{};
    fn<nvml::Return(nvml::GpuInstance, nvml::GpuInstanceInfo*)>("nvmlGpuInstanceGetInfo")(gi,
                                                                                          &info);
    return info.id;
  }
};

class NvmlFake : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_NE(fake.h, nullptr) << ::dlerror();
    state = fs::temp_directory_path() / ("colo-nvml-fake-" + std::to_string(::getpid()));
    fs::remove_all(state);
    ::setenv("COLO_STATE_DIR", state.c_str(), 1);
    for (const char* v :
         {"FAKE_NVML_MIG", "FAKE_NVML_LOST", "FAKE_NVML_NO_PERMISSION", "FAKE_NVML_STATE",
          "FAKE_NVML_GPUS", "FAKE_NVML_NAME", "FAKE_NVML_NO_MIG_INFO"}) {
      ::unsetenv(v);
    }
    fake.reset();
  }
  void TearDown() override {
    fake.reset();
    fs::remove_all(state);
  }
  std::unique_ptr<NvmlBackend> backend() {
    auto b = NvmlBackend::create(FAKE_NVML_PATH);
    EXPECT_TRUE(b) << b.error().what();
    return b ? std::move(*b) : nullptr;
  }
  static ModeSettings mig(std::vector<std::string> layout) {
    ModeSettings m;
    m.kind = ModeKind::mig;
    m.mig_layout = std::move(layout);
    return m;
  }
  static ClientPlan client(const std::string& profile) {
    ClientPlan c;
    c.workload = "w";
    c.mig_profile = profile;
    return c;
  }
  Fake fake;
  fs::path state;
};

TEST_F(NvmlFake, DiscoversTheDevice) {
  auto b = backend();
  auto d = b->devices();
  ASSERT_TRUE(d);
  ASSERT_EQ(d->size(), 1U);
  EXPECT_EQ((*d)[0].name, "NVIDIA H100 80GB HBM3");
  EXPECT_EQ((*d)[0].uuid.rfind("GPU-", 0), 0U);
  EXPECT_EQ((*d)[0].memory_bytes, 80ULL << 30);
  EXPECT_EQ((*d)[0].mig_mode, "enabled");
  EXPECT_EQ((*d)[0].compute_mode, "default");
  EXPECT_EQ((*d)[0].driver_version, "580.0-fake");
  EXPECT_FALSE((*d)[0].simulated);
}

TEST_F(NvmlFake, TelemetryUsesDcgmNamesAndUnits) {
  auto b = backend();
  auto m = b->sample(0);
  ASSERT_TRUE(m) << m.error().what();
  std::map<std::string, double> v;
  for (const auto& x : *m) {
    v[x.name] = x.value;
  }
  EXPECT_DOUBLE_EQ(v.at("DCGM_FI_DEV_POWER_USAGE"), 123.456);  // mW -> W
  EXPECT_DOUBLE_EQ(v.at("DCGM_FI_DEV_FB_USED"), 1024.0);       // bytes -> MiB
  EXPECT_DOUBLE_EQ(v.at("DCGM_FI_DEV_GPU_UTIL"), 42.0);
  EXPECT_DOUBLE_EQ(v.at("DCGM_FI_DEV_SM_CLOCK"), 1980.0);
  EXPECT_EQ(v.count("DCGM_FI_PROF_SM_ACTIVE"), 0U);  // the fake has no GPM: left out
  EXPECT_GT(v.at("DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION"), 0.0);
  // The energy counter (slow to read on real drivers) is read at most once a second.
  auto m2 = b->sample(0);
  ASSERT_TRUE(m2);
  for (const auto& x : *m2) {
    EXPECT_NE(x.name, "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION");
  }
}

TEST_F(NvmlFake, LostGpuIsAnErrorValue) {
  auto b = backend();
  ::setenv("FAKE_NVML_LOST", "1", 1);
  auto m = b->sample(0);
  ::unsetenv("FAKE_NVML_LOST");
  ASSERT_FALSE(m);
  EXPECT_NE(m.error().what().find("stopped answering"), std::string::npos) << m.error().what();
  EXPECT_NE(m.error().what().find("GPU is lost"), std::string::npos) << m.error().what();
}

TEST_F(NvmlFake, MissingLibraryIsAnErrorValue) {
  auto b = NvmlBackend::create("/nonexistent/libnvidia-ml.so.1");
  ASSERT_FALSE(b);
  EXPECT_NE(b.error().what().find("cannot load"), std::string::npos);
}

TEST_F(NvmlFake, MigLayoutIsCreatedHandedOutAndDestroyed) {
  auto b = backend();
  const auto mode = mig({"3g.40gb", "2g.20gb", "1g.10gb"});
  ASSERT_TRUE(b->check_mode(mode, {0})) << b->check_mode(mode, {0}).error().what();
  auto s = b->begin_mode(mode, {0}, state.string());
  ASSERT_TRUE(s) << s.error().what();
  EXPECT_EQ(fake.count(), 3);
  std::set<std::string> uuids;
  for (int i = 0; i < 3; ++i) {
    auto env = (*s)->client_env(client(mode.mig_layout[static_cast<std::size_t>(i)]), i);
    EXPECT_EQ(env.at("CUDA_VISIBLE_DEVICES").rfind("MIG-", 0), 0U);
    EXPECT_EQ(env.at("COLO_MIG_PROFILE"), mode.mig_layout[static_cast<std::size_t>(i)]);
    uuids.insert(env.at("CUDA_VISIBLE_DEVICES"));
  }
  EXPECT_EQ(uuids.size(), 3U);
  EXPECT_TRUE(fs::exists(state / "mig-GPU-fa4e0000-0000-0000-0000-000000000000.json"));
  ASSERT_TRUE((*s)->end());
  EXPECT_EQ(fake.count(), 0);
  EXPECT_FALSE(fs::exists(state / "mig-GPU-fa4e0000-0000-0000-0000-000000000000.json"));
}

TEST_F(NvmlFake, UnplaceableLayoutIsRefusedBeforeAnythingIsCreated) {
  auto b = backend();
  auto st = b->check_mode(mig({"4g.40gb", "4g.40gb"}), {0});
  ASSERT_FALSE(st);
  EXPECT_EQ(fake.count(), 0);
}

TEST_F(NvmlFake, ForeignInstancesAreLeftAloneAndTheRunRefused) {
  const auto theirs = fake.create(19, 6, 1);  // 1g.10gb at slice 6
  (void)theirs;
  auto b = backend();
  auto s = b->begin_mode(mig({"3g.40gb"}), {0}, state.string());
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().what().find("already has MIG instances (1g.10gb at slice 6)"),
            std::string::npos)
      << s.error().what();
  EXPECT_EQ(fake.count(), 1);
}

TEST_F(NvmlFake, StaleInstancesOfADeadColoAreRemoved) {
  const pid_t dead = ::fork();
  if (dead == 0) {
    ::_exit(0);
  }
  ::waitpid(dead, nullptr, 0);
  const auto gi = fake.create(9, 0, 4);  // 3g.40gb at slice 0, "left by a crashed colo"
  fs::create_directories(state);
  std::ofstream(state / "mig-GPU-fa4e0000-0000-0000-0000-000000000000.json")
      << "{\"pid\": " << dead << ", \"instances\": [{\"profile\": \"3g.40gb\", \"start\": 0, "
      << "\"gi\": " << gi << "}]}";
  auto b = backend();
  auto s = b->begin_mode(mig({"4g.40gb", "3g.40gb"}), {0}, state.string());
  ASSERT_TRUE(s) << s.error().what();
  EXPECT_EQ(fake.count(), 2);
  ASSERT_TRUE((*s)->end());
  EXPECT_EQ(fake.count(), 0);
}

TEST_F(NvmlFake, InstancesOfALiveColoAreNotTouched) {
  const auto gi = fake.create(9, 0, 4);
  fs::create_directories(state);
  std::ofstream(state / "mig-GPU-fa4e0000-0000-0000-0000-000000000000.json")
      << "{\"pid\": " << ::getppid() << ", \"instances\": [{\"profile\": \"3g.40gb\", "
      << "\"start\": 0, \"gi\": " << gi << "}]}";
  auto b = backend();
  auto s = b->begin_mode(mig({"3g.40gb"}), {0}, state.string());
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().what().find("running colo"), std::string::npos) << s.error().what();
  EXPECT_EQ(fake.count(), 1);
}

TEST_F(NvmlFake, PermissionErrorNamesTheStepAndLeavesNothing) {
  ::setenv("FAKE_NVML_NO_PERMISSION", "1", 1);
  auto b = backend();
  auto s = b->begin_mode(mig({"3g.40gb", "3g.40gb"}), {0}, state.string());
  ::unsetenv("FAKE_NVML_NO_PERMISSION");
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().what().find("creating MIG instance 3g.40gb at slice 0"), std::string::npos)
      << s.error().what();
  EXPECT_NE(s.error().what().find("Insufficient Permissions"), std::string::npos);
  EXPECT_EQ(fake.count(), 0);
}

TEST_F(NvmlFake, MigDisabledSuggestsMigEquivalent) {
  ::setenv("FAKE_NVML_MIG", "0", 1);
  auto b = backend();
  auto st = b->check_mode(mig({"3g.40gb", "3g.40gb"}), {0});
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().what().find("mig-equivalent"), std::string::npos) << st.error().what();
}

TEST_F(NvmlFake, LayoutIsSplitOverSeveralGpus) {
  ::setenv("FAKE_NVML_GPUS", "2", 1);
  auto b = backend();
  // Clients 0, 2 on GPU 0 (4g + 3g), clients 1, 3 on GPU 1 (4g + 3g).
  const auto mode = mig({"4g.40gb", "4g.40gb", "3g.40gb", "3g.40gb"});
  ASSERT_TRUE(b->check_mode(mode, {0, 1}));
  auto s = b->begin_mode(mode, {0, 1}, state.string());
  ASSERT_TRUE(s) << s.error().what();
  std::set<std::string> uuids;
  for (int i = 0; i < 4; ++i) {
    uuids.insert((*s)->client_env(client(mode.mig_layout[static_cast<std::size_t>(i)]), i)
                     .at("CUDA_VISIBLE_DEVICES"));
  }
  EXPECT_EQ(uuids.size(), 4U);
  ASSERT_TRUE((*s)->end());
  ::unsetenv("FAKE_NVML_GPUS");
}

TEST_F(NvmlFake, MigTableIsReadFromTheDriverAndMatchesTheShippedOne) {
  auto b = backend();
  auto t = b->mig_table(0);
  ASSERT_TRUE(t) << t.error().what();
  const auto shipped = *mig_profiles_for("NVIDIA H100 80GB HBM3");
  ASSERT_EQ(t->size(), 6U);  // the fake's profiles (no +me)
  for (const auto& p : *t) {
    auto q = find_mig_profile(shipped, p.name);
    ASSERT_TRUE(q) << p.name;
    EXPECT_EQ(p.id, q->id) << p.name;
    EXPECT_EQ(p.sm_slices, q->sm_slices) << p.name;
    EXPECT_EQ(p.mem_slices, q->mem_slices) << p.name;  // from the placements' size
    EXPECT_EQ(p.starts, q->starts) << p.name;
    EXPECT_EQ(p.max_count, q->max_count) << p.name;
    EXPECT_EQ(p.sms, q->sms) << p.name;
    EXPECT_EQ(p.memory_bytes, q->memory_bytes) << p.name;
  }
}

TEST_F(NvmlFake, UnknownModelRunsOnTheDriversTable) {
  ::setenv("FAKE_NVML_NAME", "NVIDIA Z100 96GB", 1);
  ::setenv("FAKE_NVML_MIG", "0", 1);  // the driver lists profiles with MIG disabled too
  auto b = backend();
  ModeSettings eq;
  eq.kind = ModeKind::mig_equivalent;
  eq.mig_layout = {"4g.40gb", "3g.40gb"};
  EXPECT_TRUE(b->check_mode(eq, {0}));
  eq.mig_layout = {"4g.40gb", "4g.40gb"};
  auto st = b->check_mode(eq, {0});
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().what().find("at most 1"), std::string::npos) << st.error().what();
}

TEST_F(NvmlFake, UnknownModelWithoutDriverTableIsRefusedNamingTheKnownModels) {
  ::setenv("FAKE_NVML_NAME", "NVIDIA Z100 96GB", 1);
  ::setenv("FAKE_NVML_NO_MIG_INFO", "1", 1);
  auto b = backend();
  auto st = b->check_mode(mig({"3g.40gb"}), {0});
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, ErrorCode::unsupported);
  EXPECT_NE(st.error().what().find("no MIG profile table for 'NVIDIA Z100 96GB'"),
            std::string::npos)
      << st.error().what();
  EXPECT_NE(st.error().what().find("H200 141GB"), std::string::npos) << st.error().what();
}

TEST_F(NvmlFake, ShippedTableIsTheFallbackWhenTheDriverListsNone) {
  ::setenv("FAKE_NVML_NAME", "NVIDIA H200", 1);
  ::setenv("FAKE_NVML_NO_MIG_INFO", "1", 1);
  auto b = backend();
  auto t = b->mig_table(0);
  ASSERT_TRUE(t) << t.error().what();
  EXPECT_TRUE(find_mig_profile(*t, "3g.71gb"));
  ModeSettings eq;
  eq.kind = ModeKind::mig_equivalent;
  eq.mig_layout = {"4g.71gb", "2g.35gb", "1g.18gb"};
  EXPECT_TRUE(b->check_mode(eq, {0}));
  // With the driver's table available, its names win (the fake reports H100 names).
  ::unsetenv("FAKE_NVML_NO_MIG_INFO");
  auto b2 = backend();
  auto t2 = b2->mig_table(0);
  ASSERT_TRUE(t2);
  EXPECT_TRUE(find_mig_profile(*t2, "3g.40gb"));
}

}  // namespace
}  // namespace colo
