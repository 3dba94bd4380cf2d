#include "server/broker_config.h"

#include <algorithm>
#include <random>

#include "broker/password.h"

namespace qmq::server {

broker::config make_broker_config(const server_config& config) {
    broker::config out = config.users.empty() ? broker::config::defaults() : broker::config{};
    if (!config.users.empty()) {
        std::random_device os_random;
        for (const auto& u : config.users) {
            broker::user_config user{u.name, u.password_hash, u.tags};
            if (u.password) {
                broker::password_salt salt{};
                for (auto& b : salt) {
                    b = static_cast<uint8_t>(os_random());
                }
                user.password_hash = broker::hash_password(*u.password, salt);
            }
            out.users.push_back(std::move(user));
        }
    }
    for (const auto& v : config.vhosts) {
        if (std::find(out.vhosts.begin(), out.vhosts.end(), v) == out.vhosts.end()) {
            out.vhosts.push_back(v);
        }
    }
    if (out.vhosts.empty()) {
        out.vhosts.push_back("/");
    }
    for (const auto& p : config.permissions) {
        out.permissions.push_back({p.user, p.vhost, p.configure, p.write, p.read});
    }
    out.limits.message_size_max = config.message_size_max;
    out.limits.consumers_per_channel_max = config.consumers_per_channel_max;
    return out;
}

}  // namespace qmq::server
