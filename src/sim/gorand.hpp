#pragma once
// Go's math/rand generator (the additive lagged Fibonacci source of Go 1.0-1.19, still the
// source behind rand.Seed) and the Rand methods the FGD artifact calls: Int, Intn, Perm and
// Shuffle. The artifact (hkust-adsl/kubernetes-scheduler-simulator, pkg/simulator/core.go:102)
// seeds Go's global generator with the experiment's seed and draws the pod order, the inflated
// pods and the node-name prefixes from it; with this class `colo sim --semantics artifact`
// draws the same numbers, so it replays the artifact's workload and tie-break order per seed.
// Ported from Go's src/math/rand/{rng.go,rand.go} (BSD licence, see the .cpp).
#include <array>
#include <cstdint>
#include <utility>
#include <vector>

namespace colo::csim {

class GoRand {
 public:
  explicit GoRand(std::int64_t seed);
  std::int64_t int63();
  std::int32_t int31() { return static_cast<std::int32_t>(int63() >> 32); }
  std::uint32_t uint32() { return static_cast<std::uint32_t>(int63() >> 31); }
  std::int64_t go_int() { return int63(); }  // rand.Int() on 64-bit Go
  std::int32_t int31n(std::int32_t n);       // rand.Int31n (n > 0)
  int intn(int n);                           // rand.Intn (0 < n < 2^31)
  std::vector<int> perm(int n);              // rand.Perm
  // rand.Shuffle(n, swap) for n < 2^31: calls swap(i, j) as Go does.
  template <typename Swap>
  void shuffle(int n, Swap&& swap) {
    for (int i = n - 1; i > 0; --i) {
      swap(i, static_cast<int>(lemire31n(static_cast<std::int32_t>(i + 1))));
    }
  }

 private:
  std::int32_t lemire31n(std::int32_t n);  // Go's unexported int31n (used by Shuffle)
  static constexpr int k_len = 607;
  static constexpr int k_tap = 273;
  int m_tap = 0;
  int m_feed = k_len - k_tap;
  std::array<std::uint64_t, k_len> m_vec{};
};

}  // namespace colo::csim
