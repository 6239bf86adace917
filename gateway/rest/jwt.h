// HS256 JWTs for sipmixd: the REST API's JWT (X-OPENTOK-AUTH, X-VONAGE-AUTH
// or Authorization: Bearer) and the client tokens a dial carries. Pure
// functions of their inputs and `now_s` (Unix seconds): any thread.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "sipmix/status.h"

namespace sipmix::gw {

using Projects = std::map<std::string, std::string>;  // project id -> secret

inline constexpr int64_t kMaxRestJwtLifetimeS = 300;  // exp - iat: at most 5 minutes (docs/gateway.md)
inline constexpr int64_t kJwtClockSkewS = 30;         // tolerated clock difference with the issuer
inline constexpr int64_t kMaxClientTokenTtlS = 30 * 24 * 3600;
inline constexpr size_t kMaxConnectionDataBytes = 1000;

// Verifies a REST JWT: alg HS256 in the header and in the signature, signed
// with the secret of its `iss` project; `iss` must equal `expected_project`
// when that is not empty; `ist` is "project" if present; `iat` is present and
// not in the future; `exp` is present, not past and at most 300 s after `iat`.
// Returns the project id. The message says why, and never quotes the token.
StatusOr<std::string> verify_rest_jwt(std::string_view jwt, const Projects& projects,
                                      std::string_view expected_project, int64_t now_s);

// A REST JWT for `project_id` valid from now_s for ttl_s (1..300) seconds.
StatusOr<std::string> mint_rest_jwt(const std::string& project_id, const std::string& secret, int64_t now_s,
                                    int64_t ttl_s);

struct ClientTokenSpec {
  std::string project_id;
  std::string secret;
  std::string session_id;
  std::string role = "publisher";  // publisher, subscriber, moderator, publisheronly
  std::string connection_data;     // at most 1000 bytes
  int64_t ttl_s = 24 * 3600;       // 1..30 days
};

// A client token: HS256 JWT with session_id, role, iat, exp, scope
// "session.connect", iss, ist "project", nonce and connection_data.
StatusOr<std::string> mint_client_token(const ClientTokenSpec& spec, int64_t now_s);

struct ClientToken {
  std::string session_id;
  std::string role;
  std::string connection_data;
  int64_t expires_at_s = 0;
};

// Verifies a client token for `session_id` of `project_id`. Errors start with
// "token: " so they can be returned as a 400 naming the field.
StatusOr<ClientToken> verify_client_token(std::string_view token, const std::string& project_id,
                                          const std::string& secret, std::string_view session_id, int64_t now_s);

// The REST JWT of a request: X-OPENTOK-AUTH, else X-VONAGE-AUTH, else an
// "Authorization: Bearer" value. Empty strings mean "header absent".
std::optional<std::string> rest_jwt_from_headers(std::string_view x_opentok_auth, std::string_view x_vonage_auth,
                                                 std::string_view authorization);

}  // namespace sipmix::gw
