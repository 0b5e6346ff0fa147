// colo compare's logic on known inputs: matched rows with copies pooled, Welch and paired
// tests, the identical-rerun case, the --fail-above gate, the differences, every format.
#include "report/compare.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "unit/report/run_records.hpp"

namespace colo {
namespace {

using test::run;
using test::wl;

// Three repetitions: solo a at `solo[r]`, two copies of a time-sliced at `pair[r]` each.
CompareSide side(ExperimentId id, std::vector<double> solo, std::vector<double> pair,
                 const std::string& spec = "name: x\nrepeat: 3\n") {
  ExperimentRecord e;
  e.id = id;
  e.name = "x";
  e.backend = "nvml";
  e.spec_yaml = spec;
  std::vector<RunData> runs;
  for (int r = 0; r < static_cast<int>(solo.size()); ++r) {
    runs.push_back(run(r, "solo", "a", {wl("a", 0, solo[r])}));
    runs.push_back(run(r, "timeslice", "ax2", {wl("a", 0, pair[r]), wl("a", 1, pair[r])}));
  }
  return {e, summarize(e, runs), R"({"gpu":"auto"})"};
}

const CompareRow* find(const Comparison& c, const std::string& kind) {
  for (const auto& r : c.rows) {
    if (r.kind == kind) {
      return &r;
    }
  }
  return nullptr;
}

TEST(Compare, IdenticalRerunIsWithinNoise) {
  auto a = side(1, {100, 100, 100}, {50, 50, 50});
  auto b = side(2, {100, 100, 100}, {50, 50, 50});
  auto c = compare(a, b);
  ASSERT_TRUE(c) << c.error().what();
  ASSERT_EQ(c->rows.size(), 3U);  // solo, collocated (copies pooled), speed-up
  for (const auto& r : c->rows) {
    EXPECT_FALSE(r.test.beyond_noise) << r.kind;
    EXPECT_EQ(verdict(r), "within noise (identical)") << r.kind;
    EXPECT_DOUBLE_EQ(*r.change_pct, 0.0);
  }
  EXPECT_EQ(find(*c, "collocated")->copies, 2);
  EXPECT_TRUE(regressions(*c, 0).empty());
  EXPECT_TRUE(c->differences.empty());
}

TEST(Compare, SlowerBeyondNoiseFailsTheGate) {
  auto a = side(1, {100, 102, 98}, {50, 51, 49});
  auto b = side(2, {80, 82, 78}, {40, 41, 39});
  auto c = compare(a, b);
  ASSERT_TRUE(c);
  const auto* solo = find(*c, "solo");
  ASSERT_NE(solo, nullptr);
  EXPECT_EQ(solo->test.kind, TestKind::welch);
  EXPECT_TRUE(solo->test.beyond_noise);
  EXPECT_NEAR(*solo->change_pct, -20.0, 1e-9);
  EXPECT_EQ(regressions(*c, 10).size(), 2U);  // solo and collocated; speed-up unchanged
  EXPECT_TRUE(regressions(*c, 25).empty());
  // B faster: never a regression.
  auto up = compare(b, a);
  EXPECT_TRUE(regressions(*up, 0).empty());
}

TEST(Compare, DropWithinNoiseDoesNotFailTheGate) {
  auto a = side(1, {100, 130, 70}, {50, 65, 35});
  auto b = side(2, {90, 120, 60}, {45, 60, 30});
  auto c = compare(a, b);
  ASSERT_TRUE(c);
  EXPECT_FALSE(find(*c, "solo")->test.beyond_noise);
  EXPECT_TRUE(regressions(*c, 5).empty());
}

TEST(Compare, PairedWhenAskedAndRepetitionsMatch) {
  // B is 1 below A in every repetition while A itself spreads widely: only pairing sees it.
  auto a = side(1, {100, 130, 70}, {50, 65, 35});
  auto b = side(2, {99, 129, 69}, {50, 65, 35});
  auto welch = compare(a, b);
  EXPECT_FALSE(find(*welch, "solo")->test.beyond_noise);
  auto paired = compare(a, b, CompareOptions{true});
  const auto* solo = find(*paired, "solo");
  EXPECT_EQ(solo->test.kind, TestKind::paired);
  EXPECT_TRUE(solo->test.beyond_noise);
  // Different repetitions: Welch, said in the note.
  auto shorter = side(3, {99, 129}, {50, 65});
  auto c = compare(a, shorter, CompareOptions{true});
  EXPECT_EQ(find(*c, "solo")->test.kind, TestKind::welch);
  EXPECT_NE(find(*c, "solo")->note.find("unpaired"), std::string::npos);
}

TEST(Compare, OneRepetitionIsNoiseUnknownAndGatedByTheDropAlone) {
  auto c = compare(side(1, {100}, {50}), side(2, {50}, {25}));
  ASSERT_TRUE(c);
  EXPECT_EQ(find(*c, "solo")->test.kind, TestKind::none);
  EXPECT_EQ(verdict(*find(*c, "solo")), "noise unknown (needs 2+ repetitions each)");
  EXPECT_EQ(regressions(*c, 10).size(), 2U);
}

TEST(Compare, ListsSpecBackendAndSettingsDifferences) {
  auto a = side(1, {100, 100}, {50, 50}, "name: x\nrepeat: 2\nmodes: [timeslice]\n");
  auto b = side(2, {100, 100}, {50, 50}, "name: x\nrepeat: 2\nmodes: [mps]\n");
  b.exp.backend = "sim";
  b.settings_json = R"({"gpu":"sim"})";
  auto c = compare(a, b);
  ASSERT_TRUE(c);
  const auto& d = c->differences;
  auto has = [&](const std::string& s) { return std::find(d.begin(), d.end(), s) != d.end(); };
  EXPECT_TRUE(has("backend: nvml -> sim")) << testing::PrintToString(d);
  EXPECT_TRUE(has("run settings gpu: \"auto\" -> \"sim\"")) << testing::PrintToString(d);
  EXPECT_TRUE(has("spec: - modes: [timeslice]")) << testing::PrintToString(d);
  EXPECT_TRUE(has("spec: + modes: [mps]")) << testing::PrintToString(d);
}

TEST(Compare, NothingInCommonIsAnError) {
  auto a = side(1, {100}, {50});
  auto b = a;
  b.summary.solo.clear();
  b.summary.workloads.clear();
  b.summary.groups.clear();
  auto c = compare(a, b);
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().message.find("share no workload"), std::string::npos);
}

TEST(Compare, EveryFormat) {
  auto c = compare(side(1, {100, 102, 98}, {50, 51, 49}), side(2, {80, 82, 78}, {40, 41, 39}));
  ASSERT_TRUE(c);
  const auto text = render_comparison(*c, CompareFormat::text);
  EXPECT_NE(text.find("A = experiment 1"), std::string::npos) << text;
  EXPECT_NE(text.find("beyond noise"), std::string::npos) << text;
  EXPECT_NE(text.find("a (x2 pooled)"), std::string::npos) << text;
  EXPECT_NE(text.find("-20.0%"), std::string::npos) << text;
  const auto md = render_comparison(*c, CompareFormat::markdown);
  EXPECT_NE(md.find("| kind | mode | group |"), std::string::npos) << md;
  const auto j = nlohmann::json::parse(render_comparison(*c, CompareFormat::json));
  EXPECT_EQ(j["rows"].size(), 3U);
  EXPECT_EQ(j["rows"][0]["test"], "Welch t");
  EXPECT_TRUE(j["rows"][0]["beyond_noise"].get<bool>());
  const auto csv = render_comparison(*c, CompareFormat::csv);
  EXPECT_EQ(csv.rfind("kind,mode,group,sweep,workload,copies,unit,", 0), 0U) << csv;
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 4);
  EXPECT_FALSE(compare_format_from("pdf"));
}

TEST(Compare, LineDiff) {
  EXPECT_TRUE(line_diff("a\nb\n", "a\nb\n").empty());
  EXPECT_EQ(line_diff("a\nb\nc\n", "a\nc\nd\n"), (std::vector<std::string>{"- b", "+ d"}));
}

}  // namespace
}  // namespace colo
