#include "cluster/slurm_jobs.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>

#include "cluster/slurm_conf.hpp"

namespace colo::cluster {
namespace {

// "mps:40" -> 40 (0 for other gres).
int mps_share(const std::string& gres) {
  return gres.rfind("mps:", 0) == 0 ? std::stoi(gres.substr(4)) : 0;
}

}  // namespace

std::string gres_for_run(const RunPlan& run, int gpu_count) {
  std::string whole = fmt::format("gpu:{}", std::max(1, gpu_count));
  if (run.mode.kind != ModeKind::mps || gpu_count != 1 || run.clients.empty()) {
    return whole;
  }
  int sum = 0;
  for (const auto& c : run.clients) {
    if (!c.thread_percent) {
      return whole;  // a client without a limit may use the whole GPU
    }
    sum += *c.thread_percent;
  }
  return sum <= 100 ? fmt::format("mps:{}", sum) : whole;
}

std::vector<SlurmUnit> slurm_units(const std::vector<RunPlan>& runs, int gpu_count) {
  std::vector<SlurmUnit> out;
  for (const auto& r : runs) {
    const std::string mode = r.mode.label();
    auto it = std::find_if(out.begin(), out.end(), [&](const SlurmUnit& u) {
      return u.mode == mode && u.group == r.group;
    });
    if (it == out.end()) {
      out.push_back({mode, r.group, gres_for_run(r, gpu_count), 0});
      it = std::prev(out.end());
    }
    ++it->runs;
    const std::string g = gres_for_run(r, gpu_count);
    const int a = mps_share(it->gres);
    const int b = mps_share(g);
    if (a == 0 || b == 0) {
      it->gres = a == 0 ? it->gres : g;  // a whole GPU wins over a share
    } else {
      it->gres = fmt::format("mps:{}", std::max(a, b));
    }
  }
  return out;
}

std::string shell_quote(std::string_view word) {
  std::string out = "'";
  for (char c : word) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

std::string render_sbatch(const SbatchJob& job) {
  std::string out = "#!/bin/bash\n";
  if (!job.comment.empty()) {
    out += "# " + job.comment + "\n";
  }
  auto opt = [&out](const char* name, const std::string& value) {
    if (!value.empty()) {
      out += fmt::format("#SBATCH --{}={}\n", name, value);
    }
  };
  opt("job-name", job.name);
  opt("gres", job.gres);
  opt("partition", job.partition);
  opt("account", job.account);
  opt("time", job.time);
  opt("output", job.output);
  opt("cpus-per-task", job.cpus > 0 ? std::to_string(job.cpus) : "");
  opt("dependency", job.singleton ? "singleton" : "");
  out += "set -euo pipefail\n";
  for (const auto& c : job.commands) {
    out += c + "\n";
  }
  return out;
}

bool JobState::finished() const {
  static const char* const k_live[] = {"PENDING",   "RUNNING",      "CONFIGURING", "COMPLETING",
                                       "SUSPENDED", "REQUEUED",     "RESIZING",    "SIGNALING",
                                       "STAGE_OUT", "REQUEUE_HOLD", "REQUEUE_FED", "RESV_DEL_HOLD"};
  return !state.empty() && std::none_of(std::begin(k_live), std::end(k_live),
                                        [this](const char* s) { return state == s; });
}

std::vector<JobState> parse_squeue(std::string_view text) {
  std::vector<JobState> out;
  while (!text.empty()) {
    const auto nl = text.find('\n');
    const auto line = trim(text.substr(0, nl));
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    const auto a = line.find('|');
    if (line.empty() || a == std::string_view::npos) {
      continue;
    }
    const auto b = line.find('|', a + 1);
    JobState s;
    s.id = std::string(line.substr(0, a));
    s.state = std::string(line.substr(a + 1, b == std::string_view::npos ? b : b - a - 1));
    s.reason = b == std::string_view::npos ? "" : std::string(line.substr(b + 1));
    out.push_back(std::move(s));
  }
  return out;
}

std::optional<JobState> parse_show_job(std::string_view text) {
  auto nodes = parse_show_nodes([&] {
    // parse_show_nodes keeps lines with NodeName=; a job line has JobId= instead.
    std::string t(text.substr(0, text.find('\n')));
    return "NodeName=job " + t;
  }());
  if (nodes.empty()) {
    return std::nullopt;
  }
  const auto& kv = nodes.front();
  auto get = [&kv](const char* k) {
    auto it = kv.find(k);
    return it == kv.end() ? std::string() : it->second;
  };
  JobState s{get("JobId"), get("JobState"), get("Reason"), get("ExitCode")};
  if (s.id.empty() || s.state.empty()) {
    return std::nullopt;
  }
  return s;
}

std::optional<JobState> parse_sacct(std::string_view text) {
  const auto line = trim(text.substr(0, text.find('\n')));
  const auto a = line.find('|');
  if (a == std::string_view::npos) {
    return std::nullopt;
  }
  const auto b = line.find('|', a + 1);
  JobState s;
  s.id = std::string(line.substr(0, a));
  std::string state(line.substr(a + 1, b == std::string_view::npos ? b : b - a - 1));
  if (const auto sp = state.find(' '); sp != std::string::npos) {
    s.reason = state.substr(sp + 1);  // "CANCELLED by 0"
    state.resize(sp);
  }
  s.state = state;
  s.exit_code = b == std::string_view::npos ? "" : std::string(line.substr(b + 1));
  return s;
}

Result<std::string> parse_sbatch_id(std::string_view text) {
  auto t = trim(text);
  t = t.substr(0, t.find(';'));
  if (t.empty() || !std::all_of(t.begin(), t.end(), [](char c) {
        return std::isdigit(static_cast<unsigned char>(c)) != 0;
      })) {
    return fail(ErrorCode::process,
                fmt::format("sbatch did not print a job id: '{}'", std::string(trim(text))));
  }
  return std::string(t);
}

}  // namespace colo::cluster
