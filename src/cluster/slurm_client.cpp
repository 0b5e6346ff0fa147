#include "cluster/slurm_client.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cctype>

namespace colo::cluster {
namespace {

// The last non-empty line: Slurm's tools end with the reason ("Batch job submission failed:
// Invalid partition name specified", "Could not establish a configuration source").
std::string last_line(const std::string& text) {
  std::string out;
  std::string cur;
  for (char c : text + "\n") {
    if (c == '\n') {
      if (!cur.empty()) {
        out = cur;
      }
      cur.clear();
    } else {
      cur += c;
    }
  }
  return out;
}

std::string lower(std::string s) {
  for (auto& c : s) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return s;
}

}  // namespace

Result<std::string> SlurmClient::call(const std::vector<std::string>& argv) {
  auto r = m_runner.run(argv);
  if (!r) {
    if (r.error().code == ErrorCode::not_found) {
      return fail(ErrorCode::not_found,
                  fmt::format("Slurm is not installed here ('{}' not found in PATH): install "
                              "slurm-wlm, or run colo on a login node of the cluster",
                              argv.front()));
    }
    return fail(r.error());
  }
  if (r->exit_code == 0) {
    return std::move(r->out);
  }
  const std::string all = r->err.empty() ? r->out : r->err;
  const std::string said = last_line(all);
  const std::string text = lower(all);
  const auto contains = [&text](const char* what) { return text.find(what) != std::string::npos; };
  const std::string cmd = fmt::format("{}", fmt::join(argv, " "));
  if (contains("unable to contact slurm controller") ||
      contains("unable to establish controller") || contains("connection refused") ||
      contains("zero bytes were transmitted")) {
    return fail(ErrorCode::unsupported,
                fmt::format("the Slurm controller (slurmctld) is not reachable: {}", said), cmd);
  }
  if (contains("resolve_ctls_from_dns_srv") ||
      contains("could not establish a configuration source")) {
    return fail(ErrorCode::unsupported,
                fmt::format("no Slurm configuration found (no /etc/slurm/slurm.conf, SLURM_CONF "
                            "unset, no DNS SRV record): {}",
                            said),
                cmd);
  }
  if (contains("invalid partition") || contains("invalid account") ||
      contains("invalid generic resource") || contains("invalid qos") ||
      contains("requested node configuration is not available") || contains("time limit")) {
    return fail(ErrorCode::invalid_argument, fmt::format("Slurm refused the job: {}", said), cmd);
  }
  return fail(ErrorCode::process,
              fmt::format("{} failed (exit {}): {}", argv.front(), r->exit_code, said), cmd);
}

Result<KeyValues> SlurmClient::show_config() {
  auto out = call({"scontrol", "show", "config"});
  if (!out) {
    return fail(out.error());
  }
  return parse_show_config(*out);
}

Result<std::vector<KeyValues>> SlurmClient::show_nodes() {
  auto out = call({"scontrol", "show", "node", "-o"});
  if (!out) {
    return fail(out.error());
  }
  return parse_show_nodes(*out);
}

Result<std::string> SlurmClient::submit(const std::string& script_path) {
  auto out = call({"sbatch", "--parsable", script_path});
  if (!out) {
    return fail(out.error());
  }
  return parse_sbatch_id(*out);
}

Result<std::vector<JobState>> SlurmClient::queue(const std::vector<std::string>& ids) {
  if (ids.empty()) {
    return std::vector<JobState>{};
  }
  auto out = call({"squeue", "-h", "-o", "%i|%T|%r", "-j", fmt::format("{}", fmt::join(ids, ","))});
  if (!out) {
    // squeue errors on a list of jobs that have all left the queue ("Invalid job id").
    if (out.error().message.find("Invalid job id") != std::string::npos) {
      return std::vector<JobState>{};
    }
    return fail(out.error());
  }
  return parse_squeue(*out);
}

Result<JobState> SlurmClient::final_state(const std::string& id) {
  if (auto out = call({"scontrol", "show", "job", "-o", id})) {
    if (auto s = parse_show_job(*out)) {
      return *s;
    }
  }
  auto out = call({"sacct", "-n", "-X", "-P", "-o", "JobID,State,ExitCode", "-j", id});
  if (out) {
    if (auto s = parse_sacct(*out)) {
      return *s;
    }
  }
  return fail(ErrorCode::not_found,
              fmt::format("Slurm no longer knows job {} (neither scontrol nor sacct: is "
                          "accounting off and MinJobAge short?)",
                          id));
}

Status SlurmClient::cancel(const std::vector<std::string>& ids) {
  if (ids.empty()) {
    return {};
  }
  std::vector<std::string> argv{"scancel"};
  argv.insert(argv.end(), ids.begin(), ids.end());
  auto out = call(argv);
  if (!out) {
    return fail(out.error());
  }
  return {};
}

}  // namespace colo::cluster
