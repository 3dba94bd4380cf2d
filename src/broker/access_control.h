#pragma once

// Who may log in, open which vhost, and touch which resources: users with
// salted hashes, per-vhost configure/write/read regexes, loopback-only users.
// Answers are data (allowed, or the reply code and text RabbitMQ would send).

#include <cstdint>
#include <memory>
#include <optional>
#include <regex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

#include "broker/config.h"

namespace qmq::broker {

enum class permission { configure, write, read };

enum class resource_kind { exchange, queue };

struct access_decision {
    bool allowed = true;
    uint16_t reply_code = 0;  // 403 ACCESS_REFUSED or 530 NOT_ALLOWED when refused
    std::string text;

    static access_decision ok() { return {}; }
    static access_decision refuse(uint16_t code, std::string text) {
        return {false, code, std::move(text)};
    }
};

class access_control {
  public:
    explicit access_control(const config& cfg);

    // PLAIN/AMQPLAIN login. Refusals are 403 ACCESS_REFUSED, worded like
    // RabbitMQ's (the client only learns that the login failed).
    access_decision login(std::string_view user, std::string_view password,
                          bool peer_is_loopback) const;

    // connection.open: 530 NOT_ALLOWED for an unknown vhost or one the user
    // holds no permissions on (RabbitMQ answers both with 530).
    access_decision open_vhost(std::string_view user, std::string_view vhost) const;

    // A resource check; the default exchange "" is checked as "amq.default".
    access_decision check(std::string_view user, std::string_view vhost, permission perm,
                          resource_kind kind, std::string_view name) const;

    bool vhost_exists(std::string_view vhost) const;
    const std::vector<std::string>& vhosts() const { return _vhost_list; }

  private:
    // Names checked per permission set before the cache starts over: the
    // set of exchanges and queues a user touches is small in practice.
    static constexpr std::size_t decision_cache_max = 4096;

    struct name_hash {
        using is_transparent = void;
        std::size_t operator()(std::string_view s) const {
            return std::hash<std::string_view>{}(s);
        }
    };
    // One of configure/write/read. Permissions are fixed for the broker's
    // lifetime (from the config), so a decision per name never goes stale:
    // basic.publish checks write on every message, and std::regex is slow.
    struct compiled_regex {
        std::regex re;
        bool match_all = false;  // ".*": no need to match at all
        mutable std::unordered_map<std::string, bool, name_hash, std::equal_to<>> cache;
        bool granted(std::string_view resource) const;
    };
    struct compiled_permissions {
        compiled_regex configure, write, read;
    };
    static compiled_regex compile(const std::string& re);
    struct user_entry {
        std::string password_hash;
        bool loopback_only = false;
        // vhost -> permissions
        std::unordered_map<std::string, std::shared_ptr<compiled_permissions>> perms;
    };

    const compiled_permissions* find_perms(std::string_view user, std::string_view vhost) const;

    std::unordered_map<std::string, user_entry> _users;
    std::unordered_set<std::string> _vhosts;
    std::vector<std::string> _vhost_list;
};

}  // namespace qmq::broker
