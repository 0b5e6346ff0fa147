// colo-serve-echo: a `command` worker for colo serve (docs/serve.md, the worker protocol) used by
// its tests and benchmarks. Reads one task per line on stdin, {"id", "attempt", "input"}, and
// answers one line on stdout. The input steers it:
//   null or anything else     -> {"result": <input>}       (the no-op of the dispatch benchmark)
//   {"sleep_ms": N}           -> sleeps N ms, then echoes
//   {"error": "why"}          -> {"error": "why"}
//   {"crash": N}              -> exits with status N before answering
//   {"crash_attempts": K}     -> exits with status 7 while the attempt is <= K, else echoes
//   {"env": "NAME"}           -> {"result": "<value of NAME or empty>"}
//   {"pid": true}             -> {"result": <its pid>}
// Exits 0 at EOF on stdin.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

namespace {

int serve_lines() {
  std::string line;
  while (std::getline(std::cin, line)) {
    auto task = nlohmann::json::parse(line, nullptr, false);
    nlohmann::json answer;
    if (task.is_discarded() || !task.is_object()) {
      answer = {{"error", "colo-serve-echo: the task line is not a JSON object"}};
    } else {
      const auto& in = task["input"];
      const int attempt = task.value("attempt", 1);
      if (in.is_object() && in.contains("crash")) {
        return in["crash"].get<int>();
      }
      if (in.is_object() && in.contains("crash_attempts") &&
          attempt <= in["crash_attempts"].get<int>()) {
        return 7;
      }
      if (in.is_object() && in.contains("sleep_ms")) {
        std::this_thread::sleep_for(std::chrono::milliseconds(in["sleep_ms"].get<int>()));
      }
      if (in.is_object() && in.contains("error")) {
        answer = {{"error", in["error"]}};
      } else if (in.is_object() && in.contains("env")) {
        const char* v = std::getenv(in["env"].get<std::string>().c_str());
        answer = {{"result", v != nullptr ? v : ""}};
      } else if (in.is_object() && in.contains("pid")) {
        answer = {{"result", static_cast<long>(::getpid())}};
      } else {
        answer = {{"result", in}};
      }
    }
    std::cout << answer.dump() << '\n' << std::flush;
  }
  return 0;
}

}  // namespace

int main() {
  std::ios::sync_with_stdio(false);
  try {
    return serve_lines();
  } catch (const std::exception& e) {  // a task field of the wrong type
    std::cerr << "colo-serve-echo: " << e.what() << "\n";
    return 1;
  }
}
