#include "server/config.h"

#include <fmt/format.h>
#include <toml++/toml.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>

#include "server/byte_size.h"

namespace qmq::server {

namespace {

result<uint64_t> parse_uint(std::string_view text, uint64_t min, uint64_t max) {
    uint64_t v = 0;
    const auto* end = text.data() + text.size();
    const auto [ptr, ec] = std::from_chars(text.data(), end, v);
    if (text.empty() || ec != std::errc{} || ptr != end) {
        return error{0, fmt::format("'{}' is not a whole number", text)};
    }
    if (v < min || v > max) {
        return error{0, fmt::format("{} is out of range {}..{}", v, min, max)};
    }
    return v;
}

result<void> set_memory_watermark(server_config& c, std::string_view text) {
    // A fraction ("0.4") or an absolute size ("2GiB", "1073741824").
    if (text.find('.') != std::string_view::npos) {
        double f = 0;
        const auto* end = text.data() + text.size();
        const auto [ptr, ec] = std::from_chars(text.data(), end, f);
        if (ec != std::errc{} || ptr != end || !(f > 0.0 && f <= 1.0)) {
            return error{0, fmt::format("'{}' is neither a fraction in (0, 1] nor a size", text)};
        }
        c.memory_high_watermark_fraction = f;
        c.memory_high_watermark_bytes = 0;
        return {};
    }
    auto size = parse_byte_size(text);
    if (!size) {
        return size.err();
    }
    if (*size == 0) {
        return error{0, "must be > 0"};
    }
    c.memory_high_watermark_bytes = *size;
    return {};
}

using setter = result<void> (*)(server_config&, std::string_view);

struct option_spec {
    std::string_view name;
    std::string_view value_name;
    std::string_view help;
    setter set;
};

template <typename T>
result<void> set_uint(T& field, std::string_view text, uint64_t min, uint64_t max) {
    auto v = parse_uint(text, min, max);
    if (!v) {
        return v.err();
    }
    field = static_cast<T>(*v);
    return {};
}

result<void> set_endpoint(endpoint& field, std::string_view text) {
    auto e = parse_endpoint(text);
    if (!e) {
        return e.err();
    }
    field = *e;
    return {};
}

const std::vector<option_spec>& options() {
    static const std::vector<option_spec> specs{
        {"node-id", "NAME", "this node's name (default quorummq@<hostname>)",
         [](server_config& c, std::string_view v) -> result<void> {
             if (v.empty()) {
                 return error{0, "must not be empty"};
             }
             c.node_id = std::string(v);
             return {};
         }},
        {"data-dir", "DIR", "data directory, created if missing and locked (default ./data)",
         [](server_config& c, std::string_view v) -> result<void> {
             if (v.empty()) {
                 return error{0, "must not be empty"};
             }
             c.data_dir = std::string(v);
             return {};
         }},
        {"amqp-listen", "HOST:PORT", "AMQP 0-9-1 listener (default 127.0.0.1:5672; port 0: any)",
         [](server_config& c, std::string_view v) { return set_endpoint(c.amqp_listen, v); }},
        {"cluster-listen", "HOST:PORT", "cluster listener: not yet supported (refused)",
         [](server_config& c, std::string_view v) -> result<void> {
             endpoint e;
             auto r = set_endpoint(e, v);
             if (r) {
                 c.cluster_listen = e;
             }
             return r;
         }},
        {"peers", "NAME@HOST:PORT,...", "cluster peers: not yet supported (refused)",
         [](server_config& c, std::string_view v) -> result<void> {
             c.peers.clear();
             std::string_view rest = v;
             while (!rest.empty()) {
                 const auto comma = rest.find(',');
                 const auto peer = rest.substr(0, comma);
                 const auto at = peer.find('@');
                 if (at == std::string_view::npos || at == 0) {
                     return error{0, fmt::format("'{}' is not NAME@HOST:PORT", peer)};
                 }
                 auto e = parse_endpoint(peer.substr(at + 1));
                 if (!e) {
                     return e.err();
                 }
                 c.peers.emplace_back(peer);
                 rest =
                     comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
             }
             return {};
         }},
        {"http-listen", "HOST:PORT",
         "HTTP listener (default 127.0.0.1:15672): accepted, unused for now",
         [](server_config& c, std::string_view v) { return set_endpoint(c.http_listen, v); }},
        {"log-level", "LEVEL", "trace, debug, info, warn, error or off (default info)",
         [](server_config& c, std::string_view v) -> result<void> {
             static constexpr std::string_view levels[] = {"trace", "debug", "info",
                                                           "warn",  "error", "off"};
             if (std::find(std::begin(levels), std::end(levels), v) == std::end(levels)) {
                 return error{0, fmt::format("'{}' is not one of trace, debug, info, warn, "
                                             "error, off",
                                             v)};
             }
             c.log_level = std::string(v);
             return {};
         }},
        {"memory-high-watermark", "FRACTION|SIZE",
         "block publishers above this RSS: fraction of RAM (default 0.4) or size",
         set_memory_watermark},
        {"disk-free-limit", "SIZE",
         "block publishers when the data dir's disk has less free "
         "(default 50MB)",
         [](server_config& c, std::string_view v) -> result<void> {
             auto s = parse_byte_size(v);
             if (!s) {
                 return s.err();
             }
             c.disk_free_limit_bytes = *s;
             return {};
         }},
        {"max-connections", "N", "client connections at once (default 10000)",
         [](server_config& c, std::string_view v) {
             return set_uint(c.connections_max, v, 1, 1'000'000);
         }},
        {"channel-max", "N", "channels per connection offered in tune (default 2047)",
         [](server_config& c, std::string_view v) { return set_uint(c.channel_max, v, 1, 65535); }},
        {"frame-max", "BYTES", "largest frame offered in tune (default 131072)",
         [](server_config& c, std::string_view v) {
             return set_uint(c.frame_max, v, frame_max_min, frame_max_max);
         }},
        {"heartbeat", "SECONDS", "heartbeat interval offered in tune, 0 disables (default 60)",
         [](server_config& c, std::string_view v) { return set_uint(c.heartbeat_s, v, 0, 65535); }},
        {"max-message-size", "SIZE", "largest message body (default 128MiB, at most 512MiB)",
         [](server_config& c, std::string_view v) -> result<void> {
             auto s = parse_byte_size(v);
             if (!s) {
                 return s.err();
             }
             if (*s == 0 || *s > message_size_max_limit) {
                 return error{0,
                              fmt::format("{} is out of range 1..{}", *s, message_size_max_limit)};
             }
             c.message_size_max = *s;
             return {};
         }},
        {"max-consumers-per-channel", "N", "consumers on one channel (default 10000)",
         [](server_config& c, std::string_view v) {
             return set_uint(c.consumers_per_channel_max, v, 1, 1'000'000);
         }},
        {"flow-queue-ready-high", "N",
         "pause a publishing-only connection while a queue it feeds has consumers and more "
         "than N ready messages; resume below N/2; 0 turns it off (default 3000)",
         [](server_config& c, std::string_view v) {
             return set_uint(c.flow_ready_high, v, 0, 1'000'000'000);
         }},
    };
    return specs;
}

const option_spec* find_option(std::string_view name) {
    for (const auto& spec : options()) {
        if (spec.name == name) {
            return &spec;
        }
    }
    return nullptr;
}

std::string normalize_key(std::string_view key) {
    std::string k(key);
    std::replace(k.begin(), k.end(), '_', '-');
    return k;
}

std::string where(std::string_view source, const toml::source_region& region) {
    return fmt::format("{}:{}", source, region.begin.line);
}

// The text form of a scalar TOML value, so flags and keys share one parser.
std::optional<std::string> scalar_text(const toml::node& node) {
    if (auto s = node.as_string()) {
        return s->get();
    }
    if (auto i = node.as_integer()) {
        return std::to_string(i->get());
    }
    if (auto f = node.as_floating_point()) {
        return fmt::format("{}", f->get());
    }
    if (auto b = node.as_boolean()) {
        return b->get() ? "true" : "false";
    }
    if (auto a = node.as_array()) {
        // Only lists of strings (peers) join into one value.
        std::string joined;
        for (const auto& item : *a) {
            auto s = item.as_string();
            if (!s) {
                return std::nullopt;
            }
            joined += (joined.empty() ? "" : ",") + s->get();
        }
        return joined;
    }
    return std::nullopt;
}

result<std::string> table_string(const toml::table& t, std::string_view key,
                                 std::string_view source, bool required) {
    const toml::node* node = t.get(key);
    if (!node) {
        if (required) {
            return error{0, fmt::format("{}: missing key '{}'", where(source, t.source()), key)};
        }
        return std::string{};
    }
    auto s = node->as_string();
    if (!s) {
        return error{0,
                     fmt::format("{}: '{}' must be a string", where(source, node->source()), key)};
    }
    return s->get();
}

result<void> check_keys(const toml::table& t, std::initializer_list<std::string_view> allowed,
                        std::string_view source, std::string_view table_name) {
    for (auto&& [key, node] : t) {
        if (std::find(allowed.begin(), allowed.end(), key.str()) == allowed.end()) {
            return error{0, fmt::format("{}: unknown key '{}' in [[{}]]",
                                        where(source, key.source()), key.str(), table_name)};
        }
    }
    return {};
}

// Calls fn(table) for each table of the array of tables `node`.
template <typename Fn>
result<void> each_table(const toml::node& node, std::string_view key, std::string_view source,
                        Fn&& fn) {
    auto array = node.as_array();
    if (!array) {
        return error{0, fmt::format("{}: '{}' must be an array of tables ([[{}]])",
                                    where(source, node.source()), key, key)};
    }
    for (const auto& item : *array) {
        auto table = item.as_table();
        if (!table) {
            return error{0, fmt::format("{}: each '{}' entry must be a table",
                                        where(source, item.source()), key)};
        }
        auto r = fn(*table);
        if (!r) {
            return r;
        }
    }
    return {};
}

result<void> apply_users(server_config& c, const toml::node& node, std::string_view source) {
    return each_table(node, "users", source, [&](const toml::table& t) -> result<void> {
        if (auto r = check_keys(t, {"name", "password_hash", "password", "tags"}, source, "users");
            !r) {
            return r;
        }
        user_entry u;
        auto name = table_string(t, "name", source, true);
        if (!name) {
            return name.err();
        }
        u.name = *name;
        auto hash = table_string(t, "password_hash", source, false);
        if (!hash) {
            return hash.err();
        }
        u.password_hash = *hash;
        if (t.contains("password")) {
            auto pw = table_string(t, "password", source, true);
            if (!pw) {
                return pw.err();
            }
            u.password = *pw;
        }
        if (u.password_hash.empty() == !u.password.has_value()) {
            return error{0, fmt::format("{}: user '{}' needs exactly one of password_hash or "
                                        "password",
                                        where(source, t.source()), u.name)};
        }
        if (const toml::node* tags = t.get("tags")) {
            auto list = tags->as_array();
            bool ok = list != nullptr;
            if (ok) {
                for (const auto& tag : *list) {
                    if (auto s = tag.as_string()) {
                        u.tags.push_back(s->get());
                    } else {
                        ok = false;
                    }
                }
            }
            if (!ok) {
                return error{0, fmt::format("{}: 'tags' must be a list of strings",
                                            where(source, tags->source()))};
            }
        }
        c.users.push_back(std::move(u));
        return {};
    });
}

result<void> apply_vhosts(server_config& c, const toml::node& node, std::string_view source) {
    return each_table(node, "vhosts", source, [&](const toml::table& t) -> result<void> {
        if (auto r = check_keys(t, {"name"}, source, "vhosts"); !r) {
            return r;
        }
        auto name = table_string(t, "name", source, true);
        if (!name) {
            return name.err();
        }
        c.vhosts.push_back(*name);
        return {};
    });
}

result<void> apply_permissions(server_config& c, const toml::node& node, std::string_view source) {
    return each_table(node, "permissions", source, [&](const toml::table& t) -> result<void> {
        if (auto r = check_keys(t, {"user", "vhost", "configure", "write", "read"}, source,
                                "permissions");
            !r) {
            return r;
        }
        permission_entry p;
        for (auto [key, field, required] :
             {std::tuple{"user", &p.user, true}, std::tuple{"vhost", &p.vhost, true},
              std::tuple{"configure", &p.configure, false}, std::tuple{"write", &p.write, false},
              std::tuple{"read", &p.read, false}}) {
            auto v = table_string(t, key, source, required);
            if (!v) {
                return v.err();
            }
            if (t.contains(key)) {
                *field = *v;
            }
        }
        c.permissions.push_back(std::move(p));
        return {};
    });
}

}  // namespace

std::vector<std::string_view> option_names() {
    std::vector<std::string_view> names;
    for (const auto& spec : options()) {
        names.push_back(spec.name);
    }
    return names;
}

result<void> apply_option(server_config& config, std::string_view name, std::string_view value) {
    const option_spec* spec = find_option(name);
    if (!spec) {
        return error{0, fmt::format("unknown option '{}'", name)};
    }
    return spec->set(config, value);
}

result<void> apply_toml(server_config& config, std::string_view text, std::string_view source) {
    toml::table root;
    try {
        root = toml::parse(text, source);
    } catch (const toml::parse_error& e) {
        return error{0, fmt::format("{}: {}", where(source, e.source()), e.description())};
    }
    for (auto&& [key, node] : root) {
        const std::string name = normalize_key(key.str());
        result<void> r;
        if (name == "users") {
            r = apply_users(config, node, source);
        } else if (name == "vhosts") {
            r = apply_vhosts(config, node, source);
        } else if (name == "permissions") {
            r = apply_permissions(config, node, source);
        } else if (name == "config") {
            r = error{0, fmt::format("{}: 'config' is a flag only; a config file cannot name "
                                     "another",
                                     where(source, key.source()))};
        } else if (const option_spec* spec = find_option(name)) {
            auto text_value = scalar_text(node);
            if (!text_value) {
                r = error{0, fmt::format("{}: '{}' must be a string or a number",
                                         where(source, key.source()), key.str())};
            } else if (auto set = spec->set(config, *text_value); !set) {
                r = error{0, fmt::format("{}: {}: {}", where(source, key.source()), key.str(),
                                         set.err().message)};
            }
        } else {
            r = error{0,
                      fmt::format("{}: unknown key '{}'", where(source, key.source()), key.str())};
        }
        if (!r) {
            return r;
        }
    }
    return {};
}

result<void> check_supported(const server_config& config) {
    if (config.cluster_listen) {
        return error{0, "--cluster-listen is not yet supported: this version runs a single node"};
    }
    if (!config.peers.empty()) {
        return error{0, "--peers is not yet supported: this version runs a single node"};
    }
    return {};
}

result<load_outcome> load_config(int argc, const char* const* argv) {
    CLI::App app{"QuorumMQ: an AMQP 0-9-1 message broker", "quorummq-server"};
    app.set_version_flag("--version", "quorummq-server 0.1.0");
    app.get_formatter()->column_width(36);
    std::string config_file;
    app.add_option("--config", config_file, "TOML file; every flag is also a key (flags win)")
        ->option_text("FILE");
    std::vector<std::string> values(options().size());
    std::vector<CLI::Option*> cli_options;
    for (std::size_t i = 0; i < options().size(); ++i) {
        const auto& spec = options()[i];
        auto* opt =
            app.add_option(fmt::format("--{}", spec.name), values[i], std::string(spec.help));
        opt->option_text(std::string(spec.value_name));
        cli_options.push_back(opt);
    }
    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp&) {
        std::cout << app.help();
        return load_outcome{};
    } catch (const CLI::CallForVersion&) {
        std::cout << "quorummq-server 0.1.0\n";
        return load_outcome{};
    } catch (const CLI::ParseError& e) {
        return error{2, fmt::format("bad command line: {} (see --help)", e.what())};
    }

    server_config config;
    if (!config_file.empty()) {
        std::ifstream in(config_file);
        if (!in) {
            return error{2, fmt::format("cannot read config file '{}': {}", config_file,
                                        std::strerror(errno))};
        }
        std::stringstream text;
        text << in.rdbuf();
        config.config_file = config_file;
        if (auto r = apply_toml(config, text.str(), config_file); !r) {
            return error{2, fmt::format("bad config file: {}", r.err().message)};
        }
    }
    for (std::size_t i = 0; i < options().size(); ++i) {
        if (cli_options[i]->count() == 0) {
            continue;
        }
        if (auto r = options()[i].set(config, values[i]); !r) {
            return error{2, fmt::format("bad --{}: {}", options()[i].name, r.err().message)};
        }
    }
    return load_outcome{std::move(config), 0};
}

}  // namespace qmq::server
