// libFuzzer target: RTP and RTCP parsing. A packet that parses as RTP is
// written again with write_rtp (header, CSRCs, RFC 8285 elements, payload,
// padding) and parsed again: every field, element and payload byte must
// match. The same input also goes through the RTCP round trip.
#define SIPMIX_FUZZ_RTCP_NO_ENTRY
#include "fuzz_rtcp.cc"

#include <cstring>

#include "rtp/rtp_packet.h"

namespace sipmix::fuzz {
namespace {

bool inside(std::span<const uint8_t> inner, std::span<const uint8_t> outer) {
  return inner.empty() ||
         (inner.data() >= outer.data() && inner.data() + inner.size() <= outer.data() + outer.size());
}

bool same_bytes(std::span<const uint8_t> a, std::span<const uint8_t> b) {
  return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size()) == 0);
}

// An extension block of 65535 words holds at most 131070 one-byte elements.
constexpr size_t kMaxElements = 1 << 17;

void check_rtp_round_trip(std::span<const uint8_t> in) {
  const auto p = rtp::parse_rtp(in);
  if (!p) return;
  SIPMIX_FUZZ_CHECK(inside(p->payload, in) && inside(p->extension_data, in));
  SIPMIX_FUZZ_CHECK(p->header_size + p->payload.size() + p->padding_size == in.size());
  SIPMIX_FUZZ_CHECK(p->csrc_count <= rtp::kMaxCsrcs);

  static std::vector<rtp::HeaderExtensionElement> elements(kMaxElements);
  static std::vector<rtp::HeaderExtensionElement> elements2(kMaxElements);
  const auto count = rtp::parse_header_extensions(*p, elements);
  const size_t n = count.value_or(0);
  for (size_t i = 0; i < n; ++i) {
    SIPMIX_FUZZ_CHECK(inside(elements[i].data, p->extension_data));
    // find_header_extension returns the first element with that id.
    if (i == 0 || elements[i].id != elements[i - 1].id) {
      size_t first = 0;
      while (elements[first].id != elements[i].id) ++first;
      const auto found = rtp::find_header_extension(*p, elements[i].id);
      SIPMIX_FUZZ_CHECK(found && found->data() == elements[first].data.data());
    }
  }
  if (n > 0) (void)rtp::parse_audio_level(*p, elements[0].id);

  const rtp::RtpHeader h = rtp::header_of(*p);
  // Re-encoding never grows the packet: padding inside the block is dropped
  // and the one-byte form is chosen whenever it fits.
  std::vector<uint8_t> out(in.size());
  const size_t written =
      rtp::write_rtp(h, std::span<const rtp::HeaderExtensionElement>(elements.data(), n), p->payload, out);
  SIPMIX_FUZZ_CHECK(written > 0 && written <= in.size());
  const auto q = rtp::parse_rtp(std::span<const uint8_t>(out.data(), written));
  SIPMIX_FUZZ_CHECK(q.has_value());
  SIPMIX_FUZZ_CHECK(q->marker == p->marker && q->payload_type == p->payload_type &&
                    q->sequence_number == p->sequence_number && q->timestamp == p->timestamp &&
                    q->ssrc == p->ssrc && q->csrc_count == p->csrc_count &&
                    q->padding_size == p->padding_size && q->padding == p->padding);
  for (size_t i = 0; i < p->csrc_count; ++i) SIPMIX_FUZZ_CHECK(q->csrcs[i] == p->csrcs[i]);
  SIPMIX_FUZZ_CHECK(same_bytes(q->payload, p->payload));
  const auto count2 = rtp::parse_header_extensions(*q, elements2);
  SIPMIX_FUZZ_CHECK(count2 && *count2 == n);
  for (size_t i = 0; i < n; ++i) {
    SIPMIX_FUZZ_CHECK(elements2[i].id == elements[i].id && same_bytes(elements2[i].data, elements[i].data));
  }
}

}  // namespace
}  // namespace sipmix::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const uint8_t> in(data, size);
  sipmix::fuzz::check_rtp_round_trip(in);
  (void)sipmix::rtp::looks_like_rtcp(in);
  sipmix::fuzz::check_rtcp_round_trip(in);
  return 0;
}
