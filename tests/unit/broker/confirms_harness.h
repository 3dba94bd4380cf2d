#pragma once

// Publisher confirms as a client sees them: every basic.ack/basic.nack a
// recorder holds, expanded (multiple=true covers every tag up to it not
// confirmed before), so tests count tags rather than frames.

#include <gtest/gtest.h>

#include <cstdint>
#include <map>
#include <variant>

#include "harness.h"

namespace qmq::broker::testing {

struct confirmed_tags {
    std::map<uint64_t, bool> outcome;  // tag -> acked (false: nacked)
    std::size_t frames = 0;
    std::size_t multiple_frames = 0;
    bool twice = false;  // some tag confirmed by two frames
};

// `published`: how many publishes the channel made (tags 1..published).
inline confirmed_tags confirms_of(const recorder& r, uint16_t channel, uint64_t published) {
    confirmed_tags out;
    auto take = [&](uint64_t tag, bool multiple, bool ack) {
        ++out.frames;
        if (tag == 0 || tag > published) {
            ADD_FAILURE() << "confirm for tag " << tag << " never published";
            return;
        }
        if (!multiple) {
            out.twice = out.twice || out.outcome.contains(tag);
            out.outcome[tag] = ack;
            return;
        }
        ++out.multiple_frames;
        out.twice = out.twice || out.outcome.contains(tag);
        for (uint64_t t = 1; t <= tag; ++t) {
            out.outcome.try_emplace(t, ack);
        }
    };
    for (const auto& s : r.out) {
        if (s.channel != channel) {
            continue;
        }
        if (const auto* a = std::get_if<amqp::basic_ack>(&s.m)) {
            take(a->delivery_tag, a->multiple, true);
        } else if (const auto* n = std::get_if<amqp::basic_nack>(&s.m)) {
            take(n->delivery_tag, n->multiple, false);
        }
    }
    return out;
}

}  // namespace qmq::broker::testing
