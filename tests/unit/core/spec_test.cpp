#include "core/spec.hpp"

#include <gtest/gtest.h>

namespace colo {
namespace {

constexpr const char* k_good = R"(
name: demo
repeat: 2
warmup: 1s
stop: {duration: 10s}
modes: [timeslice, {mps: {thread_percent: [25, 50], mem_limit: 8G}}, {green: {sms: 32}}]
sweep: {batch: [32, 64]}
workloads:
  - name: a
    cmd: [python3, train.py, --batch, "{batch}"]
    copies: [2, 4]
    env: {FOO: bar}
  - name: b
    builtin: cpu
    args: {work: 10}
groups:
  - [a, b]
)";

TEST(Spec, ParsesAFullSpec) {
  auto s = parse_spec(k_good, "demo.yaml");
  ASSERT_TRUE(s) << s.error().what();
  EXPECT_EQ(s->name, "demo");
  EXPECT_EQ(s->repeat, 2);
  EXPECT_DOUBLE_EQ(s->stop.duration->count(), 10.0);
  EXPECT_DOUBLE_EQ(s->warmup.duration.count(), 1.0);
  ASSERT_EQ(s->modes.size(), 3U);
  EXPECT_EQ(s->modes[1].kind, ModeKind::mps);
  ASSERT_EQ(s->modes[1].expansions.size(), 2U);  // the thread_percent sweep
  EXPECT_EQ(*s->modes[1].expansions[0].thread_percent.all, 25);
  EXPECT_EQ(*s->modes[1].expansions[1].mem_limit.all, 8ULL << 30);
  EXPECT_EQ(s->modes[1].expansions[1].label(), "mps(tp=50,mem=8G)");
  EXPECT_EQ(s->modes[2].expansions[0].label(), "green(sms=32)");
  EXPECT_TRUE(s->modes[2].expansions[0].green_over_mps);
  auto t = parse_spec(
      "name: t\nstop: {duration: 1s}\nmodes: [{green: {sms: 16, over: timeslice}}]\n"
      "workloads:\n  - {name: a, cmd: [true]}\n",
      "t.yaml");
  ASSERT_TRUE(t) << t.error().what();
  EXPECT_FALSE(t->modes[0].expansions[0].green_over_mps);
  EXPECT_EQ(t->modes[0].expansions[0].label(), "green(sms=16,over=timeslice)");
  ASSERT_EQ(s->workloads.size(), 2U);
  EXPECT_EQ(s->workloads[0].copies, (std::vector<int>{2, 4}));
  EXPECT_EQ(s->workloads[0].line, 9);
  EXPECT_EQ(s->workloads[1].builtin, "cpu");
  ASSERT_EQ(s->groups.size(), 1U);
  ASSERT_EQ(s->sweep.size(), 1U);
}

// Every error names the file, the line and the field.
struct BadCase {
  const char* yaml;
  const char* expect;
};

class SpecErrors : public ::testing::TestWithParam<BadCase> {};

TEST_P(SpecErrors, NamesFileLineAndField) {
  auto s = parse_spec(GetParam().yaml, "bad.yaml");
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, ErrorCode::invalid_argument);
  EXPECT_NE(s.error().message.find(GetParam().expect), std::string::npos) << s.error().message;
  EXPECT_EQ(s.error().message.rfind("bad.yaml", 0), 0U) << s.error().message;
}

INSTANTIATE_TEST_SUITE_P(
    Cases, SpecErrors,
    ::testing::Values(
        BadCase{"name: x\nstop: {duration: 1s\nworkloads: []\n", "bad.yaml:"},  // malformed YAML
        BadCase{"name: x\nstop: {duration: 1s}\nworkloads:\n  - {name: a, cmd: [true]}\n"
                "colour: blue\n",
                "bad.yaml:5: colour: unknown field 'colour'"},
        BadCase{"name: x\nstop: {duration: 1s}\nworkloads:\n  - {name: a, cmd: [true], cpus: 2}\n",
                "bad.yaml:4: workloads[0].cpus: unknown field 'cpus'"},
        BadCase{"name: x\nstop: {duration: 1s}\nworkloads:\n  - {name: a, builtin: resnet}\n",
                "unknown workload 'resnet'"},
        BadCase{"name: x\nstop: {duration: 1s}\nworkloads:\n  - {name: a}\n", "needs 'cmd'"},
        BadCase{"name: x\nworkloads:\n  - {name: a, cmd: [true]}\n", "missing stop rule"},
        BadCase{"name: x\nstop: {duration: soon}\nworkloads:\n  - {name: a, cmd: [true]}\n",
                "bad.yaml:2: stop.duration"},
        BadCase{"name: x\nstop: {duration: 1s}\nmodes: [warp]\nworkloads:\n"
                "  - {name: a, cmd: [true]}\n",
                "unknown sharing mode 'warp'"},
        BadCase{"name: x\nstop: {duration: 1s}\nmodes: [{mps: {thread_percent: 150}}]\n"
                "workloads:\n  - {name: a, cmd: [true]}\n",
                "out of range"},
        BadCase{"name: x\nstop: {duration: 1s}\nmodes: [{mig: {layout: [9g.99gb]}}]\n"
                "workloads:\n  - {name: a, cmd: [true]}\n",
                "not a MIG profile"},
        BadCase{"name: x\nstop: {duration: 1s}\nmodes: [green]\nworkloads:\n"
                "  - {name: a, cmd: [true]}\n",
                "green needs"},
        BadCase{"name: x\nstop: {duration: 1s}\nmodes: [{green: {sms: 16, over: mig}}]\n"
                "workloads:\n  - {name: a, cmd: [true]}\n",
                "bad.yaml:3: modes[0].green.over: 'mig' is not mps or timeslice"},
        BadCase{"name: x\nstop: {duration: 1s}\nworkloads:\n  - {name: a, cmd: [true]}\n"
                "  - {name: a, cmd: [true]}\n",
                "duplicate workload name 'a'"},
        BadCase{"name: x\nstop: {duration: 1s}\nworkloads:\n  - {name: a, cmd: [true]}\n"
                "groups: [[a, zz]]\n",
                "unknown workload 'zz'"},
        BadCase{"name: x\nstop: {duration: 1s}\nwarmup: 2s\nworkloads:\n"
                "  - {name: a, cmd: [true]}\n",
                "warm-up is not shorter"}));

TEST(Spec, MissingFileIsNotFound) {
  auto s = load_spec("/nonexistent/spec.yaml");
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, ErrorCode::not_found);
  EXPECT_NE(s.error().message.find("/nonexistent/spec.yaml"), std::string::npos);
}

TEST(Spec, PerWorkloadModeParameters) {
  auto s = parse_spec(
      "name: x\nstop: {duration: 1s}\nmodes: [{mps: {thread_percent: {a: 30, b: 70}}}]\n"
      "workloads:\n  - {name: a, cmd: [true]}\n  - {name: b, cmd: [true]}\n",
      "p.yaml");
  ASSERT_TRUE(s) << s.error().what();
  const auto& m = s->modes[0].expansions.at(0);
  EXPECT_EQ(m.thread_percent.for_workload("a"), 30);
  EXPECT_EQ(m.thread_percent.for_workload("b"), 70);
  auto bad = parse_spec(
      "name: x\nstop: {duration: 1s}\nmodes: [{mps: {thread_percent: {zz: 30}}}]\n"
      "workloads:\n  - {name: a, cmd: [true]}\n",
      "p.yaml");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("unknown workload 'zz'"), std::string::npos);
}

}  // namespace
}  // namespace colo

namespace colo {
namespace {

TEST(SpecLimits, DefaultsAndOverridesAndBadValuesNameTheField) {
  const std::string base =
      "name: x\nstop: {exit: true}\nworkloads:\n  - {name: a, cmd: [/bin/true]}\n";
  auto d = parse_spec(base, "l.yaml");
  ASSERT_TRUE(d) << d.error().what();
  EXPECT_EQ(d->limits.pids, 8192);
  EXPECT_EQ(d->limits.output, std::uint64_t{64} << 20);
  auto s = parse_spec(base + "limits: {pids: 64, output: 1M}\n", "l.yaml");
  ASSERT_TRUE(s) << s.error().what();
  EXPECT_EQ(s->limits.pids, 64);
  EXPECT_EQ(s->limits.output, std::uint64_t{1} << 20);
  for (const char* bad : {"limits: {pids: 0}\n", "limits: {output: 10}\n",
                          "limits: {output: lots}\n", "limits: {cpus: 2}\n", "limits: 5\n"}) {
    auto r = parse_spec(base + bad, "l.yaml");
    ASSERT_FALSE(r) << bad;
    EXPECT_NE(r.error().what().find("l.yaml:5: limits"), std::string::npos) << r.error().what();
  }
}

}  // namespace
}  // namespace colo
