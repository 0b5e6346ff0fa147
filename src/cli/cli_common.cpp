#include "cli/cli_common.hpp"

#include <sys/stat.h>

#include <fmt/format.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <ostream>

#include "cli/cli.hpp"
#include "core/clock.hpp"
#include "engine/backend_factory.hpp"

namespace colo {

Result<std::vector<DeviceInfo>> detect_gpus(const std::string& which, const std::string& topology,
                                            std::ostream& err, bool* simulated) {
  SteadyClock clock;
  auto choice = make_backend(which, clock, topology);
  if (!choice) {
    return fail(choice.error());
  }
  if (!choice->notice.empty()) {
    err << "colo: " << choice->notice << "\n";
  }
  if (simulated != nullptr) {
    *simulated = choice->backend->simulated();
  }
  return choice->backend->devices();
}

int report_error(std::ostream& err, const Error& e) {
  err << "colo: error: " << e.what() << "\n";
  return exit_code_for(e.code);
}

Status check_results_dir(const std::string& results) {
  if (results.empty()) {
    return fail(ErrorCode::invalid_argument,
                "--results is empty: give a directory (default colo-results; env COLO_RESULTS)");
  }
  for (const auto& [path, want_dir] :
       {std::pair<std::string, bool>{results, true}, {store_path(results), false}}) {
    struct stat st{};
    if (::stat(path.c_str(), &st) != 0) {
      if (errno == ELOOP || errno == ENAMETOOLONG) {
        return fail(ErrorCode::invalid_argument,
                    fmt::format("--results '{}': cannot use '{}'", results, path),
                    std::strerror(errno));
      }
      // Missing: created by `colo run`, and the read commands say "no colo store". Other
      // failures (a file in the path, no permission) are the store's to report (exit 4).
      break;
    }
    if (want_dir != S_ISDIR(st.st_mode)) {
      return fail(ErrorCode::invalid_argument, fmt::format("--results '{}': '{}' is {}a directory",
                                                           results, path, want_dir ? "not " : ""));
    }
  }
  return {};
}

Result<ExperimentId> parse_id(const std::string& text) {
  try {
    std::size_t used = 0;
    const long long v = std::stoll(text, &used);
    if (used == text.size() && v > 0) {
      return static_cast<ExperimentId>(v);
    }
  } catch (const std::exception&) {  // NOLINT(bugprone-empty-catch): not a number, said below
  }
  return fail(ErrorCode::invalid_argument,
              fmt::format("'{}' is not an experiment id (see `colo ls`)", text));
}

Result<ExperimentRecord> pick_experiment(Store& store, const std::string& id_text) {
  if (!id_text.empty()) {
    auto id = parse_id(id_text);
    if (!id) {
      return fail(id.error());
    }
    return store.experiment(*id);
  }
  auto all = store.experiments();
  if (!all) {
    return fail(all.error());
  }
  if (all->empty()) {
    return fail(ErrorCode::not_found, fmt::format("no experiments in '{}'", store.path()));
  }
  return all->back();
}

Status write_file_atomically(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp, std::ios::trunc);
    f << text;
    if (!f.flush()) {
      std::remove(tmp.c_str());
      return fail(ErrorCode::io,
                  fmt::format("cannot write '{}' (disk full or no permission?)", path));
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    return fail(ErrorCode::io, fmt::format("cannot write '{}'", path), std::strerror(errno));
  }
  return {};
}

int write_output(const std::string& text, const std::string& output, std::ostream& out,
                 std::ostream& err, const std::string& note) {
  if (output.empty() || output == "-") {
    out << text;
    return 0;
  }
  if (auto st = write_file_atomically(output, text); !st) {
    return report_error(err, st.error());
  }
  err << fmt::format("colo: wrote {} ({:.1f} KiB){}\n", output,
                     static_cast<double>(text.size()) / 1024.0, note);
  return 0;
}

}  // namespace colo
