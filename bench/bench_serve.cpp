// colo serve's dispatch overhead on loopback (issue 15): starts the real daemon with K no-op
// `command` workers (colo-serve-echo) and measures, against it,
//   1. batch:   tasks/s through POST /v1/batch + POST /v1/results (target >= 5,000/s);
//   2. sync:    peak tasks/s with one HTTP request per task on keep-alive connections
//               (POST /v1/tasks, "wait": true; target >= 2,000/s);
//   3. latency: p50/p99 of those requests at half of the sync peak, open loop (targets < 1 ms,
//               < 5 ms);
//   4. soak:    --soak-seconds at half of the peak: the daemon's RSS and open fds at the start
//               and the end, and submitted == succeeded + failed + expired + cancelled.
// Usage: bench_serve [--workers K] [--clients C] [--seconds S] [--soak-seconds S] [--json FILE]
// Prints a table; --json writes the numbers. Needs colo and colo-serve-echo next to it.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

struct Daemon {
  pid_t pid = -1;
  int port = 0;
};

Daemon start_daemon(const fs::path& dir, int workers) {
  const std::string bin = COLO_BIN_DIR;
  std::ofstream(dir / "serve.yaml") << "max_connections: 64\nfunctions:\n  - name: noop\n"
                                    << "    argv: [" << bin << "/colo-serve-echo]\n"
                                    << "    workers: " << workers << "\n"
                                    << "    queue_capacity: 100000\n";
  Daemon d;
  d.pid = ::fork();
  if (d.pid == 0) {
    std::freopen((dir / "serve.out").c_str(), "w", stdout);
    std::freopen((dir / "serve.err").c_str(), "w", stderr);
    const std::string colo = bin + "/colo";
    const std::string cfg = (dir / "serve.yaml").string();
    ::execl(colo.c_str(), colo.c_str(), "serve", "--config", cfg.c_str(), "--listen", "127.0.0.1:0",
            static_cast<char*>(nullptr));
    ::_exit(127);
  }
  const std::regex re("listening on http://127\\.0\\.0\\.1:([0-9]+)");
  for (int i = 0; i < 200; ++i) {
    std::smatch m;
    const std::string out = slurp(dir / "serve.out");
    if (std::regex_search(out, m, re)) {
      d.port = std::stoi(m[1]);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return d;
}

// VmRSS in KiB and the number of open fds of `pid`.
std::pair<long, long> rss_and_fds(pid_t pid) {
  long rss = -1;
  std::ifstream st("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(st, line)) {
    if (line.rfind("VmRSS:", 0) == 0) {
      rss = std::stol(line.substr(6));
    }
  }
  long fds = 0;
  std::error_code ec;
  for (auto it = fs::directory_iterator("/proc/" + std::to_string(pid) + "/fd", ec);
       !ec && it != fs::directory_iterator(); ++it) {
    ++fds;
  }
  return {rss, fds};
}

double percentile(std::vector<double> v, double p) {
  if (v.empty()) {
    return 0;
  }
  std::sort(v.begin(), v.end());
  const auto i = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1));
  return v[i];
}

// Batch throughput: `rounds` batches of `size` no-op tasks, each submitted then collected.
double batch_rate(int port, int rounds, int size) {
  httplib::Client c("127.0.0.1", port);
  c.set_read_timeout(std::chrono::seconds(120));
  c.set_tcp_nodelay(true);
  json inputs = json::array();
  for (int i = 0; i < size; ++i) {
    inputs.push_back(nullptr);
  }
  const std::string body = json{{"function", "noop"}, {"inputs", inputs}}.dump();
  std::size_t done = 0;
  const auto t0 = Clock::now();
  for (int r = 0; r < rounds; ++r) {
    auto s = c.Post("/v1/batch", body, "application/json");
    if (!s || s->status != 202) {
      std::cerr << "bench_serve: batch submit failed\n";
      return 0;
    }
    const json ids = json::parse(s->body)["ids"];
    auto res = c.Post("/v1/results", json{{"ids", ids}, {"wait_s", 60}}.dump(), "application/json");
    if (!res) {
      return 0;
    }
    const json answer = json::parse(res->body);  // kept: a range over a temporary's member dangles
    for (const auto& t : answer["tasks"]) {
      done += t["state"] == "succeeded" ? 1 : 0;
    }
  }
  const double s = std::chrono::duration<double>(Clock::now() - t0).count();
  if (done != static_cast<std::size_t>(rounds) * static_cast<std::size_t>(size)) {
    std::cerr << "bench_serve: " << done << " of " << rounds * size << " batch tasks succeeded\n";
  }
  return static_cast<double>(done) / s;
}

struct SyncResult {
  double rate = 0;  // tasks/s
  std::vector<double> latencies_ms;
  std::size_t errors = 0;
};

// `clients` threads, each on one keep-alive connection, for `seconds`. rate <= 0: closed loop
// (as fast as answers come); else open loop at `rate` tasks/s in total (each client paced at
// rate/clients; a late request is sent at once and its latency counts from its send).
SyncResult sync_run(int port, int clients, double seconds, double rate) {
  std::vector<std::thread> threads;
  std::vector<SyncResult> per(static_cast<std::size_t>(clients));
  const std::string body = json{{"function", "noop"}, {"input", nullptr}, {"wait", true}}.dump();
  const auto t0 = Clock::now();
  const auto end =
      t0 + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  for (int i = 0; i < clients; ++i) {
    threads.emplace_back([&, i] {
      httplib::Client c("127.0.0.1", port);
      c.set_keep_alive(true);
      c.set_tcp_nodelay(true);
      c.set_read_timeout(std::chrono::seconds(30));
      auto& r = per[static_cast<std::size_t>(i)];
      const double gap = rate > 0 ? clients / rate : 0;
      auto next = t0 + std::chrono::duration_cast<Clock::duration>(
                           std::chrono::duration<double>(gap * i / clients));
      while (Clock::now() < end) {
        if (rate > 0) {
          std::this_thread::sleep_until(next);
          next += std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(gap));
        }
        const auto s = Clock::now();
        auto res = c.Post("/v1/tasks", body, "application/json");
        const auto e = Clock::now();
        if (!res || res->status != 200 || res->body.find("\"succeeded\"") == std::string::npos) {
          ++r.errors;
          continue;
        }
        r.latencies_ms.push_back(std::chrono::duration<double, std::milli>(e - s).count());
      }
    });
  }
  for (auto& t : threads) {
    t.join();
  }
  SyncResult out;
  for (auto& r : per) {
    out.latencies_ms.insert(out.latencies_ms.end(), r.latencies_ms.begin(), r.latencies_ms.end());
    out.errors += r.errors;
  }
  const double s = std::chrono::duration<double>(Clock::now() - t0).count();
  out.rate = static_cast<double>(out.latencies_ms.size()) / s;
  return out;
}

json counters(int port) {
  httplib::Client c("127.0.0.1", port);
  auto m = c.Get("/metrics");
  json out = json::object();
  if (!m) {
    return out;
  }
  std::istringstream in(m->body);
  std::string line;
  const std::regex sub("^colo_serve_tasks_submitted_total\\{function=\"noop\"\\} ([0-9.e+]+)$");
  const std::regex fin(
      "^colo_serve_tasks_finished_total\\{function=\"noop\",state=\"([a-z]+)\"\\} ([0-9.e+]+)$");
  while (std::getline(in, line)) {
    std::smatch mm;
    if (std::regex_match(line, mm, sub)) {
      out["submitted"] = std::stod(mm[1]);
    } else if (std::regex_match(line, mm, fin)) {
      out[mm[1].str()] = std::stod(mm[2]);
    }
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  int workers = 2;
  int clients = 8;
  double seconds = 5;
  double soak_seconds = 0;
  std::string json_path;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--workers") {
      workers = std::stoi(argv[i + 1]);
    } else if (a == "--clients") {
      clients = std::stoi(argv[i + 1]);
    } else if (a == "--seconds") {
      seconds = std::stod(argv[i + 1]);
    } else if (a == "--soak-seconds") {
      soak_seconds = std::stod(argv[i + 1]);
    } else if (a == "--json") {
      json_path = argv[i + 1];
    } else {
      std::cerr << "bench_serve: unknown option " << a << "\n";
      return 2;
    }
  }
  const fs::path dir =
      fs::temp_directory_path() / ("colo-bench-serve-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const Daemon d = start_daemon(dir, workers);
  if (d.port == 0) {
    std::cerr << "bench_serve: colo serve did not start: " << slurp(dir / "serve.err") << "\n";
    return 1;
  }
  json out{{"machine", {{"cores", std::thread::hardware_concurrency()}}},
           {"workers", workers},
           {"clients", clients},
           {"seconds", seconds}};
  (void)batch_rate(d.port, 2, 1000);  // warm-up
  const double batch = batch_rate(d.port, 20, 1000);
  out["batch_tasks_per_s"] = batch;
  std::printf("batch API (20 x 1000 no-op tasks):      %8.0f tasks/s   (target >= 5000)\n", batch);
  (void)sync_run(d.port, clients, 1, 0);  // warm-up
  const SyncResult peak = sync_run(d.port, clients, seconds, 0);
  out["sync_peak_tasks_per_s"] = peak.rate;
  out["sync_peak_p50_ms"] = percentile(peak.latencies_ms, 0.5);
  out["sync_peak_p99_ms"] = percentile(peak.latencies_ms, 0.99);
  out["sync_peak_errors"] = peak.errors;
  std::printf("one request per task, %d keep-alive clients: %8.0f tasks/s   (target >= 2000)\n",
              clients, peak.rate);
  const double half = peak.rate / 2;
  const SyncResult at_half = sync_run(d.port, clients, seconds, half);
  out["half_peak_offered_tasks_per_s"] = half;
  out["half_peak_tasks_per_s"] = at_half.rate;
  out["half_peak_p50_ms"] = percentile(at_half.latencies_ms, 0.5);
  out["half_peak_p99_ms"] = percentile(at_half.latencies_ms, 0.99);
  out["half_peak_errors"] = at_half.errors;
  std::printf(
      "at half of peak (%.0f/s offered, open loop): p50 %.3f ms, p99 %.3f ms   (targets "
      "< 1 ms, < 5 ms)\n",
      half, percentile(at_half.latencies_ms, 0.5), percentile(at_half.latencies_ms, 0.99));
  if (soak_seconds > 0) {
    const auto [rss0, fds0] = rss_and_fds(d.pid);
    const SyncResult soak = sync_run(d.port, clients, soak_seconds, half);
    const auto [rss1, fds1] = rss_and_fds(d.pid);
    const json c = counters(d.port);
    const double finished = c.value("succeeded", 0.0) + c.value("failed", 0.0) +
                            c.value("expired", 0.0) + c.value("cancelled", 0.0);
    out["soak"] = {{"seconds", soak_seconds},
                   {"tasks", soak.latencies_ms.size()},
                   {"errors", soak.errors},
                   {"p50_ms", percentile(soak.latencies_ms, 0.5)},
                   {"p99_ms", percentile(soak.latencies_ms, 0.99)},
                   {"rss_kib_start", rss0},
                   {"rss_kib_end", rss1},
                   {"fds_start", fds0},
                   {"fds_end", fds1},
                   {"counters", c},
                   {"lost", c.value("submitted", 0.0) - finished}};
    std::printf(
        "soak %.0f s at %.0f/s: %zu tasks, %zu errors, p99 %.3f ms, RSS %ld -> %ld KiB, "
        "fds %ld -> %ld, submitted %.0f = finished %.0f (lost %.0f)\n",
        soak_seconds, half, soak.latencies_ms.size(), soak.errors,
        percentile(soak.latencies_ms, 0.99), rss0, rss1, fds0, fds1, c.value("submitted", 0.0),
        finished, c.value("submitted", 0.0) - finished);
  }
  ::kill(d.pid, SIGTERM);
  int st = 0;
  ::waitpid(d.pid, &st, 0);
  out["daemon_exit"] = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  if (!json_path.empty()) {
    std::ofstream(json_path) << out.dump(2) << "\n";
  }
  std::error_code ec;
  fs::remove_all(dir, ec);
  return 0;
}
