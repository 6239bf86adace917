#include "gateway/rest/validate.h"

#include <array>

namespace sipmix::gw {
namespace {

std::string cat(std::string_view field, std::string_view msg) {
  std::string s(field);
  s += ": ";
  s.append(msg);
  return s;
}

bool alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); }
bool hexdig(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }
std::string lowered(std::string_view s) {
  std::string r(s);
  for (char& c : r) c = lower(c);
  return r;
}
bool control(char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; }

// RFC 3261 unreserved / escaped / user-unreserved (no ':' and no '?': a
// password or URI headers would go where they must not).
bool valid_user(std::string_view u) {
  for (size_t i = 0; i < u.size(); ++i) {
    const char c = u[i];
    if (alnum(c)) continue;
    if (c == '%') {
      if (i + 2 >= u.size() || !hexdig(u[i + 1]) || !hexdig(u[i + 2])) return false;
      i += 2;
      continue;
    }
    if (std::string_view("-_.!~*'()&=+$,;/").find(c) == std::string_view::npos) return false;
  }
  return !u.empty();
}

bool valid_hostname(std::string_view h) {
  if (h.empty() || h.size() > 253 || h.front() == '.' || h.front() == '-') return false;
  for (char c : h) {
    if (!alnum(c) && c != '-' && c != '.') return false;
  }
  return true;
}

bool valid_ipv6(std::string_view h) {
  if (h.size() < 2) return false;
  for (char c : h) {
    if (!hexdig(c) && c != ':' && c != '.') return false;
  }
  return h.find(':') != std::string_view::npos;
}

bool valid_param_chars(std::string_view s) {
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (alnum(c)) continue;
    if (c == '%') {
      if (i + 2 >= s.size() || !hexdig(s[i + 1]) || !hexdig(s[i + 2])) return false;
      i += 2;
      continue;
    }
    if (std::string_view("-_.!~*'()[]/:&+$").find(c) == std::string_view::npos) return false;
  }
  return !s.empty();
}

// Headers sipmixd writes itself (full and compact forms, RFC 3261 §7.3.3 and
// extensions it uses); a custom header must not override or duplicate them.
constexpr std::array<std::string_view, 32> kOwnedHeaders = {
    "via",           "v",          "from",          "f",
    "to",            "t",          "call-id",       "i",
    "cseq",          "contact",    "m",             "content-length",
    "l",             "content-type", "c",           "content-encoding",
    "e",             "max-forwards", "route",       "record-route",
    "authorization", "proxy-authorization", "supported", "k",
    "require",       "session-expires", "x",        "min-se",
    "allow",         "rseq",       "x-opentok-sessionid", "x-opentok-connectionid"};

}  // namespace

Status validate_id(std::string_view id, std::string_view field) {
  if (id.empty()) return invalid_argument(cat(field, "is empty"));
  if (id.size() > kMaxIdBytes) return invalid_argument(cat(field, "is longer than 128 characters"));
  for (char c : id) {
    if (!alnum(c) && c != '_' && c != '.' && c != '~' && c != '-') {
      return invalid_argument(cat(field, "may hold only A-Z a-z 0-9 _ . ~ -"));
    }
  }
  return Status();
}

StatusOr<SipUri> parse_sip_uri(std::string_view uri, std::string_view field) {
  if (uri.size() > kMaxSipUriBytes) return invalid_argument(cat(field, "is longer than 1024 characters"));
  for (char c : uri) {
    if (control(c)) return invalid_argument(cat(field, "must not contain control characters (CR, LF, NUL...)"));
    if (c == ' ' || c == '<' || c == '>' || c == '"' || c == '\\') {
      return invalid_argument(cat(field, "must not contain spaces, quotes or angle brackets"));
    }
  }
  SipUri out;
  std::string_view rest;
  const std::string head = lowered(uri.substr(0, 5));
  if (head.rfind("sips:", 0) == 0) {
    out.secure_scheme = true;
    rest = uri.substr(5);
  } else if (head.rfind("sip:", 0) == 0) {
    rest = uri.substr(4);
  } else {
    return invalid_argument(cat(field, "must be a sip: or sips: URI (sip:user@host[:port][;params])"));
  }
  if (rest.find('?') != std::string_view::npos) {
    return invalid_argument(cat(field, "URI headers ('?') are not allowed; use sip.headers"));
  }
  const size_t at = rest.find('@');
  if (at != std::string_view::npos) {
    const std::string_view user = rest.substr(0, at);
    if (user.find(':') != std::string_view::npos) {
      return invalid_argument(cat(field, "must not carry a password; use sip.auth"));
    }
    if (!valid_user(user)) return invalid_argument(cat(field, "has an invalid user part"));
    out.user = std::string(user);
    rest = rest.substr(at + 1);
    if (rest.find('@') != std::string_view::npos) return invalid_argument(cat(field, "has more than one '@'"));
  }
  const size_t semi = rest.find(';');
  std::string_view hostport = rest.substr(0, semi);
  std::string_view params = semi == std::string_view::npos ? std::string_view() : rest.substr(semi);
  std::string_view host = hostport;
  std::string_view port;
  bool has_port = false;
  if (!hostport.empty() && hostport.front() == '[') {
    const size_t close = hostport.find(']');
    if (close == std::string_view::npos) return invalid_argument(cat(field, "has an unterminated IPv6 address"));
    host = hostport.substr(1, close - 1);
    if (!valid_ipv6(host)) return invalid_argument(cat(field, "has an invalid IPv6 address"));
    std::string_view after = hostport.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return invalid_argument(cat(field, "has an invalid host"));
      port = after.substr(1);
      has_port = true;
    }
  } else {
    const size_t colon = hostport.find(':');
    if (colon != std::string_view::npos) {
      host = hostport.substr(0, colon);
      port = hostport.substr(colon + 1);
      has_port = true;
    }
    if (!valid_hostname(host)) return invalid_argument(cat(field, "has an invalid host"));
  }
  out.host = std::string(host);
  if (has_port) {
    int p = 0;
    if (port.empty() || port.size() > 5) return invalid_argument(cat(field, "has an invalid port"));
    for (char c : port) {
      if (c < '0' || c > '9') return invalid_argument(cat(field, "has an invalid port"));
      p = p * 10 + (c - '0');
    }
    if (p < 1 || p > 65535) return invalid_argument(cat(field, "port must be 1..65535"));
    out.port = p;
  }
  while (!params.empty()) {
    params.remove_prefix(1);  // ';'
    const size_t next = params.find(';');
    std::string_view param = params.substr(0, next);
    params = next == std::string_view::npos ? std::string_view() : params.substr(next);
    const size_t eq = param.find('=');
    std::string_view name = param.substr(0, eq);
    std::string_view value = eq == std::string_view::npos ? std::string_view() : param.substr(eq + 1);
    if (!valid_param_chars(name) || (eq != std::string_view::npos && !valid_param_chars(value))) {
      return invalid_argument(cat(field, "has an invalid parameter"));
    }
    if (lowered(name) == "transport") {
      out.transport = lowered(value);
      if (out.transport != "udp" && out.transport != "tcp" && out.transport != "tls") {
        return invalid_argument(cat(field, "transport must be udp, tcp or tls"));
      }
    }
  }
  return out;
}

Status validate_sip_from(std::string_view from, std::string_view field) {
  if (from.size() > 256) return invalid_argument(cat(field, "is longer than 256 characters"));
  const size_t at = from.find('@');
  if (at == std::string_view::npos) return invalid_argument(cat(field, "must be user@host"));
  for (char c : from) {
    if (control(c) || c == ' ') return invalid_argument(cat(field, "must not contain spaces or control characters"));
  }
  const std::string_view user = from.substr(0, at);
  const std::string_view host = from.substr(at + 1);
  if (user.find(':') != std::string_view::npos || !valid_user(user)) {
    return invalid_argument(cat(field, "has an invalid user part (must be user@host)"));
  }
  if (!valid_hostname(host) && !(host.size() > 2 && host.front() == '[' && host.back() == ']' &&
                                  valid_ipv6(host.substr(1, host.size() - 2)))) {
    return invalid_argument(cat(field, "has an invalid host (must be user@host)"));
  }
  return Status();
}

bool is_sip_token(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!alnum(c) && std::string_view("-.!%*_+`'~").find(c) == std::string_view::npos) return false;
  }
  return true;
}

Status validate_header_name(std::string_view name, std::string_view field) {
  if (name.size() > kMaxHeaderNameBytes) return invalid_argument(cat(field, "header name is longer than 64 characters"));
  if (!is_sip_token(name)) {
    return invalid_argument(cat(field, "header name must be a SIP token (letters, digits, - . ! % * _ + ` ' ~)"));
  }
  const std::string l = lowered(name);
  for (std::string_view owned : kOwnedHeaders) {
    if (l == owned) return invalid_argument(cat(field, "header is written by sipmixd and cannot be set"));
  }
  return Status();
}

Status validate_header_value(std::string_view value, std::string_view field) {
  if (value.size() > kMaxHeaderValueBytes) return invalid_argument(cat(field, "value is longer than 1024 characters"));
  for (char c : value) {
    if (c == '\r' || c == '\n' || c == '\0') return invalid_argument(cat(field, "value must not contain CR, LF or NUL"));
    if (control(c) && c != '\t') return invalid_argument(cat(field, "value must not contain control characters"));
  }
  return Status();
}

Status validate_dtmf_digits(std::string_view digits, std::string_view field) {
  if (digits.empty()) return invalid_argument(cat(field, "is empty"));
  if (digits.size() > kMaxDtmfDigits) return invalid_argument(cat(field, "is longer than 256 digits"));
  for (char c : digits) {
    if (!((c >= '0' && c <= '9') || c == '*' || c == '#' || c == 'p')) {
      return invalid_argument(cat(field, "only digits 0-9, *, # and p are allowed"));
    }
  }
  return Status();
}

}  // namespace sipmix::gw
