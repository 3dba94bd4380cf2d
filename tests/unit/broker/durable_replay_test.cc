// Durable classic queues: the log entry codec, and replay of a queue's log
// through the machine after the broker (and its store) is torn down, as a
// kill -9 does (nothing is flushed at exit beyond what the WAL synced).

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "broker/durable_engine.h"
#include "broker/durable_entry.h"
#include "broker/vhost.h"
#include "confirms_harness.h"
#include "harness.h"

namespace qmq::broker {
namespace {

using testing::client;

amqp::basic_properties persistent() {
    amqp::basic_properties p;
    p.delivery_mode = 2;
    return p;
}

TEST(DurableEntry, RoundTripsEveryCommand) {
    std::vector<queue::command> cmds = {
        queue::enqueue{queue::owner_id(3), 7, 9, 100, 4, 1500},
        queue::checkout{queue::consumer_id(2), queue::owner_id(3), 10, -5, true},
        queue::cancel{queue::consumer_id(2)},
        queue::settle{queue::consumer_id(2), {queue::message_ref(1), queue::message_ref(5)}},
        queue::return_messages{queue::consumer_id(2), {queue::message_ref(6)}},
        queue::discard{queue::consumer_id(2), {}},
        queue::credit{queue::consumer_id(2), 77},
        queue::dequeue{queue::consumer_id(4), queue::owner_id(1), true},
        queue::purge{},
        queue::tick{},
        queue::down{queue::owner_id(8), queue::down_kind::unreachable},
        queue::up{queue::owner_id(8)},
        queue::delete_queue{true, false},
        queue::touch{},
        queue::dlx_settle{{queue::message_ref(12)}},
    };
    message msg;
    msg.exchange = "amq.direct";
    msg.routing_key = "rk";
    msg.content = testing::body("hello", persistent());
    for (const auto& c : cmds) {
        bytes out;
        const bool with_msg = std::holds_alternative<queue::enqueue>(c);
        encode_durable_entry(out, 1234, c, with_msg ? &msg : nullptr);
        auto e = decode_durable_entry(bytes_view(out));
        ASSERT_TRUE(e) << e.err().message;
        EXPECT_EQ(e->time_ms, 1234u);
        EXPECT_EQ(e->cmd, c);
        if (with_msg) {
            ASSERT_TRUE(e->msg);
            EXPECT_EQ(e->msg->exchange, "amq.direct");
            EXPECT_EQ(e->msg->routing_key, "rk");
            EXPECT_EQ(e->msg->content, msg.content);
        } else {
            EXPECT_FALSE(e->msg);
        }
        // Every strict prefix is refused, never misread.
        for (std::size_t n = 0; n < out.size(); ++n) {
            EXPECT_FALSE(decode_durable_entry(bytes_view(out).first(n))) << n;
        }
    }
}

class DurableReplay : public ::testing::Test {
  protected:
    void SetUp() override {
        _dir = std::filesystem::temp_directory_path() /
               ("qmq-durable-" + std::to_string(::getpid()) + "-" +
                ::testing::UnitTest::GetInstance()->current_test_info()->name());
        std::filesystem::remove_all(_dir);
        start();
    }
    void TearDown() override {
        stop();
        std::filesystem::remove_all(_dir);
    }
    void start() {
        auto e = durable_engine::open(_dir.string(), [] {});
        ASSERT_TRUE(e) << e.err().message;
        _engine = std::move(*e);
        _broker = std::make_unique<broker>(config::defaults());
        _broker->set_durable(_engine.get());
        _c = std::make_unique<client>(*_broker);
        _c->open();
    }
    void stop() {
        _c.reset();
        _broker.reset();
        _engine.reset();
    }
    // Waits until the WAL reported everything appended so far durable.
    void settle_disk() {
        for (int i = 0; i < 200 && pending_confirms() > 0; ++i) {
            _engine->log().wait_durable(std::chrono::milliseconds(10));
            _engine->drain();
            _c->s().on_batch_end();
        }
    }
    // Tags, not frames: confirms decided together leave as multiple=true.
    testing::confirmed_tags confirmed() { return testing::confirms_of(_c->sink, 1, _published); }
    std::size_t pending_confirms() { return _published - confirmed().outcome.size(); }
    void declare_durable(const std::string& name) {
        amqp::queue_declare d;
        d.queue = name;
        d.durable = true;
        _c->send(d);
    }
    void publish(const std::string& q, const std::string& text, bool persistent_msg = true) {
        _c->publish("", q, text, persistent_msg ? persistent() : amqp::basic_properties{});
        _c->s().on_batch_end();  // as the server does after each read
        ++_published;
    }

    std::filesystem::path _dir;
    std::unique_ptr<durable_engine> _engine;
    std::unique_ptr<broker> _broker;
    std::unique_ptr<client> _c;
    std::size_t _published = 0;
};

TEST_F(DurableReplay, ConfirmsWaitForTheDiskAndMessagesSurviveInOrder) {
    declare_durable("q");
    _c->send(amqp::confirm_select{});
    for (int i = 0; i < 50; ++i) {
        publish("q", "m" + std::to_string(i));
    }
    // No confirm before the WAL writer reported the entries durable.
    EXPECT_EQ(_c->all<amqp::basic_ack>().size(), 0u);
    settle_disk();
    const auto confirms = confirmed();
    ASSERT_EQ(confirms.outcome.size(), 50u);
    EXPECT_FALSE(confirms.twice);
    for (const auto& [tag, ok] : confirms.outcome) {
        EXPECT_TRUE(ok) << tag;
    }
    // Consume and ack the first 10, take 5 more without acking them.
    _c->send(amqp::basic_qos{0, 15, false});
    _c->consume("q");
    auto dels = _c->all<amqp::basic_deliver>();
    ASSERT_EQ(dels.size(), 15u);
    _c->send(amqp::basic_ack{std::get<amqp::basic_deliver>(dels[9].m).delivery_tag, true});
    _engine->log().wait_durable(std::chrono::milliseconds(100));

    stop();
    start();
    declare_durable("q");
    EXPECT_EQ(_c->last<amqp::queue_declare_ok>().message_count, 40u);
    _c->consume("q");
    std::vector<std::string> want;
    for (int i = 10; i < 50; ++i) {
        want.push_back("m" + std::to_string(i));
    }
    EXPECT_EQ(_c->delivered(), want);
    // Unacked messages of the previous run (m10..m14, and m15..m24 that the
    // ack made room for) come back flagged redelivered.
    auto again = _c->all<amqp::basic_deliver>();
    ASSERT_EQ(again.size(), 40u);
    EXPECT_TRUE(std::get<amqp::basic_deliver>(again[0].m).redelivered);
    EXPECT_TRUE(std::get<amqp::basic_deliver>(again[14].m).redelivered);
    EXPECT_FALSE(std::get<amqp::basic_deliver>(again[15].m).redelivered);
}

TEST_F(DurableReplay, TransientMessagesDoNotSurviveAndNeverWaitForDisk) {
    declare_durable("q");
    _c->send(amqp::confirm_select{});
    publish("q", "t1", false);
    EXPECT_EQ(_c->all<amqp::basic_ack>().size(), 1u);  // at once
    publish("q", "p1");
    publish("q", "t2", false);
    publish("q", "p2");
    settle_disk();
    stop();
    start();
    declare_durable("q");
    EXPECT_EQ(_c->last<amqp::queue_declare_ok>().message_count, 2u);
    EXPECT_EQ(_c->get("q"), "p1");
    EXPECT_EQ(_c->get("q"), "p2");
}

TEST_F(DurableReplay, DeletedQueueComesBackEmpty) {
    declare_durable("q");
    publish("q", "old");
    _c->send(amqp::queue_delete{0, "q", false, false, false});
    _engine->log().wait_durable(std::chrono::milliseconds(100));
    stop();
    start();
    declare_durable("q");
    EXPECT_EQ(_c->last<amqp::queue_declare_ok>().message_count, 0u);
    publish("q", "new");
    stop();
    start();
    declare_durable("q");
    EXPECT_EQ(_c->get("q"), "new");
}

}  // namespace
}  // namespace qmq::broker
