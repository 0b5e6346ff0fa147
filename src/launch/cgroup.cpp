#include "launch/cgroup.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>

namespace colo {
namespace {

namespace fs = std::filesystem;

// How long teardown waits for a killed cgroup to empty, in 1 ms polls.
constexpr int k_empty_polls = 3000;
// Freeze + kill + thaw rounds before giving up on a cgroup that keeps refilling.
constexpr int k_kill_rounds = 100;

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// Writes `text` with one write(2): cgroup files report their errors there.
bool write_text(const std::string& path, const std::string& text) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) {
    return false;
  }
  const bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  ::close(fd);
  return ok;
}

bool has_word(const std::string& text, const std::string& word) {
  std::istringstream in(text);
  std::string w;
  while (in >> w) {
    if (w == word) {
      return true;
    }
  }
  return false;
}

// The value after `key ` in a flat keyed file (cgroup.events, pids.events); -1 when absent.
long keyed_value(const std::string& text, const std::string& key) {
  std::istringstream in(text);
  std::string k;
  long v = 0;
  while (in >> k >> v) {
    if (k == key) {
      return v;
    }
  }
  return -1;
}

std::vector<pid_t> read_pids(const std::string& dir) {
  std::vector<pid_t> out;
  std::istringstream in(read_text(dir + "/cgroup.procs"));
  long p = 0;
  while (in >> p) {
    out.push_back(static_cast<pid_t>(p));
  }
  return out;
}

// Creates and removes a probe directory: true when colo may make cgroups under `dir`.
bool probe_writable(const std::string& dir, const std::string& must_exist = "cgroup.procs") {
  const std::string probe = fmt::format("{}/colo-probe-{}", dir, ::getpid());
  if (::mkdir(probe.c_str(), 0755) != 0 && errno != EEXIST) {
    return false;
  }
  const bool ok = fs::exists(probe + "/" + must_exist) &&
                  ::access((probe + "/cgroup.procs").c_str(), W_OK) == 0;
  ::rmdir(probe.c_str());
  return ok;
}

struct MountedHierarchy {
  std::string mount_point;
  std::string mount_root;  // the hierarchy path mounted there ("/" usually)
};

// The cgroup2 mount (`controller` empty) or the v1 mount holding `controller`.
std::optional<MountedHierarchy> find_mount(const std::string& mountinfo,
                                           const std::string& controller) {
  std::istringstream in(mountinfo);
  std::string line;
  while (std::getline(in, line)) {
    const auto dash = line.find(" - ");
    if (dash == std::string::npos) {
      continue;
    }
    std::istringstream left(line.substr(0, dash));
    std::istringstream right(line.substr(dash + 3));
    std::string id, parent, dev, root, point, fstype, source, superopts;
    left >> id >> parent >> dev >> root >> point;
    right >> fstype >> source >> superopts;
    if (controller.empty() && fstype == "cgroup2") {
      return MountedHierarchy{point, root};
    }
    if (!controller.empty() && fstype == "cgroup") {
      std::istringstream opts(superopts);
      std::string o;
      while (std::getline(opts, o, ',')) {
        if (o == controller) {
          return MountedHierarchy{point, root};
        }
      }
    }
  }
  return std::nullopt;
}

// colo's own cgroup path in the v2 hierarchy (`controller` empty) or the v1 one of `controller`.
std::optional<std::string> own_path(const std::string& self_cgroup, const std::string& controller) {
  std::istringstream in(self_cgroup);
  std::string line;
  while (std::getline(in, line)) {
    const auto a = line.find(':');
    const auto b = a == std::string::npos ? a : line.find(':', a + 1);
    if (b == std::string::npos) {
      continue;
    }
    const std::string id = line.substr(0, a);
    const std::string ctrls = line.substr(a + 1, b - a - 1);
    std::string path = line.substr(b + 1);
    if (controller.empty() && id == "0" && ctrls.empty()) {
      return path;
    }
    if (!controller.empty()) {
      std::istringstream cs(ctrls);
      std::string c;
      while (std::getline(cs, c, ',')) {
        if (c == controller) {
          return path;
        }
      }
    }
  }
  return std::nullopt;
}

// <mount point>/<own path relative to the mount's root>, or "" when not mounted or outside it.
std::string own_dir(const std::string& root, const std::string& mountinfo,
                    const std::string& self_cgroup, const std::string& controller) {
  auto m = find_mount(mountinfo, controller);
  auto p = own_path(self_cgroup, controller);
  if (!m || !p) {
    return {};
  }
  std::string rel = *p;
  if (m->mount_root != "/") {
    if (rel.rfind(m->mount_root, 0) != 0) {
      return {};  // our cgroup is not visible under this mount
    }
    rel = rel.substr(m->mount_root.size());
  }
  while (!rel.empty() && rel.back() == '/') {
    rel.pop_back();
  }
  return root + m->mount_point + rel;
}

std::string sanitize_label(const std::string& label) {
  std::string out;
  for (char ch : label.substr(0, 40)) {
    const bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                    (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' || ch == '-';
    out += ok ? ch : '_';
  }
  return out;
}

void reap_if_child(const std::vector<pid_t>& pids) {
  for (pid_t p : pids) {
    int st = 0;
    (void)::waitpid(p, &st, WNOHANG);
  }
}

int kill_members(const std::vector<pid_t>& pids) {
  int n = 0;
  for (pid_t p : pids) {
    if (p > 0 && ::kill(p, SIGKILL) == 0) {
      ++n;
    }
  }
  return n;
}

// Waits (1 ms polls) until `dir` has no member; reaps colo's own children among them.
bool wait_empty(const std::string& dir) {
  for (int i = 0; i < k_empty_polls; ++i) {
    const auto pids = read_pids(dir);
    if (pids.empty()) {
      return true;
    }
    reap_if_child(pids);
    ::usleep(1000);
  }
  return false;
}

// Freeze (v1 freezer.state or v2 cgroup.freeze), SIGKILL every member, thaw; until empty.
int freeze_kill_loop(const std::string& track, const std::string& freezer, bool v2) {
  int killed = 0;
  for (int round = 0; round < k_kill_rounds; ++round) {
    if (read_pids(track).empty()) {
      break;
    }
    if (v2) {
      (void)write_text(track + "/cgroup.freeze", "1");
      for (int i = 0; i < 200 && keyed_value(read_text(track + "/cgroup.events"), "frozen") != 1;
           ++i) {
        ::usleep(500);
      }
    } else if (!freezer.empty()) {
      (void)write_text(freezer + "/freezer.state", "FROZEN");
      for (int i = 0; i < 200 && read_text(freezer + "/freezer.state").rfind("FROZEN", 0) != 0;
           ++i) {
        ::usleep(500);
      }
    }
    const auto pids = read_pids(track);
    killed += kill_members(pids);
    if (v2) {
      (void)write_text(track + "/cgroup.freeze", "0");
    } else if (!freezer.empty()) {
      (void)write_text(freezer + "/freezer.state", "THAWED");
    }
    ::usleep(1000);
    reap_if_child(pids);
  }
  return killed;
}

// Kills a cgroup directory of kind `kind` and everything below it.
int kill_dir(ContainmentKind kind, bool v2_kill, const std::string& track,
             const std::string& freezer) {
  const auto before = read_pids(track);
  if (kind == ContainmentKind::cgroup_v2 && v2_kill) {
    if (write_text(track + "/cgroup.kill", "1")) {
      reap_if_child(before);
      if (wait_empty(track)) {
        return static_cast<int>(before.size());
      }
    }
  }
  int n = freeze_kill_loop(track, freezer, kind == ContainmentKind::cgroup_v2);
  (void)wait_empty(track);
  return std::max(n, static_cast<int>(before.size()));
}

std::string token_dir(const std::string& base, const std::string& token) {
  return base + "/colo-" + token;
}

std::atomic<int> g_counter{0};

}  // namespace

const char* to_string(ContainmentKind kind) {
  switch (kind) {
    case ContainmentKind::cgroup_v2:
      return "cgroup v2";
    case ContainmentKind::cgroup_v1:
      return "cgroup v1";
    case ContainmentKind::sweep:
      return "run-token sweep";
  }
  return "?";
}

std::string Containment::describe() const {
  std::string s;
  switch (kind) {
    case ContainmentKind::cgroup_v2:
      s = fmt::format("cgroup v2 ({}; kill by {})", v2_base,
                      v2_kill ? "cgroup.kill" : "freeze + SIGKILL");
      break;
    case ContainmentKind::cgroup_v1:
      s = fmt::format("cgroup v1 ({}; kill by {})", freezer_base.empty() ? pids_base : freezer_base,
                      freezer_base.empty() ? "SIGKILL loop" : "freezer + SIGKILL");
      break;
    case ContainmentKind::sweep:
      s = "run-token sweep only (a process that clears its environment can escape)";
      break;
  }
  if (kind != ContainmentKind::sweep) {
    s += pids_base.empty() ? "; no pids limit (no writable pids controller)"
                           : fmt::format("; pids limit in {}", pids_base);
  }
  if (!reason.empty()) {
    s += ": " + reason;
  }
  return s;
}

Containment detect_containment(const std::string& root) {
  Containment c;
  const char* forced = std::getenv("COLO_CONTAINMENT");
  if (forced != nullptr && std::string(forced) == "sweep") {
    c.reason = "forced by COLO_CONTAINMENT=sweep";
    return c;
  }
  const std::string self = read_text(root + "/proc/self/cgroup");
  const std::string mounts = read_text(root + "/proc/self/mountinfo");
  if (self.empty() || mounts.empty()) {
    c.reason = "cannot read /proc/self/cgroup or /proc/self/mountinfo";
    return c;
  }
  std::vector<std::string> why;
  const std::string v2 = own_dir(root, mounts, self, "");
  if (!v2.empty() && probe_writable(v2)) {
    c.kind = ContainmentKind::cgroup_v2;
    c.v2_base = v2;
    c.v2_kill = probe_writable(v2, "cgroup.kill");
    const std::string ctrl = read_text(v2 + "/cgroup.controllers");
    if (has_word(read_text(v2 + "/cgroup.subtree_control"), "pids") ||
        (has_word(ctrl, "pids") && write_text(v2 + "/cgroup.subtree_control", "+pids"))) {
      c.pids_base = v2;
    }
  } else {
    why.push_back(v2.empty() ? "no cgroup2 mount holding this process"
                             : fmt::format("'{}' is not writable", v2));
  }
  const std::string freezer = own_dir(root, mounts, self, "freezer");
  if (!freezer.empty() && probe_writable(freezer, "freezer.state")) {
    c.freezer_base = freezer;
  }
  if (c.pids_base.empty()) {
    const std::string pids = own_dir(root, mounts, self, "pids");
    if (!pids.empty() && probe_writable(pids, "pids.max")) {
      c.pids_base = pids;
    }
  }
  if (c.kind == ContainmentKind::sweep && (!c.freezer_base.empty() || !c.pids_base.empty())) {
    c.kind = ContainmentKind::cgroup_v1;
  }
  if (c.kind == ContainmentKind::sweep) {
    why.emplace_back("no writable v1 freezer or pids hierarchy");
    c.reason.clear();
    for (const auto& w : why) {
      c.reason += (c.reason.empty() ? "" : "; ") + w;
    }
  }
  return c;
}

const Containment& host_containment() {
  static const Containment c = detect_containment();
  return c;
}

Result<WorkloadCgroup> WorkloadCgroup::create(const Containment& c, const std::string& token,
                                              const std::string& label, std::int64_t pids_max) {
  WorkloadCgroup g;
  g.m_kind = c.kind;
  g.m_v2_kill = c.v2_kill;
  if (c.kind == ContainmentKind::sweep) {
    return g;
  }
  const std::string leaf = fmt::format("w{}-{}", g_counter.fetch_add(1), sanitize_label(label));
  auto make = [&](const std::string& base) -> Result<std::string> {
    const std::string parent = token_dir(base, token);
    std::string dir = parent + "/" + leaf;
    // A concurrent run's teardown may remove the (then empty) parent between the two mkdirs:
    // make it again.
    for (int attempt = 0;; ++attempt) {
      if ((::mkdir(parent.c_str(), 0755) != 0 && errno != EEXIST) ||
          ::mkdir(dir.c_str(), 0755) != 0) {
        if (errno == ENOENT && attempt < 3) {
          continue;
        }
        return fail(ErrorCode::process, fmt::format("cannot create cgroup '{}'", dir),
                    std::strerror(errno));
      }
      return dir;
    }
  };
  std::vector<std::string> bases;
  if (c.kind == ContainmentKind::cgroup_v2) {
    bases.push_back(c.v2_base);
  }
  if (!c.freezer_base.empty() && c.kind == ContainmentKind::cgroup_v1) {
    bases.push_back(c.freezer_base);
  }
  if (!c.pids_base.empty() && std::find(bases.begin(), bases.end(), c.pids_base) == bases.end()) {
    bases.push_back(c.pids_base);
  }
  for (const auto& base : bases) {
    if (base == c.v2_base && base == c.pids_base) {
      // The leaf gets pids.max only when its parent delegates the controller.
      const std::string parent = token_dir(base, token);
      if (::mkdir(parent.c_str(), 0755) != 0 && errno != EEXIST) {
        return fail(ErrorCode::process, fmt::format("cannot create cgroup '{}'", parent),
                    std::strerror(errno));
      }
      (void)write_text(parent + "/cgroup.subtree_control", "+pids");
    }
    auto dir = make(base);
    if (!dir) {
      return fail(dir.error());
    }
    g.m_dirs.push_back(*dir);
    if (base == c.freezer_base) {
      g.m_freezer = *dir;
    }
    if (base == c.pids_base) {
      g.m_pids = *dir;
    }
  }
  if (pids_max > 0 && !g.m_pids.empty() && fs::exists(g.m_pids + "/pids.max") &&
      !write_text(g.m_pids + "/pids.max", std::to_string(pids_max))) {
    return fail(ErrorCode::process, fmt::format("cannot set pids.max in '{}'", g.m_pids),
                std::strerror(errno));
  }
  return g;
}

WorkloadCgroup::WorkloadCgroup(WorkloadCgroup&& o) noexcept
    : m_kind(o.m_kind),
      m_v2_kill(o.m_v2_kill),
      m_dirs(std::move(o.m_dirs)),
      m_freezer(std::move(o.m_freezer)),
      m_pids(std::move(o.m_pids)) {
  o.m_dirs.clear();
}

WorkloadCgroup& WorkloadCgroup::operator=(WorkloadCgroup&& o) noexcept {
  if (this != &o) {
    (void)kill();
    remove();
    m_kind = o.m_kind;
    m_v2_kill = o.m_v2_kill;
    m_dirs = std::move(o.m_dirs);
    m_freezer = std::move(o.m_freezer);
    m_pids = std::move(o.m_pids);
    o.m_dirs.clear();
  }
  return *this;
}

WorkloadCgroup::~WorkloadCgroup() {
  if (!m_dirs.empty()) {
    (void)kill();
    remove();
  }
}

std::vector<pid_t> WorkloadCgroup::members() const {
  return m_dirs.empty() ? std::vector<pid_t>{} : read_pids(m_dirs.front());
}

int WorkloadCgroup::kill() {
  if (m_dirs.empty()) {
    return 0;
  }
  int n = kill_dir(m_kind, m_v2_kill, m_dirs.front(), m_freezer);
  // A v1 pids directory next to a v2 tree holds the same processes: empty by now.
  for (std::size_t i = 1; i < m_dirs.size(); ++i) {
    n += kill_members(read_pids(m_dirs[i]));
  }
  return n;
}

std::int64_t WorkloadCgroup::pids_refused() const {
  return m_pids.empty()
             ? 0
             : std::max<std::int64_t>(0, keyed_value(read_text(m_pids + "/pids.events"), "max"));
}

void WorkloadCgroup::remove() {
  for (const auto& d : m_dirs) {
    ::rmdir(d.c_str());
    ::rmdir(fs::path(d).parent_path().c_str());  // the token directory, once its last leaf goes
  }
  m_dirs.clear();
}

int kill_token_cgroups(const Containment& c, const std::string& token) {
  int seen = 0;
  for (const auto& base : {c.v2_base, c.freezer_base, c.pids_base}) {
    if (base.empty()) {
      continue;
    }
    const std::string top = token_dir(base, token);
    std::error_code ec;
    if (!fs::is_directory(top, ec)) {
      continue;
    }
    const bool is_v2 = base == c.v2_base;
    const std::string freezer = base == c.freezer_base ? top : std::string();
    for (const auto& leaf : fs::directory_iterator(top, ec)) {
      if (!leaf.is_directory()) {
        continue;
      }
      const std::string dir = leaf.path().string();
      const std::string leaf_freezer = freezer.empty() ? std::string() : dir;
      seen += kill_dir(is_v2 ? ContainmentKind::cgroup_v2 : ContainmentKind::cgroup_v1,
                       is_v2 && c.v2_kill, dir, leaf_freezer);
      ::rmdir(dir.c_str());
    }
    ::rmdir(top.c_str());
  }
  return seen;
}

std::vector<pid_t> token_cgroup_members(const Containment& c, const std::string& token) {
  std::vector<pid_t> out;
  for (const auto& base : {c.v2_base, c.freezer_base, c.pids_base}) {
    if (base.empty()) {
      continue;
    }
    std::error_code ec;
    for (const auto& leaf : fs::directory_iterator(token_dir(base, token), ec)) {
      if (leaf.is_directory()) {
        for (pid_t p : read_pids(leaf.path().string())) {
          if (std::find(out.begin(), out.end(), p) == out.end()) {
            out.push_back(p);
          }
        }
      }
    }
  }
  return out;
}

}  // namespace colo
