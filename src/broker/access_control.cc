#include "broker/access_control.h"

#include <algorithm>

#include "broker/password.h"

namespace qmq::broker {
namespace {

constexpr uint16_t access_refused = 403;
constexpr uint16_t not_allowed = 530;

// RabbitMQ treats an empty permission as "^$": it grants nothing except
// the empty name.
// A malformed regex (the config is validated by the server, but be safe)
// grants nothing rather than throwing at a login.
std::regex compile_regex(const std::string& re) {
    try {
        return std::regex(re.empty() ? std::string("^$") : re, std::regex::ECMAScript);
    } catch (const std::regex_error&) {
        return std::regex("[^\\s\\S]");
    }
}

const char* permission_name(permission p) {
    switch (p) {
        case permission::configure:
            return "configure";
        case permission::write:
            return "write";
        case permission::read:
            return "read";
    }
    return "?";
}

}  // namespace

bool access_control::compiled_regex::granted(std::string_view resource) const {
    if (match_all) {
        return true;
    }
    if (auto it = cache.find(resource); it != cache.end()) {
        return it->second;
    }
    std::string name(resource);
    const bool ok = std::regex_search(name, re);
    if (cache.size() >= decision_cache_max) {
        cache.clear();
    }
    cache.emplace(std::move(name), ok);
    return ok;
}

access_control::compiled_regex access_control::compile(const std::string& re) {
    compiled_regex c;
    c.re = compile_regex(re);
    c.match_all = re == ".*";
    return c;
}

config config::defaults() {
    config c;
    c.vhosts.push_back("/");
    // Fixed salt: the default user's password is public anyway.
    c.users.push_back(
        {"guest", hash_password("guest", {0x90, 0x8d, 0xc6, 0x0a}), {"administrator"}});
    c.permissions.push_back({"guest", "/", ".*", ".*", ".*"});
    return c;
}

access_control::access_control(const config& cfg) {
    for (const auto& v : cfg.vhosts) {
        if (_vhosts.insert(v).second) {
            _vhost_list.push_back(v);
        }
    }
    for (const auto& u : cfg.users) {
        auto& e = _users[u.name];
        e.password_hash = u.password_hash;
        e.loopback_only = std::find(cfg.loopback_users.begin(), cfg.loopback_users.end(), u.name) !=
                          cfg.loopback_users.end();
    }
    for (const auto& p : cfg.permissions) {
        auto it = _users.find(p.user);
        if (it == _users.end()) {
            continue;
        }
        auto compiled = std::make_shared<compiled_permissions>(
            compiled_permissions{compile(p.configure), compile(p.write), compile(p.read)});
        it->second.perms[p.vhost] = std::move(compiled);
    }
}

access_decision access_control::login(std::string_view user, std::string_view password,
                                      bool peer_is_loopback) const {
    auto it = _users.find(std::string(user));
    if (it == _users.end() || !check_password(password, it->second.password_hash)) {
        return access_decision::refuse(
            access_refused,
            "ACCESS_REFUSED - Login was refused using authentication mechanism "
            "PLAIN. For details see the broker logfile.");
    }
    if (it->second.loopback_only && !peer_is_loopback) {
        return access_decision::refuse(
            access_refused,
            "ACCESS_REFUSED - user '" + std::string(user) + "' can only connect via localhost");
    }
    return access_decision::ok();
}

bool access_control::vhost_exists(std::string_view vhost) const {
    return _vhosts.contains(std::string(vhost));
}

const access_control::compiled_permissions* access_control::find_perms(
    std::string_view user, std::string_view vhost) const {
    auto u = _users.find(std::string(user));
    if (u == _users.end()) {
        return nullptr;
    }
    auto p = u->second.perms.find(std::string(vhost));
    return p == u->second.perms.end() ? nullptr : p->second.get();
}

access_decision access_control::open_vhost(std::string_view user, std::string_view vhost) const {
    if (!vhost_exists(vhost)) {
        return access_decision::refuse(not_allowed,
                                       "NOT_ALLOWED - vhost " + std::string(vhost) + " not found");
    }
    if (find_perms(user, vhost) == nullptr) {
        return access_decision::refuse(not_allowed,
                                       "NOT_ALLOWED - access to vhost '" + std::string(vhost) +
                                           "' refused for user '" + std::string(user) + "'");
    }
    return access_decision::ok();
}

access_decision access_control::check(std::string_view user, std::string_view vhost,
                                      permission perm, resource_kind kind,
                                      std::string_view name) const {
    const std::string_view resource =
        (kind == resource_kind::exchange && name.empty()) ? std::string_view("amq.default") : name;
    const compiled_permissions* p = find_perms(user, vhost);
    if (p != nullptr) {
        const compiled_regex& re = perm == permission::configure ? p->configure
                                   : perm == permission::write   ? p->write
                                                                 : p->read;
        if (re.granted(resource)) {
            return access_decision::ok();
        }
    }
    return access_decision::refuse(
        access_refused, std::string("ACCESS_REFUSED - ") + permission_name(perm) + " access to " +
                            (kind == resource_kind::exchange ? "exchange" : "queue") + " '" +
                            std::string(resource) + "' in vhost '" + std::string(vhost) +
                            "' refused for user '" + std::string(user) + "'");
}

}  // namespace qmq::broker
