#pragma once

// Random queue configurations and command streams for the property and
// determinism tests. Inputs that name messages (settle, return, ...) are
// drawn mostly from what the machine really has checked out, so the streams
// reach deep states; some name unknown refs or consumers on purpose.

#include <algorithm>

#include "common/prng.h"
#include "queue/machine.h"

namespace qmq::queue::testing {

inline queue_config random_config(prng& rng) {
    queue_config cfg;
    if (rng.chance_ppm(300'000))
        cfg.max_length = rng.below(9);
    if (rng.chance_ppm(200'000))
        cfg.max_length_bytes = rng.below(200);
    cfg.overflow = static_cast<overflow_policy>(rng.below(3));
    if (rng.chance_ppm(300'000))
        cfg.message_ttl_ms = rng.below(60);
    if (rng.chance_ppm(150'000))
        cfg.expires_ms = rng.between(10, 400);
    if (rng.chance_ppm(300'000))
        cfg.delivery_limit = static_cast<uint32_t>(rng.below(4));
    cfg.dead_letter = static_cast<dead_letter_strategy>(rng.below(3));
    cfg.single_active_consumer = rng.chance_ppm(300'000);
    if (rng.chance_ppm(400'000))
        cfg.max_priority = static_cast<uint8_t>(rng.between(1, 4));
    if (rng.chance_ppm(300'000)) {
        cfg.dedup_window_ms = rng.between(1, 60);
        cfg.dedup_entries_max = static_cast<uint32_t>(rng.between(1, 6));
    }
    cfg.release_cursor_interval = static_cast<uint32_t>(rng.between(1, 24));
    constexpr uint32_t in_flight[] = {0, 1, 2, 3, 1024};
    cfg.dlx_in_flight_max = in_flight[rng.below(5)];
    return cfg;
}

class stream_generator {
  public:
    explicit stream_generator(uint64_t seed) : _rng(seed) {}

    prng& rng() { return _rng; }

    // Next leader time: mostly small steps, sometimes a jump or a step back
    // (a new leader with a slower clock).
    uint64_t next_time(uint64_t now) {
        uint64_t roll = _rng.below(100);
        if (roll < 3 && now > 50)
            return now - _rng.below(50);
        if (roll < 6)
            return now + _rng.below(500);
        return now + _rng.below(8);
    }

    command next(const queue_state& s) {
        uint64_t roll = _rng.below(100);
        if (roll < 30) {
            owner_id pub(_rng.between(1, 3));
            uint64_t seq = 0;
            if (_rng.chance_ppm(500'000)) {
                uint64_t& last = _seq[pub.value % 4];
                seq = _rng.chance_ppm(100'000) && last > 0 ? _rng.between(1, last) : ++last;
            }
            uint64_t key = _rng.chance_ppm(400'000) ? _rng.between(1, 5) : 0;
            std::optional<uint64_t> exp;
            if (_rng.chance_ppm(200'000))
                exp = _rng.below(80);
            return enqueue{pub,
                           seq,
                           key,
                           static_cast<uint32_t>(_rng.below(60)),
                           static_cast<uint8_t>(_rng.below(7)),
                           exp};
        }
        uint64_t c = _rng.between(1, 6);
        owner_id owner(c % 3 + 1);
        if (roll < 38) {
            return checkout{consumer_id(c), owner, static_cast<uint32_t>(_rng.below(4)),
                            static_cast<int32_t>(_rng.below(3)) - 1, _rng.chance_ppm(50'000)};
        }
        if (roll < 42)
            return cancel{consumer_id(c)};
        if (roll < 62) {
            // Settle-like commands: mostly consumers and get-consumers that hold messages.
            uint64_t holder = _rng.chance_ppm(250'000) ? _rng.between(10, 12) : c;
            auto held = s.checked_out(consumer_id(holder));
            std::vector<message_ref> refs;
            for (auto r : held) {
                if (_rng.chance_ppm(600'000))
                    refs.push_back(r);
            }
            if (_rng.chance_ppm(100'000))
                refs.push_back(message_ref(_rng.below(2000)));
            std::shuffle(refs.begin(), refs.end(), _rng);
            uint64_t how = _rng.below(10);
            if (how < 5)
                return settle{consumer_id(holder), refs};
            if (how < 8)
                return return_messages{consumer_id(holder), refs};
            return discard{consumer_id(holder), refs};
        }
        if (roll < 66)
            return credit{consumer_id(c), static_cast<uint32_t>(_rng.below(5))};
        if (roll < 72) {
            uint64_t g = _rng.between(10, 12);
            return dequeue{consumer_id(g), owner_id(g - 9), _rng.chance_ppm(400'000)};
        }
        if (roll < 73)
            return purge{};
        if (roll < 82)
            return tick{};
        if (roll < 86) {
            return down{owner_id(_rng.between(1, 3)),
                        _rng.chance_ppm(500'000) ? down_kind::closed : down_kind::unreachable};
        }
        if (roll < 90)
            return up{owner_id(_rng.between(1, 3))};
        if (roll < 91 && _rng.chance_ppm(300'000)) {
            return delete_queue{_rng.chance_ppm(500'000), _rng.chance_ppm(500'000)};
        }
        if (roll < 94)
            return touch{};
        // at-least-once: the dead-letter target confirms some pending messages.
        std::vector<message_ref> refs;
        for (uint64_t i = 0; i < 3; ++i)
            refs.push_back(message_ref(_rng.below(s.last_index().value + 2)));
        return dlx_settle{refs};
    }

  private:
    prng _rng;
    uint64_t _seq[4] = {0, 0, 0, 0};
};

}  // namespace qmq::queue::testing
