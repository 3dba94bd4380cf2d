// Scripted scenarios (etcd-raft's testdata style): each file in testdata/
// lists commands, each followed by the reply and effects it must produce, in
// the words of describe(). Lines:
//
//   # comment
//   config max_length=2 dead_letter=at_most_once ...   (first, optional)
//   at 1500                                            (leader time from now on)
//   > checkout consumer=1 owner=1 prefetch=2            (a command)
//   ok                                                  (its reply)
//   deliver consumer=1 ref=2 count=0                    (its effects, in order)
//
// Commands are written as describe() prints them; omitted fields take their
// defaults. A mismatch prints the whole actual transcript.

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <string>

#include "queue/describe.h"
#include "queue/machine.h"

namespace qmq::queue {
namespace {

using fields = std::map<std::string, std::string>;

fields parse_fields(const std::string& text, std::string& verb, std::vector<std::string>& flags) {
    static const std::regex token(R"((\w+)=(\[[^\]]*\]|\S+)|(\w+))");
    fields f;
    bool first = true;
    for (auto it = std::sregex_iterator(text.begin(), text.end(), token);
         it != std::sregex_iterator(); ++it) {
        const auto& m = *it;
        if (m[3].matched) {
            if (first) {
                verb = m[3];
            } else {
                flags.push_back(m[3]);
            }
        } else {
            f[m[1]] = m[2];
        }
        first = false;
    }
    return f;
}

uint64_t num(const fields& f, const std::string& key, uint64_t dflt = 0) {
    auto it = f.find(key);
    return it == f.end() ? dflt : std::stoull(it->second);
}

std::vector<message_ref> refs_of(const fields& f) {
    std::vector<message_ref> refs;
    auto it = f.find("refs");
    if (it == f.end()) {
        return refs;
    }
    std::istringstream in(it->second.substr(1, it->second.size() - 2));
    uint64_t r = 0;
    while (in >> r) {
        refs.push_back(message_ref(r));
    }
    return refs;
}

bool has(const std::vector<std::string>& flags, const std::string& flag) {
    return std::find(flags.begin(), flags.end(), flag) != flags.end();
}

command parse_command(const std::string& line) {
    std::string verb;
    std::vector<std::string> flags;
    fields f = parse_fields(line, verb, flags);
    consumer_id c(num(f, "consumer"));
    if (verb == "enqueue") {
        std::optional<uint64_t> exp;
        if (f.contains("expiration"))
            exp = num(f, "expiration");
        return enqueue{owner_id(num(f, "publisher")),
                       num(f, "seq"),
                       num(f, "key"),
                       static_cast<uint32_t>(num(f, "size")),
                       static_cast<uint8_t>(num(f, "priority")),
                       exp};
    }
    if (verb == "checkout") {
        return checkout{
            c, owner_id(num(f, "owner")), static_cast<uint32_t>(num(f, "prefetch")),
            static_cast<int32_t>(std::stoll(f.contains("priority") ? f["priority"] : "0")),
            has(flags, "exclusive")};
    }
    if (verb == "cancel")
        return cancel{c};
    if (verb == "settle")
        return settle{c, refs_of(f)};
    if (verb == "return")
        return return_messages{c, refs_of(f)};
    if (verb == "discard")
        return discard{c, refs_of(f)};
    if (verb == "credit")
        return credit{c, static_cast<uint32_t>(num(f, "prefetch"))};
    if (verb == "dequeue")
        return dequeue{c, owner_id(num(f, "owner")), has(flags, "no_ack")};
    if (verb == "purge")
        return purge{};
    if (verb == "tick")
        return tick{};
    if (verb == "down") {
        return down{owner_id(num(f, "owner")),
                    has(flags, "unreachable") ? down_kind::unreachable : down_kind::closed};
    }
    if (verb == "up")
        return up{owner_id(num(f, "owner"))};
    if (verb == "delete")
        return delete_queue{has(flags, "if_unused"), has(flags, "if_empty")};
    if (verb == "touch")
        return touch{};
    if (verb == "dlx_settle")
        return dlx_settle{refs_of(f)};
    ADD_FAILURE() << "unknown command: " << line;
    return tick{};
}

queue_config parse_config(const std::string& line) {
    std::string verb;
    std::vector<std::string> flags;
    fields f = parse_fields(line, verb, flags);
    queue_config cfg;
    for (const auto& [k, v] : f) {
        if (k == "max_length")
            cfg.max_length = std::stoull(v);
        else if (k == "max_length_bytes")
            cfg.max_length_bytes = std::stoull(v);
        else if (k == "overflow") {
            cfg.overflow = v == "reject_publish"       ? overflow_policy::reject_publish
                           : v == "reject_publish_dlx" ? overflow_policy::reject_publish_dlx
                                                       : overflow_policy::drop_head;
        } else if (k == "message_ttl")
            cfg.message_ttl_ms = std::stoull(v);
        else if (k == "expires")
            cfg.expires_ms = std::stoull(v);
        else if (k == "delivery_limit")
            cfg.delivery_limit = static_cast<uint32_t>(std::stoul(v));
        else if (k == "dead_letter") {
            cfg.dead_letter = v == "at_least_once"  ? dead_letter_strategy::at_least_once
                              : v == "at_most_once" ? dead_letter_strategy::at_most_once
                                                    : dead_letter_strategy::none;
        } else if (k == "max_priority")
            cfg.max_priority = static_cast<uint8_t>(std::stoul(v));
        else if (k == "dedup_window")
            cfg.dedup_window_ms = std::stoull(v);
        else if (k == "dlx_in_flight_max")
            cfg.dlx_in_flight_max = static_cast<uint32_t>(std::stoul(v));
        else
            ADD_FAILURE() << "unknown config key: " << k;
    }
    cfg.single_active_consumer = has(flags, "single_active_consumer");
    return cfg;
}

// Runs a script; returns the transcript it produces (same format as the file).
std::string run_script(const std::string& text) {
    std::istringstream in(text);
    std::ostringstream out;
    std::string line;
    std::optional<queue_state> state;
    uint64_t index = 0, now_ms = 1'000;
    while (std::getline(in, line)) {
        if (line.rfind("config", 0) == 0) {
            state.emplace(parse_config(line), now_ms);
            out << line << '\n';
        } else if (line.rfind("at ", 0) == 0) {
            now_ms = std::stoull(line.substr(3));
            out << line << '\n';
        } else if (line.rfind("> ", 0) == 0) {
            if (!state)
                state.emplace(queue_config{}, now_ms);
            command cmd = parse_command(line.substr(2));
            auto r = apply(meta{log_index(++index), 1, now_ms}, cmd, *state);
            out << "> " << describe(cmd) << '\n' << describe(r.r) << '\n';
            for (const auto& e : r.effects)
                out << describe(e) << '\n';
        } else if (line.empty() || line[0] == '#') {
            out << line << '\n';
        }
        // Other lines are expected output: regenerated above.
    }
    return out.str();
}

TEST(QueueScripts, EveryScriptProducesItsTranscript) {
    auto dir = std::filesystem::path(__FILE__).parent_path() / "testdata";
    ASSERT_TRUE(std::filesystem::is_directory(dir)) << dir;
    int scripts = 0;
    for (const auto& entry : std::filesystem::directory_iterator(dir)) {
        if (entry.path().extension() != ".txt")
            continue;
        std::ifstream f(entry.path());
        std::stringstream buf;
        buf << f.rdbuf();
        std::string expected = buf.str();
        std::string actual = run_script(expected);
        EXPECT_EQ(actual, expected) << entry.path().filename() << " produced:\n" << actual;
        scripts++;
    }
    EXPECT_GE(scripts, 3);
}

}  // namespace
}  // namespace qmq::queue
