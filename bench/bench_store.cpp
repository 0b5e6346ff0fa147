// Store ingest: telemetry samples per second into SQLite (WAL), batched (one transaction per
// 10,000 samples, as the engine flushes) vs one transaction per sample. Target: >= 200,000
// samples/s batched.
#include <unistd.h>

#include <fmt/format.h>

#include <chrono>
#include <filesystem>

#include "store/store.hpp"

int main() {
  namespace fs = std::filesystem;
  const auto dir = fs::temp_directory_path() / ("colo-bench-store-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  auto store = colo::Store::open((dir / "colo.db").string());
  if (!store) {
    fmt::print(stderr, "{}\n", store.error().what());
    return 1;
  }
  const char* metrics[] = {"DCGM_FI_DEV_GPU_UTIL", "DCGM_FI_DEV_POWER_USAGE", "host.cpu_percent",
                           "host.rss_bytes"};
  auto rows = [&](int n, int offset) {
    std::vector<colo::SampleRow> v;
    for (int i = 0; i < n; ++i) {
      colo::SampleRow r;
      r.run_id = 1;
      r.gpu = 0;
      r.t = (offset + i) * 0.1;
      r.metric = metrics[i % 4];
      r.value = i;
      v.push_back(r);
    }
    return v;
  };
  constexpr int k_batched = 1'000'000;
  constexpr int k_batch = 10'000;
  constexpr int k_single = 5'000;
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < k_batched; i += k_batch) {
    if (!store->add_samples(rows(k_batch, i))) {
      return 1;
    }
  }
  const double batched_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < k_single; ++i) {
    if (!store->add_samples(rows(1, i))) {
      return 1;
    }
  }
  const double single_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const double batched_rate = k_batched / batched_s;
  const double single_rate = k_single / single_s;
  fmt::print("store ingest (SQLite WAL, synchronous=NORMAL)\n");
  fmt::print("  batched, 10k/transaction : {:12.0f} samples/s ({} samples)\n", batched_rate,
             k_batched);
  fmt::print("  one per transaction      : {:12.0f} samples/s ({} samples)\n", single_rate,
             k_single);
  fmt::print("  ratio batched/single     : {:12.1f}x\n", batched_rate / single_rate);
  fmt::print("  target >= 200,000/s      : {}\n", batched_rate >= 200'000 ? "met" : "NOT met");
  fs::remove_all(dir);
  return 0;
}
