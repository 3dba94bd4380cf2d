#include "loadgen/options.h"

#include <CLI/CLI.hpp>
#include <map>
#include <sstream>

#include "loadgen/message.h"

namespace qmq::bench {

const char* to_string(exchange_kind k) {
    switch (k) {
        case exchange_kind::direct:
            return "direct";
        case exchange_kind::fanout:
            return "fanout";
        case exchange_kind::topic:
            return "topic";
    }
    QMQ_UNREACHABLE();
}

namespace {

// "a,b" and repeated flags both give a list.
std::vector<std::string> split_commas(const std::vector<std::string>& in) {
    std::vector<std::string> out;
    for (const auto& item : in) {
        std::stringstream ss(item);
        std::string part;
        while (std::getline(ss, part, ',')) {
            if (!part.empty()) {
                out.push_back(part);
            }
        }
    }
    return out;
}

error usage(std::string message) {
    return error{2, std::move(message)};
}

}  // namespace

result<void> validate(const options& o) {
    if (o.uris.empty()) {
        return usage("at least one --uri is needed");
    }
    if (o.producers + o.consumers == 0) {
        return usage("nothing to do: --producers 0 and --consumers 0");
    }
    if (o.producers + o.consumers > connections_max) {
        return usage("too many connections: producers + consumers > " +
                     std::to_string(connections_max));
    }
    if (o.queues == 0 || o.queues > queues_max) {
        return usage("--queues must be in 1.." + std::to_string(queues_max));
    }
    if (o.size < stamp_size || o.size > message_size_max) {
        return usage("--size must be in " + std::to_string(stamp_size) + ".." +
                     std::to_string(message_size_max) + " (the stamp needs " +
                     std::to_string(stamp_size) + " bytes)");
    }
    if (o.confirm > confirm_window_max) {
        return usage("--confirm must be at most " + std::to_string(confirm_window_max));
    }
    if (o.ack_every == 0) {
        return usage("--ack-every must be at least 1");
    }
    if (o.prefetch > 0 && o.ack_every > o.prefetch && !o.auto_ack) {
        return usage("--ack-every larger than --prefetch would stall the consumer");
    }
    if (o.stall_timeout_s <= 0 || o.drain_timeout_s <= 0) {
        return usage("--stall-timeout and --drain-timeout must be > 0");
    }
    if (o.rate < 0) {
        return usage("--rate must be >= 0");
    }
    if (o.count == 0 && o.duration_s <= 0) {
        return usage("give --duration > 0 or --count > 0");
    }
    if (o.backlog && o.count == 0) {
        return usage("--backlog needs --count (messages per producer)");
    }
    if (o.backlog && o.producers == 0) {
        return usage("--backlog needs producers");
    }
    if (o.exchange.empty() && o.exchange_type != exchange_kind::direct) {
        return usage("--exchange-type needs a named --exchange");
    }
    if ((o.queue_type == "quorum" || o.queue_type == "stream") && !o.durable) {
        return usage("--queue-type " + o.queue_type + " needs --durable");
    }
    for (const auto& a : o.queue_args) {
        if (a.key.empty()) {
            return usage("--queue-arg needs KEY=VALUE");
        }
    }
    return ok_result();
}

result<options> parse_options(int argc, const char* const* argv) {
    options o;
    CLI::App app{
        "quorummq-bench: AMQP 0-9-1 load generator (rabbitmq-c), in the spirit of "
        "RabbitMQ's PerfTest",
        "quorummq-bench"};
    app.get_formatter()->column_width(36);

    std::vector<std::string> uris;
    std::vector<std::string> args;
    std::string exchange_type = "direct";
    double rate = 0;

    app.add_option("-u,--uri", uris,
                   "broker URI(s), amqp://user:pass@host:port/vhost; repeat or comma-separate "
                   "for a cluster (connection i uses URI i mod n)");
    app.add_option("-x,--producers", o.producers, "producer connections")->capture_default_str();
    app.add_option("-y,--consumers", o.consumers, "consumer connections")->capture_default_str();
    app.add_option("-q,--queues", o.queues,
                   "queues, named PREFIX-0..N-1; producers and consumers are spread over them")
        ->capture_default_str();
    app.add_option("--queue-prefix", o.queue_prefix, "queue name prefix")->capture_default_str();
    app.add_option("--queue-type", o.queue_type,
                   "x-queue-type argument (classic, quorum, stream); default: none");
    app.add_option("--queue-arg", args, "queue argument KEY=VALUE (repeatable)");
    app.add_flag("--durable", o.durable, "declare durable queues and exchange");
    app.add_flag("--keep-queues", o.keep_queues, "do not delete queues and exchange at the end");
    app.add_option("-e,--exchange", o.exchange,
                   "exchange to publish to; default: the default exchange");
    app.add_option("-t,--exchange-type", exchange_type, "direct, fanout or topic")
        ->check(CLI::IsMember({"direct", "fanout", "topic"}))
        ->capture_default_str();
    app.add_option("-k,--routing-key", o.routing_key,
                   "fixed routing key (default: each target queue's name)");
    app.add_option("-s,--size", o.size, "message body size in bytes")->capture_default_str();
    app.add_flag("-f,--persistent", o.persistent, "delivery mode 2 (persistent)");
    app.add_option("-c,--confirm", o.confirm,
                   "publisher confirms with at most N unconfirmed in flight; 0: off")
        ->capture_default_str();
    app.add_option("-Q,--prefetch", o.prefetch, "consumer prefetch (basic.qos); 0: unlimited")
        ->capture_default_str();
    app.add_option("-A,--ack-every", o.ack_every, "ack every N deliveries with multiple=true")
        ->capture_default_str();
    app.add_flag("-a,--auto-ack", o.auto_ack, "consume with no-ack");
    app.add_option("-r,--rate", rate, "publish rate per producer, messages/s; 0: flat out")
        ->capture_default_str();
    app.add_option("-z,--duration", o.duration_s, "seconds of publishing (when no --count)")
        ->capture_default_str();
    app.add_option("-C,--count", o.count, "messages per producer; 0: run for --duration")
        ->capture_default_str();
    app.add_flag("--backlog", o.backlog,
                 "publish --count first with no consumer, measure the broker, then drain");
    app.add_option("--drain-timeout", o.drain_timeout_s,
                   "seconds to wait for outstanding messages after publishing stops")
        ->capture_default_str();
    app.add_option("--stall-timeout", o.stall_timeout_s,
                   "abort the run when no message is published, confirmed or consumed for "
                   "this many seconds")
        ->capture_default_str();
    app.add_option("--broker-pid", o.broker_pids,
                   "broker pid: report its RSS and CPU with its child processes (repeatable: "
                   "summed over a cluster's nodes)");
    app.add_option("--broker-data-dir", o.broker_data_dirs,
                   "broker data dir: report disk use (repeatable: summed)");
    app.add_option("--json", o.json_path, "write the results as JSON to FILE ('-': stdout)");
    app.add_option("--label", o.label, "free text copied into the JSON");
    app.add_flag("--quiet", o.quiet, "no per-second lines");

    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp&) {
        return error{0, app.help()};
    } catch (const CLI::ParseError& e) {
        return usage(e.what());
    }

    if (!uris.empty()) {
        o.uris = split_commas(uris);
    }
    o.rate = rate;
    static const std::map<std::string, exchange_kind> kinds{{"direct", exchange_kind::direct},
                                                            {"fanout", exchange_kind::fanout},
                                                            {"topic", exchange_kind::topic}};
    o.exchange_type = kinds.at(exchange_type);
    for (const auto& a : args) {
        const auto eq = a.find('=');
        if (eq == std::string::npos) {
            return usage("--queue-arg '" + a + "' is not KEY=VALUE");
        }
        o.queue_args.push_back({a.substr(0, eq), a.substr(eq + 1)});
    }
    if (auto v = validate(o); !v) {
        return v.err();
    }
    return o;
}

}  // namespace qmq::bench
