#include "cluster/slurm_conf.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <set>

namespace colo::cluster {
namespace {

std::vector<std::string_view> lines_of(std::string_view text) {
  std::vector<std::string_view> out;
  while (!text.empty()) {
    const auto nl = text.find('\n');
    out.push_back(text.substr(0, nl));
    if (nl == std::string_view::npos) {
      break;
    }
    text.remove_prefix(nl + 1);
  }
  return out;
}

// Splits on `sep` outside parentheses ("gpu:a:2(S:0,1),mps:100" -> two items).
std::vector<std::string_view> split_top(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  int depth = 0;
  std::size_t start = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '(') {
      ++depth;
    } else if (s[i] == ')') {
      depth = std::max(0, depth - 1);
    } else if (s[i] == sep && depth == 0) {
      out.push_back(s.substr(start, i - start));
      start = i + 1;
    }
  }
  out.push_back(s.substr(start));
  return out;
}

std::set<std::string> comma_set(std::string_view s) {
  std::set<std::string> out;
  for (auto item : split_top(s, ',')) {
    item = trim(item);
    if (!item.empty()) {
      out.emplace(item);
    }
  }
  return out;
}

const std::string* find(const KeyValues& kv, const std::string& key) {
  auto it = kv.find(key);
  return it == kv.end() ? nullptr : &it->second;
}

}  // namespace

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front())) != 0) {
    s.remove_prefix(1);
  }
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back())) != 0) {
    s.remove_suffix(1);
  }
  return s;
}

std::string gres_type(std::string_view gpu_name) {
  auto words = split_top(gpu_name, ' ');
  std::string_view word;
  for (std::size_t i = 0; i < words.size(); ++i) {
    if (words[i].empty() || words[i] == "NVIDIA" || words[i] == "Tesla") {
      continue;
    }
    word = words[i];
    break;
  }
  std::string out;
  for (char c : word) {
    if (std::isalnum(static_cast<unsigned char>(c)) != 0) {
      out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
  }
  return out;
}

SlurmConfigLines slurm_config(const std::vector<GresGpu>& gpus, const GresOptions& opts) {
  SlurmConfigLines out;
  std::map<std::string, int> per_type;
  for (const auto& g : gpus) {
    const std::string type = gres_type(g.name);
    ++per_type[type];
    out.gres_conf.push_back(
        fmt::format("Name=gpu{} File={}", type.empty() ? "" : " Type=" + type, g.device_file));
  }
  for (const auto& g : gpus) {
    out.gres_conf.push_back(
        fmt::format("Name=mps Count={} File={}", opts.mps_per_gpu, g.device_file));
  }
  for (const auto& g : gpus) {
    out.gres_conf.push_back(
        fmt::format("Name=shard Count={} File={}", opts.shards_per_gpu, g.device_file));
  }
  std::string gres;
  for (const auto& [type, n] : per_type) {
    gres += fmt::format("{}gpu:{}{}", gres.empty() ? "" : ",", type.empty() ? "" : type + ":", n);
  }
  const auto n = static_cast<long long>(gpus.size());
  gres += fmt::format("{}mps:{},shard:{}", gres.empty() ? "" : ",", n * opts.mps_per_gpu,
                      n * opts.shards_per_gpu);
  out.node_gres = gres;
  out.slurm_conf = {"GresTypes=gpu,mps,shard", "SelectType=select/cons_tres",
                    fmt::format("NodeName={} Gres={}", opts.node, gres)};
  return out;
}

std::string render_slurm_config(const SlurmConfigLines& lines, const std::vector<GresGpu>& gpus,
                                const GresOptions& opts, bool simulated) {
  std::string out = fmt::format(
      "# colo slurm config: node {}, {} GPU(s){}\n"
      "# gpu: whole GPUs (--gres=gpu:1); mps: CUDA MPS shares, {} per GPU (--gres=mps:50 is a\n"
      "# 50% share: Slurm sets CUDA_MPS_ACTIVE_THREAD_PERCENTAGE); shard: {} time-sliced jobs\n"
      "# per GPU (--gres=shard:1). Device files assume /dev/nvidiaN for GPU N: check with\n"
      "# nvidia-smi -q | grep Minor.\n",
      opts.node, gpus.size(), simulated ? " (SIMULATED GPU: a dry run of the lines)" : "",
      opts.mps_per_gpu, opts.shards_per_gpu);
  out += "\n# gres.conf on the node\n";
  for (const auto& l : lines.gres_conf) {
    out += l + "\n";
  }
  out += "\n# slurm.conf (the node's Gres= goes on its existing NodeName line)\n";
  for (const auto& l : lines.slurm_conf) {
    out += l + "\n";
  }
  out +=
      "\n# then: scontrol reconfigure (restart slurmd on the node for gres.conf); check with\n"
      "# colo slurm config --check\n";
  return out;
}

KeyValues parse_show_config(std::string_view text) {
  KeyValues out;
  for (auto line : lines_of(text)) {
    const auto eq = line.find(" = ");
    if (eq == std::string_view::npos) {
      continue;
    }
    const auto key = trim(line.substr(0, eq));
    if (key.empty() || key.find(' ') != std::string_view::npos) {
      continue;
    }
    out[std::string(key)] = std::string(trim(line.substr(eq + 3)));
  }
  return out;
}

std::vector<KeyValues> parse_show_nodes(std::string_view text) {
  std::vector<KeyValues> out;
  for (auto line : lines_of(text)) {
    KeyValues kv;
    std::string last;
    for (auto word : split_top(trim(line), ' ')) {
      if (word.empty()) {
        continue;
      }
      const auto eq = word.find('=');
      if (eq == std::string_view::npos || eq == 0) {
        if (!last.empty()) {
          kv[last] += " " + std::string(word);
        }
        continue;
      }
      last = std::string(word.substr(0, eq));
      kv[last] = std::string(word.substr(eq + 1));
    }
    if (kv.count("NodeName") != 0) {
      out.push_back(std::move(kv));
    }
  }
  return out;
}

Result<std::map<std::string, long long>> parse_gres(std::string_view gres) {
  std::map<std::string, long long> out;
  gres = trim(gres);
  if (gres.empty() || gres == "(null)") {
    return out;
  }
  for (auto item : split_top(gres, ',')) {
    item = trim(item);
    if (const auto paren = item.find('('); paren != std::string_view::npos) {
      item = item.substr(0, paren);
    }
    if (item.empty()) {
      continue;
    }
    auto parts = split_top(item, ':');
    const std::string name(parts.front());
    long long count = 1;  // "gpu" alone is one
    if (parts.size() > 1) {
      const std::string last(parts.back());
      const char* end = last.c_str() + last.size();
      auto [p, ec] = std::from_chars(last.c_str(), end, count);
      if (ec != std::errc() || p != end) {
        if (parts.size() == 2) {
          count = 1;  // "gpu:h100": a type, one GPU
        } else {
          return fail(ErrorCode::invalid_argument,
                      fmt::format("gres '{}': count '{}' is not a number", std::string(item),
                                  std::string(last)));
        }
      }
    }
    out[name] += count;
  }
  return out;
}

std::vector<CheckItem> check_slurm(const KeyValues& config, const std::vector<KeyValues>& nodes,
                                   const std::vector<GresGpu>& gpus, const GresOptions& opts) {
  const auto want = slurm_config(gpus, opts);
  std::vector<CheckItem> out;
  const std::string* types = find(config, "GresTypes");
  const auto have_types = types ? comma_set(*types) : std::set<std::string>{};
  for (const char* g : {"gpu", "mps", "shard"}) {
    out.push_back({fmt::format("GresTypes includes {}", g), have_types.count(g) != 0,
                   types ? "GresTypes=" + *types : "", "slurm.conf: GresTypes=gpu,mps,shard"});
  }
  const std::string* select = find(config, "SelectType");
  out.push_back({"SelectType is select/cons_tres (needed for mps and shard)",
                 select && *select == "select/cons_tres", select ? "SelectType=" + *select : "",
                 "slurm.conf: SelectType=select/cons_tres"});

  const KeyValues* node = nullptr;
  for (const auto& n : nodes) {
    if (n.at("NodeName") == opts.node || (opts.node.empty() && nodes.size() == 1)) {
      node = &n;
    }
  }
  const std::string node_name = node ? node->at("NodeName") : opts.node;
  if (!node) {
    out.push_back({fmt::format("node {} is known to slurmctld", node_name), false, "",
                   fmt::format("slurm.conf: NodeName={} Gres={} ...", node_name, want.node_gres)});
    return out;
  }
  const std::string* g = find(*node, "Gres");
  auto have = g ? parse_gres(*g) : Result<std::map<std::string, long long>>{};
  const auto n = static_cast<long long>(gpus.size());
  const std::pair<const char*, long long> wanted[] = {
      {"gpu", n}, {"mps", n * opts.mps_per_gpu}, {"shard", n * opts.shards_per_gpu}};
  for (const auto& [name, count] : wanted) {
    long long got = 0;
    if (have) {
      if (auto it = have->find(name); it != have->end()) {
        got = it->second;
      }
    }
    // shard: any count is a valid choice of the admin; gpu and mps must match the GPUs.
    const bool ok = std::string_view(name) == "shard" ? got > 0 : got == count;
    std::string fix = fmt::format("slurm.conf: NodeName={} Gres={}", node_name, want.node_gres);
    for (const auto& l : want.gres_conf) {
      if (l.rfind(fmt::format("Name={} ", name), 0) == 0) {
        fix += "\n  gres.conf: " + l;
      }
    }
    out.push_back({fmt::format("node {} offers {}:{}{}", node_name, name, count,
                               std::string_view(name) == "shard" ? " (or any shard count)" : ""),
                   ok, g ? "Gres=" + *g : "", fix});
  }
  return out;
}

std::string render_check(const std::vector<CheckItem>& items) {
  std::string out;
  int missing = 0;
  for (const auto& i : items) {
    out += fmt::format("  {:<8} {}\n", i.ok ? "ok" : "MISSING", i.what);
    missing += i.ok ? 0 : 1;
  }
  if (missing == 0) {
    out += "\nthe cluster offers gpu, mps and shard as colo needs them\n";
    return out;
  }
  out += fmt::format("\n{} item(s) missing; the lines to change:\n", missing);
  std::set<std::string> said;
  for (const auto& i : items) {
    if (i.ok || !said.insert(i.current + "|" + i.wanted).second) {
      continue;
    }
    out += fmt::format("- {}\n+ {}\n", i.current.empty() ? "(absent)" : i.current, i.wanted);
  }
  return out;
}

}  // namespace colo::cluster
