#pragma once
// `colo serve`'s configuration (docs/serve.md): the listener, its limits, and the functions with
// their worker pools. Pure: YAML text in, a validated ServeConfig out; every error names
// "file:line: field: problem".
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/result.hpp"

namespace colo::serve {

enum class FunctionKind { command, python, builtin };

// What part of a GPU a pool's workers get (src/gpu/mode computes their environment).
enum class PartitionKind { none, gpu, mps, mig, green };

struct PartitionSpec {
  PartitionKind kind = PartitionKind::none;
  int device = 0;                          // GPU index
  std::optional<int> thread_percent;       // mps: CUDA_MPS_ACTIVE_THREAD_PERCENTAGE, 1..100
  std::optional<std::uint64_t> mem_limit;  // mps: pinned device memory limit, bytes
  std::optional<int> green_sms;            // green: SMs per worker
  // mig: exactly one of the two. mig_uuid: an instance someone else made (MIG-...); profile: a
  // profile of the GPU's placement table ("1g.18gb") whose instance colo serve creates at start
  // and destroys at shutdown, and then sets mig_uuid to (docs/serve.md, mig_plan.hpp).
  std::string mig_uuid;
  std::string mig_profile;
  int line = 0;  // the partition's line in the config file (messages); 0: not from a file
};

struct FunctionConfig {
  std::string name;  // [A-Za-z0-9_.-]{1,64}
  FunctionKind kind = FunctionKind::command;
  std::vector<std::string> argv;         // command: the worker program and its arguments (no shell)
  std::string entry;                     // python: "module:function"
  std::vector<std::string> python_path;  // python: added to PYTHONPATH
  std::string builtin;                   // builtin: gemm, transformer or fault (builtin_params)
  std::map<std::string, long> params;    // builtin: its parameters (builtin_params)
  std::map<std::string, std::string> env;  // added to the workers' environment
  std::string cwd;                         // empty: the daemon's
  int workers = 1;                         // workers started with the pool
  int min_workers = 1;                     // autoscaling bounds (min == max: fixed size)
  int max_workers = 1;
  bool idempotent = false;               // a task whose worker crashed is retried (else failed)
  int max_attempts = 3;                  // idempotent: attempts per task, crashes included
  double timeout_s = 60;                 // default per-task deadline, from submission
  std::size_t queue_capacity = 1024;     // queued tasks beyond this: 429
  double scale_up_queue_per_worker = 4;  // autoscaler: more workers above this queue length
  double scale_down_idle_s = 30;         // autoscaler: fewer workers after this long idle
  PartitionSpec partition;  // `gpu: N` in the config sets partition.device (kind gpu if none)
  // `gpus: [0, 1]`: the pool spans these GPUs, worker i on gpus[i % n] with the partition's
  // share of each (partition.device = gpus[0]); empty: every worker on partition.device.
  std::vector<int> gpus;
  // `plan_job: NAME`: the GPU and partition come from that job of the config's `plan` (a `colo
  // plan -o` file; apply_plan in serve/placement.hpp), not from gpu/gpus/partition.
  std::string plan_job;
  int plan_job_line = 0;  // its line in the config file (messages)
  // `right_size: FILE`: a `colo plan --right-size JOB --within X --format json` answer (relative
  // to the config file); load_serve_config gives the pool that answer's measured MPS share on
  // its GPU (apply_right_size in serve/placement.hpp). Not with partition or plan_job.
  std::string right_size;
  int right_size_line = 0;
};

// The GPU of worker `index` of `f` (gpus round-robin, else partition.device). Pure.
int worker_device(const FunctionConfig& f, int index);
// Every GPU `f`'s workers may run on (gpus, else partition.device); empty for kind none. Pure.
std::vector<int> function_devices(const FunctionConfig& f);

struct ServeConfig {
  std::string host = "127.0.0.1";
  int port = 8470;
  std::string token;  // bearer token (from token_env); required beyond loopback
  std::string token_env = "COLO_SERVE_TOKEN";
  std::size_t max_body_bytes = std::size_t{1} << 20;
  int max_connections = 64;   // concurrent connections; more: 429 and close
  double read_timeout_s = 5;  // a client silent this long is dropped
  double write_timeout_s = 5;
  double keep_alive_s = 5;
  std::size_t max_batch = 10000;          // tasks per batch request
  std::size_t result_retention = 100000;  // finished tasks kept for GET /v1/tasks/ID
  double drain_s = 10;  // SIGTERM: in-flight tasks get this long before they are failed
  // Where the MPS daemons' pipe and log directories go (<state_dir>/mps/dev<N>); "": the daemon
  // picks /tmp/colo-serve-<pid>.
  std::string state_dir;
  std::vector<FunctionConfig> functions;
  std::string source;  // the config file's name, for messages of later checks ("" if none)
  // `plan: FILE`: a `colo plan -o` JSON file (relative to the config file) that places the
  // functions with plan_job; load_serve_config reads it and applies it.
  std::string plan_path;
  int plan_line = 0;
};

// Parses and validates. `source`: the file name used in messages. Reads the token from the
// environment variable `token_env` names (the token is never in the file, so never in logs);
// `getenv` is injected for tests.
Result<ServeConfig> parse_serve_config(const std::string& yaml_text, const std::string& source,
                                       const std::map<std::string, std::string>& environment);
// Reads the file and, when it names a `plan`, that plan file too (relative to the config's
// directory), applying its placements (serve/placement.hpp).
Result<ServeConfig> load_serve_config(const std::string& path);

// "HOST:PORT" (IPv4 or a name; "[::1]:PORT" for IPv6). Port 0: an ephemeral port.
Status apply_listen(const std::string& listen, ServeConfig& cfg);

// Whether `host` is a loopback address (127.0.0.0/8, ::1, localhost).
bool is_loopback(const std::string& host);

// A partition given as YAML or JSON text (a mapping: kind, device, thread_percent,
// mem_limit_mib, green_sms, mig_uuid, profile), as in a function's `partition`.
Result<PartitionSpec> parse_partition_text(const std::string& text, const std::string& source);

// Validates one function. `where`: prefix of messages.
Status validate_function(const FunctionConfig& f, const std::string& where);

// The builtin functions (kind builtin) with their parameters and defaults, as colo-serve-cuda
// takes them ("--size 4096"): gemm {size 4096, chain 8}, transformer {hidden 1024, heads 16,
// seq 128, batch 1, layers 1}, fault {}. Pure.
struct BuiltinParam {
  const char* name;
  long def;
  long min;
  long max;
};
const std::vector<BuiltinParam>* builtin_params(const std::string& builtin);

const char* to_string(FunctionKind k);
const char* to_string(PartitionKind k);

}  // namespace colo::serve
