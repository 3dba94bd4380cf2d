#pragma once

// Turns the access part of the server's config (users, vhosts, permissions,
// limits) into the broker's config: plain-text passwords are hashed here,
// with a salt from the OS, so they never reach the broker.

#include "broker/config.h"
#include "server/config.h"

namespace qmq::server {

broker::config make_broker_config(const server_config& config);

}  // namespace qmq::server
