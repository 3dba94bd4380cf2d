// Commands committed per second through 3-node Raft groups driven by the
// core alone: storage is "durable" at once and messages are handed over in
// memory, so the figure is the cost of the consensus logic itself (encode,
// disk and network are other modules' budgets). Each iteration proposes a
// batch to every group's leader and runs the groups until it is committed.

#include <benchmark/benchmark.h>
#include <malloc.h>

#include <memory>
#include <vector>

#include "raft/fsm.h"

namespace {

using namespace qmq::raft;

constexpr std::size_t entry_bytes = 16;
constexpr uint64_t compact_every = 8192;

struct group_of_three {
    std::vector<std::unique_ptr<fsm>> nodes;  // index i is node i+1
    std::vector<message> queue;
    std::shared_ptr<const qmq::bytes> snap = std::make_shared<const qmq::bytes>(8);
    uint64_t committed = 0;

    group_of_three(uint64_t gid, const options& o) {
        for (uint64_t i = 1; i <= 3; ++i) {
            durable_state s;
            s.snap.config.voters = {node_id(1), node_id(2), node_id(3)};
            nodes.push_back(
                std::make_unique<fsm>(group_id(gid), node_id(i), o, std::move(s), gid * 10 + i));
        }
        nodes[0]->campaign();
        pump();
    }

    void collect(fsm& f) {
        while (f.has_output()) {
            output out = f.take_output();
            if (!out.persist_entries.empty()) {
                const auto& last = out.persist_entries.back();
                f.on_durable(last.term, last.index);
            }
            for (auto& m : out.send) {
                queue.push_back(std::move(m));
            }
            if (&f == nodes[0].get()) {
                committed += out.apply.size();
            }
            const log_index applied = f.log().applied();
            if (applied.value >= f.log().snap_index().value + compact_every &&
                applied <= f.log().durable()) {
                f.compact(applied, snap);
            }
        }
    }

    void pump() {
        for (auto& n : nodes) {
            collect(*n);
        }
        while (!queue.empty()) {
            auto batch = std::move(queue);
            queue.clear();
            for (auto& m : batch) {
                fsm& to = *nodes[m.to.value - 1];
                to.step(std::move(m));
                collect(to);
            }
        }
    }
};

void commits(benchmark::State& state) {
    const auto groups = static_cast<uint64_t>(state.range(0));
    const auto batch = static_cast<int>(state.range(1));
    options o;
    o.append_entries_max = 1024;
    o.inflight_msgs_max = 256;
    std::vector<std::unique_ptr<group_of_three>> all;
    for (uint64_t g = 1; g <= groups; ++g) {
        all.push_back(std::make_unique<group_of_three>(g, o));
    }
    const qmq::bytes cmd(entry_bytes, std::byte{0x5a});
    uint64_t before = 0;
    for (auto& g : all) {
        before += g->committed;
    }
    for (auto _ : state) {
        for (auto& g : all) {
            for (int i = 0; i < batch; ++i) {
                auto r = g->nodes[0]->propose(cmd);
                benchmark::DoNotOptimize(r);
            }
            g->pump();
        }
    }
    uint64_t after = 0;
    for (auto& g : all) {
        after += g->committed;
        QMQ_ASSERT(g->nodes[0]->current_role() == role::leader);
    }
    state.SetItemsProcessed(static_cast<int64_t>(after - before));
    state.counters["commits/s"] =
        benchmark::Counter(static_cast<double>(after - before), benchmark::Counter::kIsRate);
}

// Ticks of idle follower groups (the cost of thousands of groups that do
// nothing), and the heap bytes each such group holds.
void idle_ticks(benchmark::State& state) {
    const auto groups = static_cast<uint64_t>(state.range(0));
    options o;
    o.election_ticks = 1'000'000;  // never campaign during the run
    // Heap in use (glibc), to report what an idle group costs.
    const auto heap_before = mallinfo2().uordblks;
    std::vector<fsm> all;
    all.reserve(groups);
    for (uint64_t g = 1; g <= groups; ++g) {
        durable_state s;
        s.snap.config.voters = {node_id(1), node_id(2), node_id(3)};
        all.emplace_back(group_id(g), node_id(2), o, std::move(s), g);
    }
    const auto heap_bytes = mallinfo2().uordblks - heap_before;
    for (auto _ : state) {
        for (auto& f : all) {
            f.tick();
        }
    }
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * groups));
    state.counters["bytes/group"] = static_cast<double>(heap_bytes) / static_cast<double>(groups);
}

BENCHMARK(idle_ticks)->ArgNames({"groups"})->Arg(10'000)->Unit(benchmark::kMicrosecond);

BENCHMARK(commits)
    ->ArgNames({"groups", "batch"})
    ->Args({1, 1})
    ->Args({1, 64})
    ->Args({100, 1})
    ->Args({100, 64})
    ->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
