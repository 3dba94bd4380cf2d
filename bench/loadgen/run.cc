#include "loadgen/run.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <random>
#include <thread>

#include "loadgen/client.h"
#include "loadgen/message.h"
#include "loadgen/proc_stats.h"
#include "loadgen/workers.h"

namespace qmq::bench {

namespace {

constexpr uint64_t ns_per_s = 1'000'000'000;
constexpr auto poll_step = std::chrono::milliseconds(20);
constexpr double consumers_ready_timeout_s = 60;

double seconds(uint64_t ns) {
    return static_cast<double>(ns) / 1e9;
}

uint64_t disk_usage(const std::vector<std::string>& dirs) {
    uint64_t n = 0;
    for (const auto& d : dirs) {
        n += disk_usage_bytes(d);
    }
    return n;
}

// Queue arguments as an AMQP table: integers become long-longs, true/false
// booleans, everything else a string. `storage` keeps the bytes alive.
amqp_table_t queue_arguments(const options& o, std::vector<amqp_table_entry_t>& entries,
                             std::vector<std::string>& storage) {
    std::vector<queue_arg> all = o.queue_args;
    if (!o.queue_type.empty()) {
        all.push_back({"x-queue-type", o.queue_type});
    }
    storage.clear();
    storage.reserve(all.size() * 2);
    entries.assign(all.size(), amqp_table_entry_t{});
    for (std::size_t i = 0; i < all.size(); ++i) {
        storage.push_back(all[i].key);
        entries[i].key = to_amqp(storage.back());
        const std::string& v = all[i].value;
        char* end = nullptr;
        const long long n = std::strtoll(v.c_str(), &end, 10);
        if (!v.empty() && end != nullptr && *end == '\0' && all[i].key != "x-queue-type") {
            entries[i].value.kind = AMQP_FIELD_KIND_I64;
            entries[i].value.value.i64 = n;
        } else if (v == "true" || v == "false") {
            entries[i].value.kind = AMQP_FIELD_KIND_BOOLEAN;
            entries[i].value.value.boolean = v == "true";
        } else {
            storage.push_back(v);
            entries[i].value.kind = AMQP_FIELD_KIND_UTF8;
            entries[i].value.value.bytes = to_amqp(storage.back());
        }
    }
    return amqp_table_t{static_cast<int>(entries.size()), entries.data()};
}

result<void> declare(const options& o, const topology& t) {
    client c;
    if (auto r = c.connect(o.uris.front(), "quorummq-bench setup"); !r) {
        return r;
    }
    amqp_connection_state_t conn = c.state();
    if (!t.exchange.empty()) {
        amqp_exchange_declare(conn, bench_channel, to_amqp(t.exchange),
                              amqp_cstring_bytes(to_string(o.exchange_type)), 0, o.durable ? 1 : 0,
                              0, 0, amqp_empty_table);
        if (auto r = c.check("exchange.declare " + t.exchange); !r) {
            return r;
        }
    }
    std::vector<amqp_table_entry_t> entries;
    std::vector<std::string> storage;
    const amqp_table_t args = queue_arguments(o, entries, storage);
    for (std::size_t q = 0; q < t.queue_names.size(); ++q) {
        amqp_queue_declare(conn, bench_channel, to_amqp(t.queue_names[q]), 0, o.durable ? 1 : 0, 0,
                           0, args);
        if (auto r = c.check("queue.declare " + t.queue_names[q]); !r) {
            return r;
        }
        if (!t.exchange.empty()) {
            amqp_queue_bind(conn, bench_channel, to_amqp(t.queue_names[q]), to_amqp(t.exchange),
                            to_amqp(t.binding_keys[q]), amqp_empty_table);
            if (auto r = c.check("queue.bind " + t.queue_names[q]); !r) {
                return r;
            }
        }
    }
    return ok_result();
}

result<void> tear_down(const options& o, const topology& t) {
    client c;
    if (auto r = c.connect(o.uris.front(), "quorummq-bench teardown"); !r) {
        return r;
    }
    amqp_connection_state_t conn = c.state();
    for (const auto& name : t.queue_names) {
        amqp_queue_delete(conn, bench_channel, to_amqp(name), 0, 0);
        if (auto r = c.check("queue.delete " + name); !r) {
            return r;
        }
    }
    if (!t.exchange.empty()) {
        amqp_exchange_delete(conn, bench_channel, to_amqp(t.exchange), 0);
        if (auto r = c.check("exchange.delete " + t.exchange); !r) {
            return r;
        }
    }
    return ok_result();
}

// Samples the broker process tree; turns CPU time into % of a core.
class broker_probe {
  public:
    explicit broker_probe(std::vector<int> pids) : _pids(std::move(pids)) {}

    // Sums every node's process tree; nullopt when no pid was given or one
    // of them is gone.
    std::optional<broker_figures> sample(uint64_t now_ns) {
        if (_pids.empty()) {
            return std::nullopt;
        }
        proc_sample total;
        for (int pid : _pids) {
            const auto s = sample_process_tree(pid);
            if (!s) {
                return std::nullopt;
            }
            total.rss_bytes += s->rss_bytes;
            total.cpu_s += s->cpu_s;
        }
        broker_figures f;
        f.rss_bytes = total.rss_bytes;
        if (_last_ns != 0 && now_ns > _last_ns) {
            f.cpu_percent =
                std::max(0.0, total.cpu_s - _last_cpu_s) / seconds(now_ns - _last_ns) * 100;
        }
        if (!_first_cpu_s) {
            _first_cpu_s = total.cpu_s;
            _first_ns = now_ns;
        }
        _last_cpu_s = total.cpu_s;
        _last_ns = now_ns;
        _peak = std::max(_peak, f.rss_bytes);
        return f;
    }
    uint64_t peak() const { return _peak; }
    double cpu_s() const { return _first_cpu_s ? std::max(0.0, _last_cpu_s - *_first_cpu_s) : 0; }
    double wall_s() const { return _last_ns > _first_ns ? seconds(_last_ns - _first_ns) : 0; }

  private:
    std::vector<int> _pids;
    std::optional<double> _first_cpu_s;
    uint64_t _first_ns = 0;
    double _last_cpu_s = 0;
    uint64_t _last_ns = 0;
    uint64_t _peak = 0;
};

}  // namespace

run_results run_bench(const options& o, std::ostream& human) {
    run_results r;
    const topology t = make_topology(o);
    run_control ctl;
    ctl.run_id = std::random_device{}() | (static_cast<uint64_t>(std::random_device{}()) << 32);
    ctl.confirm_drain_timeout_s = o.drain_timeout_s;
    r.run_id = ctl.run_id;
    for (const auto& qs : t.consumer_queues) {
        r.amqp_consumers += static_cast<uint32_t>(qs.size());
    }
    if (auto d = declare(o, t); !d) {
        r.error = d.err().message;
        return r;
    }

    broker_probe probe(o.broker_pids);
    if (auto f = probe.sample(monotonic_ns())) {
        r.rss_start = f->rss_bytes;
    }

    std::vector<std::unique_ptr<consumer>> consumers;
    std::vector<std::unique_ptr<producer>> producers;
    std::vector<std::thread> threads;
    for (uint32_t i = 0; i < o.consumers; ++i) {
        consumers.push_back(std::make_unique<consumer>(i, o, t, ctl));
        threads.emplace_back([c = consumers.back().get()] { c->run(); });
    }
    const uint64_t ready_deadline =
        monotonic_ns() + static_cast<uint64_t>(consumers_ready_timeout_s * 1e9);
    while (ctl.consumers_ready.load() < o.consumers && !ctl.failed.load() &&
           monotonic_ns() < ready_deadline) {
        std::this_thread::sleep_for(poll_step);
    }
    if (ctl.consumers_ready.load() < o.consumers && !ctl.failed.load()) {
        ctl.fail("consumers not connected after " + std::to_string(consumers_ready_timeout_s) +
                 "s");
    }
    ctl.consumers_go.store(!o.backlog);

    const uint64_t t0 = monotonic_ns();
    if (!ctl.failed.load()) {
        for (uint32_t i = 0; i < o.producers; ++i) {
            producers.push_back(std::make_unique<producer>(i, o, t, ctl));
            threads.emplace_back([p = producers.back().get()] { p->run(); });
        }
    }

    auto sum = [](const auto& workers, auto field) {
        uint64_t n = 0;
        for (const auto& w : workers) {
            n += ((*w).*field).load(std::memory_order_relaxed);
        }
        return n;
    };

    histogram total_latency = make_latency_histogram();
    histogram total_confirm = make_latency_histogram();
    histogram tick_latency = make_latency_histogram();
    histogram tick_confirm = make_latency_histogram();
    uint64_t last_pub = 0, last_conf = 0, last_cons = 0;
    uint64_t next_tick = t0 + ns_per_s;
    uint64_t producers_done_ns = 0;  // when every producer had finished
    uint64_t drain_start_ns = t0;    // consumers' start (later with a backlog)
    const uint64_t duration_ns = static_cast<uint64_t>(o.duration_s * 1e9);
    const uint64_t stall_ns = static_cast<uint64_t>(o.stall_timeout_s * 1e9);
    uint64_t last_progress = 0;
    uint64_t last_progress_ns = t0;

    auto tick = [&](uint64_t now) {
        second_report s;
        s.t_s = seconds(now - t0);
        const uint64_t pub = sum(producers, &producer::published);
        const uint64_t conf = sum(producers, &producer::confirmed);
        const uint64_t cons = sum(consumers, &consumer::consumed);
        s.published = pub - last_pub;
        s.confirmed = conf - last_conf;
        s.consumed = cons - last_cons;
        last_pub = pub, last_conf = conf, last_cons = cons;
        tick_latency.reset();
        tick_confirm.reset();
        for (auto& c : consumers) {
            c->latency.take(tick_latency);
        }
        for (auto& p : producers) {
            p->confirm_latency.take(tick_confirm);
        }
        total_latency.merge(tick_latency);
        total_confirm.merge(tick_confirm);
        s.latency = summarize(tick_latency);
        s.confirm_latency = summarize(tick_confirm);
        s.broker = probe.sample(now);
        if (!o.quiet) {
            human << format_second(s) << std::endl;
        }
        r.seconds.push_back(s);
    };

    // The main loop: stop publishing after the duration, start consumers
    // once a backlog is built, stop consuming when everything routed arrived
    // or the drain timed out.
    for (;;) {
        std::this_thread::sleep_for(poll_step);
        const uint64_t now = monotonic_ns();
        if (now >= next_tick) {
            tick(now);
            next_tick += ns_per_s;
        }
        if (ctl.failed.load()) {
            break;
        }
        const uint64_t progress = sum(producers, &producer::published) +
                                  sum(producers, &producer::confirmed) +
                                  sum(consumers, &consumer::consumed);
        if (progress != last_progress) {
            last_progress = progress;
            last_progress_ns = now;
        } else if (now - last_progress_ns > stall_ns && o.producers > 0) {
            ctl.fail(
                fmt::format("no message published, confirmed or consumed for {:.0f}s "
                            "(broker blocking or stuck?)",
                            o.stall_timeout_s));
            break;
        }
        if (o.count == 0 && now - t0 >= duration_ns) {
            ctl.stop_publishing.store(true);
            if (o.producers == 0) {
                break;  // consume-only run: the duration is the whole run
            }
        }
        if (o.producers > 0 && producers_done_ns == 0 && ctl.producers_done.load() == o.producers) {
            producers_done_ns = now;
            if (o.backlog) {
                if (auto f = probe.sample(now)) {
                    r.backlog_rss = f->rss_bytes;
                }
                if (!o.broker_data_dirs.empty()) {
                    r.backlog_disk = disk_usage(o.broker_data_dirs);
                }
                r.backlog_messages = sum(producers, &producer::deliveries_routed);
                drain_start_ns = monotonic_ns();
                ctl.consumers_go.store(true);
            }
        }
        if (producers_done_ns == 0) {
            continue;
        }
        if (o.consumers == 0) {
            break;
        }
        const uint64_t routed = sum(producers, &producer::deliveries_routed);
        const uint64_t consumed = sum(consumers, &consumer::consumed);
        if (consumed >= routed && o.producers > 0) {
            break;
        }
        // drain_start_ns may be a little later than `now` (taken just above).
        const uint64_t waiting_since = std::max(producers_done_ns, drain_start_ns);
        if (now > waiting_since &&
            now - waiting_since > static_cast<uint64_t>(o.drain_timeout_s * 1e9)) {
            break;
        }
    }
    ctl.stop_publishing.store(true);
    ctl.consumers_go.store(true);
    ctl.stop_consuming.store(true);
    if (ctl.failed.load()) {
        // Unblock workers stuck in a send or receive on a broker that stopped
        // answering; they then fail fast instead of holding the join.
        ctl.shutdown_sockets();
    }
    for (auto& th : threads) {
        th.join();
    }
    const uint64_t end = monotonic_ns();
    tick(end);
    if (ctl.failed.load()) {
        r.error = ctl.first_error();
    }

    uint64_t last_publish = t0, last_consume = drain_start_ns;
    for (const auto& p : producers) {
        last_publish = std::max(last_publish, p->last_publish_ns.load());
    }
    for (const auto& c : consumers) {
        last_consume = std::max(last_consume, c->last_consume_ns.load());
    }
    r.published = sum(producers, &producer::published);
    r.confirmed = sum(producers, &producer::confirmed);
    r.nacked = sum(producers, &producer::nacked);
    r.consumed = sum(consumers, &consumer::consumed);
    r.routed = sum(producers, &producer::deliveries_routed);
    r.publish_s = seconds(last_publish - t0);
    r.consume_s = seconds(last_consume - drain_start_ns);
    r.publish_rate = r.publish_s > 0 ? static_cast<double>(r.published) / r.publish_s : 0;
    r.confirm_rate = r.publish_s > 0 ? static_cast<double>(r.confirmed) / r.publish_s : 0;
    r.consume_rate = r.consume_s > 0 ? static_cast<double>(r.consumed) / r.consume_s : 0;
    if (o.backlog) {
        r.drain_s = r.consume_s;
        r.drain_rate = r.consume_rate;
    }
    r.latency = summarize(total_latency);
    r.confirm_latency = summarize(total_confirm);
    if (!o.broker_pids.empty()) {
        if (auto f = probe.sample(monotonic_ns())) {
            r.rss_end = f->rss_bytes;
        }
        r.rss_peak = probe.peak();
        r.cpu_s = probe.cpu_s();
        r.cpu_percent = probe.wall_s() > 0 ? *r.cpu_s / probe.wall_s() * 100 : 0;
    }
    if (!o.broker_data_dirs.empty()) {
        r.disk_end = disk_usage(o.broker_data_dirs);
    }

    if (o.consumers > 0 && o.producers > 0) {
        std::vector<producer_record> precs;
        for (const auto& p : producers) {
            precs.push_back(std::move(p->record));
        }
        std::vector<const consumer_record*> crecs;
        for (const auto& c : consumers) {
            crecs.push_back(&c->record);
        }
        r.verified = verify(t, precs, crecs);
    }
    if (!o.keep_queues) {
        if (auto d = tear_down(o, t); !d && r.error.empty()) {
            r.error = "teardown: " + d.err().message;
        }
    }
    return r;
}

int exit_code(const run_results& r) {
    if (r.verified && !r.verified->ok()) {
        return exit_missing;
    }
    if (!r.error.empty()) {
        return exit_failed;
    }
    return exit_ok;
}

}  // namespace qmq::bench
