#pragma once
// colo sim results as JSON, the format `colo sim --format json` prints and `colo sim --save`
// stores (one object per run: its context, then its result). to_json/from_json for nlohmann's
// ADL; from_json restores every field to_json writes (tests/unit/sim: round trip).
#include <nlohmann/json.hpp>

#include "sim/batch.hpp"

namespace colo::csim {

void to_json(nlohmann::json& j, const SimRun& r);
void from_json(const nlohmann::json& j, SimRun& r);

}  // namespace colo::csim
