#include "serve/config.hpp"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "plan/planner.hpp"
#include "serve/placement.hpp"

namespace colo::serve {
namespace {

// Builds "file:line: field: message" errors.
class Ctx {
 public:
  explicit Ctx(std::string source) : m_source(std::move(source)) {}
  [[nodiscard]] Error error(const YAML::Node& node, const std::string& field,
                            const std::string& msg) const {
    const int line = node.IsDefined() ? node.Mark().line + 1 : 0;
    const std::string where = line > 0 ? fmt::format("{}:{}", m_source, line) : m_source;
    return Error{ErrorCode::invalid_argument, fmt::format("{}: {}: {}", where, field, msg), {}};
  }
  Status check_keys(const YAML::Node& map, const std::string& field,
                    std::initializer_list<const char*> allowed) const {
    if (!map.IsMap()) {
      return fail(error(map, field, "expected a mapping"));
    }
    for (auto it = map.begin(); it != map.end(); ++it) {
      const auto key = it->first.as<std::string>();
      if (std::none_of(allowed.begin(), allowed.end(), [&](const char* a) { return key == a; })) {
        std::string list;
        for (const char* a : allowed) {
          list += list.empty() ? a : fmt::format(", {}", a);
        }
        return fail(error(it->first, field.empty() ? key : field + "." + key,
                          fmt::format("unknown key (expected one of: {})", list)));
      }
    }
    return {};
  }
  template <typename T>
  Status get(const YAML::Node& map, const char* key, const std::string& field, T& out) const {
    const YAML::Node n = map[key];
    if (!n) {
      return {};
    }
    try {
      out = n.as<T>();
    } catch (const YAML::Exception&) {
      return fail(error(n, field, "wrong type"));
    }
    return {};
  }

 private:
  std::string m_source;
};

bool valid_name(const std::string& s) {
  return !s.empty() && s.size() <= 64 && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-' || c == '.';
  });
}

Result<PartitionSpec> parse_partition(const Ctx& ctx, const YAML::Node& n,
                                      const std::string& field) {
  COLO_TRY(ctx.check_keys(
      n, field,
      {"kind", "device", "thread_percent", "mem_limit_mib", "green_sms", "mig_uuid", "profile"}));
  PartitionSpec p;
  p.line = n.IsDefined() ? n.Mark().line + 1 : 0;
  std::string kind = "none";
  COLO_TRY(ctx.get(n, "kind", field + ".kind", kind));
  if (kind == "none") {
    p.kind = PartitionKind::none;
  } else if (kind == "gpu") {
    p.kind = PartitionKind::gpu;
  } else if (kind == "mps") {
    p.kind = PartitionKind::mps;
  } else if (kind == "mig") {
    p.kind = PartitionKind::mig;
  } else if (kind == "green") {
    p.kind = PartitionKind::green;
  } else {
    return fail(
        ctx.error(n["kind"], field + ".kind",
                  fmt::format("'{}' is not a partition kind (none, gpu, mps, mig, green)", kind)));
  }
  COLO_TRY(ctx.get(n, "device", field + ".device", p.device));
  if (p.device < 0) {
    return fail(ctx.error(n["device"], field + ".device", "must be >= 0"));
  }
  if (n["thread_percent"]) {
    int t = 0;
    COLO_TRY(ctx.get(n, "thread_percent", field + ".thread_percent", t));
    if (t < 1 || t > 100 || p.kind != PartitionKind::mps) {
      return fail(ctx.error(n["thread_percent"], field + ".thread_percent",
                            "must be 1..100, with kind mps"));
    }
    p.thread_percent = t;
  }
  if (n["mem_limit_mib"]) {
    std::int64_t m = 0;
    COLO_TRY(ctx.get(n, "mem_limit_mib", field + ".mem_limit_mib", m));
    if (m < 1 || p.kind != PartitionKind::mps) {
      return fail(
          ctx.error(n["mem_limit_mib"], field + ".mem_limit_mib", "must be >= 1, with kind mps"));
    }
    p.mem_limit = static_cast<std::uint64_t>(m) << 20U;
  }
  if (n["green_sms"]) {
    int g = 0;
    COLO_TRY(ctx.get(n, "green_sms", field + ".green_sms", g));
    if (g < 1 || p.kind != PartitionKind::green) {
      return fail(ctx.error(n["green_sms"], field + ".green_sms", "must be >= 1, with kind green"));
    }
    p.green_sms = g;
  }
  if (p.kind == PartitionKind::green && !p.green_sms) {
    return fail(ctx.error(n, field, "kind green needs green_sms"));
  }
  COLO_TRY(ctx.get(n, "mig_uuid", field + ".mig_uuid", p.mig_uuid));
  COLO_TRY(ctx.get(n, "profile", field + ".profile", p.mig_profile));
  if (p.kind == PartitionKind::mig && p.mig_uuid.empty() == p.mig_profile.empty()) {
    return fail(ctx.error(n, field,
                          "kind mig needs exactly one of mig_uuid (an existing instance) and "
                          "profile (an instance colo serve creates, e.g. \"1g.18gb\")"));
  }
  if (p.kind != PartitionKind::mig && !(p.mig_uuid.empty() && p.mig_profile.empty())) {
    return fail(ctx.error(n, field, "mig_uuid and profile are for kind mig"));
  }
  return p;
}

Result<FunctionConfig> parse_function(const Ctx& ctx, const YAML::Node& n,
                                      const std::string& field) {
  COLO_TRY(ctx.check_keys(n, field,
                          {"name",
                           "kind",
                           "argv",
                           "entry",
                           "python_path",
                           "env",
                           "cwd",
                           "workers",
                           "min_workers",
                           "max_workers",
                           "idempotent",
                           "max_attempts",
                           "timeout_s",
                           "queue_capacity",
                           "scale_up_queue_per_worker",
                           "scale_down_idle_s",
                           "partition",
                           "gpu",
                           "gpus",
                           "builtin",
                           "params",
                           "plan_job",
                           "right_size"}));
  FunctionConfig f;
  COLO_TRY(ctx.get(n, "name", field + ".name", f.name));
  if (!valid_name(f.name)) {
    return fail(ctx.error(n["name"] ? n["name"] : n, field + ".name",
                          "needs 1..64 characters of [A-Za-z0-9_.-]"));
  }
  const std::string fld = fmt::format("functions.{}", f.name);
  std::string kind = "command";
  COLO_TRY(ctx.get(n, "kind", fld + ".kind", kind));
  if (kind == "command") {
    f.kind = FunctionKind::command;
  } else if (kind == "python") {
    f.kind = FunctionKind::python;
  } else if (kind == "builtin") {
    f.kind = FunctionKind::builtin;
  } else {
    return fail(
        ctx.error(n["kind"], fld + ".kind",
                  fmt::format("'{}' is not a function kind (command, python, builtin)", kind)));
  }
  COLO_TRY(ctx.get(n, "argv", fld + ".argv", f.argv));
  COLO_TRY(ctx.get(n, "entry", fld + ".entry", f.entry));
  COLO_TRY(ctx.get(n, "python_path", fld + ".python_path", f.python_path));
  COLO_TRY(ctx.get(n, "builtin", fld + ".builtin", f.builtin));
  COLO_TRY(ctx.get(n, "params", fld + ".params", f.params));
  COLO_TRY(ctx.get(n, "env", fld + ".env", f.env));
  COLO_TRY(ctx.get(n, "cwd", fld + ".cwd", f.cwd));
  COLO_TRY(ctx.get(n, "workers", fld + ".workers", f.workers));
  f.min_workers = f.workers;
  f.max_workers = f.workers;
  COLO_TRY(ctx.get(n, "min_workers", fld + ".min_workers", f.min_workers));
  COLO_TRY(ctx.get(n, "max_workers", fld + ".max_workers", f.max_workers));
  COLO_TRY(ctx.get(n, "idempotent", fld + ".idempotent", f.idempotent));
  COLO_TRY(ctx.get(n, "max_attempts", fld + ".max_attempts", f.max_attempts));
  COLO_TRY(ctx.get(n, "timeout_s", fld + ".timeout_s", f.timeout_s));
  COLO_TRY(ctx.get(n, "queue_capacity", fld + ".queue_capacity", f.queue_capacity));
  COLO_TRY(ctx.get(n, "scale_up_queue_per_worker", fld + ".scale_up_queue_per_worker",
                   f.scale_up_queue_per_worker));
  COLO_TRY(ctx.get(n, "scale_down_idle_s", fld + ".scale_down_idle_s", f.scale_down_idle_s));
  if (n["partition"]) {
    auto p = parse_partition(ctx, n["partition"], fld + ".partition");
    if (!p) {
      return fail(p.error());
    }
    f.partition = *p;
  }
  if (n["gpu"]) {
    int gpu = -1;
    COLO_TRY(ctx.get(n, "gpu", fld + ".gpu", gpu));
    if (gpu < 0) {
      return fail(ctx.error(n["gpu"], fld + ".gpu", "must be a GPU index >= 0"));
    }
    if (n["partition"] && n["partition"]["device"] && f.partition.device != gpu) {
      return fail(ctx.error(n["gpu"], fld + ".gpu",
                            fmt::format("gpu {} and partition.device {} disagree (give one)", gpu,
                                        f.partition.device)));
    }
    if (f.partition.kind == PartitionKind::mig && !f.partition.mig_uuid.empty()) {
      return fail(
          ctx.error(n["gpu"], fld + ".gpu",
                    "a mig partition with mig_uuid names its instance by mig_uuid, not by gpu (use "
                    "profile to have colo serve create an instance on a gpu)"));
    }
    f.partition.device = gpu;
    if (f.partition.kind == PartitionKind::none) {
      f.partition.kind = PartitionKind::gpu;
    }
  }
  if (n["gpus"]) {
    COLO_TRY(ctx.get(n, "gpus", fld + ".gpus", f.gpus));
    auto sorted = f.gpus;
    std::sort(sorted.begin(), sorted.end());
    if (n["gpu"] || (n["partition"] && n["partition"]["device"]) || f.gpus.empty() ||
        sorted.front() < 0 || std::adjacent_find(sorted.begin(), sorted.end()) != sorted.end() ||
        f.partition.kind == PartitionKind::mig) {
      return fail(ctx.error(n["gpus"], fld + ".gpus",
                            "a list of distinct GPU indexes >= 0, without gpu or "
                            "partition.device, not with kind mig"));
    }
    f.partition.device = f.gpus.front();
    if (f.partition.kind == PartitionKind::none) {
      f.partition.kind = PartitionKind::gpu;
    }
  }
  if (n["plan_job"]) {
    COLO_TRY(ctx.get(n, "plan_job", fld + ".plan_job", f.plan_job));
    if (f.plan_job.empty() || n["partition"] || n["gpu"] || n["gpus"]) {
      return fail(ctx.error(n["plan_job"], fld + ".plan_job",
                            "a job name of the config's plan, which then gives the GPU and the "
                            "partition: not with partition, gpu or gpus"));
    }
    f.plan_job_line = n["plan_job"].Mark().line + 1;
  }
  if (n["right_size"]) {
    COLO_TRY(ctx.get(n, "right_size", fld + ".right_size", f.right_size));
    if (f.right_size.empty() || n["partition"] || n["plan_job"]) {
      return fail(ctx.error(n["right_size"], fld + ".right_size",
                            "a `colo plan --right-size JOB --format json` file, which then gives "
                            "the MPS share: not with partition or plan_job"));
    }
    f.right_size_line = n["right_size"].Mark().line + 1;
  }
  if (auto ok = validate_function(f, ctx.error(n, fld, "").message); !ok) {
    return fail(ok.error());
  }
  return f;
}

}  // namespace

int worker_device(const FunctionConfig& f, int index) {
  if (f.gpus.empty()) {
    return f.partition.device;
  }
  return f.gpus[static_cast<std::size_t>(index) % f.gpus.size()];
}

std::vector<int> function_devices(const FunctionConfig& f) {
  if (f.partition.kind == PartitionKind::none) {
    return {};
  }
  return f.gpus.empty() ? std::vector<int>{f.partition.device} : f.gpus;
}

const std::vector<BuiltinParam>* builtin_params(const std::string& builtin) {
  static const std::map<std::string, std::vector<BuiltinParam>> k_builtins{
      {"gemm", {{"size", 4096, 64, 32768}, {"chain", 8, 1, 100000}}},
      {"transformer",
       {{"hidden", 1024, 64, 16384},
        {"heads", 16, 1, 256},
        {"seq", 128, 1, 65536},
        {"batch", 1, 1, 4096},
        {"layers", 1, 1, 256}}},
      {"fault", {}},
  };
  const auto it = k_builtins.find(builtin);
  return it == k_builtins.end() ? nullptr : &it->second;
}

const char* to_string(FunctionKind k) {
  switch (k) {
    case FunctionKind::command:
      return "command";
    case FunctionKind::python:
      return "python";
    case FunctionKind::builtin:
      return "builtin";
  }
  return "?";
}

const char* to_string(PartitionKind k) {
  switch (k) {
    case PartitionKind::none:
      return "none";
    case PartitionKind::gpu:
      return "gpu";
    case PartitionKind::mps:
      return "mps";
    case PartitionKind::mig:
      return "mig";
    case PartitionKind::green:
      return "green";
  }
  return "?";
}

Status validate_function(const FunctionConfig& f, const std::string& where) {
  auto bad = [&](const std::string& msg) {
    return fail(ErrorCode::invalid_argument, fmt::format("{}{}", where, msg));
  };
  switch (f.kind) {
    case FunctionKind::command:
      if (f.argv.empty() || f.argv[0].empty()) {
        return bad("kind command needs argv (the worker program and its arguments)");
      }
      if (!f.entry.empty()) {
        return bad("entry is for kind python");
      }
      break;
    case FunctionKind::python: {
      const auto colon = f.entry.find(':');
      if (colon == std::string::npos || colon == 0 || colon + 1 == f.entry.size()) {
        return bad("kind python needs entry: \"module:function\"");
      }
      break;
    }
    case FunctionKind::builtin: {
      const auto* params = builtin_params(f.builtin);
      if (params == nullptr) {
        return bad(fmt::format("kind builtin needs builtin: gemm, transformer or fault (not '{}')",
                               f.builtin));
      }
      if (!f.argv.empty() || !f.entry.empty()) {
        return bad("kind builtin takes no argv or entry (colo runs colo-serve-cuda)");
      }
      for (const auto& [k, v] : f.params) {
        const auto it = std::find_if(params->begin(), params->end(),
                                     [&](const BuiltinParam& p) { return k == p.name; });
        if (it == params->end()) {
          std::string names;
          for (const auto& p : *params) {
            names += names.empty() ? p.name : fmt::format(", {}", p.name);
          }
          return bad(fmt::format("params.{}: builtin {} takes {}", k, f.builtin,
                                 names.empty() ? "no params" : names));
        }
        if (v < it->min || v > it->max) {
          return bad(fmt::format("params.{}: {} is outside {}..{}", k, v, it->min, it->max));
        }
      }
      break;
    }
  }
  if (f.kind != FunctionKind::builtin && (!f.builtin.empty() || !f.params.empty())) {
    return bad("builtin and params are for kind builtin");
  }
  if (f.min_workers < 0 || f.max_workers < 1 || f.min_workers > f.max_workers ||
      f.workers < f.min_workers || f.workers > f.max_workers || f.max_workers > 256) {
    return bad(fmt::format(
        "workers {} must lie in min_workers {} .. max_workers {} (0 <= min <= max, 1 <= max <= "
        "256)",
        f.workers, f.min_workers, f.max_workers));
  }
  if (f.max_attempts < 1 || f.max_attempts > 100) {
    return bad("max_attempts must be 1..100");
  }
  if (!(f.timeout_s > 0) || f.timeout_s > 86400 * 7) {
    return bad("timeout_s must be > 0 (seconds, at most a week)");
  }
  if (f.queue_capacity < 1 || f.queue_capacity > 10'000'000) {
    return bad("queue_capacity must be 1..10000000");
  }
  if (!(f.scale_up_queue_per_worker > 0) || !(f.scale_down_idle_s >= 0)) {
    return bad("scale_up_queue_per_worker must be > 0 and scale_down_idle_s >= 0");
  }
  return {};
}

bool is_loopback(const std::string& host) {
  return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

Status apply_listen(const std::string& listen, ServeConfig& cfg) {
  std::string host;
  std::string port;
  if (!listen.empty() && listen[0] == '[') {
    const auto close = listen.find("]:");
    if (close == std::string::npos) {
      return fail(ErrorCode::invalid_argument,
                  fmt::format("listen '{}': expected [IPV6]:PORT", listen));
    }
    host = listen.substr(1, close - 1);
    port = listen.substr(close + 2);
  } else {
    const auto colon = listen.rfind(':');
    if (colon == std::string::npos || colon == 0) {
      return fail(ErrorCode::invalid_argument,
                  fmt::format("listen '{}': expected HOST:PORT, e.g. 127.0.0.1:8470", listen));
    }
    host = listen.substr(0, colon);
    port = listen.substr(colon + 1);
  }
  int p = -1;
  if (!port.empty() && port.size() <= 5 &&
      std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    p = std::stoi(port);
  }
  if (p < 0 || p > 65535 || host.empty()) {
    return fail(
        ErrorCode::invalid_argument,
        fmt::format("listen '{}': the port must be 0..65535 and the host non-empty", listen));
  }
  cfg.host = host;
  cfg.port = p;
  return {};
}

Result<ServeConfig> parse_serve_config(const std::string& yaml_text, const std::string& source,
                                       const std::map<std::string, std::string>& environment) {
  YAML::Node root;
  try {
    root = YAML::Load(yaml_text);
  } catch (const YAML::Exception& e) {
    return fail(ErrorCode::invalid_argument,
                fmt::format("{}:{}: invalid YAML: {}", source, e.mark.line + 1, e.msg));
  }
  const Ctx ctx(source);
  COLO_TRY(ctx.check_keys(root, "",
                          {"listen", "token_env", "max_body_bytes", "max_connections",
                           "read_timeout_s", "write_timeout_s", "keep_alive_s", "max_batch",
                           "result_retention", "drain_s", "state_dir", "functions", "plan"}));
  ServeConfig cfg;
  if (root["listen"]) {
    std::string listen;
    COLO_TRY(ctx.get(root, "listen", "listen", listen));
    if (auto ok = apply_listen(listen, cfg); !ok) {
      return fail(ctx.error(root["listen"], "listen", ok.error().message));
    }
  }
  COLO_TRY(ctx.get(root, "token_env", "token_env", cfg.token_env));
  COLO_TRY(ctx.get(root, "max_body_bytes", "max_body_bytes", cfg.max_body_bytes));
  COLO_TRY(ctx.get(root, "max_connections", "max_connections", cfg.max_connections));
  COLO_TRY(ctx.get(root, "read_timeout_s", "read_timeout_s", cfg.read_timeout_s));
  COLO_TRY(ctx.get(root, "write_timeout_s", "write_timeout_s", cfg.write_timeout_s));
  COLO_TRY(ctx.get(root, "keep_alive_s", "keep_alive_s", cfg.keep_alive_s));
  COLO_TRY(ctx.get(root, "max_batch", "max_batch", cfg.max_batch));
  COLO_TRY(ctx.get(root, "result_retention", "result_retention", cfg.result_retention));
  COLO_TRY(ctx.get(root, "drain_s", "drain_s", cfg.drain_s));
  COLO_TRY(ctx.get(root, "state_dir", "state_dir", cfg.state_dir));
  if (root["plan"]) {
    COLO_TRY(ctx.get(root, "plan", "plan", cfg.plan_path));
    cfg.plan_line = root["plan"].Mark().line + 1;
  }
  if (cfg.max_body_bytes < 64 || cfg.max_connections < 1 || cfg.max_connections > 4096 ||
      !(cfg.read_timeout_s > 0) || !(cfg.write_timeout_s > 0) || !(cfg.keep_alive_s > 0) ||
      cfg.max_batch < 1 || cfg.result_retention < 1 || !(cfg.drain_s >= 0)) {
    return fail(ctx.error(root, "limits",
                          "max_body_bytes >= 64, max_connections 1..4096, timeouts > 0, "
                          "max_batch >= 1, result_retention >= 1, drain_s >= 0"));
  }
  const YAML::Node fns = root["functions"];
  if (!fns || !fns.IsSequence() || fns.size() == 0) {
    return fail(ctx.error(fns ? fns : root, "functions", "needs a list of at least one function"));
  }
  for (std::size_t i = 0; i < fns.size(); ++i) {
    auto f = parse_function(ctx, fns[i], fmt::format("functions[{}]", i));
    if (!f) {
      return fail(f.error());
    }
    for (const auto& g : cfg.functions) {
      if (g.name == f->name) {
        return fail(
            ctx.error(fns[i]["name"], "functions", fmt::format("'{}' is defined twice", f->name)));
      }
    }
    if (!f->plan_job.empty() && cfg.plan_path.empty()) {
      return fail(ctx.error(fns[i]["plan_job"], fmt::format("functions.{}.plan_job", f->name),
                            "needs the config's plan: FILE (a `colo plan -o` file)"));
    }
    cfg.functions.push_back(std::move(*f));
  }
  cfg.source = source;
  if (auto it = environment.find(cfg.token_env); it != environment.end()) {
    cfg.token = it->second;
  }
  return cfg;
}

Result<PartitionSpec> parse_partition_text(const std::string& text, const std::string& source) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    return fail(ErrorCode::invalid_argument,
                fmt::format("{}: invalid partition: {}", source, e.msg));
  }
  return parse_partition(Ctx(source), root, "partition");
}

namespace {

// The JSON file `given` names, relative to the config file `config_path` unless absolute.
// Errors (invalid_argument) start with `where` and say how to write one (`make_it`).
Result<nlohmann::json> read_json_beside(const std::string& config_path, const std::string& given,
                                        const std::string& where, const std::string& make_it) {
  const std::filesystem::path g(given);
  const auto file = g.is_absolute() ? g : std::filesystem::path(config_path).parent_path() / g;
  std::ifstream in(file);
  if (!in) {
    return fail(ErrorCode::invalid_argument, fmt::format("{}: cannot read '{}' (write one with {})",
                                                         where, file.string(), make_it));
  }
  try {
    nlohmann::json j;
    in >> j;
    return j;
  } catch (const std::exception& e) {
    return fail(ErrorCode::invalid_argument,
                fmt::format("{}: '{}' is not JSON: {}", where, file.string(), e.what()));
  }
}

}  // namespace

Result<ServeConfig> load_serve_config(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    return fail(ErrorCode::not_found, fmt::format("cannot read serve config '{}'", path));
  }
  std::stringstream ss;
  ss << in.rdbuf();
  std::map<std::string, std::string> env;
  for (const char* name : {"COLO_SERVE_TOKEN"}) {
    if (const char* v = std::getenv(name)) {
      env[name] = v;
    }
  }
  auto cfg = parse_serve_config(ss.str(), path, env);
  if (cfg && cfg->token_env != "COLO_SERVE_TOKEN") {
    if (const char* v = std::getenv(cfg->token_env.c_str())) {
      cfg->token = v;
    }
  }
  if (cfg && !cfg->plan_path.empty()) {
    const std::string where = fmt::format("{}:{}: plan", path, cfg->plan_line);
    auto j = read_json_beside(path, cfg->plan_path, where, "colo plan JOBS.yaml -o FILE");
    if (!j) {
      return fail(j.error());
    }
    auto plan = plan::plan_from_json(*j);
    if (!plan) {
      return fail(ErrorCode::invalid_argument, fmt::format("{}: '{}' is not a colo plan: {}", where,
                                                           cfg->plan_path, plan.error().message));
    }
    COLO_TRY(apply_plan(*cfg, *plan, cfg->plan_path));
  }
  if (cfg) {
    for (auto& f : cfg->functions) {
      if (f.right_size.empty()) {
        continue;
      }
      const std::string where =
          fmt::format("{}:{}: functions.{}.right_size", path, f.right_size_line, f.name);
      auto j = read_json_beside(path, f.right_size, where,
                                "colo plan JOBS.yaml --right-size JOB --within 10% --format json");
      if (!j) {
        return fail(j.error());
      }
      auto answer = plan::right_size_from_json(*j);
      if (!answer) {
        return fail(ErrorCode::invalid_argument,
                    fmt::format("{}: '{}' is not a colo plan --right-size answer: {}", where,
                                f.right_size, answer.error().message));
      }
      COLO_TRY(apply_right_size(f, *answer, where + ": "));
    }
  }
  return cfg;
}

}  // namespace colo::serve
