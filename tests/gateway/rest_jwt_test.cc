// REST JWTs and client tokens: what is accepted and, above all, what is not.
#include <gtest/gtest.h>
#include <openssl/hmac.h>

#include <nlohmann/json.hpp>

#include "gateway/rest/jwt.h"

namespace sipmix::gw {
namespace {

using json = nlohmann::json;

constexpr int64_t kNow = 1'800'000'000;
const Projects kProjects = {{"p1", "secret-one"}, {"p2", "secret-two"}};

std::string b64url(const std::string& in) {
  static const char* t = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (unsigned char c : in) {
    acc = (acc << 8) | c;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out.push_back(t[(acc >> bits) & 63]);
    }
  }
  if (bits > 0) out.push_back(t[(acc << (6 - bits)) & 63]);
  return out;
}

// A JWT with any header and claims, HMAC-SHA256-signed with `secret`
// (or unsigned when `secret` is empty), to forge what a client might send.
std::string forge(const json& header, const json& claims, const std::string& secret) {
  const std::string signing_input = b64url(header.dump()) + "." + b64url(claims.dump());
  if (secret.empty()) return signing_input + ".";
  unsigned char mac[32];
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(signing_input.data()), signing_input.size(), mac, &len);
  return signing_input + "." + b64url(std::string(reinterpret_cast<char*>(mac), len));
}

json rest_claims() { return {{"iss", "p1"}, {"ist", "project"}, {"iat", kNow - 10}, {"exp", kNow + 170}}; }
const json kHs256 = {{"alg", "HS256"}, {"typ", "JWT"}};

TEST(RestJwt, MintedJwtVerifiesForItsProject) {
  auto t = mint_rest_jwt("p1", "secret-one", kNow, 180);
  ASSERT_TRUE(t.ok());
  auto p = verify_rest_jwt(*t, kProjects, "p1", kNow + 5);
  ASSERT_TRUE(p.ok()) << p.status().message();
  EXPECT_EQ(*p, "p1");
  // Without an expected project (POST /session/create) iss picks the project.
  EXPECT_EQ(*verify_rest_jwt(*t, kProjects, "", kNow), "p1");
}

TEST(RestJwt, ForgedWellFormedJwtVerifies) {  // the forging helper itself is right
  EXPECT_TRUE(verify_rest_jwt(forge(kHs256, rest_claims(), "secret-one"), kProjects, "p1", kNow).ok());
}

TEST(RestJwt, ExpiredJwtIsRefused) {
  auto t = mint_rest_jwt("p1", "secret-one", kNow, 180);
  auto p = verify_rest_jwt(*t, kProjects, "p1", kNow + 180 + kJwtClockSkewS + 1);
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.status().message().find("expired"), std::string::npos) << p.status().message();
}

TEST(RestJwt, ExpMoreThanFiveMinutesAfterIatIsRefused) {
  json c = rest_claims();
  c["exp"] = kNow - 10 + 301;
  auto p = verify_rest_jwt(forge(kHs256, c, "secret-one"), kProjects, "p1", kNow);
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.status().message().find("300 s after iat"), std::string::npos) << p.status().message();
  c["exp"] = kNow - 10 + 300;
  EXPECT_TRUE(verify_rest_jwt(forge(kHs256, c, "secret-one"), kProjects, "p1", kNow).ok());
  EXPECT_FALSE(mint_rest_jwt("p1", "secret-one", kNow, 301).ok());
}

TEST(RestJwt, IatInTheFutureIsRefused) {
  json c = rest_claims();
  c["iat"] = kNow + kJwtClockSkewS + 60;
  c["exp"] = kNow + kJwtClockSkewS + 120;
  EXPECT_FALSE(verify_rest_jwt(forge(kHs256, c, "secret-one"), kProjects, "p1", kNow).ok());
}

TEST(RestJwt, WrongSecretIsRefused) {
  auto p = verify_rest_jwt(forge(kHs256, rest_claims(), "secret-two"), kProjects, "p1", kNow);
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.status().message().find("signature"), std::string::npos) << p.status().message();
  // Another project's valid JWT does not open this project.
  json c = rest_claims();
  c["iss"] = "p2";
  EXPECT_FALSE(verify_rest_jwt(forge(kHs256, c, "secret-two"), kProjects, "p1", kNow).ok());
}

TEST(RestJwt, TamperedClaimsAreRefused) {
  const std::string good = forge(kHs256, rest_claims(), "secret-one");
  json c = rest_claims();
  c["exp"] = kNow + 290;
  const std::string other = forge(kHs256, c, "secret-one");
  // Claims of one token with the signature of another.
  const std::string spliced = other.substr(0, other.rfind('.')) + good.substr(good.rfind('.'));
  EXPECT_FALSE(verify_rest_jwt(spliced, kProjects, "p1", kNow).ok());
}

TEST(RestJwt, AlgorithmsOtherThanHs256AreRefused) {
  EXPECT_FALSE(verify_rest_jwt(forge({{"alg", "none"}}, rest_claims(), ""), kProjects, "p1", kNow).ok());
  EXPECT_FALSE(verify_rest_jwt(forge({{"alg", "none"}}, rest_claims(), "secret-one"), kProjects, "p1", kNow).ok());
  EXPECT_FALSE(verify_rest_jwt(forge({{"alg", "HS512"}}, rest_claims(), "secret-one"), kProjects, "p1", kNow).ok());
  EXPECT_FALSE(verify_rest_jwt(forge({{"alg", "RS256"}}, rest_claims(), "secret-one"), kProjects, "p1", kNow).ok());
  EXPECT_FALSE(verify_rest_jwt(forge({{"typ", "JWT"}}, rest_claims(), "secret-one"), kProjects, "p1", kNow).ok());
  // An HS256 header with an empty signature.
  EXPECT_FALSE(verify_rest_jwt(forge(kHs256, rest_claims(), ""), kProjects, "p1", kNow).ok());
}

TEST(RestJwt, WrongIssuerIsRefused) {
  json c = rest_claims();
  c["iss"] = "p3";
  EXPECT_FALSE(verify_rest_jwt(forge(kHs256, c, "secret-one"), kProjects, "", kNow).ok());
  c["iss"] = "p2";
  EXPECT_FALSE(verify_rest_jwt(forge(kHs256, c, "secret-one"), kProjects, "p1", kNow).ok());
  c = rest_claims();
  c["ist"] = "account";
  EXPECT_FALSE(verify_rest_jwt(forge(kHs256, c, "secret-one"), kProjects, "p1", kNow).ok());
}

TEST(RestJwt, MissingClaimsAreRefused) {
  for (const char* claim : {"iss", "iat", "exp"}) {
    json c = rest_claims();
    c.erase(claim);
    auto p = verify_rest_jwt(forge(kHs256, c, "secret-one"), kProjects, "p1", kNow);
    ASSERT_FALSE(p.ok()) << claim;
    EXPECT_NE(p.status().message().find(claim), std::string::npos) << p.status().message();
  }
  json c = rest_claims();
  c.erase("ist");  // optional (the Node SDK sends it, others may not)
  EXPECT_TRUE(verify_rest_jwt(forge(kHs256, c, "secret-one"), kProjects, "p1", kNow).ok());
  c["iat"] = "yesterday";
  EXPECT_FALSE(verify_rest_jwt(forge(kHs256, c, "secret-one"), kProjects, "p1", kNow).ok());
}

TEST(RestJwt, GarbageIsRefused) {
  for (const char* t : {"", "abc", "a.b", "a.b.c.d", "!!!.???.###", "e30.e30.sig"}) {
    EXPECT_FALSE(verify_rest_jwt(t, kProjects, "p1", kNow).ok()) << t;
  }
}

TEST(RestJwt, HeadersAreReadInOrder) {
  EXPECT_EQ(rest_jwt_from_headers("a", "b", "Bearer c"), "a");
  EXPECT_EQ(rest_jwt_from_headers("", "b", "Bearer c"), "b");
  EXPECT_EQ(rest_jwt_from_headers("", "", "Bearer c"), "c");
  EXPECT_EQ(rest_jwt_from_headers("", "", "bearer  c"), "c");
  EXPECT_EQ(rest_jwt_from_headers("", "", "Basic dXNlcjpwYXNz"), std::nullopt);
  EXPECT_EQ(rest_jwt_from_headers("", "", ""), std::nullopt);
}

ClientTokenSpec spec() {
  ClientTokenSpec s;
  s.project_id = "p1";
  s.secret = "secret-one";
  s.session_id = "sess-1";
  s.connection_data = "name=Bob";
  return s;
}

TEST(ClientToken, MintedTokenVerifiesForItsSessionAndCarriesConnectionData) {
  auto t = mint_client_token(spec(), kNow);
  ASSERT_TRUE(t.ok());
  auto v = verify_client_token(*t, "p1", "secret-one", "sess-1", kNow + 60);
  ASSERT_TRUE(v.ok()) << v.status().message();
  EXPECT_EQ(v->connection_data, "name=Bob");
  EXPECT_EQ(v->role, "publisher");
  EXPECT_EQ(v->expires_at_s, kNow + 24 * 3600);
}

TEST(ClientToken, TokenForAnotherSessionIsRefused) {
  auto t = mint_client_token(spec(), kNow);
  auto v = verify_client_token(*t, "p1", "secret-one", "sess-2", kNow);
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.status().message().rfind("token:", 0), 0u) << v.status().message();
}

TEST(ClientToken, WrongSecretProjectOrExpiryIsRefused) {
  auto t = mint_client_token(spec(), kNow);
  EXPECT_FALSE(verify_client_token(*t, "p1", "secret-two", "sess-1", kNow).ok());
  EXPECT_FALSE(verify_client_token(*t, "p2", "secret-one", "sess-1", kNow).ok());
  EXPECT_FALSE(verify_client_token(*t, "p1", "secret-one", "sess-1", kNow + 24 * 3600 + kJwtClockSkewS + 1).ok());
}

TEST(ClientToken, ScopeAndAlgorithmAreChecked) {
  json c = {{"iss", "p1"}, {"ist", "project"}, {"iat", kNow}, {"exp", kNow + 60}, {"session_id", "sess-1"},
            {"scope", "session.connect"}, {"role", "publisher"}};
  EXPECT_TRUE(verify_client_token(forge(kHs256, c, "secret-one"), "p1", "secret-one", "sess-1", kNow).ok());
  json wrong_scope = c;
  wrong_scope["scope"] = "session.admin";
  EXPECT_FALSE(verify_client_token(forge(kHs256, wrong_scope, "secret-one"), "p1", "secret-one", "sess-1", kNow).ok());
  EXPECT_FALSE(verify_client_token(forge({{"alg", "none"}}, c, ""), "p1", "secret-one", "sess-1", kNow).ok());
  json no_session = c;
  no_session.erase("session_id");
  EXPECT_FALSE(verify_client_token(forge(kHs256, no_session, "secret-one"), "p1", "secret-one", "sess-1", kNow).ok());
  EXPECT_FALSE(verify_client_token("T1==cGFydG5lcl9pZD0x", "p1", "secret-one", "sess-1", kNow).ok());
}

TEST(ClientToken, MintRefusesBadSpecs) {
  ClientTokenSpec s = spec();
  s.role = "admin";
  EXPECT_FALSE(mint_client_token(s, kNow).ok());
  s = spec();
  s.connection_data = std::string(1001, 'x');
  EXPECT_FALSE(mint_client_token(s, kNow).ok());
  s = spec();
  s.ttl_s = kMaxClientTokenTtlS + 1;
  EXPECT_FALSE(mint_client_token(s, kNow).ok());
}

}  // namespace
}  // namespace sipmix::gw
