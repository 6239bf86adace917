#include "gateway/media/session_worker.h"

#include <arpa/inet.h>
#include <sys/socket.h>

#include <algorithm>
#include <chrono>
#include <cstring>

namespace sipmix::gw {

void SessionHost::send(LegTransport& leg, LegTransport::Kind kind, std::span<const uint8_t> packet) {
  const uint64_t dest = leg.destination(kind);
  const int fd = leg.fd(kind);
  if (dest == 0 || fd < 0 || !leg.sending()) return;
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_addr.s_addr = htonl(packed_ip(dest));
  to.sin_port = htons(packed_port(dest));
  // A full socket buffer drops the packet, as the network would.
  if (::sendto(fd, packet.data(), packet.size(), MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&to), sizeof to) > 0)
    leg.count_sent();
}

// The engine emits the leg's audio as Opus with LegConfig::session_opus_payload_type
// and passes the leg's video through with the endpoint's payload type and SSRC.
void SessionHost::send_to_session(const std::string& leg_id, SessionOutput& out, std::span<const uint8_t> packet) {
  uint8_t buf[1600];
  if (packet.size() < 12 || packet.size() > sizeof buf || out.destination == 0) return;
  const auto leg = legs.find(leg_id);
  const int leg_video_pt = leg == legs.end() ? -1 : leg->second->video_pt;
  const int pt = packet[1] & 0x7f;
  const bool video = leg_video_pt >= 0 && pt == leg_video_pt;
  if (video && out.video_ssrc == 0) return;
  std::memcpy(buf, packet.data(), packet.size());
  buf[1] = static_cast<uint8_t>((buf[1] & 0x80) | (video ? out.video_pt : out.audio_pt));
  const uint32_t ssrc = video ? out.video_ssrc : out.audio_ssrc;
  buf[8] = static_cast<uint8_t>(ssrc >> 24);
  buf[9] = static_cast<uint8_t>(ssrc >> 16);
  buf[10] = static_cast<uint8_t>(ssrc >> 8);
  buf[11] = static_cast<uint8_t>(ssrc);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_addr.s_addr = htonl(packed_ip(out.destination));
  to.sin_port = htons(packed_port(out.destination));
  if (::sendto(out.transport->fd(LegTransport::kAudioRtp), buf, packet.size(), MSG_DONTWAIT,
               reinterpret_cast<sockaddr*>(&to), sizeof to) > 0)
    out.transport->count_sent();
}

void SessionHost::on_rtp(const std::string& id, Direction dir, std::span<const uint8_t> packet) {
  if (dir == Direction::kToLeg) {
    auto it = legs.find(id);
    if (it == legs.end() || packet.size() < 12) return;
    LegTransport& leg = *it->second;
    const int pt = packet[1] & 0x7f;
    if (leg.video_pt >= 0 && pt == leg.video_pt && leg.fd(LegTransport::kVideoRtp) >= 0) {
      leg.last_video_ssrc = (uint32_t{packet[8]} << 24) | (uint32_t{packet[9]} << 16) | (uint32_t{packet[10]} << 8) |
                            packet[11];
      send(leg, LegTransport::kVideoRtp, packet);
    } else {
      send(leg, LegTransport::kAudioRtp, packet);
    }
    return;
  }
  if (dir == Direction::kToSession) {
    if (auto it = outputs.find(id); it != outputs.end()) return send_to_session(id, it->second, packet);
  }
  if (*media_hook_) (*media_hook_)(id_, id, dir, false, packet);
}

void SessionHost::on_rtcp(const std::string& id, Direction dir, std::span<const uint8_t> packet) {
  if (dir == Direction::kToLeg) {
    auto it = legs.find(id);
    if (it == legs.end() || packet.size() < 8) return;
    LegTransport& leg = *it->second;
    const uint32_t ssrc = (uint32_t{packet[4]} << 24) | (uint32_t{packet[5]} << 16) | (uint32_t{packet[6]} << 8) |
                          packet[7];
    const bool feedback = packet[1] == 205 || packet[1] == 206;
    const bool video = leg.fd(LegTransport::kVideoRtcp) >= 0 && (feedback || (ssrc && ssrc == leg.last_video_ssrc));
    send(leg, video ? LegTransport::kVideoRtcp : LegTransport::kAudioRtcp, packet);
    return;
  }
  if (dir == Direction::kToStream) {
    if (auto it = streams.find(id); it != streams.end()) return send(*it->second, LegTransport::kAudioRtcp, packet);
  }
  if (*media_hook_) (*media_hook_)(id_, id, dir, true, packet);
}

void SessionHost::on_event(const Event& event) {
  if (*event_hook_) (*event_hook_)(id_, event);
}

SessionWorker::SessionWorker(int tick_interval_ms)
    : tick_interval_ms_(tick_interval_ms), thread_([this] { run(); }) {}

SessionWorker::~SessionWorker() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_one();
  thread_.join();
}

void SessionWorker::post(std::function<void()> fn) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    queue_.push_back(std::move(fn));
  }
  cv_.notify_one();
}

void SessionWorker::remove_host(SessionHost* host) {
  hosts_.erase(std::remove(hosts_.begin(), hosts_.end(), host), hosts_.end());
}

void SessionWorker::run() {
  for (;;) {
    std::deque<std::function<void()>> work;
    bool stopping;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait_for(lock, std::chrono::milliseconds(tick_interval_ms_), [this] { return stop_ || !queue_.empty(); });
      work.swap(queue_);
      stopping = stop_;
    }
    for (auto& fn : work) fn();
    if (stopping) return;
    for (SessionHost* h : hosts_)
      if (h->session) h->session->tick();
  }
}

}  // namespace sipmix::gw
