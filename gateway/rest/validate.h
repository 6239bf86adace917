// Validation of what REST requests carry into SIP: ids, SIP URIs, From,
// custom header names and values, DTMF digits. Pure functions; any thread.
// Each error message starts with the field it names ("sip.uri: ...").
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "sipmix/status.h"

namespace sipmix::gw {

inline constexpr size_t kMaxIdBytes = 128;
inline constexpr size_t kMaxSipUriBytes = 1024;
inline constexpr size_t kMaxHeaderNameBytes = 64;
inline constexpr size_t kMaxHeaderValueBytes = 1024;
inline constexpr size_t kMaxCustomHeaders = 32;
inline constexpr size_t kMaxDtmfDigits = 256;

// Session, connection and stream ids: 1..128 of [A-Za-z0-9_.~-] (safe in a
// URL path segment, a Janus room name and a SIP header value).
Status validate_id(std::string_view id, std::string_view field);

struct SipUri {
  bool secure_scheme = false;  // sips:
  std::string user;            // may be empty
  std::string host;            // hostname, IPv4, or IPv6 without brackets
  int port = 0;                // 0: not given
  std::string transport;       // lower case "udp", "tcp", "tls", or empty
};

// sip:[user@]host[:port][;params]. Rejects passwords in the URI, URI headers
// ("?"), spaces and control characters, and transports other than udp, tcp, tls.
StatusOr<SipUri> parse_sip_uri(std::string_view uri, std::string_view field);

// "user@host" for the From header.
Status validate_sip_from(std::string_view from, std::string_view field);

// RFC 3261 token characters only, and not a header sipmixd writes itself.
bool is_sip_token(std::string_view s);
Status validate_header_name(std::string_view name, std::string_view field);
// No CR, LF, NUL or other control characters except tab.
Status validate_header_value(std::string_view value, std::string_view field);

// ^[0-9*#p]+$, at most kMaxDtmfDigits.
Status validate_dtmf_digits(std::string_view digits, std::string_view field);

}  // namespace sipmix::gw
