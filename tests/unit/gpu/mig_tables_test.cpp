// The shipped MIG tables of every model (mig_profiles.hpp): self-consistent, the layouts NVIDIA
// documents fit, impossible ones are refused, and NVML device names find the right table.
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <set>

#include "gpu/mig/mig_profiles.hpp"

namespace colo {
namespace {

std::vector<std::string> repeat(const std::string& name, int n) {
  return std::vector<std::string>(static_cast<std::size_t>(n), name);
}

// The profile of `table` with `sm` compute and `mem` memory slices and no "+me" suffix.
std::string plain(const std::vector<MigProfile>& table, int sm, int mem) {
  for (const auto& p : table) {
    if (p.sm_slices == sm && p.mem_slices == mem && p.name.find('+') == std::string::npos) {
      return p.name;
    }
  }
  return "";
}

// Checks a placement result against the table: allowed starts, no overlap, in range.
void expect_valid(const std::vector<MigProfile>& table, const std::vector<MigPlacement>& placed) {
  std::vector<bool> used(static_cast<std::size_t>(mig_mem_slices(table)), false);
  for (const auto& pl : placed) {
    auto p = find_mig_profile(table, pl.profile);
    ASSERT_TRUE(p);
    EXPECT_NE(std::find(p->starts.begin(), p->starts.end(), pl.start), p->starts.end());
    for (int k = pl.start; k < pl.start + p->mem_slices; ++k) {
      ASSERT_LT(static_cast<std::size_t>(k), used.size());
      EXPECT_FALSE(used[static_cast<std::size_t>(k)]) << "overlap at slice " << k;
      used[static_cast<std::size_t>(k)] = true;
    }
  }
}

class EveryModel : public ::testing::TestWithParam<std::size_t> {
 protected:
  const MigModel& model() const { return mig_models().at(GetParam()); }
};

TEST_P(EveryModel, TableIsConsistentAndCitesItsSource) {
  const auto& m = model();
  EXPECT_FALSE(m.source.empty());
  const int sm = mig_sm_slices(m.profiles);
  const int mem = mig_mem_slices(m.profiles);
  EXPECT_TRUE((sm == 7 && mem == 8) || (sm == 4 && mem == 4)) << m.model;
  std::set<std::string> names;
  std::set<int> ids;
  for (const auto& p : m.profiles) {
    EXPECT_TRUE(names.insert(p.name).second) << p.name;
    EXPECT_TRUE(ids.insert(p.id).second) << p.name;
    EXPECT_EQ(p.name.rfind(std::to_string(p.sm_slices) + "g.", 0), 0U) << p.name;
    EXPECT_GT(p.memory_bytes, 0U) << p.name;
    EXPECT_GE(p.max_count, 1) << p.name;
    EXPECT_LE(p.max_count, static_cast<int>(p.starts.size())) << p.name;
    for (int s : p.starts) {
      EXPECT_LE(s + p.mem_slices, mem) << p.name;
    }
    // Every profile fits alone, and one more than its max count never does.
    auto one = place_mig_layout(m.profiles, {p.name});
    ASSERT_TRUE(one) << one.error().message;
    expect_valid(m.profiles, *one);
    EXPECT_FALSE(place_mig_layout(m.profiles, repeat(p.name, p.max_count + 1))) << p.name;
  }
  // More memory on a bigger instance of the same card.
  auto big = find_mig_profile(m.profiles, plain(m.profiles, sm, mem));
  auto small = find_mig_profile(m.profiles, plain(m.profiles, 1, 1));
  ASSERT_TRUE(big);
  ASSERT_TRUE(small);
  EXPECT_GT(big->memory_bytes, small->memory_bytes);
}

TEST_P(EveryModel, DocumentedLayoutsFitAndImpossibleOnesDoNot) {
  const auto& t = model().profiles;
  const int sm = mig_sm_slices(t);
  const std::string g1 = plain(t, 1, 1);
  ASSERT_FALSE(g1.empty());
  // As many 1g instances as compute slices (7; A30: 4), and not one more.
  auto all_1g = place_mig_layout(t, repeat(g1, sm));
  ASSERT_TRUE(all_1g) << all_1g.error().message;
  expect_valid(t, *all_1g);
  EXPECT_FALSE(place_mig_layout(t, repeat(g1, sm + 1)));
  const std::string full = plain(t, sm, mig_mem_slices(t));
  ASSERT_TRUE(place_mig_layout(t, {full}));
  EXPECT_FALSE(place_mig_layout(t, {full, g1}));
  if (sm == 7) {
    const std::string g2 = plain(t, 2, 2);
    const std::string g3 = plain(t, 3, 4);
    const std::string g4 = plain(t, 4, 4);
    for (const auto& layout : std::vector<std::vector<std::string>>{
             {g4, g3}, {g3, g3}, {g2, g2, g2}, {g4, g2, g1}, {g3, g2, g1, g1}, {g3, g2, g2}}) {
      auto r = place_mig_layout(t, layout);
      ASSERT_TRUE(r) << model().model << ": " << r.error().message;
      expect_valid(t, *r);
    }
    EXPECT_FALSE(place_mig_layout(t, {g4, g4}));
    EXPECT_FALSE(place_mig_layout(t, {g3, g3, g1}));  // no memory slice left
    EXPECT_FALSE(
        place_mig_layout(t, {plain(t, 1, 2), plain(t, 1, 2), plain(t, 1, 2), plain(t, 1, 2), g1}));
  } else {
    const std::string g2 = plain(t, 2, 2);
    EXPECT_TRUE(place_mig_layout(t, {g2, g2}));
    EXPECT_TRUE(place_mig_layout(t, {g2, g1, g1}));
    EXPECT_FALSE(place_mig_layout(t, {plain(t, 4, 4), g1}));
  }
}

INSTANTIATE_TEST_SUITE_P(Models, EveryModel, ::testing::Range<std::size_t>(0, 10),
                         [](const ::testing::TestParamInfo<std::size_t>& i) {
                           std::string n = mig_models().at(i.param).model;
                           std::replace_if(
                               n.begin(), n.end(),
                               [](char c) { return !std::isalnum(static_cast<unsigned char>(c)); },
                               '_');
                           return n;
                         });

TEST(MigModels, TenTablesShipped) {
  EXPECT_EQ(mig_models().size(), 10U);  // keep INSTANTIATE_TEST_SUITE_P's range in step
}

struct NameCase {
  const char* nvml_name;
  const char* model;  // prefix of MigModel::model; nullptr = unknown
  const char* full_profile;
};

class NvmlNames : public ::testing::TestWithParam<NameCase> {};

TEST_P(NvmlNames, FindTheirTable) {
  const auto& c = GetParam();
  const auto* m = mig_model_for(c.nvml_name);
  if (!c.model) {
    EXPECT_EQ(m, nullptr) << m->model;
    auto r = mig_profiles_for(c.nvml_name);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ErrorCode::unsupported);
    EXPECT_NE(r.error().message.find(c.nvml_name), std::string::npos);
    EXPECT_NE(r.error().message.find("H200 141GB"), std::string::npos);  // names the known
    return;
  }
  ASSERT_NE(m, nullptr) << c.nvml_name;
  EXPECT_EQ(m->model.rfind(c.model, 0), 0U) << c.nvml_name << " -> " << m->model;
  auto t = mig_profiles_for(c.nvml_name);
  ASSERT_TRUE(t);
  EXPECT_TRUE(find_mig_profile(*t, c.full_profile)) << c.nvml_name;
}

INSTANTIATE_TEST_SUITE_P(
    Names, NvmlNames,
    ::testing::Values(NameCase{"NVIDIA A30", "A30", "4g.24gb"},
                      NameCase{"NVIDIA A100-SXM4-40GB", "A100 40GB", "7g.40gb"},
                      NameCase{"A100-SXM4-40GB", "A100 40GB", "7g.40gb"},
                      NameCase{"NVIDIA A100-PCIE-40GB", "A100 40GB", "7g.40gb"},
                      NameCase{"NVIDIA A100-SXM4-80GB", "A100 80GB", "7g.80gb"},
                      NameCase{"NVIDIA A100 80GB PCIe", "A100 80GB", "7g.80gb"},
                      NameCase{"NVIDIA H100 80GB HBM3", "H100 80GB HBM3", "7g.80gb"},
                      NameCase{"NVIDIA H100 PCIe", "H100 80GB PCIe", "7g.80gb"},
                      NameCase{"NVIDIA H100 NVL", "H100 94GB", "7g.94gb"},
                      NameCase{"NVIDIA H100 SXM5 94GB", "H100 94GB", "3g.47gb"},
                      NameCase{"NVIDIA GH200 480GB", "H100 96GB", "7g.96gb"},
                      NameCase{"NVIDIA GH200 144G HBM3e", "GH200 144GB", "7g.144gb"},
                      NameCase{"NVIDIA H20", "H100 96GB", "3g.48gb"},
                      NameCase{"NVIDIA H200", "H200 141GB", "7g.141gb"},
                      NameCase{"NVIDIA H200 NVL", "H200 141GB", "3g.71gb"},
                      NameCase{"NVIDIA B200", "B200 180GB", "7g.180gb"},
                      NameCase{"NVIDIA A100", nullptr, ""},  // memory unknown
                      NameCase{"Tesla T4", nullptr, ""}, NameCase{"NVIDIA H2000", nullptr, ""},
                      NameCase{"NVIDIA GB200", nullptr, ""}));

TEST(MigTables, H200LayoutsOfTheBenchSpecs) {
  auto t = *mig_profiles_for("NVIDIA H200");
  for (const auto& layout : std::vector<std::vector<std::string>>{repeat("2g.35gb", 3),
                                                                  {"4g.71gb", "2g.35gb", "1g.18gb"},
                                                                  repeat("3g.71gb", 2),
                                                                  repeat("1g.18gb", 7)}) {
    auto r = place_mig_layout(t, layout);
    ASSERT_TRUE(r) << r.error().message;
    expect_valid(t, *r);
  }
  // H100 names are not H200 profiles.
  auto wrong = place_mig_layout(t, {"3g.40gb"});
  ASSERT_FALSE(wrong);
  EXPECT_NE(wrong.error().message.find("3g.71gb"), std::string::npos);  // lists the known
}

TEST(MigTables, UnknownSmsAreEstimatedFromTheSlices) {
  auto t = *mig_profiles_for("NVIDIA B200");
  auto p = *find_mig_profile(t, "3g.90gb");
  EXPECT_EQ(p.sms, 0);  // not documented
  const auto e = mps_equivalent(p, 148);
  EXPECT_EQ(e.sms, 148 * 3 / 7);
  EXPECT_EQ(e.thread_percent, 43);  // ceil(63 / 148 * 100)
}

}  // namespace
}  // namespace colo
