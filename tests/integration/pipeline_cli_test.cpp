// Pipelines through `colo run` on the simulated GPU (real processes, a real store): an inference
// pipeline under Poisson load next to a training pipeline, their per-stage latencies in the run
// log and their event logs in the store; and the bad inputs of issue 14 (exit 2, named).
#include <unistd.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <map>

#include "store/store.hpp"
#include "support/run_colo.hpp"

namespace colo {
namespace {
namespace fs = std::filesystem;

using test::Output;

constexpr const char* k_spec = R"(name: pipes
gpu: sim
stop: {duration: 1.5s}
solo_baseline: false
sample_period: 100ms
workloads:
  - name: infer
    pipeline:
      stages:
        - {name: load, kind: loader, params: {path: data}}
        - {name: pre, kind: preprocess, params: {size: 16}}
        - {name: model, kind: sim-model, params: {step-ms: 2, duty: 0.3, sm: 0.2, mem: 2G}}
      load: {kind: poisson, rate: 100, seed: 5}
  - name: train
    pipeline:
      stages:
        - {name: step, kind: sim-model, params: {step-ms: 20, duty: 0.9, sm: 0.8, mem: 8G}}
      load: {kind: closed, outstanding: 1}
)";

class PipelineCli : public ::testing::Test {
 protected:
  void SetUp() override {
    m_dir = fs::temp_directory_path() /
            ("colo-pipeline-" + std::to_string(::getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(m_dir);
    fs::create_directories(m_dir / "data");
    std::ofstream(m_dir / "data" / "a.bin") << std::string(4096, 'x');
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(m_dir, ec);
  }
  void write(const std::string& name, const std::string& text) {
    std::ofstream(m_dir / name) << text;
  }
  Output colo(const std::vector<std::string>& args) {
    const std::string tag = "cmd" + std::to_string(m_calls++);
    std::vector<std::string> argv{std::string(COLO_BIN_DIR) + "/colo", "--results",
                                  (m_dir / "results").string()};
    argv.insert(argv.end(), args.begin(), args.end());
    return test::finish_in(m_dir, test::start_in(m_dir, argv, tag), tag);
  }
  // `spec` with `from` replaced by `to`, as pipes.yaml; colo run's output.
  Output run_with(const std::string& from, const std::string& to) {
    std::string spec = k_spec;
    const auto at = spec.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    spec.replace(at, from.size(), to);
    write("pipes.yaml", spec);
    return colo({"run", "pipes.yaml"});
  }

  fs::path m_dir;
  int m_calls = 0;
};

TEST_F(PipelineCli, CollocatedPipelinesReportStageLatenciesAndStoreTheirEvents) {
  write("pipes.yaml", k_spec);
  auto r = colo({"run", "pipes.yaml"});
  ASSERT_EQ(r.rc, 0) << r.out << r.err;
  const std::string all = r.out + r.err;
  EXPECT_NE(all.find("infer#0: e2e p50"), std::string::npos) << all;
  EXPECT_NE(all.find("load p50"), std::string::npos) << all;
  EXPECT_NE(all.find("model p50"), std::string::npos) << all;
  EXPECT_NE(all.find("train#0: e2e p50"), std::string::npos) << all;
  auto store = Store::open((m_dir / "results" / "colo.db").string(), OpenMode::read_only);
  ASSERT_TRUE(store) << store.error().what();
  auto exps = store->experiments();
  ASSERT_TRUE(exps && exps->size() == 1);
  auto runs = store->runs(exps->front().id);
  ASSERT_TRUE(runs && runs->size() == 1);
  auto ws = store->workloads(runs->front().id);
  ASSERT_TRUE(ws && ws->size() == 2);
  for (const auto& w : *ws) {
    EXPECT_EQ(to_string(w.exit_class), std::string("ok")) << w.name << ": " << w.message;
    auto log = store->pipeline_events(w.id);
    ASSERT_TRUE(log) << log.error().what();
    std::map<std::string, int> kinds;
    for (const auto& e : log->events) {
      ++kinds[e.kind];
    }
    if (w.name == "infer") {
      EXPECT_EQ(log->stages, (std::vector<std::string>{"load", "pre", "model"}));
      // 100 q/s for ~1.5 s: far more than 20 queries, each with its three stages.
      EXPECT_GT(kinds["completed"], 20);
      EXPECT_EQ(kinds["stage_end"], 3 * kinds["completed"]);
    } else {
      EXPECT_EQ(log->stages, (std::vector<std::string>{"step"}));
      EXPECT_GT(kinds["completed"], 5);  // 20 ms steps, slowed by the neighbour
    }
    EXPECT_EQ(kinds["scheduled"], kinds["completed"] + kinds["failed"] + kinds["dropped"]);
    EXPECT_GT(w.throughput.value_or(0), 0) << w.name;
  }
  // The report's pipeline tables and CDF come from the stored event logs.
  auto rep = colo({"report", "--format", "json"});
  ASSERT_EQ(rep.rc, 0) << rep.err;
  const auto j = nlohmann::json::parse(rep.out);
  ASSERT_EQ(j.at("pipelines").size(), 2U);
  for (const auto& p : j["pipelines"]) {
    EXPECT_GT(p["completed"].get<int>(), 5);
    EXPECT_GT(p["latency_ms"]["p99"].get<double>(), 0);
    EXPECT_FALSE(p["cdf"].empty());
  }
  auto md = colo({"report", "--format", "md"});
  EXPECT_NE(md.out.find("Pipeline stages: queue wait vs service time"), std::string::npos);
}

TEST_F(PipelineCli, BadPipelinesAreRefusedBeforeAnythingRuns) {
  auto unknown = run_with("kind: preprocess", "kind: resize");
  EXPECT_EQ(unknown.rc, 2);
  EXPECT_NE(unknown.err.find("pipes.yaml:9: workloads.infer.pipeline.stages[1].kind: unknown "
                             "stage 'resize'"),
            std::string::npos)
      << unknown.err;
  auto rate = run_with("rate: 100", "rate: 0");
  EXPECT_EQ(rate.rc, 2);
  EXPECT_NE(rate.err.find("load.rate: impossible rate"), std::string::npos) << rate.err;
  auto depth = run_with("outstanding: 1}", "outstanding: 1, queue_depth: 0}");
  EXPECT_EQ(depth.rc, 2);
  EXPECT_NE(depth.err.find("queue depth 0"), std::string::npos) << depth.err;
  auto cycle =
      run_with("{name: pre, kind: preprocess,", "{name: pre, next: load, kind: preprocess,");
  EXPECT_EQ(cycle.rc, 2);
  EXPECT_NE(cycle.err.find("not connected"), std::string::npos) << cycle.err;
  // cuda-model: refused on the simulated GPU, or by a colo built without nvcc, at planning.
  auto cuda = run_with(
      "{name: step, kind: sim-model, params: {step-ms: 20, duty: 0.9, sm: 0.8, "
      "mem: 8G}}",
      "{name: step, kind: cuda-model, params: {layers: 2}}");
  EXPECT_EQ(cuda.rc, 2);
  EXPECT_NE(cuda.err.find("pipes.yaml:16: workloads.train.pipeline.stages[0]: "), std::string::npos)
      << cuda.err;
  EXPECT_TRUE(cuda.err.find("colo-pipeline was built without CUDA") != std::string::npos ||
              cuda.err.find("'cuda-model' runs native CUDA on a real GPU") != std::string::npos)
      << cuda.err;
  auto data = run_with("path: data", "path: nowhere");
  EXPECT_EQ(data.rc, 2);
  EXPECT_NE(data.err.find("stages[0].params.path: dataset directory"), std::string::npos)
      << data.err;
  EXPECT_FALSE(fs::exists(m_dir / "results" / "colo.db") &&
               Store::open((m_dir / "results" / "colo.db").string(), OpenMode::read_only)
                       ->experiments()
                       ->size() > 0);
}

TEST_F(PipelineCli, AFailingStageFailsItsQueriesByNameAndTheRunGoesOn) {
  auto r = run_with("{name: pre, kind: preprocess, params: {size: 16}}",
                    "{name: pre, kind: fail, params: {every: 4}}");
  ASSERT_EQ(r.rc, 0) << r.out << r.err;
  auto store = Store::open((m_dir / "results" / "colo.db").string(), OpenMode::read_only);
  ASSERT_TRUE(store);
  auto runs = store->runs(store->experiments()->front().id);
  auto ws = store->workloads(runs->front().id);
  int failed = 0;
  for (const auto& w : *ws) {
    const auto log = store->pipeline_events(w.id);
    ASSERT_TRUE(log);
    for (const auto& e : log->events) {
      if (e.kind == "failed") {
        ++failed;
        EXPECT_NE(e.detail.find("stage 'pre': threw: injected failure"), std::string::npos);
      }
    }
  }
  EXPECT_GT(failed, 3);
  EXPECT_NE((r.out + r.err).find("failed"), std::string::npos);
}

}  // namespace
}  // namespace colo
