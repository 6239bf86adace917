#include "gateway/rest/jwt.h"

extern "C" {
#include <jwt.h>
}

#include <nlohmann/json.hpp>

#include <cerrno>
#include <cstdlib>
#include <memory>

#include "gateway/core/ids.h"

namespace sipmix::gw {
namespace {

using json = nlohmann::json;

struct JwtFree {
  void operator()(jwt_t* j) const { jwt_free(j); }
};
using JwtPtr = std::unique_ptr<jwt_t, JwtFree>;

std::optional<std::string> base64url_decode(std::string_view in) {
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '-') return 62;
    if (c == '_') return 63;
    return -1;
  };
  while (!in.empty() && in.back() == '=') in.remove_suffix(1);
  if (in.size() % 4 == 1) return std::nullopt;
  std::string out;
  out.reserve(in.size() * 3 / 4);
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    const int v = value(c);
    if (v < 0) return std::nullopt;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  return out;
}

struct Decoded {
  json header;
  json payload;
};

// Splits and decodes a compact JWT, insists on HS256, and checks the
// signature with `secret` through libjwt (which recomputes the HMAC).
// `secret_for` picks the secret from the unverified payload (its iss).
template <typename SecretFor>
StatusOr<Decoded> decode_hs256(std::string_view token, std::string_view what, SecretFor secret_for) {
  const std::string w(what);
  if (token.empty() || token.size() > 8192) return invalid_argument(w + " is missing or too long");
  const size_t d1 = token.find('.');
  const size_t d2 = d1 == std::string_view::npos ? d1 : token.find('.', d1 + 1);
  if (d2 == std::string_view::npos || token.find('.', d2 + 1) != std::string_view::npos) {
    return invalid_argument(w + " is not a compact JWT (header.payload.signature)");
  }
  auto header_bytes = base64url_decode(token.substr(0, d1));
  auto payload_bytes = base64url_decode(token.substr(d1 + 1, d2 - d1 - 1));
  if (!header_bytes || !payload_bytes) return invalid_argument(w + " is not valid base64url");
  Decoded d;
  d.header = json::parse(*header_bytes, nullptr, false);
  d.payload = json::parse(*payload_bytes, nullptr, false);
  if (!d.header.is_object() || !d.payload.is_object()) return invalid_argument(w + " header or claims are not JSON objects");
  if (!d.header.contains("alg") || d.header["alg"] != "HS256") return invalid_argument(w + " must be signed with HS256");
  if (d2 + 1 == token.size()) return invalid_argument(w + " has no signature");
  StatusOr<std::string> secret = secret_for(d.payload);
  if (!secret.ok()) return secret.status();
  jwt_t* raw = nullptr;
  const std::string t(token);
  const int rc = jwt_decode(&raw, t.c_str(), reinterpret_cast<const unsigned char*>(secret->data()),
                            static_cast<int>(secret->size()));
  JwtPtr j(raw);
  if (rc != 0 || !j) return invalid_argument(w + " signature does not verify");
  if (jwt_get_alg(j.get()) != JWT_ALG_HS256) return invalid_argument(w + " must be signed with HS256");
  return d;
}

std::optional<int64_t> int_claim(const json& p, const char* name) {
  if (!p.contains(name) || !p[name].is_number()) return std::nullopt;
  return p[name].is_number_float() ? static_cast<int64_t>(p[name].get<double>()) : p[name].get<int64_t>();
}

std::optional<std::string> string_claim(const json& p, const char* name) {
  if (!p.contains(name) || !p[name].is_string()) return std::nullopt;
  return p[name].get<std::string>();
}

// iat present and not in the future; exp present and not past.
Status check_times(const json& p, const std::string& w, int64_t now_s, int64_t max_lifetime_s) {
  const auto iat = int_claim(p, "iat");
  const auto exp = int_claim(p, "exp");
  if (!iat) return invalid_argument(w + " has no iat claim");
  if (!exp) return invalid_argument(w + " has no exp claim");
  if (*iat > now_s + kJwtClockSkewS) return invalid_argument(w + " iat is in the future");
  if (*exp < now_s - kJwtClockSkewS) return invalid_argument(w + " has expired");
  if (*exp <= *iat) return invalid_argument(w + " exp is not after iat");
  if (*exp - *iat > max_lifetime_s) {
    return invalid_argument(w + " exp is more than " + std::to_string(max_lifetime_s) + " s after iat");
  }
  return Status();
}

StatusOr<std::string> encode(const json& claims, const std::string& secret) {
  jwt_t* raw = nullptr;
  if (jwt_new(&raw) != 0) return Status(StatusCode::kInternal, "jwt_new failed");
  JwtPtr j(raw);
  const std::string c = claims.dump();
  if (jwt_add_grants_json(j.get(), c.c_str()) != 0 ||
      jwt_set_alg(j.get(), JWT_ALG_HS256, reinterpret_cast<const unsigned char*>(secret.data()),
                  static_cast<int>(secret.size())) != 0) {
    return Status(StatusCode::kInternal, "cannot build the JWT");
  }
  char* out = jwt_encode_str(j.get());
  if (out == nullptr) return Status(StatusCode::kInternal, "jwt_encode_str failed");
  std::string s(out);
  std::free(out);
  return s;
}

}  // namespace

StatusOr<std::string> verify_rest_jwt(std::string_view jwt, const Projects& projects,
                                      std::string_view expected_project, int64_t now_s) {
  const std::string w = "the JWT";
  std::string project;
  auto d = decode_hs256(jwt, w, [&](const json& p) -> StatusOr<std::string> {
    auto iss = string_claim(p, "iss");
    if (!iss) return invalid_argument(w + " has no iss claim");
    if (!expected_project.empty() && *iss != expected_project) return invalid_argument(w + " iss is not this project");
    auto it = projects.find(*iss);
    if (it == projects.end()) return invalid_argument(w + " iss is not a known project");
    project = *iss;
    return it->second;
  });
  if (!d.ok()) return d.status();
  const json& p = d->payload;
  if (p.contains("ist") && p["ist"] != "project") return invalid_argument(w + " ist must be \"project\"");
  if (Status s = check_times(p, w, now_s, kMaxRestJwtLifetimeS); !s.ok()) return s;
  return project;
}

StatusOr<std::string> mint_rest_jwt(const std::string& project_id, const std::string& secret, int64_t now_s,
                                    int64_t ttl_s) {
  if (ttl_s < 1 || ttl_s > kMaxRestJwtLifetimeS) return invalid_argument("--ttl: must be 1..300 seconds");
  json c = {{"iss", project_id},        {"ist", "project"}, {"iat", now_s},
            {"exp", now_s + ttl_s},     {"jti", new_uuid_v4()}};
  return encode(c, secret);
}

StatusOr<std::string> mint_client_token(const ClientTokenSpec& s, int64_t now_s) {
  if (s.session_id.empty()) return invalid_argument("--session: is required");
  if (s.role != "publisher" && s.role != "subscriber" && s.role != "moderator" && s.role != "publisheronly") {
    return invalid_argument("--role: must be publisher, subscriber, moderator or publisheronly");
  }
  if (s.connection_data.size() > kMaxConnectionDataBytes) return invalid_argument("--data: at most 1000 bytes");
  if (s.ttl_s < 1 || s.ttl_s > kMaxClientTokenTtlS) return invalid_argument("--ttl: must be 1..2592000 seconds");
  json c = {{"iss", s.project_id},
            {"ist", "project"},
            {"iat", now_s},
            {"exp", now_s + s.ttl_s},
            {"scope", "session.connect"},
            {"session_id", s.session_id},
            {"role", s.role},
            {"nonce", random_hex(16)},
            {"connection_data", s.connection_data},
            {"initial_layout_class_list", ""}};
  return encode(c, s.secret);
}

StatusOr<ClientToken> verify_client_token(std::string_view token, const std::string& project_id,
                                          const std::string& secret, std::string_view session_id, int64_t now_s) {
  const std::string w = "token:";
  if (token.rfind("T1==", 0) == 0) return invalid_argument("token: legacy T1 tokens are not supported; use a JWT token");
  auto d = decode_hs256(token, w, [&](const json& p) -> StatusOr<std::string> {
    auto iss = string_claim(p, "iss");
    if (!iss || *iss != project_id) return invalid_argument(w + " iss is not this project");
    return secret;
  });
  if (!d.ok()) return d.status();
  const json& p = d->payload;
  if (p.contains("ist") && p["ist"] != "project") return invalid_argument(w + " ist must be \"project\"");
  if (string_claim(p, "scope") != "session.connect") return invalid_argument(w + " scope must be \"session.connect\"");
  auto sid = string_claim(p, "session_id");
  if (!sid) return invalid_argument(w + " has no session_id claim");
  if (*sid != session_id) return invalid_argument(w + " is for another session");
  if (Status s = check_times(p, w, now_s, kMaxClientTokenTtlS); !s.ok()) return s;
  ClientToken t;
  t.session_id = *sid;
  t.role = string_claim(p, "role").value_or("publisher");
  if (p.contains("connection_data") && !p["connection_data"].is_string()) {
    return invalid_argument(w + " connection_data must be a string");
  }
  t.connection_data = string_claim(p, "connection_data").value_or("");
  if (t.connection_data.size() > kMaxConnectionDataBytes) return invalid_argument(w + " connection_data is too long");
  t.expires_at_s = *int_claim(p, "exp");
  return t;
}

std::optional<std::string> rest_jwt_from_headers(std::string_view x_opentok_auth, std::string_view x_vonage_auth,
                                                 std::string_view authorization) {
  if (!x_opentok_auth.empty()) return std::string(x_opentok_auth);
  if (!x_vonage_auth.empty()) return std::string(x_vonage_auth);
  if (authorization.size() > 7) {
    std::string scheme(authorization.substr(0, 7));
    for (char& c : scheme) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    if (scheme == "bearer ") {
      std::string_view v = authorization.substr(7);
      while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
      if (!v.empty()) return std::string(v);
    }
  }
  return std::nullopt;
}

}  // namespace sipmix::gw
