#include "server/config.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <map>

#include "server/byte_size.h"
#include "server/endpoint.h"

namespace qmq::server {
namespace {

TEST(Endpoint, ParsesHostAndPort) {
    auto e = parse_endpoint("127.0.0.1:5672");
    ASSERT_TRUE(e.ok());
    EXPECT_EQ(e->host, "127.0.0.1");
    EXPECT_EQ(e->port, 5672);
    EXPECT_EQ(e->to_string(), "127.0.0.1:5672");
}

TEST(Endpoint, ParsesBracketedIpv6) {
    auto e = parse_endpoint("[::1]:0");
    ASSERT_TRUE(e.ok());
    EXPECT_EQ(e->host, "::1");
    EXPECT_EQ(e->port, 0);
    EXPECT_EQ(e->to_string(), "[::1]:0");
}

TEST(Endpoint, RefusesMalformed) {
    for (const char* bad :
         {"localhost", "localhost:", ":5672", "host:65536", "host:12x", "::1:5", "host:-1"}) {
        auto e = parse_endpoint(bad);
        EXPECT_FALSE(e.ok()) << bad;
        if (!e.ok()) {
            EXPECT_NE(e.err().message.find(bad), std::string::npos) << e.err().message;
        }
    }
}

TEST(ByteSize, Units) {
    EXPECT_EQ(*parse_byte_size("1048576"), 1048576u);
    EXPECT_EQ(*parse_byte_size("50MB"), 50'000'000u);
    EXPECT_EQ(*parse_byte_size("2GiB"), 2ull << 30);
    EXPECT_EQ(*parse_byte_size("128 MiB"), 128ull << 20);
    EXPECT_EQ(*parse_byte_size("3kB"), 3000u);
    EXPECT_FALSE(parse_byte_size("MB").ok());
    EXPECT_FALSE(parse_byte_size("5 parsecs").ok());
    EXPECT_FALSE(parse_byte_size("99999999999999999999").ok());
    EXPECT_FALSE(parse_byte_size("20000000TiB").ok());
}

TEST(Config, DefaultsFollowTheContract) {
    const char* argv[] = {"quorummq-server"};
    auto out = load_config(1, argv);
    ASSERT_TRUE(out.ok());
    ASSERT_TRUE(out->config.has_value());
    const auto& c = *out->config;
    EXPECT_EQ(c.data_dir, "./data");
    EXPECT_EQ(c.amqp_listen.to_string(), "127.0.0.1:5672");
    EXPECT_EQ(c.http_listen.to_string(), "127.0.0.1:15672");
    EXPECT_EQ(c.log_level, "info");
    EXPECT_EQ(c.message_size_max, 128ull << 20);
    EXPECT_EQ(c.channel_max, 2047);
    EXPECT_EQ(c.frame_max, 131072u);
    EXPECT_TRUE(check_supported(c).ok());
}

TEST(Config, FlagsParse) {
    const char* argv[] = {"quorummq-server",
                          "--data-dir",
                          "/tmp/x",
                          "--amqp-listen",
                          "0.0.0.0:5673",
                          "--node-id",
                          "n1",
                          "--heartbeat",
                          "5",
                          "--log-level",
                          "debug",
                          "--disk-free-limit",
                          "1GB",
                          "--memory-high-watermark",
                          "0.5"};
    auto out = load_config(static_cast<int>(std::size(argv)), argv);
    ASSERT_TRUE(out.ok()) << out.err().message;
    const auto& c = *out->config;
    EXPECT_EQ(c.data_dir, "/tmp/x");
    EXPECT_EQ(c.amqp_listen.port, 5673);
    EXPECT_EQ(c.node_id, "n1");
    EXPECT_EQ(c.heartbeat_s, 5);
    EXPECT_EQ(c.log_level, "debug");
    EXPECT_EQ(c.disk_free_limit_bytes, 1'000'000'000u);
    EXPECT_DOUBLE_EQ(c.memory_high_watermark_fraction, 0.5);
    EXPECT_EQ(c.memory_high_watermark_bytes, 0u);
}

TEST(Config, BadFlagSaysWhich) {
    const char* argv[] = {"quorummq-server", "--amqp-listen", "nonsense"};
    auto out = load_config(3, argv);
    ASSERT_FALSE(out.ok());
    EXPECT_NE(out.err().message.find("--amqp-listen"), std::string::npos) << out.err().message;
    EXPECT_NE(out.err().message.find("nonsense"), std::string::npos);
    EXPECT_EQ(out.err().message.find('\n'), std::string::npos) << "one line";

    const char* argv2[] = {"quorummq-server", "--no-such-flag"};
    auto out2 = load_config(2, argv2);
    ASSERT_FALSE(out2.ok());
    EXPECT_NE(out2.err().message.find("no-such-flag"), std::string::npos) << out2.err().message;

    const char* argv3[] = {"quorummq-server", "--frame-max", "100"};
    auto out3 = load_config(3, argv3);
    ASSERT_FALSE(out3.ok());
    EXPECT_NE(out3.err().message.find("--frame-max"), std::string::npos);
}

TEST(Config, HelpExitsZeroWithoutConfig) {
    const char* argv[] = {"quorummq-server", "--help"};
    testing::internal::CaptureStdout();
    auto out = load_config(2, argv);
    const std::string help = testing::internal::GetCapturedStdout();
    ASSERT_TRUE(out.ok());
    EXPECT_FALSE(out->config.has_value());
    EXPECT_EQ(out->exit_code, 0);
    for (auto name : option_names()) {
        EXPECT_NE(help.find(std::string("--") + std::string(name)), std::string::npos) << name;
    }
    EXPECT_NE(help.find("unused for now"), std::string::npos);
}

TEST(Config, TomlKeysMatchFlags) {
    server_config c;
    auto r = apply_toml(c, R"(
data-dir = "/var/lib/qmq"
amqp_listen = "127.0.0.1:0"
heartbeat = 3
max-message-size = "1MiB"
memory-high-watermark = "512MiB"
disk-free-limit = 1000
max-connections = 7
channel-max = 16
)",
                        "test.toml");
    ASSERT_TRUE(r.ok()) << r.err().message;
    EXPECT_EQ(c.data_dir, "/var/lib/qmq");
    EXPECT_EQ(c.amqp_listen.port, 0);
    EXPECT_EQ(c.heartbeat_s, 3);
    EXPECT_EQ(c.message_size_max, 1u << 20);
    EXPECT_EQ(c.memory_high_watermark_bytes, 512u << 20);
    EXPECT_EQ(c.disk_free_limit_bytes, 1000u);
    EXPECT_EQ(c.connections_max, 7u);
    EXPECT_EQ(c.channel_max, 16);
}

TEST(Config, EveryFlagIsAKey) {
    // A value each option accepts; the test fails if a flag is added without one.
    const std::map<std::string_view, std::string> sample{
        {"node-id", "\"n\""},
        {"data-dir", "\"d\""},
        {"amqp-listen", "\"h:1\""},
        {"cluster-listen", "\"h:2\""},
        {"peers", "[\"a@h:3\"]"},
        {"http-listen", "\"h:4\""},
        {"log-level", "\"warn\""},
        {"memory-high-watermark", "0.3"},
        {"disk-free-limit", "\"1GB\""},
        {"max-connections", "5"},
        {"channel-max", "5"},
        {"frame-max", "8192"},
        {"heartbeat", "0"},
        {"max-message-size", "100"},
        {"max-consumers-per-channel", "3"},
        {"flow-queue-ready-high", "500"},
    };
    for (auto name : option_names()) {
        auto it = sample.find(name);
        ASSERT_NE(it, sample.end()) << name;
        server_config c;
        auto r = apply_toml(c, std::string(name) + " = " + it->second + "\n", "k.toml");
        EXPECT_TRUE(r.ok()) << name << ": " << r.err().message;
    }
}

TEST(Config, UnknownKeyNamesItsLine) {
    server_config c;
    auto r = apply_toml(c, "data-dir = \"x\"\n\nheartbeet = 5\n", "my.toml");
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.err().message, "my.toml:3: unknown key 'heartbeet'");
}

TEST(Config, BadValueNamesLineAndKey) {
    server_config c;
    auto r = apply_toml(c, "\namqp-listen = \"nope\"\n", "my.toml");
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.err().message.find("my.toml:2: amqp-listen:"), std::string::npos)
        << r.err().message;
    auto r2 = apply_toml(c, "heartbeat = { a = 1 }\n", "my.toml");
    ASSERT_FALSE(r2.ok());
    EXPECT_NE(r2.err().message.find("my.toml:1"), std::string::npos) << r2.err().message;
}

TEST(Config, SyntaxErrorNamesLine) {
    server_config c;
    auto r = apply_toml(c, "a = 1\nb = = 2\n", "syn.toml");
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.err().message.rfind("syn.toml:2:", 0), 0u) << r.err().message;
}

TEST(Config, UsersVhostsPermissions) {
    server_config c;
    auto r = apply_toml(c, R"(
[[users]]
name = "alice"
password = "secret"
tags = ["administrator"]

[[users]]
name = "bob"
password_hash = "kI3GCqW5JLMJa4iX1lo7X4D6XbYqlLgxIs30+P6tENUV2POR"

[[vhosts]]
name = "/prod"

[[permissions]]
user = "alice"
vhost = "/prod"
write = "^amq\\.gen"
)",
                        "acl.toml");
    ASSERT_TRUE(r.ok()) << r.err().message;
    ASSERT_EQ(c.users.size(), 2u);
    EXPECT_EQ(c.users[0].name, "alice");
    EXPECT_EQ(c.users[0].password, "secret");
    EXPECT_EQ(c.users[0].tags, std::vector<std::string>{"administrator"});
    EXPECT_EQ(c.users[1].password_hash, "kI3GCqW5JLMJa4iX1lo7X4D6XbYqlLgxIs30+P6tENUV2POR");
    ASSERT_EQ(c.vhosts.size(), 1u);
    EXPECT_EQ(c.vhosts[0], "/prod");
    ASSERT_EQ(c.permissions.size(), 1u);
    EXPECT_EQ(c.permissions[0].write, "^amq\\.gen");
    EXPECT_EQ(c.permissions[0].read, ".*");
}

TEST(Config, UserNeedsExactlyOnePassword) {
    server_config c;
    auto r = apply_toml(c, "[[users]]\nname = \"x\"\n", "u.toml");
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.err().message.find("exactly one"), std::string::npos);
    auto r2 = apply_toml(c, "[[users]]\nname = \"x\"\npassword = \"a\"\nrole = \"b\"\n", "u.toml");
    ASSERT_FALSE(r2.ok());
    EXPECT_NE(r2.err().message.find("u.toml:4: unknown key 'role'"), std::string::npos)
        << r2.err().message;
}

TEST(Config, ClusterFlagsAreRefused) {
    server_config c;
    ASSERT_TRUE(apply_option(c, "peers", "b@10.0.0.2:25672,c@10.0.0.3:25672").ok());
    EXPECT_EQ(c.peers.size(), 2u);
    auto r = check_supported(c);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.err().message.find("not yet supported"), std::string::npos);
    EXPECT_FALSE(apply_option(c, "peers", "nohost").ok());
}

TEST(Config, FlagWinsOverFile) {
    char path[] = "/tmp/qmq-config-test-XXXXXX";
    int fd = mkstemp(path);
    ASSERT_GE(fd, 0);
    const std::string body = "data-dir = \"/from/file\"\nheartbeat = 9\n";
    ASSERT_EQ(write(fd, body.data(), body.size()), static_cast<ssize_t>(body.size()));
    close(fd);
    const char* argv[] = {"quorummq-server", "--config", path, "--data-dir", "/from/flag"};
    auto out = load_config(5, argv);
    unlink(path);
    ASSERT_TRUE(out.ok()) << out.err().message;
    EXPECT_EQ(out->config->data_dir, "/from/flag");
    EXPECT_EQ(out->config->heartbeat_s, 9);
    EXPECT_EQ(out->config->config_file, path);
}

TEST(Config, MissingFileIsOneLine) {
    const char* argv[] = {"quorummq-server", "--config", "/nonexistent/q.toml"};
    auto out = load_config(3, argv);
    ASSERT_FALSE(out.ok());
    EXPECT_NE(out.err().message.find("/nonexistent/q.toml"), std::string::npos);
}

}  // namespace
}  // namespace qmq::server
