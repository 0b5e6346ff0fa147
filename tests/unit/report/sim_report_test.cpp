#include "report/sim_report.hpp"

#include "sim/sim_json.hpp"

#include <gtest/gtest.h>

#include <algorithm>

#include <string>

namespace colo {
namespace {

using nlohmann::json;

// Runs as `colo sim --save` stores them, back to the typed results the report renders.
std::vector<csim::SimRun> typed(const json& runs) {
  std::vector<csim::SimRun> out;
  for (const auto& r : runs) {
    out.push_back(r.get<csim::SimRun>());
  }
  return out;
}

std::string render_sim_report(const json& runs, ReportFormat f) {
  return colo::render_sim_report(typed(runs), f);
}

// The first data line of a CSV.
std::string csv_line(const std::string& csv) {
  const auto a = csv.find('\n') + 1;
  return csv.substr(a, csv.find('\n', a) - a);
}

// An inflate run whose curve rises linearly to `top` % allocated at `reach` % requested.
json inflate_run(const std::string& policy, int seed, double top, int reach) {
  json curve = json::array();
  for (int r = 1; r <= reach; ++r) {
    curve.push_back({{"requested_pct", r}, {"allocated_pct", top * r / reach}, {"frag_pct", 1.0}});
  }
  return {{"simulated", true},
          {"mode", "inflate"},
          {"load", reach / 100.0},
          {"nodes_file", "n.csv"},
          {"pods_file", "p.csv"},
          {"nodes", 10},
          {"gpus", 80},
          {"trace_pods", 100},
          {"variant", ""},
          {"policy", policy},
          {"seed", seed},
          {"allocated_pct", top},
          {"submitted", {{"share", 50}}},
          {"unscheduled", {{"share", seed}}},
          {"seconds", 0.5},
          {"curve", curve}};
}

TEST(SimReport, TableAveragesSeedsPerPolicyAtEachLoad) {
  const json runs = {inflate_run("fgd", 1, 90, 130), inflate_run("fgd", 2, 92, 130),
                     inflate_run("colo", 1, 95, 130)};
  const auto md = render_sim_report(runs, ReportFormat::markdown);
  // fgd at 130%: mean 91, sd of {90, 92} = 1.41; at 100%: 90*100/130 = 69.23, 92*100/130 = 70.77.
  EXPECT_NE(md.find("| fgd | 70.00 ± 1.09 |"), std::string::npos) << md;
  EXPECT_NE(md.find("| 91.00 ± 1.41 | 91.00 ± 1.41 | 2 | 0.50 | share=3 |"), std::string::npos)
      << md;
  EXPECT_NE(md.find("| colo | 73.08 |"), std::string::npos) << md;
  EXPECT_NE(md.find("not a measurement of real hardware"), std::string::npos);
  EXPECT_NE(md.find("inflate to 130% of 80 GPUs (10 nodes from n.csv"), std::string::npos) << md;
  EXPECT_LT(md.find("| fgd"), md.find("| colo"));  // order of first appearance
}

TEST(SimReport, SaysWhatColoCalibrated) {
  json runs = {inflate_run("fgd", 1, 90, 130), inflate_run("colo", 1, 95, 130),
               inflate_run("colo", 2, 95, 130)};
  EXPECT_EQ(render_sim_report(runs, ReportFormat::text).find("calibrated"), std::string::npos);
  runs[1]["colo_gpu_weight"] = 0.5;
  runs[2]["colo_gpu_weight"] = 0;
  EXPECT_NE(render_sim_report(runs, ReportFormat::markdown)
                .find("(GPU weight w): w = 0 in 1 of 2 run(s), w = 0.5 in 1 of 2 run(s)"),
            std::string::npos);
}

TEST(SimReport, LoadsARunNeverReachedShowAsDashes) {
  const auto text =
      render_sim_report(json::array({inflate_run("bestfit", 1, 60, 105)}), ReportFormat::text);
  EXPECT_NE(text.find("bestfit"), std::string::npos);
  // 100% reached (57.14), 110/120/130% not.
  EXPECT_NE(text.find("bestfit   57.14       -       -       - 60.00"), std::string::npos) << text;
}

TEST(SimReport, CsvHasOneRowPerCurvePointAndJsonRoundTrips) {
  const json runs = {inflate_run("fgd", 1, 90, 20), inflate_run("colo", 3, 95, 10)};
  const auto csv = render_sim_report(runs, ReportFormat::csv);
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 1 + 20 + 10);
  // no bound, no throughput (runs stored before them)
  EXPECT_NE(csv.find("colo,3,10,95.0000,1.0000,,,,,\n"), std::string::npos) << csv;
  // JSON is the typed runs' (sim/sim_json.hpp), every field of the input kept.
  const auto back = json::parse(render_sim_report(runs, ReportFormat::json));
  EXPECT_EQ(back, json(typed(runs)));
  EXPECT_EQ(back[1]["curve"], runs[1]["curve"]);
  EXPECT_EQ(back[1]["unscheduled"], runs[1]["unscheduled"]);
}

// The effective throughput (sim/throughput.hpp) next to GPU allocated, with its job and table,
// in every format; absent (and no note) for runs stored before it.
TEST(SimReport, EveryFormatGivesTheEffectiveThroughputAndItsJob) {
  json runs = {inflate_run("fgd", 1, 90, 130), inflate_run("colo", 1, 95, 130)};
  EXPECT_EQ(render_sim_report(runs, ReportFormat::text).find("throughput"), std::string::npos);
  runs[0]["throughput"] = {{"job", "transformer"}, {"mechanism", 7.25}, {"no_interference", 8.5}};
  runs[1]["throughput"] = {{"job", "transformer"}, {"mechanism", nullptr}, {"no_interference", 9}};
  const auto md = render_sim_report(runs, ReportFormat::markdown);
  EXPECT_NE(md.find("| throughput (GPU-eq) | throughput, no interference (GPU-eq) |"),
            std::string::npos)
      << md;
  EXPECT_NE(md.find("| 7.25 | 8.50 |"), std::string::npos) << md;
  EXPECT_NE(md.find("| - | 9.00 |"), std::string::npos) << md;  // not measured (mig)
  EXPECT_NE(md.find("transformer (Transformer b32)"), std::string::npos) << md;
  EXPECT_NE(md.find("src/sim/speedup_table.inc"), std::string::npos) << md;
  for (const auto f : {ReportFormat::text, ReportFormat::html}) {
    const auto out = render_sim_report(runs, f);
    EXPECT_NE(out.find("throughput (GPU-eq)"), std::string::npos);
    EXPECT_NE(out.find("Transformer b32"), std::string::npos);
  }
  const auto csv = render_sim_report(runs, ReportFormat::csv);
  EXPECT_NE(
      csv.find("fgd,1,130,90.0000,1.0000,,transformer,7.2500,8.5000,src/sim/speedup_table.inc"),
      std::string::npos)
      << csv;
  EXPECT_NE(csv.find("colo,1,130,95.0000,1.0000,,transformer,,9.0000,"), std::string::npos);
  const auto back = json::parse(render_sim_report(runs, ReportFormat::json));
  EXPECT_EQ(back[0]["throughput"]["mechanism"], 7.25);
  EXPECT_TRUE(back[1]["throughput"]["mechanism"].is_null());
  EXPECT_EQ(back[1]["throughput"]["table"], "src/sim/speedup_table.inc");
}

TEST(SimReport, EveryFormatGivesThePoliciesAsPercentOfTheBound) {
  json runs = {inflate_run("fgd", 1, 90, 130), inflate_run("colo", 1, 95, 130)};
  EXPECT_EQ(render_sim_report(runs, ReportFormat::text).find("of bound"), std::string::npos);
  runs[0]["bound_pct"] = 100.0;
  runs[1]["bound_pct"] = 100.0;
  runs[0]["allocated_pct"] = 90.0;
  const auto md = render_sim_report(runs, ReportFormat::markdown);
  EXPECT_NE(md.find("| bound | % of bound |"), std::string::npos) << md;
  EXPECT_NE(md.find("| 100.00 | 90.00 |"), std::string::npos) << md;
  EXPECT_NE(md.find("| 100.00 | 95.00 |"), std::string::npos) << md;
  EXPECT_NE(md.find("LP relaxation"), std::string::npos) << md;
  EXPECT_NE(render_sim_report(runs, ReportFormat::text).find("% of bound"), std::string::npos);
  EXPECT_NE(render_sim_report(runs, ReportFormat::html).find("% of bound"), std::string::npos);
  EXPECT_NE(render_sim_report(runs, ReportFormat::csv).find("colo,1,130,95.0000,1.0000,100.0000"),
            std::string::npos);
  EXPECT_NE(render_sim_report(runs, ReportFormat::json).find("\"bound_pct\""), std::string::npos);
}

TEST(SimReport, MechanismTableShowsBlastRadiusAndMigServedInEveryFormat) {
  json runs = {inflate_run("fgd", 1, 90, 130), inflate_run("fgd", 1, 99, 130)};
  runs[1]["mechanism"] = "mig";
  runs[1]["blast_radius"] = 1.0;
  runs[1]["mig_served"] = 30;
  runs[1]["mig_whole"] = 10;
  const auto md = render_sim_report(runs, ReportFormat::markdown);
  EXPECT_NE(md.find("| blast radius | MIG-served shares |"), std::string::npos) << md;
  EXPECT_NE(md.find("| fgd [mig] |"), std::string::npos) << md;
  EXPECT_NE(md.find("| 1.00 | 75.00 % |"), std::string::npos) << md;
  for (const auto f : {ReportFormat::text, ReportFormat::html}) {
    const auto out = render_sim_report(runs, f);
    EXPECT_NE(out.find("MIG-served shares"), std::string::npos) << out;
    EXPECT_NE(out.find("fgd [mig]"), std::string::npos) << out;
  }
  EXPECT_NE(render_sim_report(runs, ReportFormat::csv).find("fgd [mig],1,130,"), std::string::npos);
  EXPECT_NE(render_sim_report(runs, ReportFormat::json).find("\"mig_served\""), std::string::npos);
}

TEST(SimReport, HtmlIsSelfContainedWithOneFigureForAllPolicies) {
  const json runs = {inflate_run("fgd", 1, 90, 130), inflate_run("colo", 1, 95, 130)};
  const auto html = render_sim_report(runs, ReportFormat::html);
  EXPECT_NE(html.find("banner sim"), std::string::npos);
  EXPECT_NE(html.find("id=\"chart2\""), std::string::npos);  // allocation, zoom, fragmentation
  EXPECT_EQ(html.find("id=\"chart3\""), std::string::npos);
  EXPECT_EQ(html.find("<script src=\"http"), std::string::npos);
}

TEST(SimReport, ReplayRunsTabulateQueueing) {
  json r = {{"mode", "replay"},
            {"load", 2},
            {"nodes_file", "n.csv"},
            {"pods_file", "p.csv"},
            {"nodes", 3},
            {"gpus", 8},
            {"trace_pods", 40},
            {"variant", ""},
            {"policy", "fgd"},
            {"seed", 1},
            {"pods", 80},
            {"scheduled", 78},
            {"completed", 78},
            {"never_scheduled", 2},
            {"skipped", 0},
            {"delay_mean_s", 12.5},
            {"delay_p50_s", 3},
            {"delay_p99_s", 100},
            {"jct_mean_s", 40},
            {"jct_p99_s", 300},
            {"makespan_s", 5000},
            {"seconds", 0.25},
            {"utilization", json::array({{0, 10}, {5, 50}})}};
  const auto md = render_sim_report(json::array({r}), ReportFormat::markdown);
  EXPECT_NE(md.find("replay of 40 trace pods from p.csv x2 on 3 nodes"), std::string::npos) << md;
  EXPECT_NE(
      md.find(
          "| fgd | 78 | 78 | 2 | 12.50 | 3.00 | 100.00 | 40.00 | 300.00 | 5000.00 | 1 | 0.25 |"),
      std::string::npos)
      << md;
  const auto text = render_sim_report(json::array({r}), ReportFormat::text);
  EXPECT_NE(text.find("JCT p99 s"), std::string::npos) << text;
  const auto line = csv_line(render_sim_report(json::array({r}), ReportFormat::csv));
  EXPECT_EQ(std::count(line.begin(), line.end(), ','), 12) << line;
  const auto html = render_sim_report(json::array({r}), ReportFormat::html);
  EXPECT_NE(html.find("GPU allocated over time"), std::string::npos);
}

}  // namespace
}  // namespace colo
