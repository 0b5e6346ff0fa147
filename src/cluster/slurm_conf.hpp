#pragma once
// Slurm's side of GPU sharing (pure, namespace colo::cluster): the gres.conf and slurm.conf
// lines that offer a node's GPUs as `gpu` (whole GPUs), `mps` (CUDA MPS shares, Count per GPU)
// and `shard` (time-sliced shares), parsers of `scontrol show config` and `scontrol show node
// -o`, and a check of an existing configuration against the wanted one (docs/slurm.md).
// Values in, values out: running scontrol is the caller's (slurm_client.hpp).
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"

namespace colo::cluster {

// One GPU of the node as gres.conf names it.
struct GresGpu {
  int index = 0;
  std::string name;         // "NVIDIA H100 80GB HBM3"
  std::string device_file;  // "/dev/nvidia0"
};

struct GresOptions {
  std::string node;        // NodeName in slurm.conf (the host's short name)
  int mps_per_gpu = 100;   // Count of `mps` per GPU: 100 makes --gres=mps:P a P% share
  int shards_per_gpu = 4;  // Count of `shard` per GPU: time-sliced jobs per GPU
};

// "h100" from "NVIDIA H100 80GB HBM3": the gres Type (lower case, letters and digits of the
// first word after "NVIDIA"); "" when nothing is left.
std::string gres_type(std::string_view gpu_name);

// What an admin adds: gres.conf lines (one per GPU and gres) and slurm.conf lines (GresTypes,
// SelectType, the node's Gres=).
struct SlurmConfigLines {
  std::vector<std::string> gres_conf;
  std::vector<std::string> slurm_conf;
  std::string node_gres;  // "gpu:h100:1,mps:100,shard:4": the value of the node's Gres=
};
SlurmConfigLines slurm_config(const std::vector<GresGpu>& gpus, const GresOptions& opts);

// Renders the lines as a commented text ready to paste (`colo slurm config`).
std::string render_slurm_config(const SlurmConfigLines& lines, const std::vector<GresGpu>& gpus,
                                const GresOptions& opts, bool simulated);

using KeyValues = std::map<std::string, std::string>;

// `s` without leading and trailing white space (the parsers of Slurm's output).
std::string_view trim(std::string_view s);

// `scontrol show config`: "Key = value" lines (header and blank lines skipped).
KeyValues parse_show_config(std::string_view text);

// `scontrol show node -o`: one node a line of Key=Value words; a word without '=' continues the
// previous value ("OS=Linux 6.1.0 #1 SMP"). Nodes without NodeName= are skipped.
std::vector<KeyValues> parse_show_nodes(std::string_view text);

// A node's Gres= ("gpu:h100:2(S:0-1),mps:200,shard:8") as counts per gres name, summed over
// types; "(null)" and "" are empty. Errors on a count that is not a number.
Result<std::map<std::string, long long>> parse_gres(std::string_view gres);

// One line of a check: what was looked at, whether it is as wanted, and the line to add.
struct CheckItem {
  std::string what;  // "GresTypes includes mps"
  bool ok = false;
  std::string current;  // what the cluster has ("" when absent)
  std::string wanted;   // the line that fixes it ("slurm.conf: GresTypes=gpu,mps,shard")
};

// Compares the cluster's configuration (show config) and its node `opts.node` (show node; the
// only node when opts.node is empty and there is one) with slurm_config(gpus, opts).
std::vector<CheckItem> check_slurm(const KeyValues& config, const std::vector<KeyValues>& nodes,
                                   const std::vector<GresGpu>& gpus, const GresOptions& opts);

// "ok"/"MISSING" lines, then the missing lines as a diff ("- current", "+ wanted").
std::string render_check(const std::vector<CheckItem>& items);

}  // namespace colo::cluster
