// A storm: 50 dials at once to one sipp UAS, all answered and hung up.
// Afterwards open file descriptors and threads are back where they were, and
// a second storm does not grow the resident memory.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>

#include "gateway/media/call_manager.h"
#include "tests/gateway/sip_test_support.h"

namespace sipmix::gw {
namespace {

using testing::RecordingObserver;
using testing::Sipp;

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool kSanitized = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
constexpr bool kSanitized = true;
#else
constexpr bool kSanitized = false;
#endif
#else
constexpr bool kSanitized = false;
#endif

// Teardown finishes on the workers; under a sanitizer they run many times slower.
constexpr int kSettleMs = kSanitized ? 30000 : 5000;

int count_entries(const char* dir) {
  int n = 0;
  for ([[maybe_unused]] auto& e : std::filesystem::directory_iterator(dir)) ++n;
  return n;
}

long rss_kb() {
  std::ifstream in("/proc/self/statm");
  long size = 0, resident = 0;
  in >> size >> resident;
  return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

// Polls until f() == want or the time is up; returns the last value.
template <typename F>
int settle(F f, int want, int timeout_ms) {
  int v = f();
  for (int waited = 0; v != want && waited < timeout_ms; waited += 50) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    v = f();
  }
  return v;
}

class MediaStormTest : public ::testing::Test {
 protected:
  void storm(CallManager& m, RecordingObserver& observer, int calls, const std::string& tag) {
    Sipp sipp("uas_answer_many.xml", {}, {"-m", std::to_string(calls)});
    for (int i = 0; i < calls; ++i) {
      const std::string n = tag + std::to_string(i);
      DialRequest r;
      r.project_id = "p1";
      r.session_id = "storm-" + n;
      r.uri = sipp.uri();
      ASSERT_TRUE(m.dial(CallIds{"call-" + n, "conn-" + n, "stream-" + n}, r).ok());
    }
    for (int i = 0; i < calls; ++i)
      ASSERT_TRUE(observer.wait_event("conn-" + tag + std::to_string(i), "ACTIVE", 20000)) << sipp.errors();
    for (int i = 0; i < calls; ++i) {
      const std::string n = tag + std::to_string(i);
      ASSERT_TRUE(m.hang_up("storm-" + n, "conn-" + n).ok());
    }
    for (int i = 0; i < calls; ++i) {
      auto d = observer.wait_destroyed("conn-" + tag + std::to_string(i), 20000);
      ASSERT_TRUE(d);
      EXPECT_EQ(d->code, kReasonNormal);
    }
    EXPECT_EQ(sipp.wait_exit(10000), 0) << sipp.errors();
    EXPECT_EQ(m.call_count(), 0u);
  }
};

TEST_F(MediaStormTest, FiftyCallsAtOnceLeaveNoDescriptorsThreadsOrMemoryBehind) {
  RecordingObserver observer;
  CallManagerConfig c;
  c.sip.bind_ip = "127.0.0.1";
  c.sip.port = 0;
  c.media_ip = "127.0.0.1";
  c.rtp_port_min = 30000 + (getpid() % 300) * 100;
  c.rtp_port_max = c.rtp_port_min + 199;
  c.session_workers = 2;
  auto created = CallManager::create(c, &observer);
  ASSERT_TRUE(created.ok()) << created.status().message();
  CallManager& m = **created;

  storm(m, observer, 1, "warm");  // sofia opens its resolver sockets on the first call, for good
  const int fds = settle([] { return count_entries("/proc/self/fd"); }, -1, 200);
  const int threads = count_entries("/proc/self/task");

  storm(m, observer, 50, "a");
  EXPECT_EQ(settle([] { return count_entries("/proc/self/fd"); }, fds, kSettleMs), fds);
  EXPECT_EQ(settle([] { return count_entries("/proc/self/task"); }, threads, kSettleMs), threads);
  const long rss_after_first = rss_kb();

  storm(m, observer, 50, "b");
  EXPECT_EQ(settle([] { return count_entries("/proc/self/fd"); }, fds, kSettleMs), fds);
  EXPECT_EQ(settle([] { return count_entries("/proc/self/task"); }, threads, kSettleMs), threads);
  // Under a sanitizer resident memory says nothing (quarantine, shadow memory).
  if (!kSanitized) {
    EXPECT_LT(rss_kb() - rss_after_first, 8 * 1024) << "resident memory grew by " << rss_kb() - rss_after_first
                                                     << " kB over the second storm";
  }
}

}  // namespace
}  // namespace sipmix::gw
