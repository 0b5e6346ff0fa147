#include "core/spec.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

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
                "warm-up is not shorter"},
        // Issue 10: booleans that are not booleans.
        BadCase{"name: x\nstop: {duration: 1s}\nsolo_baseline: nope\nworkloads:\n"
                "  - {name: a, cmd: [true]}\n",
                "bad.yaml:3: solo_baseline: 'nope' is not a boolean"},
        BadCase{"name: x\nstop: {duration: 1s, exit: maybe}\nworkloads:\n"
                "  - {name: a, cmd: [true]}\n",
                "bad.yaml:2: stop.exit: 'maybe' is not a boolean"},
        BadCase{"name: x\nstop: {duration: 1s}\nworkloads:\n"
                "  - {name: a, cmd: [true], progress: sometimes}\n",
                "bad.yaml:4: workloads.a.progress: 'sometimes': expected auto, true or false"},
        // Issue 10: builtin args, keys and values (also through a sweep).
        BadCase{"name: x\nstop: {duration: 1s}\nworkloads:\n"
                "  - {name: a, builtin: cpu, args: {wrok: 3}}\n",
                "bad.yaml:4: workloads.a.args.wrok: builtin 'cpu' has no argument 'wrok' "
                "(known: work, batch, steps, size)"},
        BadCase{"name: x\nstop: {duration: 1s}\nworkloads:\n"
                "  - {name: a, builtin: sim-gpu, args: {duty: 2}}\n",
                "bad.yaml:4: workloads.a.args.duty: '2' is not a number in [0.001, 1]"},
        BadCase{"name: x\nstop: {duration: 1s}\nworkloads:\n"
                "  - {name: a, builtin: cuda-alloc, args: {mem: lots}}\n",
                "workloads.a.args.mem: 'lots' is not a size"},
        BadCase{"name: x\nstop: {duration: 1s}\nsweep: {b: [32, x]}\nworkloads:\n"
                "  - {name: a, builtin: cpu, args: {batch: \"{b}\"}}\n",
                "bad.yaml:5: workloads.a.args.batch: 'x' is not an integer in [0, 1000000000000] "
                "(sweep b=x)"},
        BadCase{"name: x\nstop: {duration: 1s}\nworkloads:\n"
                "  - {name: a, builtin: cuda-gemm, args: {mem: 2G}}\n",
                "builtin 'cuda-gemm' has no argument 'mem'"},
        // Issue 11 item 6: overflowing quantities.
        BadCase{"name: x\nstop: {duration: 99999999999999999h}\nworkloads:\n"
                "  - {name: a, cmd: [true]}\n",
                "bad.yaml:2: stop.duration: '99999999999999999h' is too long a duration"},
        BadCase{"name: x\nstop: {duration: 1s}\nmodes: [{mps: {mem_limit: 99999999999999999G}}]\n"
                "workloads:\n  - {name: a, cmd: [true]}\n",
                "bad.yaml:3: modes[0].mps.mem_limit: '99999999999999999G' is too large a size"},
        BadCase{"name: x\nstop: {duration: 1s}\ngrace: 1e400s\nworkloads:\n"
                "  - {name: a, cmd: [true]}\n",
                "bad.yaml:3: grace"},
        // Issue 11 item 6: names that are not names.
        BadCase{"name: \"a\\nb\"\nstop: {duration: 1s}\nworkloads:\n  - {name: a, cmd: [true]}\n",
                "bad.yaml:1: name: contains a control character (0x0a)"},
        BadCase{"name: \"a\\0b\"\nstop: {duration: 1s}\nworkloads:\n  - {name: a, cmd: [true]}\n",
                "bad.yaml:1: name: contains a control character (0x00)"},
        BadCase{"name: ../../etc\nstop: {duration: 1s}\nworkloads:\n  - {name: a, cmd: [true]}\n",
                "bad.yaml:1: name: '../../etc' contains '/'"},
        BadCase{"name: ..\nstop: {duration: 1s}\nworkloads:\n  - {name: a, cmd: [true]}\n",
                "bad.yaml:1: name: '..' is not a name"},
        // Issue 11 item 6: what yaml-cpp accepted silently.
        BadCase{"name: x\nstop: {duration: 1s}\nname: y\nworkloads:\n  - {name: a, cmd: [true]}\n",
                "bad.yaml:3: name: duplicate key 'name' in one mapping"},
        BadCase{"name: x\nstop: {duration: 1s, duration: 2s}\nworkloads:\n"
                "  - {name: a, cmd: [true]}\n",
                "bad.yaml:2: duration: duplicate key 'duration'"},
        BadCase{"name: x\nstop: {duration: 1s}\nworkloads:\n  - {name: a, cmd: [true]}\n"
                "---\nname: y\n",
                "bad.yaml:5: (document): a second YAML document"},
        // Issue 17: GPU pins.
        BadCase{"name: x\nstop: {duration: 1s}\ngpus: [0, 1, 0]\nworkloads:\n"
                "  - {name: a, cmd: [true]}\n",
                "bad.yaml:3: gpus: GPU 0 is listed twice"},
        BadCase{"name: x\nstop: {duration: 1s}\ngpus: [0, 1]\nworkloads:\n"
                "  - {name: a, cmd: [true]}\ngroups:\n  - {workloads: [a, a], gpus: [2]}\n",
                "bad.yaml:7: groups[0].gpus: GPU 2 is not one of the experiment's gpus [0, 1]"},
        BadCase{"name: x\nstop: {duration: 1s}\nworkloads:\n"
                "  - {name: a, cmd: [true], gpus: [1]}\n",
                "bad.yaml:4: workloads.a.gpus: GPU 1 is not one of the experiment's gpus [0]"},
        BadCase{"name: x\nstop: {duration: 1s}\ngpus: [0, 1]\nworkloads:\n"
                "  - {name: a, cmd: [true]}\ngroups:\n  - {workloads: [a], gpu: [1]}\n",
                "bad.yaml:7: groups[0].gpu: unknown field 'gpu'"},
        BadCase{"name: x\nstop: {duration: 1s}\ngpus: [0, 1]\nworkloads:\n"
                "  - {name: a, cmd: [true]}\ngroups:\n  - {gpus: [1]}\n",
                "bad.yaml:7: groups[0]: missing 'workloads'"},
        BadCase{"name: x\nstop: {duration: 1s}\nparallel: yes please\nworkloads:\n"
                "  - {name: a, cmd: [true]}\n",
                "bad.yaml:3: parallel: 'yes please' is not a boolean"}));

// Issue 17: a group's and a workload's `gpus:`, and `parallel:`.
TEST(Spec, GpuPinsAndParallel) {
  auto s = parse_spec(R"(name: x
stop: {duration: 1s}
gpus: [0, 1]
parallel: true
workloads:
  - {name: a, cmd: [true], gpus: [1]}
  - {name: b, cmd: [true]}
groups:
  - [a, b]
  - {workloads: [a, a], gpus: [1]}
)",
                      "ok.yaml");
  ASSERT_TRUE(s) << s.error().what();
  EXPECT_TRUE(s->parallel);
  EXPECT_EQ(s->gpus, (std::vector<int>{0, 1}));
  EXPECT_EQ(s->gpus_line, 3);
  EXPECT_EQ(s->workloads[0].gpus, (std::vector<int>{1}));
  EXPECT_TRUE(s->workloads[1].gpus.empty());
  ASSERT_EQ(s->groups.size(), 2U);
  EXPECT_TRUE(s->groups[0].gpus.empty());
  EXPECT_EQ(s->groups[1].workloads, (std::vector<std::string>{"a", "a"}));
  EXPECT_EQ(s->groups[1].gpus, (std::vector<int>{1}));
  EXPECT_EQ(s->groups[1].gpus_line, 10);
  auto d = parse_spec("name: x\nstop: {duration: 1s}\nworkloads:\n  - {name: a, cmd: [true]}\n",
                      "d.yaml");
  ASSERT_TRUE(d) << d.error().what();
  EXPECT_FALSE(d->parallel);
}

// Issue 11 item 6: grids, mode sweeps and plans are capped before anything is allocated.
TEST(Spec, SweepsAndPlansAreCapped) {
  std::string grid = "name: x\nstop: {duration: 1s}\nsweep:\n";
  for (const char* k : {"a", "b", "c", "d", "e", "f"}) {
    grid += fmt::format("  {}: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]\n", k);
  }
  grid += "workloads:\n  - {name: w, cmd: [true]}\n";
  auto g = parse_spec(grid, "g.yaml");
  ASSERT_FALSE(g);
  EXPECT_NE(g.error().message.find("g.yaml:4: sweep: the grid has 1000000 points (10 a x 10 b x "
                                   "10 c x 10 d x 10 e x 10 f), more than the cap of 10000"),
            std::string::npos)
      << g.error().message;
  std::string tps;
  for (int i = 1; i <= 100; ++i) {
    tps += (i > 1 ? ", " : "") + std::to_string(i);
  }
  auto m = parse_spec("name: x\nstop: {duration: 1s}\nmodes: [{mps: {thread_percent: [" + tps +
                          "], mem_limit: [1G, 2G, 3G, 4G, 5G, 6G, 7G, 8G, 9G, 10G, 11G]}}]\n"
                          "workloads:\n  - {name: w, cmd: [true], copies: [2]}\n",
                      "m.yaml");
  ASSERT_FALSE(m);
  EXPECT_NE(m.error().message.find("m.yaml:3: modes[0]: the mode sweeps 1100 settings, more "
                                   "than the cap of 1000"),
            std::string::npos)
      << m.error().message;
  std::string values;
  for (int i = 0; i < 200; ++i) {
    values += (i ? ", " : "") + std::to_string(i);
  }
  auto p = parse_spec("name: x\nrepeat: 1000\nstop: {duration: 1s}\nsweep: {a: [" + values +
                          "]}\nworkloads:\n  - {name: w, cmd: [true]}\n",
                      "p.yaml");
  ASSERT_FALSE(p);
  EXPECT_NE(p.error().message.find("p.yaml:1: (plan): the spec plans up to 200000 runs, more "
                                   "than the cap of 100000"),
            std::string::npos)
      << p.error().message;
  auto big = parse_spec("name: x\n#" + std::string(k_max_spec_bytes, 'x') + "\n", "big.yaml");
  ASSERT_FALSE(big);
  EXPECT_NE(big.error().message.find("more than the cap of 1048576 bytes"), std::string::npos);
}

// Aliases are not expanded by the checks: a "billion laughs" document parses at once.
TEST(Spec, AliasBombsStayCheap) {
  std::string yaml = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n";
  for (int i = 1; i < 9; ++i) {
    yaml += fmt::format("a{}: &a{} [", i, i);
    for (int k = 0; k < 10; ++k) {
      yaml += fmt::format("{}*a{}", k ? ", " : "", i - 1);
    }
    yaml += "]\n";
  }
  yaml += "name: x\nstop: {duration: 1s}\nworkloads:\n  - {name: w, cmd: [true]}\n";
  auto s = parse_spec(yaml, "bomb.yaml");
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message.find("unknown field 'a0'"), std::string::npos) << s.error().message;
}

TEST(Spec, BuiltinArgsThatAreValidPass) {
  auto s = parse_spec(
      "name: x\nstop: {duration: 1s}\nsweep: {b: [16, 32]}\nworkloads:\n"
      "  - {name: c, builtin: cpu, args: {work: 10, batch: \"{b}\", size: 64}}\n"
      "  - {name: g, builtin: sim-gpu, args: {duty: 0.5, sm: 0.25, bw: 0, mem: 2GiB, step-ms: 5}}\n"
      "  - {name: t, builtin: cuda-triad, args: {mem: 3G, sms: 16, steps: 100}}\n",
      "ok.yaml");
  ASSERT_TRUE(s) << s.error().what();
}

// Every spec the project ships parses (the builtin argument table agrees with them).
TEST(Spec, ShippedSpecsParse) {
  for (const char* dir : {"examples", "bench/specs"}) {
    const auto root = std::filesystem::path(COLO_SOURCE_DIR) / dir;
    if (!std::filesystem::exists(root)) {
      continue;
    }
    for (const auto& e : std::filesystem::recursive_directory_iterator(root)) {
      // *.jobs.yaml are colo plan's jobs files (tests/unit/plan parses them), serve*.yaml colo
      // serve's configs (tests/unit/serve parses them), not specs.
      const auto name = e.path().filename().string();
      if (e.path().extension() == ".yaml" && !name.ends_with(".jobs.yaml") &&
          !name.starts_with("serve")) {
        auto s = load_spec(e.path().string());
        EXPECT_TRUE(s) << e.path() << ": " << s.error().what();
      }
    }
  }
}

// Issue 11 item 6: `colo run /dev/zero`, directories, FIFOs, huge files, loops, long names.
TEST(Spec, FilesThatAreNotSpecsAreRefusedWithoutReadingThem) {
  auto zero = load_spec("/dev/zero");
  ASSERT_FALSE(zero);
  EXPECT_EQ(zero.error().code, ErrorCode::invalid_argument);
  EXPECT_NE(zero.error().message.find("'/dev/zero' is not a regular file"), std::string::npos)
      << zero.error().message;
  const auto dir =
      std::filesystem::temp_directory_path() / ("colo-spec-files-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  auto d = load_spec(dir.string());
  ASSERT_FALSE(d);
  EXPECT_NE(d.error().message.find("a directory"), std::string::npos);
  const auto fifo = dir / "fifo.yaml";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  auto f = load_spec(fifo.string());  // must not block waiting for a writer
  ASSERT_FALSE(f);
  EXPECT_NE(f.error().message.find("not a regular file"), std::string::npos);
  const auto huge = dir / "huge.yaml";
  {
    std::ofstream create(huge);
  }
  std::filesystem::resize_file(huge, k_max_spec_bytes + 1);
  auto h = load_spec(huge.string());
  ASSERT_FALSE(h);
  EXPECT_EQ(h.error().code, ErrorCode::invalid_argument);
  EXPECT_NE(h.error().message.find("more than the cap of 1048576 bytes"), std::string::npos);
  const auto loop = dir / "loop.yaml";
  std::filesystem::create_symlink(loop, loop);
  auto l = load_spec(loop.string());
  ASSERT_FALSE(l);
  EXPECT_EQ(l.error().code, ErrorCode::invalid_argument);
  EXPECT_NE(l.error().what().find("symbolic links"), std::string::npos) << l.error().what();
  auto longname = load_spec((dir / (std::string(300, 'n') + ".yaml")).string());
  ASSERT_FALSE(longname);
  EXPECT_EQ(longname.error().code, ErrorCode::invalid_argument);
  EXPECT_NE(longname.error().what().find("too long"), std::string::npos) << longname.error().what();
  std::filesystem::remove_all(dir);
}

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

constexpr const char* k_base =
    "name: x\nstop: {duration: 1s}\nworkloads:\n  - {name: a, cmd: [true]}\n";

TEST(Spec, AdaptiveRepeatOrderAndProgressModes) {
  auto s = parse_spec(std::string(k_base) +
                          "repeat: {min: 3, max: 10, ci: 5%}\norder: random\nseed: 7\n"
                          "hello_timeout: 2s\n",
                      "x.yaml");
  ASSERT_TRUE(s) << s.error().what();
  EXPECT_EQ(s->repeat, 3);
  EXPECT_EQ(s->repeat_max, 10);
  EXPECT_DOUBLE_EQ(s->repeat_ci, 0.05);
  EXPECT_TRUE(s->order_random);
  EXPECT_EQ(s->order_seed, 7U);
  EXPECT_DOUBLE_EQ(s->hello_timeout.count(), 2.0);
  EXPECT_EQ(s->workloads[0].progress, ProgressMode::automatic);  // the default
  auto fixed = parse_spec(std::string(k_base) + "repeat: 4\n", "x.yaml");
  ASSERT_TRUE(fixed);
  EXPECT_EQ(fixed->repeat, 4);
  EXPECT_DOUBLE_EQ(fixed->repeat_ci, 0.0);
  for (const auto& [text, mode] :
       {std::pair<const char*, ProgressMode>{"auto", ProgressMode::automatic},
        {"true", ProgressMode::protocol},
        {"false", ProgressMode::wall_time}}) {
    auto p = parse_spec(std::string("name: x\nstop: {duration: 1s}\nworkloads:\n"
                                    "  - {name: a, cmd: [true], progress: ") +
                            text + "}\n",
                        "x.yaml");
    ASSERT_TRUE(p) << p.error().what();
    EXPECT_EQ(p->workloads[0].progress, mode) << text;
  }
}

TEST(Spec, BadRepeatOrderAndProgressNameTheLine) {
  for (const auto& [extra, expect] : std::vector<std::pair<std::string, std::string>>{
           {"repeat: {min: 3, max: 10}\n", "x.yaml:5: repeat: adaptive repetitions need 'ci'"},
           {"repeat: {min: 3, max: 2, ci: 5%}\n", "x.yaml:5: repeat.max: 2 is out of range"},
           {"repeat: {min: 3, max: 5, ci: 5}\n", "repeat.ci: '5': expected a percentage"},
           {"repeat: {min: 3, max: 5, ci: 5%, n: 2}\n", "unknown field 'n'"},
           {"order: shuffled\n", "x.yaml:5: order: 'shuffled': use sequential or random"},
           {"seed: 3\n", "x.yaml:5: seed: a seed needs order: random"},
       }) {
    auto s = parse_spec(std::string(k_base) + extra, "x.yaml");
    ASSERT_FALSE(s) << extra;
    EXPECT_NE(s.error().message.find(expect), std::string::npos) << s.error().message;
  }
  auto p = parse_spec(
      "name: x\nstop: {duration: 1s}\nworkloads:\n  - {name: a, cmd: [true], progress: maybe}\n",
      "x.yaml");
  ASSERT_FALSE(p);
  EXPECT_NE(p.error().message.find("x.yaml:4: workloads.a.progress: 'maybe': expected auto"),
            std::string::npos)
      << p.error().message;
}

}  // namespace
}  // namespace colo
