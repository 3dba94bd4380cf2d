#include "loadgen/report.h"

#include <fmt/format.h>

namespace qmq::bench {

namespace {

std::string us(uint64_t v) {
    if (v >= 1'000'000) {
        return fmt::format("{:.2f}s", static_cast<double>(v) / 1e6);
    }
    if (v >= 1'000) {
        return fmt::format("{:.2f}ms", static_cast<double>(v) / 1e3);
    }
    return fmt::format("{}us", v);
}

std::string mib(uint64_t b) {
    return fmt::format("{:.1f}MiB", static_cast<double>(b) / 1048576.0);
}

std::string percentiles(const latency_summary& l) {
    if (l.count == 0) {
        return "-";
    }
    return fmt::format("p50 {} p95 {} p99 {} p99.9 {} max {}", us(l.p50), us(l.p95), us(l.p99),
                       us(l.p999), us(l.max));
}

nlohmann::json latency_json(const latency_summary& l) {
    return {{"count", l.count}, {"p50", l.p50}, {"p95", l.p95},  {"p99", l.p99},
            {"p999", l.p999},   {"max", l.max}, {"mean", l.mean}};
}

template <typename T>
nlohmann::json opt(const std::optional<T>& v) {
    return v ? nlohmann::json(*v) : nlohmann::json(nullptr);
}

}  // namespace

latency_summary summarize(const histogram& h) {
    latency_summary l;
    l.count = h.count();
    l.p50 = h.percentile(50);
    l.p95 = h.percentile(95);
    l.p99 = h.percentile(99);
    l.p999 = h.percentile(99.9);
    l.max = h.max();
    l.mean = h.mean();
    return l;
}

std::string format_second(const second_report& s) {
    std::string line = fmt::format("{:6.1f}s  pub {:>8}/s  conf {:>8}/s  cons {:>8}/s", s.t_s,
                                   s.published, s.confirmed, s.consumed);
    if (s.latency.count > 0) {
        line += fmt::format("  lat p50 {} p99 {} max {}", us(s.latency.p50), us(s.latency.p99),
                            us(s.latency.max));
    }
    if (s.confirm_latency.count > 0) {
        line += fmt::format("  conf-lat p50 {} p99 {}", us(s.confirm_latency.p50),
                            us(s.confirm_latency.p99));
    }
    if (s.broker) {
        line += fmt::format("  broker rss {} cpu {:.0f}%", mib(s.broker->rss_bytes),
                            s.broker->cpu_percent);
    }
    return line;
}

void print_summary(std::ostream& out, const options& o, const run_results& r) {
    out << fmt::format(
        "summary: {} producers, {} consumers ({} subscriptions), {} queues, {} B{}{}\n",
        o.producers, o.consumers, r.amqp_consumers, o.queues, o.size,
        o.persistent ? ", persistent" : "",
        o.confirm ? fmt::format(", confirms {} in flight", o.confirm) : "");
    out << fmt::format("  published {} in {:.2f}s: {:.0f} msg/s\n", r.published, r.publish_s,
                       r.publish_rate);
    if (o.confirm) {
        out << fmt::format("  confirmed {} ({:.0f} msg/s), nacked {}\n", r.confirmed,
                           r.confirm_rate, r.nacked);
        out << "  confirm latency: " << percentiles(r.confirm_latency) << "\n";
    }
    out << fmt::format("  consumed {} in {:.2f}s: {:.0f} msg/s\n", r.consumed, r.consume_s,
                       r.consume_rate);
    out << "  publish->consume latency: " << percentiles(r.latency) << "\n";
    if (o.backlog) {
        out << fmt::format(
            "  backlog {} messages: broker rss {} disk {}; drained in {:.2f}s: {:.0f} msg/s\n",
            r.backlog_messages, r.backlog_rss ? mib(*r.backlog_rss) : "-",
            r.backlog_disk ? mib(*r.backlog_disk) : "-", r.drain_s, r.drain_rate);
    }
    if (r.rss_peak) {
        out << fmt::format(
            "  broker: rss start {} peak {} end {}, cpu {:.1f}s ({:.0f}% of a core)\n",
            mib(r.rss_start.value_or(0)), mib(*r.rss_peak), mib(r.rss_end.value_or(0)),
            r.cpu_s.value_or(0), r.cpu_percent.value_or(0));
    }
    if (r.disk_end) {
        out << fmt::format("  broker data dir at the end: {}\n", mib(*r.disk_end));
    }
    if (r.verified) {
        const verify_result& v = *r.verified;
        out << fmt::format(
            "  verify: {} confirmed deliveries expected, {} missing, {} duplicates, "
            "{} unconfirmed consumed, {} unconfirmed lost, {} unexpected, {} foreign: {}\n",
            v.expected, v.missing, v.duplicates, v.consumed_unconfirmed, v.unconsumed_unconfirmed,
            v.unexpected, v.foreign, v.ok() ? "OK" : "FAILED (confirmed messages missing)");
    } else {
        out << "  verify: skipped (no consumers)\n";
    }
    if (!r.error.empty()) {
        out << "  error: " << r.error << "\n";
    }
}

nlohmann::json to_json(const options& o, const run_results& r) {
    nlohmann::json opts = {
        {"uris", o.uris},
        {"producers", o.producers},
        {"consumers", o.consumers},
        {"queues", o.queues},
        {"queue_type", o.queue_type},
        {"durable", o.durable},
        {"exchange", o.exchange},
        {"exchange_type", to_string(o.exchange_type)},
        {"routing_key", o.routing_key},
        {"size", o.size},
        {"persistent", o.persistent},
        {"confirm", o.confirm},
        {"prefetch", o.prefetch},
        {"ack_every", o.ack_every},
        {"auto_ack", o.auto_ack},
        {"rate", o.rate},
        {"duration_s", o.duration_s},
        {"count", o.count},
        {"backlog", o.backlog},
    };
    nlohmann::json args = nlohmann::json::object();
    for (const auto& a : o.queue_args) {
        args[a.key] = a.value;
    }
    opts["queue_args"] = args;
    nlohmann::json seconds = nlohmann::json::array();
    for (const auto& s : r.seconds) {
        nlohmann::json j = {{"t_s", s.t_s},
                            {"published", s.published},
                            {"confirmed", s.confirmed},
                            {"consumed", s.consumed},
                            {"latency_us", latency_json(s.latency)},
                            {"confirm_latency_us", latency_json(s.confirm_latency)}};
        if (s.broker) {
            j["broker_rss_bytes"] = s.broker->rss_bytes;
            j["broker_cpu_percent"] = s.broker->cpu_percent;
        }
        seconds.push_back(j);
    }
    nlohmann::json verify_j = nullptr;
    if (r.verified) {
        const verify_result& v = *r.verified;
        verify_j = {{"ok", v.ok()},
                    {"expected", v.expected},
                    {"missing", v.missing},
                    {"duplicates", v.duplicates},
                    {"consumed_unconfirmed", v.consumed_unconfirmed},
                    {"unconsumed_unconfirmed", v.unconsumed_unconfirmed},
                    {"unexpected", v.unexpected},
                    {"foreign", v.foreign}};
    }
    return {
        {"tool", "quorummq-bench"},
        {"format", 1},
        {"label", o.label},
        {"ok", r.error.empty() && (!r.verified || r.verified->ok())},
        {"error", r.error},
        {"options", opts},
        {"amqp_consumers", r.amqp_consumers},
        {"publish_s", r.publish_s},
        {"consume_s", r.consume_s},
        {"published", r.published},
        {"confirmed", r.confirmed},
        {"nacked", r.nacked},
        {"consumed", r.consumed},
        {"routed", r.routed},
        {"publish_rate", r.publish_rate},
        {"confirm_rate", r.confirm_rate},
        {"consume_rate", r.consume_rate},
        {"latency_us", latency_json(r.latency)},
        {"confirm_latency_us", latency_json(r.confirm_latency)},
        {"broker",
         {{"rss_start_bytes", opt(r.rss_start)},
          {"rss_peak_bytes", opt(r.rss_peak)},
          {"rss_end_bytes", opt(r.rss_end)},
          {"cpu_s", opt(r.cpu_s)},
          {"cpu_percent", opt(r.cpu_percent)},
          {"disk_end_bytes", opt(r.disk_end)}}},
        {"backlog",
         {{"messages", r.backlog_messages},
          {"rss_bytes", opt(r.backlog_rss)},
          {"disk_bytes", opt(r.backlog_disk)},
          {"rss_per_message_bytes", (r.backlog_rss && r.rss_start && r.backlog_messages > 0)
                                        ? nlohmann::json((static_cast<double>(*r.backlog_rss) -
                                                          static_cast<double>(*r.rss_start)) /
                                                         static_cast<double>(r.backlog_messages))
                                        : nlohmann::json(nullptr)},
          {"drain_s", r.drain_s},
          {"drain_rate", r.drain_rate}}},
        {"verify", verify_j},
        {"seconds", seconds},
    };
}

}  // namespace qmq::bench
