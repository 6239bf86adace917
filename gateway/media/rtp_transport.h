// sipmixd's media transport: a UDP RTP/RTCP socket pair per call (and one
// more for video) from a configured port range, and the receive threads that
// latch on the endpoint (symmetric RTP) and feed Session::push_rtp/push_rtcp.
//
// Threads: PortAllocator and RtpReceiver::attach/detach may be called from
// any thread. The receive threads own the sockets' read side; the session
// worker writes with sendto() from the SessionSink. The per-packet path
// allocates nothing, locks nothing and logs nothing: it reads atomics.
#pragma once

#include <netinet/in.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "sipmix/session.h"
#include "sipmix/status.h"

namespace sipmix::gw {

class PortAllocator {
 public:
  PortAllocator(std::string ip, int min_port, int max_port);
  // Binds an RTP socket on an even port and RTCP on the next one.
  Status acquire_pair(int& rtp_fd, int& rtcp_fd, uint16_t& rtp_port);
  void release(uint16_t rtp_port);
  int in_use() const;

 private:
  std::string ip_;
  int min_port_, max_port_;
  mutable std::mutex mu_;
  std::vector<bool> used_;  // per even port, guarded by mu_
  int next_ = 0;            // guarded by mu_
};

// An IPv4 address and port packed in one atomic word: (ip << 16) | port; 0 is "none".
inline uint64_t pack_addr(uint32_t ip_host_order, uint16_t port) {
  return (static_cast<uint64_t>(ip_host_order) << 16) | port;
}
inline uint32_t packed_ip(uint64_t a) { return static_cast<uint32_t>(a >> 16); }
inline uint16_t packed_port(uint64_t a) { return static_cast<uint16_t>(a & 0xffff); }

// One call's sockets and where its media goes. Shared by the call manager,
// the receive thread (while attached) and the session worker's sink.
class LegTransport {
 public:
  enum Kind { kAudioRtp = 0, kAudioRtcp = 1, kVideoRtp = 2, kVideoRtcp = 3, kKinds = 4 };

  static StatusOr<std::shared_ptr<LegTransport>> create(PortAllocator* ports, bool video);
  ~LegTransport();

  uint16_t audio_port() const { return audio_port_; }
  uint16_t video_port() const { return video_port_; }
  int fd(Kind k) const { return fds_[k]; }

  // Control thread: the negotiated remote address (IPv4). Resets the latch.
  void set_remote(uint32_t ip_host_order, uint16_t audio_port, uint16_t audio_rtcp_port, uint32_t video_ip,
                  uint16_t video_port, uint16_t video_rtcp_port);
  void set_sending(bool on) { sending_.store(on, std::memory_order_relaxed); }
  // Control thread, before attach: latch on the first packet from any
  // address (a Janus forwarder: its source address is the host's route to
  // us, not a negotiated one). Later packets from elsewhere are strangers.
  void accept_any_source() { any_source_.store(true, std::memory_order_release); }
  // Control thread: socket kind k sends to ip:port from now on, whatever
  // arrives on it (admitted from anywhere, it never moves the destination).
  void pin_destination(Kind k, uint32_t ip_host_order, uint16_t port);
  bool sending() const { return sending_.load(std::memory_order_relaxed); }

  // Receive thread: accepts or drops one packet from `from` on socket kind k.
  bool admit(Kind k, const sockaddr_in& from);
  // Worker thread: where to send on socket kind k (0: nowhere yet).
  uint64_t destination(Kind k) const { return dest_[k].load(std::memory_order_acquire); }

  uint64_t received() const { return received_.load(std::memory_order_relaxed); }
  uint64_t strangers() const { return strangers_.load(std::memory_order_relaxed); }
  uint64_t sent() const { return sent_.load(std::memory_order_relaxed); }
  int64_t last_received_ms() const { return last_rx_ms_.load(std::memory_order_relaxed); }
  void touch_received(int64_t now_ms) {
    received_.fetch_add(1, std::memory_order_relaxed);
    last_rx_ms_.store(now_ms, std::memory_order_relaxed);
  }
  bool latched(Kind k) const { return latched_[k].load(std::memory_order_acquire); }

  // Worker thread only: the video payload type tells video from audio when sending.
  int video_pt = -1;
  uint32_t last_video_ssrc = 0;
  void count_sent() { sent_.fetch_add(1, std::memory_order_relaxed); }

  // Receive thread: what epoll hands back for each socket.
  struct Endpoint {
    LegTransport* leg;
    Kind kind;
  };
  Endpoint endpoints_[kKinds];
  // Set before attach; read by the receive thread.
  Session* session = nullptr;
  PushHandle handle;
  int receiver_thread = -1;  // set by RtpReceiver::assign before any attach/detach

  // The call is over: a late attach (still on its way) is ignored.
  void close() { closed_.store(true, std::memory_order_release); }
  bool closed() const { return closed_.load(std::memory_order_acquire); }

 private:
  LegTransport() = default;
  PortAllocator* ports_ = nullptr;
  std::array<int, kKinds> fds_{-1, -1, -1, -1};
  uint16_t audio_port_ = 0, video_port_ = 0;
  std::atomic<uint32_t> expected_ip_{0};
  std::atomic<uint32_t> expected_video_ip_{0};
  std::array<std::atomic<uint64_t>, kKinds> dest_{};
  std::array<std::atomic<bool>, kKinds> latched_{};
  std::array<std::atomic<bool>, kKinds> pinned_{};
  std::atomic<bool> any_source_{false};
  std::atomic<bool> sending_{false};
  std::atomic<bool> closed_{false};
  std::atomic<uint64_t> received_{0}, strangers_{0}, sent_{0};
  std::atomic<int64_t> last_rx_ms_{0};
};

// epoll receive thread(s). A leg's sockets all go to one thread, so each
// leg's push handle has one producer.
class RtpReceiver {
 public:
  static StatusOr<std::unique_ptr<RtpReceiver>> create(int threads);
  ~RtpReceiver();  // stops the threads; attached legs are dropped

  // Picks the thread that will serve the leg; call once, before the others.
  void assign(LegTransport& leg);
  // Starts feeding leg->session with leg->handle (set both first).
  void attach(std::shared_ptr<LegTransport> leg);
  // Stops feeding; `done` runs on the receive thread once no packet of this
  // leg can reach the session any more.
  void detach(std::shared_ptr<LegTransport> leg, std::function<void()> done);

 private:
  struct Thread;
  RtpReceiver() = default;
  std::vector<std::unique_ptr<Thread>> threads_;
  std::atomic<size_t> next_{0};
};

int64_t monotonic_ms();

}  // namespace sipmix::gw
