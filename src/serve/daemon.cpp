#include "serve/daemon.hpp"

#include <poll.h>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <deque>
#include <functional>
#include <optional>
#include <ostream>
#include <set>

#include "serve/auth.hpp"
#include "serve/exporter.hpp"

namespace colo::serve {
namespace {

using nlohmann::json;

// True on an HTTP thread that serves a connection beyond max_connections: every request on it is
// answered 429 and the connection closed.
thread_local bool t_over_limit = false;

// httplib's task queue with a connection limit: `limit` threads serve one connection each; a
// connection beyond them goes to a small reject pool that answers 429 at once (rather than
// waiting unseen in an unbounded queue).
class ConnectionQueue final : public httplib::TaskQueue {
 public:
  ConnectionQueue(int limit, int reject_threads) : m_limit(limit) {
    for (int i = 0; i < limit; ++i) {
      m_threads.emplace_back([this] { loop(m_main, false); });
    }
    for (int i = 0; i < reject_threads; ++i) {
      m_threads.emplace_back([this] { loop(m_reject, true); });
    }
  }
  ConnectionQueue(const ConnectionQueue&) = delete;
  ConnectionQueue& operator=(const ConnectionQueue&) = delete;
  ~ConnectionQueue() override { shutdown(); }

  void enqueue(std::function<void()> fn) override {
    {
      const std::lock_guard lock(m_mutex);
      if (m_open < m_limit) {
        ++m_open;
        m_main.push_back(std::move(fn));
      } else {
        m_reject.push_back(std::move(fn));
      }
    }
    m_cv.notify_all();
  }

  void shutdown() override {
    {
      const std::lock_guard lock(m_mutex);
      if (m_stop) {
        return;
      }
      m_stop = true;
    }
    m_cv.notify_all();
    for (auto& t : m_threads) {
      t.join();
    }
  }

 private:
  void loop(std::deque<std::function<void()>>& q, bool reject) {
    t_over_limit = reject;
    while (true) {
      std::function<void()> fn;
      {
        std::unique_lock lock(m_mutex);
        m_cv.wait(lock, [&] { return m_stop || !q.empty(); });
        if (q.empty()) {
          return;  // stopping, nothing left
        }
        fn = std::move(q.front());
        q.pop_front();
      }
      fn();
      if (!reject) {
        const std::lock_guard lock(m_mutex);
        --m_open;
      }
    }
  }

  int m_limit;
  std::mutex m_mutex;
  std::condition_variable m_cv;
  std::deque<std::function<void()>> m_main;
  std::deque<std::function<void()>> m_reject;
  int m_open = 0;
  bool m_stop = false;
  std::vector<std::thread> m_threads;
};

void send_json(httplib::Response& res, int status, const std::string& body) {
  res.status = status;
  res.set_content(body, "application/json");
}

void send_error(httplib::Response& res, int status, const std::string& msg) {
  send_json(res, status, json{{"error", msg}}.dump());
}

// A pool's partition in API answers: its kind, and for kind mig its instance (and the profile
// of one colo serve created).
void add_partition(json& j, const PartitionSpec& p) {
  j["partition"] = to_string(p.kind);
  if (p.kind == PartitionKind::mig) {
    j["mig_uuid"] = p.mig_uuid;
    if (!p.mig_profile.empty()) {
      j["mig_profile"] = p.mig_profile;
    }
  }
}

// The status of an Error from the store or a pool.
int status_for(const Error& e) {
  switch (e.code) {
    case ErrorCode::not_found:
      return 404;
    case ErrorCode::busy:
      return 429;
    case ErrorCode::interrupted:
      return 503;
    case ErrorCode::invalid_argument:
      return 400;
    default:
      return 500;
  }
}

// A task as JSON; the result is already JSON text, spliced in without a parse.
std::string view_json(const TaskView& v) {
  std::string out = json{
      {"id", v.id},
      {"function", v.function},
      {"state", to_string(v.state)},
      {"attempts", v.attempts},
      {"queued_s", v.queued_s},
      {"total_s",
       v.total_s}}.dump();
  out.pop_back();  // '}'
  if (v.state == TaskState::succeeded) {
    out += ",\"result\":";
    out += v.result.empty() ? "null" : v.result;
  }
  if (!v.error.empty()) {
    out += ",\"error\":";
    out += json(v.error).dump();
  }
  out += '}';
  return out;
}

// Parses a JSON object body; on failure answers 400 and returns nullopt.
std::optional<json> body_object(const httplib::Request& req, httplib::Response& res) {
  auto j = json::parse(req.body, nullptr, false);
  if (j.is_discarded()) {
    send_error(res, 400, "the body is not valid JSON");
    return std::nullopt;
  }
  if (!j.is_object()) {
    send_error(res, 400, "the body must be a JSON object");
    return std::nullopt;
  }
  return j;
}

// `key` of `j` as a positive number of seconds, or `fallback`; nullopt (400 sent) when invalid.
std::optional<double> seconds_field(const json& j, const char* key, double fallback, double max,
                                    httplib::Response& res) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) {
    return fallback;
  }
  if (!it->is_number() || !(it->get<double>() >= 0) || it->get<double>() > max) {
    send_error(res, 400, fmt::format("\"{}\" must be a number of seconds in 0..{}", key, max));
    return std::nullopt;
  }
  return it->get<double>();
}

Nanos to_nanos(double s) {
  return std::chrono::duration_cast<Nanos>(Seconds(s));
}

}  // namespace

Daemon::Daemon(ServeConfig cfg, PoolContext ctx, const Clock& clock, std::ostream& log,
               GpuHost* gpu)
    : m_cfg(std::move(cfg)),
      m_ctx(std::move(ctx)),
      m_clock(clock),
      m_log(log),
      m_store(clock, m_cfg.result_retention),
      m_gpu(gpu) {
  if (m_cfg.state_dir.empty()) {
    m_cfg.state_dir = fmt::format("/tmp/colo-serve-{}", ::getpid());
  }
  if (m_gpu != nullptr) {
    m_ctx.gpu_env = [this](const PartitionSpec& p) { return gpu_env(p); };
    m_ctx.mps_note = [this](int device) { return mps_note(device); };
  }
}

Daemon::~Daemon() {
  try {
    shutdown();
    quit_mps();
    destroy_all_mig();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "colo serve: shutdown failed: %s\n", e.what());
  }
}

Result<std::map<std::string, std::string>> Daemon::gpu_env(const PartitionSpec& p) {
  std::map<std::string, std::string> env;
  if (p.kind == PartitionKind::none || (p.kind == PartitionKind::mig && !creates_mig(p))) {
    return env;  // mig: the instance's UUID from the mode layer
  }
  const std::lock_guard lock(m_gpu_mutex);
  if (creates_mig(p)) {
    // The backend's environment of the instance colo serve created (its UUID, and on the
    // simulated GPU its limits).
    if (auto it = m_mig.find(p.device); it != m_mig.end()) {
      const auto& uuids = it->second.uuids;
      if (auto u = std::find(uuids.begin(), uuids.end(), p.mig_uuid); u != uuids.end()) {
        return it->second.instances->client_env(static_cast<int>(u - uuids.begin()));
      }
    }
    return fail(ErrorCode::gpu, fmt::format("the {} MIG instance '{}' on GPU {} does not exist "
                                            "(any more)",
                                            p.mig_profile, p.mig_uuid, p.device));
  }
  if (p.device >= static_cast<int>(m_devices.size())) {
    return fail(ErrorCode::invalid_argument,
                fmt::format("no GPU {} on this host ({} GPU(s))", p.device, m_devices.size()));
  }
  const DeviceInfo& d = m_devices[static_cast<std::size_t>(p.device)];
  if (!d.simulated && !d.uuid.empty()) {
    env["CUDA_VISIBLE_DEVICES"] = d.uuid;  // the index order of CUDA may differ from NVML's
  }
  if (p.kind == PartitionKind::mps) {
    COLO_TRY(ensure_mps(p.device));
    env.merge(m_mps.at(p.device).server->client_env());
  }
  return env;
}

Status Daemon::ensure_mps(int device) {
  if (m_mps.count(device) != 0) {
    return {};
  }
  auto server = m_gpu->start_mps(device, fmt::format("{}/mps/dev{}", m_cfg.state_dir, device));
  if (!server) {
    return fail(server.error());
  }
  m_mps[device].server = std::move(*server);
  m_log << fmt::format("colo serve: started the MPS control daemon of GPU {}{}\n", device,
                       m_gpu->simulated() ? " (simulated GPU: no daemon process)" : "")
        << std::flush;
  return {};
}

void Daemon::check_mps(int device) {
  auto it = m_mps.find(device);
  if (it == m_mps.end()) {
    return;
  }
  MpsState& st = it->second;
  const auto faults = st.server->faults();
  if (faults.size() <= st.seen) {
    return;
  }
  bool lost = false;
  for (std::size_t i = st.seen; i < faults.size(); ++i) {
    lost = lost || faults[i].pid == 0;
    st.last_fault = faults[i].pid == 0
                        ? faults[i].message
                        : fmt::format("client pid {}: {}", faults[i].pid, faults[i].message);
    m_log << fmt::format("colo serve: MPS fault on GPU {}: {}\n", device, st.last_fault);
  }
  st.seen = faults.size();
  st.last_fault_at = m_clock.now();
  if (lost) {
    // The daemon cannot serve its clients any more: a new one takes over.
    (void)st.server->quit();
    auto server = m_gpu->start_mps(device, fmt::format("{}/mps/dev{}", m_cfg.state_dir, device));
    if (server) {
      st.server = std::move(*server);
      st.seen = st.server->faults().size();
      m_log << fmt::format("colo serve: restarted the MPS control daemon of GPU {}\n", device);
    } else {
      m_log << fmt::format("colo serve: cannot restart the MPS control daemon of GPU {}: {}\n",
                           device, server.error().what());
      m_mps.erase(it);  // the next worker start tries again
    }
  }
  m_log << std::flush;
  for (auto& p : m_pools) {
    const FunctionConfig f = p->snapshot();
    if (f.partition.kind != PartitionKind::mps) {
      continue;
    }
    const auto devs = function_devices(f);
    if (std::find(devs.begin(), devs.end(), device) != devs.end()) {
      p->recycle();
    }
  }
}

std::string Daemon::mps_note(int device) {
  const std::lock_guard lock(m_gpu_mutex);
  check_mps(device);
  auto it = m_mps.find(device);
  if (it == m_mps.end() || it->second.last_fault_at < Nanos(0) ||
      m_clock.now() - it->second.last_fault_at > k_mps_fault_window) {
    return {};
  }
  return fmt::format("MPS server fault on GPU {}: {}", device, it->second.last_fault);
}

void Daemon::quit_mps() {
  const std::lock_guard lock(m_gpu_mutex);
  for (auto& [device, st] : m_mps) {
    if (auto ok = st.server->quit(); !ok) {
      m_log << fmt::format("colo serve: quitting the MPS daemon of GPU {} failed: {}\n", device,
                           ok.error().what());
    }
  }
  if (!m_mps.empty()) {
    m_log << fmt::format("colo serve: quit {} MPS control daemon(s)\n", m_mps.size()) << std::flush;
  }
  m_mps.clear();
}

Status Daemon::create_mig(const MigGpuLayout& layout) {
  const int d = layout.device;
  auto made =
      m_gpu->create_mig(d, layout.profiles, fmt::format("{}/mig/dev{}", m_cfg.state_dir, d));
  if (!made) {
    return fail(made.error().code,
                fmt::format("GPU {}: cannot create the MIG instances of {}: {}", d,
                            fmt::join(layout.functions, ", "), made.error().message),
                made.error().context);
  }
  MigState st;
  st.instances = std::move(*made);
  st.layout = layout;
  std::string listed;
  for (std::size_t i = 0; i < layout.profiles.size(); ++i) {
    const auto env = st.instances->client_env(static_cast<int>(i));
    const auto it = env.find("CUDA_VISIBLE_DEVICES");
    st.uuids.push_back(it == env.end() ? std::string{} : it->second);
    listed += fmt::format("{}'{}' {} {}", listed.empty() ? "" : ", ", layout.functions[i],
                          layout.profiles[i], st.uuids.back());
  }
  m_mig[d] = std::move(st);
  m_log << fmt::format("colo serve: created the MIG instances of GPU {}{}: {}\n", d,
                       m_gpu->simulated() ? " (simulated GPU)" : "", listed)
        << std::flush;
  return {};
}

void Daemon::destroy_mig(int device) {
  auto it = m_mig.find(device);
  if (it == m_mig.end()) {
    return;
  }
  if (auto ok = it->second.instances->destroy(); !ok) {
    m_log << fmt::format("colo serve: destroying the MIG instances of GPU {} failed: {}\n", device,
                         ok.error().what());
  } else {
    m_log << fmt::format("colo serve: destroyed the {} MIG instance(s) of GPU {}\n",
                         it->second.uuids.size(), device);
  }
  m_log << std::flush;
  m_mig.erase(it);
}

void Daemon::destroy_all_mig() {
  const std::lock_guard change(m_mig_change_mutex);  // after a repartition_mig in flight
  const std::lock_guard lock(m_gpu_mutex);
  while (!m_mig.empty()) {
    destroy_mig(m_mig.begin()->first);
  }
}

std::string Daemon::mig_uuid(int device, const std::string& function) const {
  const auto it = m_mig.find(device);
  if (it == m_mig.end()) {
    return {};
  }
  const auto& fns = it->second.layout.functions;
  const auto f = std::find(fns.begin(), fns.end(), function);
  return f == fns.end() ? std::string{}
                        : it->second.uuids[static_cast<std::size_t>(f - fns.begin())];
}

Status Daemon::repartition_mig(Pool& pool, int workers, PartitionSpec partition) {
  const std::lock_guard change(m_mig_change_mutex);
  const FunctionConfig old = pool.snapshot();
  {
    FunctionConfig probe = old;
    probe.partition = partition;
    probe.workers = workers;
    COLO_TRY(validate_function(probe, fmt::format("function '{}': ", old.name)));
  }
  std::map<int, MigGpuLayout> plan;
  {
    const std::lock_guard lock(m_gpu_mutex);
    // The changed pool last: a layout that does not fit names it.
    std::vector<FunctionConfig> fns;
    for (const auto& p : m_pools) {
      if (p.get() != &pool) {
        fns.push_back(p->snapshot());
      }
    }
    fns.push_back(old);
    fns.back().partition = partition;
    auto planned = plan_mig_layouts(fns, m_devices, "request");
    if (!planned) {
      return fail(planned.error());
    }
    plan = std::move(*planned);
    std::set<int> gpus;
    if (creates_mig(old.partition)) {
      gpus.insert(old.partition.device);
    }
    if (creates_mig(partition)) {
      gpus.insert(partition.device);
    }
    for (int d : gpus) {
      std::vector<std::string> others;
      for (const auto& f : fns) {
        if (f.name != old.name && creates_mig(f.partition) && f.partition.device == d) {
          others.push_back(fmt::format("'{}'", f.name));
        }
      }
      if (!others.empty()) {
        return fail(ErrorCode::invalid_argument,
                    fmt::format("function '{}': GPU {} also has the MIG pool(s) {}: colo serve "
                                "creates one MIG layout per GPU and re-creates it whole, which "
                                "would destroy their instances under their workers; change "
                                "those pools together by restarting colo serve with the new "
                                "config (docs/serve.md)",
                                old.name, d, fmt::join(others, ", ")));
      }
    }
  }
  m_log << fmt::format("colo serve: pool '{}': draining for its new MIG partition\n", old.name)
        << std::flush;
  if (!pool.hold(Pool::k_repartition_wait)) {
    (void)pool.resize(old.workers, std::nullopt);
    return fail(ErrorCode::busy,
                fmt::format("function '{}': its tasks still ran after {} s; the partition is "
                            "unchanged",
                            old.name, Pool::k_repartition_wait.count()));
  }
  if (m_shutting_down) {
    return fail(ErrorCode::interrupted, "the daemon is shutting down");
  }
  Status created;
  PartitionSpec back = old.partition;  // when the new layout cannot be made
  {
    const std::lock_guard lock(m_gpu_mutex);
    std::optional<MigGpuLayout> before;
    if (creates_mig(old.partition)) {
      if (auto it = m_mig.find(old.partition.device); it != m_mig.end()) {
        before = it->second.layout;
      }
      destroy_mig(old.partition.device);
    }
    if (creates_mig(partition)) {
      created = create_mig(plan.at(partition.device));
      if (created) {
        partition.mig_uuid = mig_uuid(partition.device, old.name);
      } else if (before && create_mig(*before)) {
        // Back to the old profile (a new instance of it) so the pool serves again.
        back.mig_uuid = mig_uuid(back.device, old.name);
      }
    }
  }
  if (!created) {
    (void)pool.resize(old.workers, back);
    return created;
  }
  return pool.resize(workers, partition);
}

Pool* Daemon::pool(const std::string& name) const {
  for (const auto& p : m_pools) {
    if (p->config().name == name) {
      return p.get();
    }
  }
  return nullptr;
}

Status Daemon::start_gpus() {
  if (m_gpu == nullptr) {
    return {};
  }
  auto devs = m_gpu->devices();
  if (!devs) {
    return fail(devs.error());
  }
  const std::lock_guard lock(m_gpu_mutex);
  m_devices = std::move(*devs);
  for (const auto& f : m_cfg.functions) {
    if (f.partition.kind == PartitionKind::mig) {
      continue;  // named by its instance's UUID
    }
    for (int d : function_devices(f)) {
      if (d >= static_cast<int>(m_devices.size())) {
        return fail(
            ErrorCode::invalid_argument,
            fmt::format("function '{}': GPU {}: this host has {} GPU(s){}", f.name, d,
                        m_devices.size(),
                        m_devices.empty() ? "" : fmt::format(" (0..{})", m_devices.size() - 1)));
      }
    }
  }
  for (const auto& f : m_cfg.functions) {
    if (f.partition.kind != PartitionKind::mps) {
      continue;
    }
    for (int d : function_devices(f)) {
      if (auto ok = ensure_mps(d); !ok) {
        return fail(ok.error().code, fmt::format("function '{}': {}", f.name, ok.error().message),
                    ok.error().context);
      }
    }
  }
  auto plan = plan_mig_layouts(m_cfg.functions, m_devices, m_cfg.source);
  if (!plan) {
    return fail(plan.error());
  }
  for (const auto& [d, layout] : *plan) {
    (void)d;
    COLO_TRY(create_mig(layout));
  }
  for (auto& f : m_cfg.functions) {
    if (creates_mig(f.partition)) {
      f.partition.mig_uuid = mig_uuid(f.partition.device, f.name);
    }
  }
  return {};
}

Status Daemon::start() {
  if (!is_loopback(m_cfg.host) && m_cfg.token.empty()) {
    return fail(ErrorCode::invalid_argument,
                fmt::format("listening on {} (beyond loopback) needs a bearer token: set {} "
                            "(docs/serve.md)",
                            m_cfg.host, m_cfg.token_env));
  }
  for (const auto& f : m_cfg.functions) {
    const std::string prog = builtin_worker(m_ctx.workload_dir);
    if (f.kind == FunctionKind::builtin && ::access(prog.c_str(), X_OK) != 0) {
      return fail(ErrorCode::invalid_argument,
                  fmt::format("function '{}': kind builtin (colo's native CUDA functions) needs "
                              "colo-serve-cuda, and this colo was built without it (no CUDA "
                              "compiler at build time): {} not found (docs/serve.md)",
                              f.name, prog));
    }
  }
  // A worker that exits while colo writes to it must not kill the daemon.
  std::signal(SIGPIPE, SIG_IGN);
  m_started = m_clock.now();
  m_http = std::make_unique<httplib::Server>();
  auto& s = *m_http;
  const int limit = m_cfg.max_connections;
  s.new_task_queue = [limit] { return new ConnectionQueue(limit, 2); };
  s.set_payload_max_length(m_cfg.max_body_bytes);
  s.set_read_timeout(
      std::chrono::duration_cast<std::chrono::microseconds>(Seconds(m_cfg.read_timeout_s)));
  s.set_write_timeout(
      std::chrono::duration_cast<std::chrono::microseconds>(Seconds(m_cfg.write_timeout_s)));
  s.set_keep_alive_timeout(static_cast<time_t>(std::max(1.0, m_cfg.keep_alive_s)));
  s.set_keep_alive_max_count(1'000'000);
  // Small JSON answers must not wait for Nagle + delayed ACK (about 40 ms per request).
  s.set_tcp_nodelay(true);
  routes();
  const int port = m_cfg.port == 0 ? s.bind_to_any_port(m_cfg.host)
                                   : (s.bind_to_port(m_cfg.host, m_cfg.port) ? m_cfg.port : -1);
  if (port <= 0) {
    return fail(ErrorCode::io, fmt::format("cannot listen on {}:{}", m_cfg.host, m_cfg.port),
                "address in use, or not an address of this host");
  }
  m_port = port;
  if (auto ok = start_gpus(); !ok) {
    quit_mps();  // those already started
    destroy_all_mig();
    return ok;
  }
  for (const auto& f : m_cfg.functions) {
    m_store.add_function(f.name, f.queue_capacity);
    m_pools.push_back(std::make_unique<Pool>(f, m_store, m_clock, m_ctx));
  }
  for (auto& p : m_pools) {
    p->start();
  }
  m_listener = std::thread([this] { m_http->listen_after_bind(); });
  m_log << fmt::format("colo serve: listening on http://{}:{} ({} function{}, {})\n", m_cfg.host,
                       m_port, m_pools.size(), m_pools.size() == 1 ? "" : "s",
                       m_cfg.token.empty() ? "no token" : "bearer token required")
        << std::flush;
  return {};
}

void Daemon::routes() {
  auto& s = *m_http;
  s.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    if (t_over_limit) {
      ++m_http_rejected;
      res.set_header("Retry-After", "1");
      res.set_header("Connection", "close");
      send_error(res, 429,
                 fmt::format("too many connections (max_connections {})", m_cfg.max_connections));
      return httplib::Server::HandlerResponse::Handled;
    }
    if (req.path != "/healthz" && !authorized(req.get_header_value("Authorization"), m_cfg.token)) {
      res.set_header("WWW-Authenticate", "Bearer");
      send_error(res, 401, "missing or wrong bearer token");
      return httplib::Server::HandlerResponse::Handled;
    }
    return httplib::Server::HandlerResponse::Unhandled;
  });
  s.set_exception_handler(
      [](const httplib::Request&, httplib::Response& res, const std::exception_ptr& ep) {
        std::string what = "internal error";
        try {
          std::rethrow_exception(ep);
        } catch (const std::exception& e) {
          what = fmt::format("internal error: {}", e.what());
        } catch (...) {
          what = "internal error (not a std::exception)";
        }
        send_error(res, 500, what);
      });
  s.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) {
      return;
    }
    if (res.status == 404) {
      send_error(res, 404, fmt::format("no route {} {}", req.method, req.path));
    } else if (res.status == 413) {
      send_error(res, 413, "the body is larger than max_body_bytes");
    } else {
      send_error(res, res.status, fmt::format("HTTP {}", res.status));
    }
  });
  s.Get("/healthz", [this](const httplib::Request&, httplib::Response& res) {
    send_json(res, m_shutting_down ? 503 : 200,
              json{{"status", m_shutting_down ? "shutting down" : "ok"}}.dump());
  });
  s.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(metrics_text(), "text/plain; version=0.0.4; charset=utf-8");
  });
  s.Get("/v1/functions", [this](const httplib::Request&, httplib::Response& res) {
    json out = json::array();
    for (const auto& p : m_pools) {
      const auto& f = p->config();
      const auto st = p->stats();
      out.push_back({{"name", f.name},
                     {"kind", to_string(f.kind)},
                     {"idempotent", f.idempotent},
                     {"timeout_s", f.timeout_s},
                     {"queue_length", m_store.queue_length(f.name)},
                     {"pool",
                      {{"workers", st.workers},
                       {"min_workers", f.min_workers},
                       {"max_workers", f.max_workers},
                       {"alive", st.alive},
                       {"busy", st.busy},
                       {"restarts", st.restarts},
                       {"generation", st.generation}}}});
      add_partition(out.back()["pool"], st.partition);
    }
    send_json(res, 200, json{{"functions", out}}.dump());
  });
  // Submission: one task (sync with "wait": true) or a batch.
  auto submit = [this](const httplib::Request& req, httplib::Response& res, bool batch) {
    if (m_shutting_down) {
      send_error(res, 503, "the daemon is shutting down");
      return;
    }
    auto body = body_object(req, res);
    if (!body) {
      return;
    }
    auto fn = body->find("function");
    if (fn == body->end() || !fn->is_string()) {
      send_error(res, 400, "\"function\" (a string) is required");
      return;
    }
    const std::string name = fn->get<std::string>();
    Pool* p = pool(name);
    if (p == nullptr) {
      send_error(res, 404, fmt::format("unknown function '{}'", name));
      return;
    }
    const auto timeout = seconds_field(*body, "timeout_s", p->config().timeout_s, 86400.0 * 7, res);
    if (!timeout) {
      return;
    }
    std::vector<std::string> inputs;
    if (batch) {
      auto in = body->find("inputs");
      if (in == body->end() || !in->is_array() || in->empty()) {
        send_error(res, 400, "\"inputs\" (a non-empty array) is required");
        return;
      }
      if (in->size() > m_cfg.max_batch) {
        send_error(res, 413,
                   fmt::format("{} inputs: max_batch is {}", in->size(), m_cfg.max_batch));
        return;
      }
      inputs.reserve(in->size());
      for (const auto& x : *in) {
        inputs.push_back(x.dump());
      }
    } else {
      auto in = body->find("input");
      inputs.push_back(in == body->end() ? "null" : in->dump());
    }
    auto ids = m_store.submit(name, inputs, to_nanos(*timeout));
    if (!ids) {
      if (ids.error().code == ErrorCode::busy) {
        res.set_header("Retry-After", "1");
      }
      send_error(res, status_for(ids.error()), ids.error().message);
      return;
    }
    if (batch) {
      send_json(res, 202, json{{"ids", *ids}}.dump());
      return;
    }
    auto w = body->find("wait");
    if (w != body->end() && !w->is_boolean()) {
      send_error(res, 400, "\"wait\" must be true or false");
      return;
    }
    if (w != body->end() && w->get<bool>()) {
      // Sync: the deadline ends the task; a second more covers the expiry tick.
      auto v = m_store.wait(ids->front(), to_nanos(*timeout + 1.0));
      if (v) {
        send_json(res, finished(v->state) ? 200 : 202, view_json(*v));
        return;
      }
    }
    send_json(res, 202, json{{"id", ids->front()}, {"state", "queued"}}.dump());
  };
  s.Post("/v1/tasks", [submit](const httplib::Request& req, httplib::Response& res) {
    submit(req, res, false);
  });
  s.Post("/v1/batch",
         [submit](const httplib::Request& req, httplib::Response& res) { submit(req, res, true); });
  s.Post("/v1/results", [this](const httplib::Request& req, httplib::Response& res) {
    auto body = body_object(req, res);
    if (!body) {
      return;
    }
    auto ids = body->find("ids");
    if (ids == body->end() || !ids->is_array() || ids->size() > m_cfg.max_batch) {
      send_error(
          res, 400,
          fmt::format("\"ids\" (an array of at most {} task ids) is required", m_cfg.max_batch));
      return;
    }
    const auto wait_s = seconds_field(*body, "wait_s", 0, 60, res);
    if (!wait_s) {
      return;
    }
    const auto until = std::chrono::steady_clock::now() + to_nanos(*wait_s);
    std::string out = "{\"tasks\":[";
    bool first = true;
    for (const auto& id : *ids) {
      if (!id.is_string()) {
        send_error(res, 400, "task ids are strings");
        return;
      }
      const auto left = std::max(
          Nanos(0), std::chrono::duration_cast<Nanos>(until - std::chrono::steady_clock::now()));
      auto v = m_store.wait(id.get<std::string>(), left);
      out += first ? "" : ",";
      first = false;
      out += v ? view_json(*v)
               : json{{"id", id}, {"state", "unknown"}, {"error", "no such task"}}.dump();
    }
    out += "]}";
    send_json(res, 200, out);
  });
  s.Get(R"(/v1/tasks/([A-Za-z0-9]+))", [this](const httplib::Request& req, httplib::Response& res) {
    double wait_s = 0;
    if (req.has_param("wait_s")) {
      char* end = nullptr;
      const std::string w = req.get_param_value("wait_s");
      wait_s = std::strtod(w.c_str(), &end);
      if (end == w.c_str() || *end != '\0' || !(wait_s >= 0) || wait_s > 60) {
        send_error(res, 400, "wait_s must be a number of seconds in 0..60");
        return;
      }
    }
    auto v = m_store.wait(req.matches[1], to_nanos(wait_s));
    if (!v) {
      send_error(res, 404, fmt::format("no task '{}'", std::string(req.matches[1])));
      return;
    }
    send_json(res, 200, view_json(*v));
  });
  s.Delete(R"(/v1/tasks/([A-Za-z0-9]+))",
           [this](const httplib::Request& req, httplib::Response& res) {
             auto st = m_store.cancel(req.matches[1]);
             if (!st) {
               send_error(res, st.error().code == ErrorCode::busy ? 409 : status_for(st.error()),
                          st.error().message);
               return;
             }
             send_json(res, 200,
                       json{{"id", std::string(req.matches[1])}, {"state", to_string(*st)}}.dump());
           });
  s.Put(R"(/v1/functions/([A-Za-z0-9_.-]+)/pool)", [this](const httplib::Request& req,
                                                          httplib::Response& res) {
    Pool* p = pool(req.matches[1]);
    if (p == nullptr) {
      send_error(res, 404, fmt::format("unknown function '{}'", std::string(req.matches[1])));
      return;
    }
    auto body = body_object(req, res);
    if (!body) {
      return;
    }
    int workers = p->stats().workers;
    if (auto w = body->find("workers"); w != body->end()) {
      if (!w->is_number_integer()) {
        send_error(res, 400, "\"workers\" must be an integer");
        return;
      }
      workers = w->get<int>();
    }
    std::optional<PartitionSpec> partition;
    if (auto pj = body->find("partition"); pj != body->end()) {
      auto ps = parse_partition_text(pj->dump(), "request");
      if (!ps) {
        send_error(res, 400, ps.error().message);
        return;
      }
      partition = *ps;
    }
    const bool mig_change = m_gpu != nullptr && partition &&
                            (creates_mig(*partition) || creates_mig(p->snapshot().partition));
    if (auto ok =
            mig_change ? repartition_mig(*p, workers, *partition) : p->resize(workers, partition);
        !ok) {
      send_error(res, status_for(ok.error()), ok.error().message);
      return;
    }
    const auto st = p->stats();
    m_log << fmt::format(
                 "colo serve: pool '{}' resized to {} worker(s){}\n", p->config().name, workers,
                 partition ? fmt::format(", partition {}{}", to_string(partition->kind),
                                         creates_mig(st.partition)
                                             ? fmt::format(" {} {}", st.partition.mig_profile,
                                                           st.partition.mig_uuid)
                                             : "")
                           : "")
          << std::flush;
    json answer{{"function", p->config().name},
                {"workers", st.workers},
                {"alive", st.alive},
                {"generation", st.generation}};
    add_partition(answer, st.partition);
    send_json(res, 200, answer.dump());
  });
}

std::string Daemon::metrics_text() const {
  MetricFamily queue{
      "colo_serve_queue_length", "Tasks waiting in a function's queue", MetricType::gauge, {}};
  MetricFamily running{"colo_serve_tasks_running", "Tasks running now", MetricType::gauge, {}};
  MetricFamily submitted{
      "colo_serve_tasks_submitted_total", "Tasks accepted", MetricType::counter, {}};
  MetricFamily done{"colo_serve_tasks_finished_total",
                    "Tasks finished, by final state (succeeded, failed, expired, cancelled)",
                    MetricType::counter,
                    {}};
  MetricFamily rejected{"colo_serve_tasks_rejected_total",
                        "Tasks refused with 429 because the queue was full",
                        MetricType::counter,
                        {}};
  MetricFamily retries{"colo_serve_task_retries_total",
                       "Attempts queued again after a worker crash (idempotent functions)",
                       MetricType::counter,
                       {}};
  MetricFamily latency{"colo_serve_task_duration_seconds",
                       "Submission to completion of succeeded tasks",
                       MetricType::histogram,
                       {}};
  MetricFamily workers{"colo_serve_workers", "Target pool size", MetricType::gauge, {}};
  MetricFamily alive{"colo_serve_workers_alive", "Worker processes running", MetricType::gauge, {}};
  MetricFamily busy{"colo_serve_workers_busy", "Workers running a task", MetricType::gauge, {}};
  MetricFamily restarts{"colo_serve_worker_restarts_total",
                        "Workers started again after a crash or a deadline kill",
                        MetricType::counter,
                        {}};
  for (const auto& p : m_pools) {
    const std::string& name = p->config().name;
    const std::map<std::string, std::string> l{{"function", name}};
    const auto c = m_store.counters(name);
    const auto st = p->stats();
    queue.samples.push_back({"", l, static_cast<double>(c.queued)});
    running.samples.push_back({"", l, static_cast<double>(c.running)});
    submitted.samples.push_back({"", l, static_cast<double>(c.submitted)});
    for (const auto& [state, n] : {std::pair{"succeeded", c.succeeded},
                                   {"failed", c.failed},
                                   {"expired", c.expired},
                                   {"cancelled", c.cancelled}}) {
      done.samples.push_back({"", {{"function", name}, {"state", state}}, static_cast<double>(n)});
    }
    rejected.samples.push_back({"", l, static_cast<double>(c.rejected)});
    retries.samples.push_back({"", l, static_cast<double>(c.retried)});
    if (const Histogram* h = m_store.latency(name)) {
      h->append_to(latency, l);
    }
    workers.samples.push_back({"", l, static_cast<double>(st.workers)});
    alive.samples.push_back({"", l, static_cast<double>(st.alive)});
    busy.samples.push_back({"", l, static_cast<double>(st.busy)});
    restarts.samples.push_back({"", l, static_cast<double>(st.restarts)});
  }
  MetricFamily conns{"colo_serve_http_connections_rejected_total",
                     "Connections answered 429 beyond max_connections",
                     MetricType::counter,
                     {{"", {}, static_cast<double>(m_http_rejected.load())}}};
  MetricFamily uptime{"colo_serve_uptime_seconds",
                      "Seconds since the daemon started",
                      MetricType::gauge,
                      {{"", {}, to_seconds(m_clock.now() - m_started)}}};
  std::vector<MetricFamily> all{queue,   running, submitted, done,     rejected, retries, latency,
                                workers, alive,   busy,      restarts, conns,    uptime};
  for (auto& f : gpu_families()) {
    all.push_back(std::move(f));
  }
  return render(all);
}

void Daemon::sample_gpus() {
  std::map<int, std::vector<Metric>> out;
  const std::lock_guard lock(m_gpu_mutex);
  for (const auto& p : m_pools) {
    const FunctionConfig f = p->snapshot();
    for (int d : function_devices(f)) {
      if (out.count(d) != 0 || d >= static_cast<int>(m_devices.size())) {
        continue;
      }
      auto m = m_gpu->sample(d);
      if (m) {
        out[d] = std::move(*m);
      } else {
        out[d] = {};  // a lost device: no values (the pool's workers will say why)
      }
    }
  }
  const std::lock_guard tlock(m_telemetry_mutex);
  m_telemetry = std::move(out);
}

std::vector<MetricFamily> Daemon::gpu_families() const {
  std::vector<MetricFamily> out;
  if (m_gpu == nullptr) {
    return out;
  }
  std::map<int, std::vector<Metric>> telemetry;
  {
    const std::lock_guard lock(m_telemetry_mutex);
    telemetry = m_telemetry;
  }
  // m_devices is written once, by start(), before any HTTP thread runs.
  const auto labels = [&](int device) {
    const DeviceInfo& d = m_devices[static_cast<std::size_t>(device)];
    return gpu_labels(device, d.uuid, d.name, d.simulated);
  };
  out = dcgm_families(telemetry, labels, m_gpu->simulated());
  MetricFamily info{"colo_serve_pool_gpu_info",
                    "1 per pool on a GPU partition: the function's GPU and partition kind",
                    MetricType::gauge,
                    {}};
  MetricFamily mem{"colo_serve_pool_gpu_memory_bytes",
                   "GPU memory held by a pool's worker processes (per-process accounting of the "
                   "backend)",
                   MetricType::gauge,
                   {}};
  for (const auto& p : m_pools) {
    const FunctionConfig f = p->snapshot();
    const auto pids = p->worker_pids();
    for (int d : function_devices(f)) {
      if (d >= static_cast<int>(m_devices.size())) {
        continue;
      }
      auto l = labels(d);
      l["function"] = f.name;
      l["partition"] = to_string(f.partition.kind);
      if (f.partition.kind == PartitionKind::mig) {
        // The backends give no per-instance telemetry: the DCGM families are per GPU.
        l["mig_uuid"] = f.partition.mig_uuid;
        if (!f.partition.mig_profile.empty()) {
          l["mig_profile"] = f.partition.mig_profile;
        }
      }
      info.samples.push_back({"", l, 1});
      l.erase("partition");
      l.erase("mig_uuid");
      l.erase("mig_profile");
      double bytes = 0;
      if (auto it = telemetry.find(d); it != telemetry.end()) {
        for (const auto& m : it->second) {
          if (m.pid != 0 && std::find(pids.begin(), pids.end(), m.pid) != pids.end()) {
            bytes += m.value;
          }
        }
      }
      mem.samples.push_back({"", l, bytes});
    }
  }
  out.push_back(std::move(info));
  out.push_back(std::move(mem));
  return out;
}

void Daemon::tick() {
  (void)m_store.expire_overdue();
  for (auto& pool : m_pools) {
    pool->autoscale();
  }
  if (m_gpu == nullptr) {
    return;
  }
  {
    const std::lock_guard lock(m_gpu_mutex);
    std::vector<int> devices;
    for (const auto& [d, st] : m_mps) {
      devices.push_back(d);
    }
    for (int d : devices) {
      check_mps(d);
    }
  }
  const Nanos now = m_clock.now();
  if (m_last_sample < Nanos(0) || now - m_last_sample >= k_telemetry_period) {
    m_last_sample = now;
    sample_gpus();
  }
}

void Daemon::run_until(int stop_fd) {
  while (true) {
    pollfd p{stop_fd, POLLIN, 0};
    if (::poll(&p, 1, 200) > 0) {
      break;
    }
    tick();
  }
  shutdown();
}

void Daemon::shutdown() {
  if (m_shutting_down.exchange(true)) {
    return;
  }
  if (!m_http) {
    return;
  }
  m_log << "colo serve: shutting down (queued tasks fail; running ones get drain_s)\n"
        << std::flush;
  m_store.close("the daemon is shutting down");
  for (auto& p : m_pools) {
    p->stop(to_nanos(m_cfg.drain_s));
  }
  quit_mps();
  destroy_all_mig();
  stop_listener(*m_http, m_listener);
  const auto total = [&] {
    std::uint64_t n = 0;
    for (const auto& p : m_pools) {
      const auto c = m_store.counters(p->config().name);
      n += c.succeeded + c.failed + c.expired + c.cancelled;
    }
    return n;
  }();
  m_log << fmt::format("colo serve: stopped; {} task(s) finished, no worker left\n", total)
        << std::flush;
}

}  // namespace colo::serve
