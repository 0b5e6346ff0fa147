#pragma once
// What the in-process tests of colo serve on GPUs share (serve_gpu_test, serve_mig_test): a
// config on an ephemeral loopback port with its state under a test directory, a pool context,
// and a synchronous call over the HTTP API.
#include <httplib.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <string>
#include <vector>

#include "serve/config.hpp"
#include "serve/pool.hpp"

namespace colo::serve::test {

inline PoolContext pool_context() {
  PoolContext ctx;
  ctx.run_token = "gpu-test-token";
  return ctx;
}

// Port 0, drain 1 s, state_dir DIR/state.
inline ServeConfig config(const std::filesystem::path& dir, std::vector<FunctionConfig> fns) {
  ServeConfig c;
  c.port = 0;
  c.drain_s = 1;
  c.state_dir = (dir / "state").string();
  c.functions = std::move(fns);
  return c;
}

// Calls `fn` synchronously; the finished task as JSON.
inline nlohmann::json call(int port, const std::string& fn, const nlohmann::json& input) {
  httplib::Client cli("127.0.0.1", port);
  cli.set_read_timeout(std::chrono::seconds(30));
  auto r = cli.Post("/v1/tasks",
                    nlohmann::json{{"function", fn}, {"input", input}, {"wait", true}}.dump(),
                    "application/json");
  if (!r) {
    return nlohmann::json{{"error", "no answer"}};
  }
  return nlohmann::json::parse(r->body, nullptr, false);
}

}  // namespace colo::serve::test
