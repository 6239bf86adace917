// gateway/core: configuration file and flags, logging, ids, state names.
#include <gtest/gtest.h>

#include <CLI/CLI.hpp>

#include <cstdio>
#include <fstream>
#include <set>
#include <unistd.h>

#include "gateway/calls.h"
#include "gateway/core/config.h"
#include "gateway/core/ids.h"
#include "gateway/core/log.h"

namespace sipmix::gw {
namespace {

std::string write_temp(const std::string& text) {
  char path[] = "/tmp/sipmix-config-XXXXXX";
  const int fd = mkstemp(path);
  EXPECT_GE(fd, 0);
  EXPECT_EQ(write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
  close(fd);
  return path;
}

Status parse_flags(std::vector<std::string> args, Config& c) {
  CLI::App app;
  ConfigFlags flags;
  flags.add_to(app);
  std::vector<const char*> argv = {"sipmixd"};
  for (const auto& a : args) argv.push_back(a.c_str());
  app.parse(static_cast<int>(argv.size()), const_cast<char**>(argv.data()));
  if (!flags.config_path().empty()) {
    if (Status s = load_config_file(flags.config_path(), c); !s.ok()) return s;
  }
  return flags.apply(c);
}

TEST(Config, ClusterFlagsGoTogetherAndErrorsNameTheFlag) {
  Config c;
  c.projects["p1"] = "s1";
  ASSERT_TRUE(parse_flags({"--redis", "127.0.0.1:6379", "--node-id", "gw1", "--internal-url",
                           "http://10.0.0.11:8080"},
                          c)
                  .ok());
  EXPECT_EQ(c.redis, "127.0.0.1:6379");
  EXPECT_EQ(c.node_id, "gw1");
  EXPECT_EQ(c.internal_url, "http://10.0.0.11:8080");
  EXPECT_TRUE(validate_config(c).ok());

  Config bad_redis;
  Status s = parse_flags({"--redis", "127.0.0.1"}, bad_redis);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("--redis"), std::string::npos) << s.message();

  Config no_id;
  no_id.projects["p1"] = "s1";
  ASSERT_TRUE(parse_flags({"--redis", "127.0.0.1:6379"}, no_id).ok());
  s = validate_config(no_id);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("--node-id"), std::string::npos) << s.message();

  Config id_alone;
  id_alone.projects["p1"] = "s1";
  ASSERT_TRUE(parse_flags({"--node-id", "gw1"}, id_alone).ok());
  EXPECT_FALSE(validate_config(id_alone).ok());
}

TEST(Config, FileIsReadAndFlagsOverrideIt) {
  const std::string path = write_temp(R"({
    // comments are allowed
    "http": "127.0.0.1:9000", "sip": "127.0.0.1:5080", "rtp_ports": "30000-30099",
    "janus": {"url": "http://127.0.0.1:8188/janus", "secret": "js"},
    "projects": {"p1": "s1", "p2": "s2"}, "callback_url": "http://127.0.0.1:9999/cb",
    "limits": {"max_calls": 5, "dials_per_second": 2, "max_body_bytes": 4096, "max_call_duration_s": 60}
  })");
  Config c;
  Status s = parse_flags({"--config", path, "--http", "0.0.0.0:9100", "--project", "p3:s:3", "--max-calls", "7"}, c);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(c.http.host, "0.0.0.0");
  EXPECT_EQ(c.http.port, 9100);
  EXPECT_EQ(c.sip.port, 5080);
  EXPECT_EQ(c.rtp_port_min, 30000);
  EXPECT_EQ(c.rtp_port_max, 30099);
  EXPECT_EQ(c.janus_secret, "js");
  EXPECT_EQ(c.projects.size(), 3u);
  EXPECT_EQ(c.projects.at("p3"), "s:3");  // the secret is everything after the first ':'
  EXPECT_EQ(c.max_calls, 7);
  EXPECT_EQ(c.dials_per_second, 2);
  EXPECT_EQ(c.max_body_bytes, 4096u);
  EXPECT_EQ(c.max_call_duration_s, 60);
  EXPECT_TRUE(validate_config(c).ok());
  std::remove(path.c_str());
}

TEST(Config, BadValuesNameTheirFlagOrKey) {
  struct Case {
    std::vector<std::string> args;
    const char* names;
  };
  for (const Case& k : {Case{{"--http", "127.0.0.1"}, "--http"}, Case{{"--http", "127.0.0.1:0"}, "--http"},
                        Case{{"--sip", "h:99999"}, "--sip"}, Case{{"--rtp-ports", "40000-30000"}, "--rtp-ports"},
                        Case{{"--rtp-ports", "abc"}, "--rtp-ports"}, Case{{"--project", "nosecret"}, "--project"},
                        Case{{"--project", "p 1:x"}, "--project"}, Case{{"--max-calls", "0"}, "--max-calls"},
                        Case{{"--max-body-bytes", "10"}, "--max-body-bytes"}}) {
    Config c;
    Status s = parse_flags(k.args, c);
    ASSERT_FALSE(s.ok()) << k.args[0] << " " << k.args[1];
    EXPECT_EQ(s.message().rfind(k.names, 0), 0u) << s.message();
  }
  for (const auto& [text, key] : {std::pair{R"({"limits": {"max_calls": "many"}})", "limits.max_calls"},
                                  std::pair{R"({"http": 8080})", "http"},
                                  std::pair{R"({"projects": {"p1": 5}})", "projects.p1"},
                                  std::pair{R"({"bogus": 1})", "bogus"},
                                  std::pair{R"({"limits": {"max_body_bytes": 1}})", "limits.max_body_bytes"}}) {
    const std::string path = write_temp(text);
    Config c;
    Status s = load_config_file(path, c);
    ASSERT_FALSE(s.ok()) << text;
    EXPECT_NE(s.message().find(std::string(": ") + key), std::string::npos) << s.message();
    std::remove(path.c_str());
  }
  Config c;
  EXPECT_FALSE(load_config_file("/nonexistent/sipmixd.json", c).ok());
  EXPECT_EQ(validate_config(c).message().rfind("--project", 0), 0u);  // no project at all
}

TEST(Config, ProjectErrorsNeverEchoTheSecret) {
  auto p = parse_project("bad id:hunter2", "--project");
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().message().find("hunter2"), std::string::npos);
}

TEST(Log, OneLineWithTheCallIdAndNoSecrets) {
  const std::string line = format_log_fields(LogLevel::kInfo, "dial", "abc-123",
                                             {{"uri", "sip:bob@h"},
                                              {"password", "hunter2"},
                                              {"janus_secret", "s3"},
                                              {"token", "eyJ..."},
                                              {"reason", "bad\r\nforged line"}});
  EXPECT_NE(line.find("call=abc-123"), std::string::npos);
  EXPECT_NE(line.find("uri=sip:bob@h"), std::string::npos);
  for (const char* secret : {"hunter2", "s3", "eyJ"}) EXPECT_EQ(line.find(secret), std::string::npos) << line;
  EXPECT_EQ(line.find('\n'), std::string::npos);
  EXPECT_EQ(line.find('\r'), std::string::npos);
  EXPECT_NE(line.find("reason=\"bad\\x0d\\x0aforged line\""), std::string::npos) << line;
  EXPECT_NE(format_log_fields(LogLevel::kWarn, "ready", "", {}).find("call=-"), std::string::npos);
}

TEST(Ids, UuidsAreVersion4AndDistinct) {
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    const std::string u = new_uuid_v4();
    ASSERT_TRUE(is_uuid(u)) << u;
    EXPECT_EQ(u[14], '4') << u;
    EXPECT_NE(std::string("89ab").find(u[19]), std::string::npos) << u;
    seen.insert(u);
  }
  EXPECT_EQ(seen.size(), 1000u);
  EXPECT_EQ(random_hex(16).size(), 32u);
  EXPECT_FALSE(is_uuid("2b6ad1c4-5bd1-4d4e-9e0b-4f0e8c2bb5a"));
  EXPECT_FALSE(is_uuid("2b6ad1c4x5bd1-4d4e-9e0b-4f0e8c2bb5ad"));
}

TEST(CallStateNames, MatchTheCallbackStates) {
  EXPECT_STREQ(to_string(CallState::kDialing), "DIALING");
  EXPECT_STREQ(to_string(CallState::kRinging), "RINGING");
  EXPECT_STREQ(to_string(CallState::kActive), "ACTIVE");
  EXPECT_STREQ(to_string(CallState::kOnHold), "ON_HOLD");
  EXPECT_STREQ(to_string(CallState::kHangup), "HANGUP");
}

}  // namespace
}  // namespace sipmix::gw
