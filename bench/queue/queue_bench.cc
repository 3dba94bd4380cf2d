// Throughput of the queue state machine (commands applied per second on one
// core) for the common mixes, and heap bytes per queued message at 1M.
//
//   build-queue/bin/queue-bench
//   build-queue/bin/queue-bench --benchmark_filter=Memory

#include <benchmark/benchmark.h>
#include <malloc.h>

#include <memory>

#include "queue/machine.h"
#include "queue/snapshot.h"

namespace qmq::queue {
namespace {

struct driver {
    explicit driver(queue_config cfg = {}) : state(cfg, 0) {}
    apply_result& run(const command& c) {
        apply(meta{log_index(++index), 1, index / 16}, c, state, out);
        return out;
    }
    queue_state state;
    apply_result out;
    uint64_t index = 0;
};

// Publish, deliver to one of `consumers` consumers (each with `prefetch`),
// ack each message. One iteration = 2 commands (enqueue, settle).
void BM_EnqueueDeliverSettle(benchmark::State& st) {
    const auto consumers = static_cast<uint64_t>(st.range(0));
    const auto prefetch = static_cast<uint32_t>(st.range(1));
    driver d;
    for (uint64_t c = 1; c <= consumers; ++c) {
        d.run(checkout{consumer_id(c), owner_id(c), prefetch, 0, false});
    }
    settle ack{consumer_id(0), {message_ref(0)}};
    for (auto _ : st) {
        auto& r = d.run(enqueue{owner_id(9), 0, 0, 100, 0, {}});
        const auto& del = std::get<deliver>(r.effects.front());
        ack.consumer = del.consumer;
        ack.refs[0] = del.ref;
        d.run(ack);
    }
    st.SetItemsProcessed(static_cast<int64_t>(st.iterations()) * 2);
}
// 4 consumers with prefetch 100; 100 round-robin consumers with prefetch 10.
BENCHMARK(BM_EnqueueDeliverSettle)
    ->ArgNames({"consumers", "prefetch"})
    ->Args({4, 100})
    ->Args({100, 10});

// The same with confirms, a message TTL and 10 priority levels.
void BM_EnqueueDeliverSettleAllFeatures(benchmark::State& st) {
    queue_config cfg;
    cfg.max_priority = 9;
    cfg.message_ttl_ms = 60'000;
    cfg.max_length = 1'000'000;
    cfg.delivery_limit = 20;
    driver d(cfg);
    for (uint64_t c = 1; c <= 4; ++c) {
        d.run(checkout{consumer_id(c), owner_id(c), 100, static_cast<int32_t>(c % 2), false});
    }
    settle ack{consumer_id(0), {message_ref(0)}};
    uint64_t seq = 0;
    for (auto _ : st) {
        auto& r = d.run(enqueue{owner_id(9), ++seq, 0, 100, static_cast<uint8_t>(seq % 10), {}});
        for (const auto& e : r.effects) {
            if (const auto* del = std::get_if<deliver>(&e)) {
                ack.consumer = del->consumer;
                ack.refs[0] = del->ref;
            }
        }
        d.run(ack);
    }
    st.SetItemsProcessed(static_cast<int64_t>(st.iterations()) * 2);
}
BENCHMARK(BM_EnqueueDeliverSettleAllFeatures);

// nack with requeue against a 100k backlog: the message goes back to the
// head and is delivered again at once (one command per iteration).
void BM_ReturnToHeadWithBacklog(benchmark::State& st) {
    driver d;
    for (uint64_t i = 0; i < 100'000; ++i) {
        d.run(enqueue{owner_id(9), 0, 0, 100, 0, {}});
    }
    auto& first = d.run(checkout{consumer_id(1), owner_id(1), 1, 0, false});
    return_messages nack{consumer_id(1), {std::get<deliver>(first.effects.front()).ref}};
    for (auto _ : st) {
        auto& r = d.run(nack);
        for (const auto& e : r.effects) {
            if (const auto* del = std::get_if<deliver>(&e)) {
                nack.refs[0] = del->ref;
            }
        }
    }
    st.SetItemsProcessed(static_cast<int64_t>(st.iterations()));
}
BENCHMARK(BM_ReturnToHeadWithBacklog);

// Publishing into a backlog nobody consumes.
void BM_EnqueueBacklog(benchmark::State& st) {
    auto d = std::make_unique<driver>();
    for (auto _ : st) {
        d->run(enqueue{owner_id(9), 0, 0, 100, 0, {}});
        if (d->state.ready_count() >= 4'000'000) {
            st.PauseTiming();
            d = std::make_unique<driver>();
            st.ResumeTiming();
        }
    }
    st.SetItemsProcessed(static_cast<int64_t>(st.iterations()));
}
BENCHMARK(BM_EnqueueBacklog);

// Draining a backlog: basic.get with no_ack (one command per message).
void BM_GetNoAckFromBacklog(benchmark::State& st) {
    driver d;
    constexpr uint64_t backlog = 1'000'000;
    for (uint64_t i = 0; i < backlog; ++i) {
        d.run(enqueue{owner_id(9), 0, 0, 100, 0, {}});
    }
    for (auto _ : st) {
        if (d.state.ready_count() == 0) {
            st.PauseTiming();
            for (uint64_t i = 0; i < backlog; ++i) {
                d.run(enqueue{owner_id(9), 0, 0, 100, 0, {}});
            }
            st.ResumeTiming();
        }
        d.run(dequeue{consumer_id(1), owner_id(1), true});
    }
    st.SetItemsProcessed(static_cast<int64_t>(st.iterations()));
}
BENCHMARK(BM_GetNoAckFromBacklog);

uint64_t heap_in_use() {
    struct mallinfo2 mi = mallinfo2();
    return mi.uordblks + mi.hblkhd;
}

// Heap bytes per message with 1M ready messages, and with 1M unacked.
void BM_MemoryPerMessage1M(benchmark::State& st) {
    constexpr uint64_t n = 1'000'000;
    bool unacked = st.range(0) == 1;
    for (auto _ : st) {
        uint64_t before = heap_in_use();
        driver d;
        if (unacked) {
            d.run(checkout{consumer_id(1), owner_id(1), 0, 0, false});
        }
        for (uint64_t i = 0; i < n; ++i) {
            d.run(enqueue{owner_id(9), 0, 0, 100, 0, {}});
        }
        st.counters["bytes_per_message"] =
            static_cast<double>(heap_in_use() - before) / static_cast<double>(n);
        st.counters["snapshot_bytes_per_message"] =
            static_cast<double>(serialize(d.state).size()) / static_cast<double>(n);
    }
}
BENCHMARK(BM_MemoryPerMessage1M)
    ->Arg(0)
    ->Arg(1)
    ->ArgNames({"unacked"})
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond);

// Snapshot of a 1M-message backlog, and restoring it.
void BM_SnapshotRoundTrip1M(benchmark::State& st) {
    driver d;
    for (uint64_t i = 0; i < 1'000'000; ++i) {
        d.run(enqueue{owner_id(9), 0, 0, 100, 0, {}});
    }
    for (auto _ : st) {
        bytes snap = serialize(d.state);
        auto back = deserialize(snap);
        benchmark::DoNotOptimize(back.ok());
    }
    st.SetItemsProcessed(static_cast<int64_t>(st.iterations()) * 1'000'000);
}
BENCHMARK(BM_SnapshotRoundTrip1M)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace qmq::queue

BENCHMARK_MAIN();
