// colo-pipeline: the builtin pipeline workload (a workload's `pipeline:` mapping, docs/
// pipeline.md). Runs one pipeline (load generator, stages as threads, bounded queues) from its
// JSON config, reports completed queries through the progress protocol every 100 ms, and at the
// end (stop rule, SIGTERM or SIGINT: issuing stops, what was issued drains) writes its per-query
// event log to $COLO_PIPELINE_EVENTS (colo stores it) and a one-line summary to stderr.
//   colo-pipeline --config JSON
//   colo-pipeline --make-dataset DIR [--files N] [--bytes B] [--seed S]   (a loader dataset)
// Exit codes: 0 done, 1 a stage could not start (a GPU error), 2 bad config or flags.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <string>
#include <thread>

#include "colo/progress.hpp"
#ifdef COLO_HAVE_CUDA_MODEL
#include "cuda_model_stage.hpp"
#endif
#include "core/clock.hpp"
#include "pipeline/config.hpp"
#include "pipeline/events.hpp"
#include "pipeline/runner.hpp"
#include "pipeline/stage.hpp"
#include "pipeline/stats.hpp"

namespace {
std::atomic<bool> g_stop{false};
void on_signal(int) {
  g_stop = true;
}

[[noreturn]] void usage(const std::string& msg) {
  std::fprintf(stderr, "colo-pipeline: %s\n", msg.c_str());
  std::exit(2);
}

std::map<std::string, std::string> flags_of(int argc, char** argv) {
  std::map<std::string, std::string> flags;
  for (int i = 1; i < argc; i += 2) {
    const std::string f = argv[i];
    if (f.rfind("--", 0) != 0 || i + 1 >= argc) {
      usage("expected --flag value pairs, got '" + f + "'");
    }
    flags[f.substr(2)] = argv[i + 1];
  }
  for (const auto& [k, v] : flags) {
    if (k != "config" && k != "make-dataset" && k != "files" && k != "bytes" && k != "seed") {
      usage("unknown flag '--" + k + "' (known: --config, --make-dataset --files --bytes --seed)");
    }
  }
  return flags;
}

long flag_number(const std::map<std::string, std::string>& f, const char* key, long def) {
  auto it = f.find(key);
  if (it == f.end()) {
    return def;
  }
  char* end = nullptr;
  const long v = std::strtol(it->second.c_str(), &end, 10);
  if (*end != '\0' || v < 1 || v > 1'000'000'000) {
    usage(std::string("--") + key + " must be an integer in [1, 1e9], got '" + it->second + "'");
  }
  return v;
}

// A dataset of N files of B pseudo-random bytes (seeded), named 00000.bin, 00001.bin, ...
int make_dataset(const std::map<std::string, std::string>& f) {
  namespace fs = std::filesystem;
  const fs::path dir = f.at("make-dataset");
  const long files = flag_number(f, "files", 16);
  const long bytes = flag_number(f, "bytes", 64L * 1024);
  std::mt19937_64 rng(static_cast<std::uint64_t>(flag_number(f, "seed", 1)));
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) {
    usage("cannot create '" + dir.string() + "': " + ec.message());
  }
  std::string buf(static_cast<std::size_t>(bytes), '\0');
  for (long i = 0; i < files; ++i) {
    for (auto& c : buf) {
      c = static_cast<char>(rng() & 0xff);
    }
    char name[32];
    std::snprintf(name, sizeof(name), "%05ld.bin", i);
    std::ofstream out(dir / name, std::ios::binary);
    out.write(buf.data(), static_cast<std::streamsize>(buf.size()));
    if (!out) {
      usage("cannot write '" + (dir / name).string() + "'");
    }
  }
  std::printf("colo-pipeline: %ld files of %ld bytes in %s\n", files, bytes, dir.c_str());
  return 0;
}
}  // namespace

int main(int argc, char** argv) {
  const auto flags = flags_of(argc, argv);
  if (flags.count("make-dataset")) {
    return make_dataset(flags);
  }
  if (!flags.count("config")) {
    usage("needs --config JSON (a workload's pipeline: mapping) or --make-dataset DIR");
  }
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(flags.at("config"));
  } catch (const std::exception& e) {
    usage(std::string("--config is not JSON: ") + e.what());
  }
  auto config = colo::pipeline::parse_config(doc);
  if (!config) {
    usage("pipeline." + config.error().message);
  }
  std::signal(SIGTERM, on_signal);
  std::signal(SIGINT, on_signal);
  colo_progress::Reporter progress;
  colo::SteadyClock clock;
  colo::pipeline::SteadyWaiter waiter(clock);
  colo::pipeline::StageEnv env;
  env.clock = &clock;
  env.waiter = &waiter;
  const char* sim_dir = std::getenv("COLO_SIM_GPU_DIR");
  env.sim_gpu_dir = sim_dir ? sim_dir : "";
  const char* label = std::getenv("COLO_WORKLOAD");
  env.workload = label ? label : "pipeline";
#ifdef COLO_HAVE_CUDA_MODEL
  env.cuda_model = colo::pipeline::make_cuda_model_stage;
#endif
  // A stage that lost its GPU says so once; the pipeline then stops (exit 1).
  std::atomic<bool> fatal{false};
  env.on_fatal = [&](const std::string& kind, const std::string& message) {
    if (!fatal.exchange(true)) {
      progress.error(kind.c_str(), message);
      std::fprintf(stderr, "colo-pipeline: %s\n", message.c_str());
      g_stop = true;
    }
  };
  std::vector<std::unique_ptr<colo::pipeline::Stage>> stages;
  for (auto i : config->order) {
    auto s = colo::pipeline::make_stage(config->stages[i], env);
    if (!s) {
      std::fprintf(stderr, "colo-pipeline: %s\n", s.error().message.c_str());
      if (s.error().code == colo::ErrorCode::gpu) {
        progress.error(s.error().context.empty() ? "oom" : s.error().context.c_str(),
                       s.error().message);
        return 1;
      }
      return 2;
    }
    stages.push_back(std::move(*s));
  }
  std::atomic<std::int64_t> samples{0};
  std::atomic<std::int64_t> latency_sum_ns{0};
  std::atomic<std::int64_t> latency_count{0};
  colo::pipeline::Runner runner(*config, std::move(stages), clock, waiter,
                                [&](const colo::pipeline::QueryRecord& q) {
                                  if (q.status == colo::pipeline::QueryStatus::completed) {
                                    samples += q.samples;
                                    latency_sum_ns += q.done_ns - q.scheduled_ns;
                                    ++latency_count;
                                  }
                                });
  progress.ready();
  std::atomic<bool> finished{false};
  // One progress step per 100 ms with the queries completed in it and their mean latency.
  std::thread reporter([&] {
    std::int64_t reported = 0;
    while (!finished) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      if (g_stop) {
        runner.request_stop();
      }
      const std::int64_t now = samples.load();
      const std::int64_t n = latency_count.exchange(0);
      const std::int64_t sum = latency_sum_ns.exchange(0);
      if (now > reported) {
        progress.step(static_cast<double>(now - reported), -1,
                      n > 0 ? static_cast<double>(sum) / static_cast<double>(n) / 1e6 : -1);
        reported = now;
      }
    }
  });
  auto result = runner.run();
  finished = true;
  reporter.join();
  colo::pipeline::LogMeta meta;
  if (config->load.latency_bound) {
    meta.latency_bound_ns =
        std::chrono::duration_cast<colo::Nanos>(*config->load.latency_bound).count();
    meta.latency_percentile = config->load.latency_percentile;
  }
  meta.events_not_logged = result.events_not_logged;
  meta.queries_not_logged = result.queries_not_logged;
  std::vector<colo::pipeline::Event> events;
  std::int64_t last_ns = result.last_not_logged_ns;
  for (const auto& q : result.queries) {
    colo::pipeline::append_events(*q, events);
    last_ns = std::max(last_ns, q->done_ns);
  }
  events.push_back(colo::pipeline::meta_event(meta, last_ns));
  if (const char* path = std::getenv("COLO_PIPELINE_EVENTS"); path && *path) {
    std::ofstream out(path);
    colo::pipeline::write_event_header(out, result.stage_names);
    colo::pipeline::write_events(out, result.stage_names, events);
    if (!out) {
      std::fprintf(stderr, "colo-pipeline: cannot write the event log '%s'\n", path);
    }
  }
  std::vector<colo::pipeline::QueryRecord> records;
  records.reserve(result.queries.size());
  for (auto& q : result.queries) {
    records.push_back(std::move(*q));
  }
  const auto stats = colo::pipeline::summarize(records, result.stage_names, meta);
  const std::int64_t queries = stats.issued + stats.queries_not_logged;
  std::fprintf(
      stderr, "colo-pipeline: %lld queries: %s%s\n", static_cast<long long>(queries),
      colo::pipeline::one_line(stats).c_str(),
      result.stopped_by_failure ? " (stopped at the first failure: on_failure: stop)" : "");
  if (fatal) {
    return 1;  // the error was reported through the progress protocol
  }
  progress.done();
  return 0;
}
