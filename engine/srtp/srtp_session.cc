// Longer than the engine's usual 400 lines on purpose: this file is the one
// place that talks to libsrtp2 (SDES key parsing, both directions of RTP and
// RTCP, and the failure accounting), so that its policy setup and error
// mapping are read and reviewed together.
#include "srtp/srtp_session.h"

#include <srtp2/srtp.h>

#include <algorithm>
#include <charconv>
#include <climits>
#include <cstring>
#include <random>
#include <vector>

namespace sipmix::srtp {
namespace {

constexpr size_t kRtpFixedHeader = 12;
constexpr size_t kRtcpFixedHeader = 8;
constexpr size_t kSrtcpIndexSize = 4;
constexpr uint64_t kMaxLifetime = uint64_t{1} << 48;

// Debian's libsrtp2 uses NSS for AES. Each cipher it allocates initialises
// an NSS context of its own unless NSS is already initialised, and shuts it
// down again when freed: about 20 ms per srtp_create (dlopen of the NSS
// softoken). One context kept for the life of the process keeps NSS
// initialised, which makes creating a session about 0.1 ms.
srtp_t g_keepalive = nullptr;

srtp_err_status_t init_libsrtp() {
  srtp_err_status_t status = srtp_init();
  if (status != srtp_err_status_ok) return status;
  srtp_policy_t policy;
  std::memset(&policy, 0, sizeof(policy));
  srtp_crypto_policy_set_rtp_default(&policy.rtp);
  srtp_crypto_policy_set_rtcp_default(&policy.rtcp);
  uint8_t key[kSrtpKeySaltSize] = {};
  policy.key = key;
  policy.ssrc.type = ssrc_any_inbound;
  return srtp_create(&g_keepalive, &policy);
}

srtp_err_status_t init_libsrtp_once() {
  static const srtp_err_status_t status = init_libsrtp();  // thread-safe static init
  return status;
}

size_t rtp_tag_size(SrtpSuite s) { return s == SrtpSuite::kAesCm128HmacSha1_32 ? 4 : 10; }
constexpr size_t kRtcpTagSize = 10;  // both suites use an 80-bit SRTCP tag

std::string quoted(std::string_view s) {
  std::string q = "'";
  q.append(s.substr(0, 60));
  if (s.size() > 60) q += "...";
  q += "'";
  return q;
}

int base64_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

// Strict RFC 4648 decoding; '=' padding optional at the very end.
bool base64_decode(std::string_view in, std::vector<uint8_t>& out) {
  size_t pad = 0;
  while (pad < 2 && pad < in.size() && in[in.size() - 1 - pad] == '=') ++pad;
  if (pad != 0 && in.size() % 4 != 0) return false;
  const size_t end = in.size() - pad;
  if (end % 4 == 1) return false;
  uint32_t acc = 0;
  int bits = 0;
  for (size_t i = 0; i < end; ++i) {
    const int v = base64_value(in[i]);
    if (v < 0) return false;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<uint8_t>(acc >> bits));
    }
  }
  // Leftover bits must be zero, or the encoding is not canonical.
  return (acc & ((1u << bits) - 1)) == 0;
}

bool parse_decimal(std::string_view s, uint64_t& value) {
  if (s.empty() || s.size() > 20) return false;
  const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  return ec == std::errc() && ptr == s.data() + s.size();
}

Status key_error(std::string what) { return invalid_argument("SDES key: " + std::move(what)); }

void set_crypto_policy(srtp_policy_t& p, SrtpSuite suite) {
  if (suite == SrtpSuite::kAesCm128HmacSha1_32) {
    srtp_crypto_policy_set_aes_cm_128_hmac_sha1_32(&p.rtp);
  } else {
    srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&p.rtp);
  }
  srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&p.rtcp);
}

const char* srtp_status_name(srtp_err_status_t s) {
  switch (s) {
    case srtp_err_status_bad_param: return "bad parameter";
    case srtp_err_status_alloc_fail: return "allocation failed";
    case srtp_err_status_init_fail: return "initialisation failed";
    case srtp_err_status_cipher_fail: return "cipher failure";
    default: return "error";
  }
}

// Checks that `p` starts with a complete RTP header (CSRCs and extension
// included) followed by at least `trailer` bytes.
bool rtp_header_fits(std::span<const uint8_t> p, size_t trailer) {
  if (p.size() < kRtpFixedHeader || (p[0] >> 6) != 2) return false;
  size_t header = kRtpFixedHeader + size_t{p[0] & 0x0Fu} * 4;
  if (p[0] & 0x10) {
    if (p.size() < header + 4) return false;
    header += 4 + size_t{static_cast<uint16_t>(p[header + 2] << 8 | p[header + 3])} * 4;
  }
  return p.size() >= header + trailer;
}

bool rtcp_header_fits(std::span<const uint8_t> p, size_t trailer) {
  return p.size() >= kRtcpFixedHeader + trailer && (p[0] >> 6) == 2;
}

}  // namespace

const char* suite_name(SrtpSuite suite) {
  switch (suite) {
    case SrtpSuite::kAesCm128HmacSha1_80: return "AES_CM_128_HMAC_SHA1_80";
    case SrtpSuite::kAesCm128HmacSha1_32: return "AES_CM_128_HMAC_SHA1_32";
  }
  return nullptr;
}

std::optional<SrtpSuite> suite_from_name(std::string_view name) {
  for (SrtpSuite s : {SrtpSuite::kAesCm128HmacSha1_80, SrtpSuite::kAesCm128HmacSha1_32}) {
    if (name == suite_name(s)) return s;
  }
  return std::nullopt;
}

std::string base64_encode(std::span<const uint8_t> data) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((data.size() + 2) / 3 * 4);
  for (size_t i = 0; i < data.size(); i += 3) {
    const size_t n = std::min<size_t>(3, data.size() - i);
    uint32_t v = uint32_t{data[i]} << 16;
    if (n > 1) v |= uint32_t{data[i + 1]} << 8;
    if (n > 2) v |= data[i + 2];
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += n > 1 ? kAlphabet[(v >> 6) & 63] : '=';
    out += n > 2 ? kAlphabet[v & 63] : '=';
  }
  return out;
}

StatusOr<SdesKey> parse_sdes_key(SrtpSuite suite, std::string_view params) {
  SdesKey key;
  key.suite = suite;
  if (!suite_name(suite)) return key_error("unknown crypto suite");
  constexpr std::string_view kInline = "inline:";
  if (params.substr(0, kInline.size()) != kInline) {
    // Name the method only: whatever follows it may be key material.
    const size_t colon = params.find(':');
    if (colon == std::string_view::npos || colon > 16) return key_error("key params must start with 'inline:'");
    return key_error("key method must be 'inline:', got " + quoted(params.substr(0, colon)));
  }
  if (params.find(';') != std::string_view::npos) {
    return key_error("several keys in one attribute are not supported");
  }
  params.remove_prefix(kInline.size());
  const size_t bar = params.find('|');
  const std::string_view b64 = params.substr(0, bar);
  std::vector<uint8_t> raw;
  if (b64.empty() || !base64_decode(b64, raw)) {
    // The key itself is never echoed into an error message.
    return key_error("key||salt (" + std::to_string(b64.size()) + " characters) is not valid base64");
  }
  if (raw.size() != kSrtpKeySaltSize) {
    return key_error("key||salt is " + std::to_string(raw.size()) + " bytes, " + suite_name(suite) +
                     " needs " + std::to_string(kSrtpKeySaltSize));
  }
  std::memcpy(key.key_salt.data(), raw.data(), kSrtpKeySaltSize);

  std::string_view rest = bar == std::string_view::npos ? std::string_view{} : params.substr(bar + 1);
  if (bar != std::string_view::npos && rest.empty()) return key_error("empty field after '|'");
  bool seen_mki = false;
  while (!rest.empty()) {
    const size_t next = rest.find('|');
    const std::string_view field = rest.substr(0, next);
    rest = next == std::string_view::npos ? std::string_view{} : rest.substr(next + 1);
    if (next != std::string_view::npos && rest.empty()) return key_error("empty field after '|'");
    if (field.empty()) return key_error("empty field between '|'");
    if (seen_mki) return key_error("unexpected field " + quoted(field) + " after the MKI");
    const size_t colon = field.find(':');
    if (colon == std::string_view::npos) {  // lifetime
      if (key.lifetime_packets != 0) return key_error("lifetime given twice");
      uint64_t lifetime = 0;
      if (field.substr(0, 2) == "2^") {
        uint64_t exp = 0;
        if (!parse_decimal(field.substr(2), exp)) {
          return key_error("lifetime " + quoted(field) + " is not a number or 2^N");
        }
        if (exp > 48) return key_error("lifetime " + quoted(field) + " exceeds 2^48");
        lifetime = uint64_t{1} << exp;
      } else if (!parse_decimal(field, lifetime)) {
        return key_error("lifetime " + quoted(field) + " is not a number or 2^N");
      }
      if (lifetime == 0 || lifetime > kMaxLifetime) {
        return key_error("lifetime " + quoted(field) + " must be in 1..2^48");
      }
      key.lifetime_packets = lifetime;
      continue;
    }
    uint64_t value = 0;
    uint64_t length = 0;
    if (!parse_decimal(field.substr(0, colon), value) || !parse_decimal(field.substr(colon + 1), length)) {
      return key_error("MKI " + quoted(field) + " is not <value>:<length>");
    }
    if (length < 1 || length > kSrtpMaxMkiSize) {
      return key_error("MKI length " + std::to_string(length) + " is outside 1..128");
    }
    if (value > UINT32_MAX || (length < 4 && value >> (8 * length) != 0)) {
      return key_error("MKI value " + std::to_string(value) + " does not fit in " + std::to_string(length) +
                       " byte(s)");
    }
    key.mki_value = static_cast<uint32_t>(value);
    key.mki_size = static_cast<uint8_t>(length);
    seen_mki = true;
  }
  return key;
}

StatusOr<SdesKey> parse_sdes_crypto(std::string_view attr) {
  constexpr std::string_view kPrefix = "a=crypto:";
  if (attr.substr(0, kPrefix.size()) == kPrefix) attr.remove_prefix(kPrefix.size());
  std::string_view tokens[4];
  size_t count = 0;
  size_t i = 0;
  while (i < attr.size()) {
    while (i < attr.size() && (attr[i] == ' ' || attr[i] == '\t' || attr[i] == '\r' || attr[i] == '\n')) ++i;
    if (i == attr.size()) break;
    size_t j = i;
    while (j < attr.size() && attr[j] != ' ' && attr[j] != '\t' && attr[j] != '\r' && attr[j] != '\n') ++j;
    if (count == 4) return invalid_argument("SDES crypto: more than one session parameter");
    tokens[count++] = attr.substr(i, j - i);
    i = j;
  }
  if (count < 3) {
    return invalid_argument("SDES crypto: expected '<tag> <suite> inline:<key>', got " + std::to_string(count) +
                            " field(s)");
  }
  uint64_t tag = 0;
  if (!parse_decimal(tokens[0], tag) || tokens[0].size() > 9) {
    return invalid_argument("SDES crypto: tag " + quoted(tokens[0]) + " is not a number");
  }
  const std::optional<SrtpSuite> suite = suite_from_name(tokens[1]);
  if (!suite) {
    return invalid_argument("SDES crypto: unsupported suite " + quoted(tokens[1]) +
                            " (AES_CM_128_HMAC_SHA1_80 or AES_CM_128_HMAC_SHA1_32)");
  }
  if (count == 4) {
    return invalid_argument("SDES crypto: session parameter " + quoted(tokens[3]) + " is not supported");
  }
  return parse_sdes_key(*suite, tokens[2]);
}

std::string generate_sdes_inline_key() {
  std::random_device rd;  // /dev/urandom on Linux
  std::array<uint8_t, kSrtpKeySaltSize> raw;
  for (size_t i = 0; i < raw.size(); i += 4) {
    const uint32_t r = rd();
    for (size_t b = 0; b < 4 && i + b < raw.size(); ++b) raw[i + b] = static_cast<uint8_t>(r >> (8 * b));
  }
  return "inline:" + base64_encode(raw);
}

// Inbound SRTCP has its own context whose (unused) SRTP policy is the 80-bit
// one: libsrtp 2.5 locates the MKI of an SRTCP packet with the SRTP tag
// length, so with AES_CM_128_HMAC_SHA1_32 and an MKI it rejects every genuine
// SRTCP packet. The SRTCP keys and tag do not depend on the SRTP policy.
struct SrtpSession::Contexts {
  srtp_t outbound = nullptr;
  srtp_t inbound_rtp = nullptr;
  srtp_t inbound_rtcp = nullptr;
  ~Contexts() {
    for (srtp_t c : {outbound, inbound_rtp, inbound_rtcp}) {
      if (c) srtp_dealloc(c);
    }
  }
};

namespace {

// Creates one libsrtp context for `key` (any SSRC in one direction).
srtp_err_status_t create_context(const SdesKey& key, SrtpSuite rtp_suite, srtp_ssrc_type_t direction,
                                 srtp_t* ctx) {
  srtp_policy_t policy;
  std::memset(&policy, 0, sizeof(policy));
  set_crypto_policy(policy, rtp_suite);
  policy.ssrc.type = direction;
  policy.window_size = 1024;  // tolerate deep reordering without false replays
  policy.allow_repeat_tx = 0;
  // libsrtp derives the session keys and copies the MKI inside srtp_create.
  uint8_t key_salt[kSrtpKeySaltSize];
  std::memcpy(key_salt, key.key_salt.data(), sizeof(key_salt));
  uint8_t mki[kSrtpMaxMkiSize] = {};
  srtp_master_key_t master{key_salt, mki, key.mki_size};
  srtp_master_key_t* masters[1] = {&master};
  if (key.mki_size) {
    for (size_t b = 0; b < 4 && b < key.mki_size; ++b) {
      mki[key.mki_size - 1 - b] = static_cast<uint8_t>(key.mki_value >> (8 * b));
    }
    policy.keys = masters;
    policy.num_master_keys = 1;
  } else {
    policy.key = key_salt;
  }
  const srtp_err_status_t s = srtp_create(ctx, &policy);
  std::memset(key_salt, 0, sizeof(key_salt));
  return s;
}

}  // namespace

StatusOr<std::unique_ptr<SrtpSession>> SrtpSession::create(const SdesKey& outbound, const SdesKey& inbound) {
  if (const srtp_err_status_t s = init_libsrtp_once(); s != srtp_err_status_ok) {
    return unavailable(std::string("SRTP: libsrtp2 initialisation failed: ") + srtp_status_name(s));
  }
  for (const SdesKey* k : {&outbound, &inbound}) {
    if (!suite_name(k->suite)) return invalid_argument("SRTP: unknown crypto suite");
    if (k->mki_size > kSrtpMaxMkiSize) return invalid_argument("SRTP: MKI length outside 1..128");
  }
  const auto rejected = [](const char* direction, srtp_err_status_t s) {
    return invalid_argument(std::string("SRTP: ") + direction + " key rejected by libsrtp2: " + srtp_status_name(s));
  };
  auto contexts = std::make_unique<Contexts>();
  if (auto s = create_context(outbound, outbound.suite, ssrc_any_outbound, &contexts->outbound)) {
    return rejected("outbound", s);
  }
  if (auto s = create_context(inbound, inbound.suite, ssrc_any_inbound, &contexts->inbound_rtp)) {
    return rejected("inbound", s);
  }
  if (auto s = create_context(inbound, SrtpSuite::kAesCm128HmacSha1_80, ssrc_any_inbound, &contexts->inbound_rtcp)) {
    return rejected("inbound", s);
  }
  return std::unique_ptr<SrtpSession>(new SrtpSession(std::move(contexts), outbound, inbound));
}

SrtpSession::SrtpSession(std::unique_ptr<Contexts> contexts, const SdesKey& outbound, const SdesKey& inbound)
    : contexts_(std::move(contexts)),
      out_rtp_overhead_(rtp_tag_size(outbound.suite) + outbound.mki_size),
      out_rtcp_overhead_(kSrtcpIndexSize + kRtcpTagSize + outbound.mki_size),
      in_rtp_overhead_(rtp_tag_size(inbound.suite) + inbound.mki_size),
      in_rtcp_overhead_(kSrtcpIndexSize + kRtcpTagSize + inbound.mki_size),
      out_mki_(outbound.mki_size != 0),
      in_mki_(inbound.mki_size != 0) {}

SrtpSession::~SrtpSession() = default;

size_t SrtpSession::rtp_overhead() const { return out_rtp_overhead_; }
size_t SrtpSession::rtcp_overhead() const { return out_rtcp_overhead_; }

SrtpOutput SrtpSession::protect_rtp(std::span<uint8_t> buffer, size_t packet_size) {
  if (packet_size > buffer.size() || buffer.size() - packet_size < out_rtp_overhead_ ||
      packet_size > INT_MAX - out_rtp_overhead_ || !rtp_header_fits(buffer.first(packet_size), 0)) {
    out_errors_.fetch_add(1, std::memory_order_relaxed);
    return {SrtpResult::kMalformed, 0};
  }
  int len = static_cast<int>(packet_size);
  const srtp_err_status_t s = out_mki_ ? srtp_protect_mki(contexts_->outbound, buffer.data(), &len, 1, 0)
                                       : srtp_protect(contexts_->outbound, buffer.data(), &len);
  if (s != srtp_err_status_ok) {
    out_errors_.fetch_add(1, std::memory_order_relaxed);
    return {SrtpResult::kError, 0};
  }
  rtp_protected_.fetch_add(1, std::memory_order_relaxed);
  return {SrtpResult::kOk, static_cast<size_t>(len)};
}

SrtpOutput SrtpSession::protect_rtcp(std::span<uint8_t> buffer, size_t packet_size) {
  if (packet_size > buffer.size() || buffer.size() - packet_size < out_rtcp_overhead_ ||
      packet_size > INT_MAX - out_rtcp_overhead_ || !rtcp_header_fits(buffer.first(packet_size), 0)) {
    out_errors_.fetch_add(1, std::memory_order_relaxed);
    return {SrtpResult::kMalformed, 0};
  }
  int len = static_cast<int>(packet_size);
  const srtp_err_status_t s = out_mki_
                                  ? srtp_protect_rtcp_mki(contexts_->outbound, buffer.data(), &len, 1, 0)
                                  : srtp_protect_rtcp(contexts_->outbound, buffer.data(), &len);
  if (s != srtp_err_status_ok) {
    out_errors_.fetch_add(1, std::memory_order_relaxed);
    return {SrtpResult::kError, 0};
  }
  rtcp_protected_.fetch_add(1, std::memory_order_relaxed);
  return {SrtpResult::kOk, static_cast<size_t>(len)};
}

SrtpOutput SrtpSession::count_inbound(int status, size_t size, std::atomic<uint64_t>& ok_counter) {
  switch (static_cast<srtp_err_status_t>(status)) {
    case srtp_err_status_ok:
      ok_counter.fetch_add(1, std::memory_order_relaxed);
      return {SrtpResult::kOk, size};
    case srtp_err_status_auth_fail:
      auth_failures_.fetch_add(1, std::memory_order_relaxed);
      return {SrtpResult::kAuthFailure, 0};
    case srtp_err_status_replay_fail:
    case srtp_err_status_replay_old:
      replays_.fetch_add(1, std::memory_order_relaxed);
      return {SrtpResult::kReplay, 0};
    case srtp_err_status_bad_param:
    case srtp_err_status_parse_err:
      in_errors_.fetch_add(1, std::memory_order_relaxed);
      return {SrtpResult::kMalformed, 0};
    default:
      in_errors_.fetch_add(1, std::memory_order_relaxed);
      return {SrtpResult::kError, 0};
  }
}

SrtpOutput SrtpSession::unprotect_rtp(std::span<uint8_t> packet) {
  if (packet.size() > INT_MAX || !rtp_header_fits(packet, in_rtp_overhead_)) {
    in_errors_.fetch_add(1, std::memory_order_relaxed);
    return {SrtpResult::kMalformed, 0};
  }
  int len = static_cast<int>(packet.size());
  const srtp_err_status_t s = in_mki_ ? srtp_unprotect_mki(contexts_->inbound_rtp, packet.data(), &len, 1)
                                      : srtp_unprotect(contexts_->inbound_rtp, packet.data(), &len);
  return count_inbound(s, static_cast<size_t>(len), rtp_unprotected_);
}

SrtpOutput SrtpSession::unprotect_rtcp(std::span<uint8_t> packet) {
  if (packet.size() > INT_MAX || !rtcp_header_fits(packet, in_rtcp_overhead_)) {
    in_errors_.fetch_add(1, std::memory_order_relaxed);
    return {SrtpResult::kMalformed, 0};
  }
  int len = static_cast<int>(packet.size());
  const srtp_err_status_t s = in_mki_ ? srtp_unprotect_rtcp_mki(contexts_->inbound_rtcp, packet.data(), &len, 1)
                                      : srtp_unprotect_rtcp(contexts_->inbound_rtcp, packet.data(), &len);
  return count_inbound(s, static_cast<size_t>(len), rtcp_unprotected_);
}

SrtpStats SrtpSession::stats() const {
  SrtpStats s;
  s.rtp_protected = rtp_protected_.load(std::memory_order_relaxed);
  s.rtcp_protected = rtcp_protected_.load(std::memory_order_relaxed);
  s.rtp_unprotected = rtp_unprotected_.load(std::memory_order_relaxed);
  s.rtcp_unprotected = rtcp_unprotected_.load(std::memory_order_relaxed);
  s.auth_failures = auth_failures_.load(std::memory_order_relaxed);
  s.replays = replays_.load(std::memory_order_relaxed);
  s.other_errors = in_errors_.load(std::memory_order_relaxed) + out_errors_.load(std::memory_order_relaxed);
  return s;
}

}  // namespace sipmix::srtp
