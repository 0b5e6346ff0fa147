#include "cli/cli_common.hpp"

#include <fmt/format.h>

#include <ostream>

#include "cli/cli.hpp"

namespace colo {

int report_error(std::ostream& err, const Error& e) {
  err << "colo: error: " << e.what() << "\n";
  return exit_code_for(e.code);
}

Result<ExperimentId> parse_id(const std::string& text) {
  try {
    std::size_t used = 0;
    const long long v = std::stoll(text, &used);
    if (used == text.size() && v > 0) {
      return static_cast<ExperimentId>(v);
    }
  } catch (const std::exception&) {
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

}  // namespace colo
