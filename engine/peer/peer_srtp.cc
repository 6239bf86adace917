#include "session/codec_map.h"
#include "sipmix/peer.h"
#include "srtp/srtp_session.h"

namespace sipmix {

static_assert(PeerSrtp::kMaxOverhead == srtp::kSrtpMaxOverhead);

struct PeerSrtp::Impl {
  std::unique_ptr<srtp::SrtpSession> session;
};

PeerSrtp::PeerSrtp(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
PeerSrtp::~PeerSrtp() = default;

Status PeerSrtp::check_key(SrtpSuite suite, std::string_view key) {
  auto k = srtp::parse_sdes_key(session::to_engine(suite), key);
  return k.ok() ? Status() : k.status();
}

StatusOr<std::unique_ptr<PeerSrtp>> PeerSrtp::create(SrtpSuite suite, std::string_view send_key,
                                                     std::string_view receive_key) {
  auto send = srtp::parse_sdes_key(session::to_engine(suite), send_key);
  if (!send.ok()) return invalid_argument("send_key: " + send.status().message());
  auto receive = srtp::parse_sdes_key(session::to_engine(suite), receive_key);
  if (!receive.ok()) return invalid_argument("receive_key: " + receive.status().message());
  auto s = srtp::SrtpSession::create(*send, *receive);
  if (!s.ok()) return s.status();
  auto impl = std::make_unique<Impl>();
  impl->session = std::move(*s);
  return std::unique_ptr<PeerSrtp>(new PeerSrtp(std::move(impl)));
}

bool PeerSrtp::protect_rtp(std::vector<uint8_t>& packet) {
  const size_t n = packet.size();
  packet.resize(n + kMaxOverhead);
  const auto r = impl_->session->protect_rtp(packet, n);
  packet.resize(r.ok() ? r.size : n);
  return r.ok();
}

bool PeerSrtp::unprotect_rtp(std::vector<uint8_t>& packet) {
  const auto r = impl_->session->unprotect_rtp(packet);
  if (!r.ok()) return false;
  packet.resize(r.size);
  return true;
}

}  // namespace sipmix
