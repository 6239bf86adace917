#include "gateway/media/rtp_transport.h"

#include <arpa/inet.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <cstdio>

namespace sipmix::gw {

int64_t monotonic_ms() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

// ---- PortAllocator -----------------------------------------------------------

PortAllocator::PortAllocator(std::string ip, int min_port, int max_port)
    : ip_(std::move(ip)), min_port_(min_port + (min_port & 1)), max_port_(max_port) {
  const int pairs = max_port_ > min_port_ ? (max_port_ - min_port_ + 1) / 2 : 0;
  used_.assign(static_cast<size_t>(pairs), false);
}

namespace {

int bind_udp(const std::string& ip, uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  inet_pton(AF_INET, ip.c_str(), &a.sin_addr);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return -1;
  }
  int buf = 1 << 20;
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof buf);
  return fd;
}

}  // namespace

Status PortAllocator::acquire_pair(int& rtp_fd, int& rtcp_fd, uint16_t& rtp_port) {
  std::lock_guard<std::mutex> lock(mu_);
  const int pairs = static_cast<int>(used_.size());
  for (int i = 0; i < pairs; ++i) {
    const int slot = (next_ + i) % pairs;
    if (used_[static_cast<size_t>(slot)]) continue;
    const uint16_t port = static_cast<uint16_t>(min_port_ + 2 * slot);
    int a = bind_udp(ip_, port);
    if (a < 0) continue;  // taken by someone else: try the next pair
    int b = bind_udp(ip_, static_cast<uint16_t>(port + 1));
    if (b < 0) {
      ::close(a);
      continue;
    }
    used_[static_cast<size_t>(slot)] = true;
    next_ = (slot + 1) % pairs;
    rtp_fd = a;
    rtcp_fd = b;
    rtp_port = port;
    return {};
  }
  return unavailable("rtp ports: no free even/odd pair in " + std::to_string(min_port_) + "-" +
                     std::to_string(max_port_) + " on " + ip_);
}

void PortAllocator::release(uint16_t rtp_port) {
  std::lock_guard<std::mutex> lock(mu_);
  const int slot = (rtp_port - min_port_) / 2;
  if (slot >= 0 && slot < static_cast<int>(used_.size())) used_[static_cast<size_t>(slot)] = false;
}

int PortAllocator::in_use() const {
  std::lock_guard<std::mutex> lock(mu_);
  int n = 0;
  for (bool b : used_) n += b;
  return n;
}

// ---- LegTransport ------------------------------------------------------------

StatusOr<std::shared_ptr<LegTransport>> LegTransport::create(PortAllocator* ports, bool video) {
  std::shared_ptr<LegTransport> t(new LegTransport());
  t->ports_ = ports;
  if (Status s = ports->acquire_pair(t->fds_[kAudioRtp], t->fds_[kAudioRtcp], t->audio_port_); !s.ok()) return s;
  if (video) {
    if (Status s = ports->acquire_pair(t->fds_[kVideoRtp], t->fds_[kVideoRtcp], t->video_port_); !s.ok()) return s;
  }
  for (int k = 0; k < kKinds; ++k) t->endpoints_[k] = Endpoint{t.get(), static_cast<Kind>(k)};
  t->last_rx_ms_.store(monotonic_ms());
  return t;
}

LegTransport::~LegTransport() {
  for (int fd : fds_)
    if (fd >= 0) ::close(fd);
  if (fds_[kAudioRtp] >= 0) ports_->release(audio_port_);
  if (fds_[kVideoRtp] >= 0) ports_->release(video_port_);
}

void LegTransport::set_remote(uint32_t ip, uint16_t audio_port, uint16_t audio_rtcp_port, uint32_t video_ip,
                              uint16_t video_port, uint16_t video_rtcp_port) {
  expected_ip_.store(ip, std::memory_order_release);
  expected_video_ip_.store(video_ip, std::memory_order_release);
  const uint64_t d[kKinds] = {audio_port ? pack_addr(ip, audio_port) : 0,
                              audio_rtcp_port ? pack_addr(ip, audio_rtcp_port) : 0,
                              video_port ? pack_addr(video_ip, video_port) : 0,
                              video_rtcp_port ? pack_addr(video_ip, video_rtcp_port) : 0};
  for (int k = 0; k < kKinds; ++k) {
    latched_[k].store(false, std::memory_order_release);
    dest_[k].store(d[k], std::memory_order_release);
  }
}

void LegTransport::pin_destination(Kind k, uint32_t ip, uint16_t port) {
  dest_[k].store(pack_addr(ip, port), std::memory_order_release);
  pinned_[k].store(true, std::memory_order_release);
}

bool LegTransport::admit(Kind k, const sockaddr_in& from) {
  if (pinned_[k].load(std::memory_order_acquire)) return true;
  const uint64_t src = pack_addr(ntohl(from.sin_addr.s_addr), ntohs(from.sin_port));
  if (latched_[k].load(std::memory_order_acquire)) {
    if (dest_[k].load(std::memory_order_relaxed) == src) return true;
    strangers_.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  const uint32_t want = (k == kVideoRtp || k == kVideoRtcp) ? expected_video_ip_.load(std::memory_order_acquire)
                                                            : expected_ip_.load(std::memory_order_acquire);
  if ((want != 0 && packed_ip(src) == want) || (want == 0 && any_source_.load(std::memory_order_acquire))) {
    // Symmetric RTP: answer to where the endpoint really sends from.
    dest_[k].store(src, std::memory_order_release);
    latched_[k].store(true, std::memory_order_release);
    return true;
  }
  strangers_.fetch_add(1, std::memory_order_relaxed);
  return false;
}

// ---- RtpReceiver -------------------------------------------------------------

struct RtpReceiver::Thread {
  int epoll_fd = -1;
  int wake_fd = -1;
  std::thread thread;
  std::mutex mu;
  std::deque<std::function<void()>> commands;  // guarded by mu
  bool stop = false;                            // guarded by mu
  std::unordered_map<LegTransport*, std::shared_ptr<LegTransport>> legs;  // receive thread only

  void post(std::function<void()> fn) {
    {
      std::lock_guard<std::mutex> lock(mu);
      commands.push_back(std::move(fn));
    }
    uint64_t one = 1;
    [[maybe_unused]] ssize_t n = ::write(wake_fd, &one, sizeof one);
  }

  void add(const std::shared_ptr<LegTransport>& leg) {
    if (leg->closed()) return;  // its detach has run already
    legs[leg.get()] = leg;
    for (int k = 0; k < LegTransport::kKinds; ++k) {
      const int fd = leg->fd(static_cast<LegTransport::Kind>(k));
      if (fd < 0) continue;
      epoll_event ev{};
      ev.events = EPOLLIN;
      ev.data.ptr = &leg->endpoints_[k];
      epoll_ctl(epoll_fd, EPOLL_CTL_ADD, fd, &ev);
    }
  }

  void remove(LegTransport* leg) {
    for (int k = 0; k < LegTransport::kKinds; ++k) {
      const int fd = leg->fd(static_cast<LegTransport::Kind>(k));
      if (fd >= 0) epoll_ctl(epoll_fd, EPOLL_CTL_DEL, fd, nullptr);
    }
    legs.erase(leg);
  }

  void drain_socket(const LegTransport::Endpoint& ep, uint8_t* buf, size_t cap, int64_t now_ms) {
    LegTransport* leg = ep.leg;
    const int fd = leg->fd(ep.kind);
    const bool rtcp = ep.kind == LegTransport::kAudioRtcp || ep.kind == LegTransport::kVideoRtcp;
    for (int i = 0; i < 64; ++i) {  // bounded, so one busy socket cannot starve the others
      sockaddr_in from{};
      socklen_t from_len = sizeof from;
      const ssize_t n = ::recvfrom(fd, buf, cap, MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&from), &from_len);
      if (n < 0) return;  // EAGAIN, or an ICMP error from an earlier send
      if (from.sin_family != AF_INET) continue;
      // RFC 3550: version 2; RTCP packet types 192..223 (RFC 5761 ranges).
      if (n < (rtcp ? 8 : 12) || (buf[0] >> 6) != 2) continue;
      if (rtcp && (buf[1] < 192 || buf[1] > 223)) continue;
      if (!leg->admit(ep.kind, from)) continue;
      leg->touch_received(now_ms);
      const std::span<const uint8_t> packet(buf, static_cast<size_t>(n));
      if (rtcp)
        leg->session->push_rtcp(leg->handle, packet);
      else
        leg->session->push_rtp(leg->handle, packet);
    }
  }

  void run() {
    std::vector<uint8_t> buffer(65536);
    epoll_event events[64];
    for (;;) {
      const int n = epoll_wait(epoll_fd, events, 64, -1);
      const int64_t now_ms = monotonic_ms();
      for (int i = 0; i < n; ++i) {
        if (events[i].data.ptr == nullptr) {
          uint64_t v;
          [[maybe_unused]] ssize_t r = ::read(wake_fd, &v, sizeof v);
          continue;
        }
        drain_socket(*static_cast<LegTransport::Endpoint*>(events[i].data.ptr), buffer.data(), buffer.size(), now_ms);
      }
      std::deque<std::function<void()>> work;
      bool stopping;
      {
        std::lock_guard<std::mutex> lock(mu);
        work.swap(commands);
        stopping = stop;
      }
      for (auto& fn : work) fn();  // after the batch: a removed leg's events are not touched again
      if (stopping) return;
    }
  }
};

StatusOr<std::unique_ptr<RtpReceiver>> RtpReceiver::create(int threads) {
  if (threads < 1 || threads > 64) return invalid_argument("media.receive_threads: must be 1..64");
  std::unique_ptr<RtpReceiver> r(new RtpReceiver());
  for (int i = 0; i < threads; ++i) {
    auto t = std::make_unique<Thread>();
    t->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
    t->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (t->epoll_fd < 0 || t->wake_fd < 0) return unavailable("media: epoll/eventfd: " + std::string(strerror(errno)));
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.ptr = nullptr;
    epoll_ctl(t->epoll_fd, EPOLL_CTL_ADD, t->wake_fd, &ev);
    Thread* raw = t.get();
    t->thread = std::thread([raw] { raw->run(); });
    r->threads_.push_back(std::move(t));
  }
  return r;
}

RtpReceiver::~RtpReceiver() {
  for (auto& t : threads_) {
    {
      std::lock_guard<std::mutex> lock(t->mu);
      t->stop = true;
    }
    t->post([] {});
    t->thread.join();
    t->legs.clear();
    ::close(t->epoll_fd);
    ::close(t->wake_fd);
  }
}

void RtpReceiver::assign(LegTransport& leg) {
  leg.receiver_thread = static_cast<int>(next_.fetch_add(1) % threads_.size());
}

void RtpReceiver::attach(std::shared_ptr<LegTransport> leg) {
  Thread* t = threads_[static_cast<size_t>(leg->receiver_thread)].get();
  t->post([t, leg] { t->add(leg); });
}

void RtpReceiver::detach(std::shared_ptr<LegTransport> leg, std::function<void()> done) {
  if (leg->receiver_thread < 0) {
    if (done) done();
    return;
  }
  Thread* t = threads_[static_cast<size_t>(leg->receiver_thread)].get();
  t->post([t, leg, done = std::move(done)] {
    t->remove(leg.get());
    if (done) done();
  });
}

}  // namespace sipmix::gw
