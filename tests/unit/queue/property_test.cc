// Model-based property test and determinism test for the queue machine.

#include <gtest/gtest.h>

#include <array>
#include <cstdlib>

#include "queue/describe.h"
#include "queue/snapshot.h"
#include "unit/queue/build_flags.h"
#include "unit/queue/random_stream.h"
#include "unit/queue/reference_model.h"

namespace qmq::queue {
namespace {

using testing::random_config;
using testing::reference_model;
using testing::stream_generator;

// Fewer streams in sanitizer/debug builds (the release build runs them all).
constexpr uint64_t model_seeds = 300 / testing::slow_build_divisor;
constexpr uint64_t model_steps = 1500;

// QUEUE_PROPERTY_SEED=n replays one failing stream; QUEUE_PROPERTY_SEEDS=n
// runs seeds 1..n (a longer soak than the default).
std::pair<uint64_t, uint64_t> seed_range() {
    if (const char* one = std::getenv("QUEUE_PROPERTY_SEED")) {
        uint64_t seed = std::strtoull(one, nullptr, 10);
        return {seed, seed};
    }
    if (const char* many = std::getenv("QUEUE_PROPERTY_SEEDS")) {
        return {1, std::strtoull(many, nullptr, 10)};
    }
    return {1, model_seeds};
}

// Every reply and every effect of the machine equals the plain model's.
TEST(QueueProperty, MachineAgreesWithReferenceModel) {
    uint64_t deliveries = 0, dead_letters = 0, commands = 0;
    std::array<uint64_t, std::variant_size_v<effect>> effect_kinds{};
    std::array<uint64_t, 4> outcomes{};  // enqueue_outcome
    auto [first_seed, last_seed] = seed_range();
    for (uint64_t seed = first_seed; seed <= last_seed; ++seed) {
        stream_generator gen(seed);
        queue_config cfg = random_config(gen.rng());
        uint64_t now = 1'000;
        queue_state machine(cfg, now);
        reference_model model(cfg, now);
        uint64_t added = 0, removed = 0;  // conservation of messages
        for (uint64_t step = 1; step <= model_steps; ++step) {
            now = gen.next_time(now);
            meta m{log_index(step), 1, now};
            command cmd = gen.next(machine);
            apply_result got = apply(m, cmd, machine);
            apply_result want = model.apply(m, cmd);
            commands++;
            ASSERT_TRUE(got.r == want.r && got.effects == want.effects)
                << "seed " << seed << " step " << step << ": " << describe(cmd)
                << "\n machine: " << describe(got.r) << " | " << describe(got.effects)
                << "\n model:   " << describe(want.r) << " | " << describe(want.effects);
            for (size_t i = 0; i < got.effects.size(); ++i) {
                effect_kinds[got.effects[i].index()]++;
                deliveries += std::holds_alternative<deliver>(got.effects[i]);
                dead_letters += std::holds_alternative<dead_letter>(got.effects[i]);
            }
            if (const auto* e = std::get_if<enqueue_reply>(&got.r)) {
                outcomes[static_cast<size_t>(e->outcome)]++;
                bool dlx_refused = e->outcome == enqueue_outcome::rejected &&
                                   cfg.overflow == overflow_policy::reject_publish_dlx;
                added += e->outcome == enqueue_outcome::accepted || dlx_refused;
            }
            if (std::holds_alternative<settle>(cmd) || std::holds_alternative<dlx_settle>(cmd)) {
                if (const auto* c = std::get_if<count_reply>(&got.r))
                    removed += c->count;
            }
            if (const auto* d = std::get_if<dequeue>(&cmd); d && d->no_ack) {
                const auto* g = std::get_if<dequeue_reply>(&got.r);
                removed += g && g->code == status::ok;
            }
            for (const auto& e : got.effects) {
                if (const auto* d = std::get_if<dropped>(&e))
                    removed += d->refs.size();
                if (cfg.dead_letter == dead_letter_strategy::at_most_once) {
                    removed += std::holds_alternative<dead_letter>(e);
                }
            }
            ASSERT_EQ(added - removed, machine.live_count()) << "seed " << seed << " step " << step;
            if (cfg.single_active_consumer) {
                // At most one consumer holds messages: hand-overs wait for it.
                int holders = 0;
                for (uint64_t c = 1; c <= 6; ++c) {
                    holders += !machine.checked_out(consumer_id(c)).empty();
                }
                ASSERT_LE(holders, 1) << "seed " << seed << " step " << step;
            }
            ASSERT_EQ(machine.ready_count(), model.ready_count()) << "seed " << seed;
            ASSERT_EQ(machine.unacked_count(), model.unacked_count()) << "seed " << seed;
            ASSERT_EQ(machine.consumer_count(), model.consumer_count()) << "seed " << seed;
            ASSERT_EQ(machine.dlx_pending_count(), model.dlx_count()) << "seed " << seed;
            ASSERT_EQ(machine.is_deleted(), model.deleted()) << "seed " << seed;
        }
    }
    if (last_seed - first_seed < model_seeds - 1) {
        return;  // one replayed stream need not cover everything
    }
    // The streams must really exercise the machine, or the test proves nothing.
    EXPECT_GT(deliveries, commands / 20);
    EXPECT_GT(dead_letters, commands / 200);
    for (size_t k = 0; k < effect_kinds.size(); ++k) {
        EXPECT_GT(effect_kinds[k], 0u) << "effect kind " << k << " never produced";
    }
    for (size_t o = 0; o < outcomes.size(); ++o) {
        EXPECT_GT(outcomes[o], 0u) << "enqueue outcome " << o << " never seen";
    }
}

constexpr uint64_t determinism_seeds = 100 / testing::slow_build_divisor;
constexpr uint64_t determinism_steps = 2000;

// Two machines on the same stream, one rebuilt from a snapshot midway, end
// byte-equal and emit identical effects.
TEST(QueueDeterminism, SnapshotPlusTailEqualsWholeLog) {
    for (uint64_t seed = 1; seed <= determinism_seeds; ++seed) {
        stream_generator gen(seed * 7919);
        queue_config cfg = random_config(gen.rng());
        uint64_t now = 5'000;
        queue_state a(cfg, now);
        std::optional<queue_state> b;
        apply_result reused;
        uint64_t cut = determinism_steps / 2 + seed % 100;
        for (uint64_t step = 1; step <= determinism_steps; ++step) {
            if (step == cut) {
                bytes snap = serialize(a);
                auto restored = deserialize(snap);
                ASSERT_TRUE(restored.ok()) << restored.err().message;
                b.emplace(std::move(restored.value()));
                ASSERT_EQ(serialize(*b), snap) << "seed " << seed;
            }
            now = gen.next_time(now);
            meta m{log_index(step), 1, now};
            command cmd = gen.next(a);
            apply_result ra = apply(m, cmd, a);
            if (b) {
                // The restored machine uses the buffer-reusing overload.
                apply(m, cmd, *b, reused);
                ASSERT_TRUE(ra.r == reused.r) << "seed " << seed << " step " << step;
                ASSERT_TRUE(ra.effects == reused.effects) << "seed " << seed << " step " << step;
            }
        }
        ASSERT_TRUE(b.has_value());
        EXPECT_EQ(serialize(a), serialize(*b)) << "seed " << seed;
        // And leader effects, computed from either, agree.
        EXPECT_TRUE(leader_effects(a) == leader_effects(*b)) << "seed " << seed;
    }
}

}  // namespace
}  // namespace qmq::queue
