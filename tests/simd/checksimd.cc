#include "checksimd.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>

namespace sipmix::checksimd {

uint64_t seed() {
  static const uint64_t s = [] {
    uint64_t v;
    if (const char* env = std::getenv("SIPMIX_CHECKSIMD_SEED"))
      v = std::strtoull(env, nullptr, 0);
    else
      v = static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
    std::printf("checksimd: seed %llu (replay with SIPMIX_CHECKSIMD_SEED=%llu), cpu %s\n",
                static_cast<unsigned long long>(v), static_cast<unsigned long long>(v),
                simd::cpu_level_name(simd::detected_cpu_flags()));
    return v;
  }();
  return s;
}

std::mt19937_64& rng() {
  static std::mt19937_64 r(seed());
  return r;
}

std::vector<Level> levels() {
  using namespace simd;
  const uint32_t have = detected_cpu_flags();
  std::vector<Level> out{{0u, "c"}};
  uint32_t acc = 0;
  const struct { uint32_t flag; const char* name; } order[] = {
      {kCpuSse2, "sse2"}, {kCpuSsse3, "ssse3"}, {kCpuSse41, "sse41"}, {kCpuAvx2, "avx2"}, {kCpuNeon, "neon"}};
  for (const auto& o : order) {
    if (!(have & o.flag)) continue;
    acc |= o.flag;
    out.push_back({acc, o.name});
  }
  return out;
}

namespace {
// Reseed before every test so that a failing test replays alone.
class Reseed : public ::testing::EmptyTestEventListener {
  void OnTestStart(const ::testing::TestInfo&) override { rng().seed(seed()); }
};
const bool kRegistered = [] {
  ::testing::UnitTest::GetInstance()->listeners().Append(new Reseed);
  return true;
}();
}  // namespace

}  // namespace sipmix::checksimd
