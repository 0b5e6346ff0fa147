#include "serve/exporter.hpp"

#include <fmt/format.h>
#include <httplib.h>

#include "serve/auth.hpp"
#include "serve/config.hpp"
#include "serve/metrics.hpp"

namespace colo::serve {

void RunExporter::run_started(const WatchedRun& run) {
  const std::lock_guard lock(m_mutex);
  Running& r = m_running[run.seq];
  r.run = run;
  r.progress.clear();
  for (const auto& w : run.workloads) {
    r.progress[w.client] = {};
  }
  m_last = run;
  ++m_runs_started;
}

void RunExporter::progress(int seq, int client, double t, double samples) {
  const std::lock_guard lock(m_mutex);
  const auto it = m_running.find(seq);
  if (it == m_running.end()) {
    return;
  }
  auto& p = it->second.progress[client];
  p.samples += samples;
  ++p.steps;
  p.recent.emplace_back(t, samples);
  while (p.recent.size() > 2 && t - p.recent.front().first > k_rate_window_s) {
    p.recent.pop_front();
  }
}

void RunExporter::gpu_metric(int gpu, const std::string& metric, double value) {
  const std::lock_guard lock(m_mutex);
  m_gpus[gpu][metric] = value;
}

void RunExporter::run_finished(int seq) {
  const std::lock_guard lock(m_mutex);
  m_running.erase(seq);
  ++m_runs_finished;
}

namespace {

// Samples per second over the steps in `recent` (the first step's samples are before the span).
double rate_of(const std::deque<std::pair<double, double>>& recent) {
  if (recent.size() < 2) {
    return 0;
  }
  const double span = recent.back().first - recent.front().first;
  double n = 0;
  for (std::size_t i = 1; i < recent.size(); ++i) {
    n += recent[i].second;
  }
  return span > 0 ? n / span : 0;
}

}  // namespace

std::string RunExporter::metrics_text() const {
  const std::lock_guard lock(m_mutex);
  const std::string sim = m_last.simulated ? ", SIMULATED GPU: modelled, not measured" : "";
  MetricFamily active{"colo_run_active",
                      "Runs of the experiment running now (several on disjoint GPUs)",
                      MetricType::gauge,
                      {{"", {}, static_cast<double>(m_running.size())}}};
  MetricFamily started{"colo_run_runs_started_total",
                       "Runs started by this colo run",
                       MetricType::counter,
                       {{"", {}, static_cast<double>(m_runs_started)}}};
  MetricFamily finished{"colo_run_runs_finished_total",
                        "Runs ended (done, failed or interrupted) in this colo run",
                        MetricType::counter,
                        {{"", {}, static_cast<double>(m_runs_finished)}}};
  MetricFamily info{"colo_run_info",
                    "1 per run running now: experiment, run, mode, group",
                    MetricType::gauge,
                    {}};
  MetricFamily samples{"colo_run_workload_samples_total",
                       "Samples a workload reported in its run (progress protocol)" + sim,
                       MetricType::counter,
                       {}};
  MetricFamily steps{"colo_run_workload_steps_total",
                     "Progress steps a workload reported in its run" + sim,
                     MetricType::counter,
                     {}};
  MetricFamily rate{"colo_run_workload_progress_rate",
                    fmt::format("A workload's samples per second over its last {:g} s of steps{}",
                                k_rate_window_s, sim),
                    MetricType::gauge,
                    {}};
  for (const auto& [seq, r] : m_running) {
    info.samples.push_back({"",
                            {{"experiment", std::to_string(r.run.experiment)},
                             {"run", std::to_string(seq)},
                             {"mode", r.run.mode},
                             {"group", r.run.group},
                             {"repetition", std::to_string(r.run.repetition)}},
                            1});
    for (const auto& w : r.run.workloads) {
      const auto it = r.progress.find(w.client);
      if (it == r.progress.end()) {
        continue;
      }
      const std::map<std::string, std::string> l{{"workload", w.name},
                                                 {"copy", std::to_string(w.copy)},
                                                 {"gpu", std::to_string(w.gpu)},
                                                 {"mode", r.run.mode},
                                                 {"run", std::to_string(seq)}};
      samples.samples.push_back({"", l, it->second.samples});
      steps.samples.push_back({"", l, static_cast<double>(it->second.steps)});
      rate.samples.push_back({"", l, rate_of(it->second.recent)});
    }
  }
  std::map<int, std::vector<Metric>> telemetry;
  for (const auto& [gpu, values] : m_gpus) {
    for (const auto& [name, v] : values) {
      telemetry[gpu].push_back({name, v, 0});
    }
  }
  const auto labels = [&](int gpu) {
    const auto g = static_cast<std::size_t>(gpu);
    return gpu_labels(gpu, g < m_last.gpu_uuids.size() ? m_last.gpu_uuids[g] : "",
                      g < m_last.gpu_names.size() ? m_last.gpu_names[g] : "", m_last.simulated);
  };
  std::vector<MetricFamily> all{active, started, finished, info, samples, steps, rate};
  for (auto& f : dcgm_families(telemetry, labels, m_last.simulated)) {
    all.push_back(std::move(f));
  }
  return render(all);
}

MetricsServer::MetricsServer(std::function<std::string()> text, std::string token)
    : m_text(std::move(text)), m_token(std::move(token)) {}

MetricsServer::~MetricsServer() {
  stop();
}

Status MetricsServer::start(const std::string& host, int port, const std::string& token_env) {
  if (!is_loopback(host) && m_token.empty()) {
    return fail(ErrorCode::invalid_argument,
                fmt::format("metrics on {} (beyond loopback) need a bearer token: set {} "
                            "(docs/serve.md)",
                            host, token_env));
  }
  m_http = std::make_unique<httplib::Server>();
  m_http->new_task_queue = [] { return new httplib::ThreadPool(2); };
  m_http->set_read_timeout(std::chrono::seconds(5));
  m_http->set_write_timeout(std::chrono::seconds(5));
  m_http->Get("/metrics", [this](const httplib::Request& req, httplib::Response& res) {
    if (!authorized(req.get_header_value("Authorization"), m_token)) {
      res.status = 401;
      res.set_header("WWW-Authenticate", "Bearer");
      res.set_content("missing or wrong bearer token\n", "text/plain");
      return;
    }
    res.set_content(m_text(), "text/plain; version=0.0.4; charset=utf-8");
  });
  const int bound =
      port == 0 ? m_http->bind_to_any_port(host) : (m_http->bind_to_port(host, port) ? port : -1);
  if (bound <= 0) {
    m_http.reset();
    return fail(ErrorCode::io, fmt::format("cannot listen on {}:{}", host, port),
                "address in use, or not an address of this host");
  }
  m_port = bound;
  m_thread = std::thread([this] { m_http->listen_after_bind(); });
  return {};
}

void stop_listener(httplib::Server& server, std::thread& listener) {
  if (!listener.joinable()) {
    server.stop();
    return;
  }
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!server.is_running() && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  server.stop();
  listener.join();
}

void MetricsServer::stop() {
  if (m_http) {
    stop_listener(*m_http, m_thread);
  }
}

}  // namespace colo::serve
