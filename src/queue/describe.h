#pragma once

// One-line human-readable descriptions of commands, effects and replies, for
// logs at the edges and for test failure messages. Not a wire format.

#include <string>
#include <vector>

#include "queue/commands.h"
#include "queue/effects.h"

namespace qmq::queue {

std::string describe(const command& c);
std::string describe(const effect& e);
std::string describe(const reply& r);
std::string describe(const std::vector<effect>& effects);

}  // namespace qmq::queue
