// Durable classic queues when the disk refuses writes (injected ENOSPC, as
// the storage tests do where a tmpfs cannot be mounted): the queue degrades
// (runs in memory, nacks persistent publishes), resumes by itself once the
// log store accepts writes, and a restart then recovers exactly the state it
// had in memory. A restart while still degraded recovers the state at the
// last durable entry (a consistent prefix), never a mix.

#include <gtest/gtest.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <filesystem>
#include <map>
#include <thread>

#include "broker/durable_engine.h"
#include "broker/vhost.h"
#include "harness.h"
#include "storage/file.h"

namespace qmq::broker {
namespace {

using testing::client;

amqp::basic_properties persistent() {
    amqp::basic_properties p;
    p.delivery_mode = 2;
    return p;
}

// Resets the injected error even when an assertion returns early.
struct injected_errno {
    explicit injected_errno(int err) { storage::inject_write_errno(err); }
    ~injected_errno() { storage::inject_write_errno(0); }
    void clear() { storage::inject_write_errno(0); }
};

class DurableDiskError : public ::testing::Test {
  protected:
    void SetUp() override {
        _dir = std::filesystem::temp_directory_path() /
               ("qmq-durable-disk-" + std::to_string(::getpid()) + "-" +
                ::testing::UnitTest::GetInstance()->current_test_info()->name());
        std::filesystem::remove_all(_dir);
        start();
    }
    void TearDown() override {
        storage::inject_write_errno(0);
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
        _published = 0;
    }
    void stop() {
        _c.reset();
        _broker.reset();
        _engine.reset();
    }
    // Publish seq -> acked (true) or nacked, expanding multiple=true.
    std::map<uint64_t, bool> confirms() {
        std::map<uint64_t, bool> out;
        const auto mark = [&](uint64_t tag, bool multiple, bool ok) {
            for (uint64_t seq = multiple ? 1 : tag; seq <= tag; ++seq) {
                out.try_emplace(seq, ok);
            }
        };
        for (const auto& s : _c->sink.out) {
            if (const auto* a = std::get_if<amqp::basic_ack>(&s.m)) {
                mark(a->delivery_tag, a->multiple, true);
            } else if (const auto* n = std::get_if<amqp::basic_nack>(&s.m)) {
                mark(n->delivery_tag, n->multiple, false);
            }
        }
        return out;
    }
    std::size_t count_confirms(bool ok) {
        std::size_t n = 0;
        for (const auto& [seq, v] : confirms()) {
            n += v == ok ? 1 : 0;
        }
        return n;
    }
    std::size_t acks() { return count_confirms(true); }
    std::size_t nacks() { return count_confirms(false); }
    // Waits (bounded) until every publish so far got its ack or nack.
    void settle_confirms() {
        for (int i = 0; i < 300 && acks() + nacks() < _published; ++i) {
            _engine->log().wait_durable(std::chrono::milliseconds(10));
            _engine->drain();
            _c->s().on_batch_end();
        }
    }
    // Waits (bounded) until the log store accepts writes again, then ticks.
    bool resume() {
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
        while (std::chrono::steady_clock::now() < deadline) {
            _engine->drain();
            if (!_engine->writes_refused()) {
                _engine->tick();
                if (_engine->degraded_queues() == 0) {
                    return true;
                }
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
        return false;
    }
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
    void ack_up_to(uint64_t tag) { _c->send(amqp::basic_ack{tag, true}); }
    // Every message left in `q`, taken with basic.get no-ack.
    std::vector<std::string> drain_queue(const std::string& q) {
        std::vector<std::string> out;
        while (auto m = _c->get(q)) {
            out.push_back(*m);
        }
        return out;
    }

    std::filesystem::path _dir;
    std::unique_ptr<durable_engine> _engine;
    std::unique_ptr<broker> _broker;
    std::unique_ptr<client> _c;
    std::size_t _published = 0;
};

std::vector<std::string> names(int from, int to) {
    std::vector<std::string> v;
    for (int i = from; i <= to; ++i) {
        v.push_back("m" + std::to_string(i));
    }
    return v;
}

TEST_F(DurableDiskError, DegradedQueueNacksResumesAndRestartGivesTheInMemoryState) {
    declare_durable("q");
    _c->send(amqp::confirm_select{});
    for (int i = 0; i < 10; ++i) {
        publish("q", "m" + std::to_string(i));
    }
    settle_confirms();
    ASSERT_EQ(acks(), 10u);
    _c->consume("q");  // manual ack, no prefetch limit: m0..m9 delivered
    ASSERT_EQ(_c->delivered().size(), 10u);
    ack_up_to(3);  // m0..m2 settled on disk

    injected_errno full(ENOSPC);
    publish("q", "m10");  // accepted by the store, fails in the writer
    settle_confirms();
    EXPECT_EQ(nacks(), 1u);
    EXPECT_TRUE(_engine->writes_refused());
    EXPECT_EQ(_engine->degraded_queues(), 1u);
    publish("q", "m11");  // refused at once: nacked at once
    EXPECT_EQ(nacks(), 2u);
    EXPECT_EQ(acks(), 10u);
    ack_up_to(7);  // m3..m6 settled in memory only
    // The consumer keeps getting the in-memory messages.
    EXPECT_EQ(_c->delivered(), names(0, 11));

    full.clear();
    ASSERT_TRUE(resume()) << "the queue did not resume";
    publish("q", "m12");
    settle_confirms();
    EXPECT_EQ(acks(), 11u);
    EXPECT_EQ(nacks(), 2u);
    ack_up_to(8);  // m7 settled after the resume
    _engine->log().wait_durable(std::chrono::milliseconds(100));

    // In memory: m8..m12 unacked (m10, m11 nacked to the publisher but
    // kept: at-least-once). A restart must give exactly that.
    stop();
    start();
    declare_durable("q");
    EXPECT_EQ(_c->last<amqp::queue_declare_ok>().message_count, 5u);
    EXPECT_EQ(drain_queue("q"), names(8, 12));
}

TEST_F(DurableDiskError, RestartWhileDegradedRecoversTheLastDurableState) {
    declare_durable("q");
    _c->send(amqp::confirm_select{});
    for (int i = 0; i < 6; ++i) {
        publish("q", "m" + std::to_string(i));
    }
    settle_confirms();
    ASSERT_EQ(acks(), 6u);
    _c->consume("q");
    ack_up_to(2);  // m0, m1 settled on disk
    _engine->log().wait_durable(std::chrono::milliseconds(100));
    _engine->drain();

    {
        injected_errno full(ENOSPC);
        publish("q", "m6");
        settle_confirms();
        ASSERT_EQ(nacks(), 1u);
        ack_up_to(5);  // m2..m4: in memory only
        publish("q", "m7");
        EXPECT_EQ(nacks(), 2u);
        stop();  // as a crash: nothing more reaches the disk
    }
    start();
    declare_durable("q");
    // The state at the last durable entry: the degraded acks are lost (m2..m4
    // come back), the nacked publishes are gone.
    EXPECT_EQ(drain_queue("q"), names(2, 5));
}

TEST_F(DurableDiskError, MessagesAcrossSeveralDegradedEpisodesAndSnapshots) {
    declare_durable("q");
    _c->send(amqp::confirm_select{});
    int next = 0;
    for (int round = 0; round < 3; ++round) {
        for (int i = 0; i < 5; ++i) {
            publish("q", "m" + std::to_string(next++));
        }
        settle_confirms();
        injected_errno full(ENOSPC);
        publish("q", "m" + std::to_string(next++));
        settle_confirms();
        publish("q", "m" + std::to_string(next++));
        full.clear();
        ASSERT_TRUE(resume()) << "round " << round;
    }
    EXPECT_EQ(acks(), 15u);
    EXPECT_EQ(nacks(), 6u);
    // Take the first half: frees messages whose bodies are in the log and
    // some that live only in resume snapshots.
    for (int i = 0; i < 10; ++i) {
        EXPECT_EQ(_c->get("q"), "m" + std::to_string(i));
    }
    _engine->log().wait_durable(std::chrono::milliseconds(100));
    stop();
    start();
    declare_durable("q");
    EXPECT_EQ(drain_queue("q"), names(10, 20));
}

TEST_F(DurableDiskError, TransientMessagesLiveAtASnapshotDoNotBreakRecovery) {
    // Enough commands for the machine's release cursor (every 4096) to
    // snapshot while transient messages are live: their refs are in the
    // snapshot's state, so their bodies must be too.
    declare_durable("q");
    constexpr int count = 5000;
    for (int i = 0; i < count; ++i) {
        publish("q", "t" + std::to_string(i), false);
    }
    publish("q", "p");
    // Let every notice in, so the snapshot waiting on one gets written.
    for (int i = 0; i < 20; ++i) {
        _engine->log().wait_durable(std::chrono::milliseconds(20));
        _engine->drain();
    }
    stop();
    start();
    declare_durable("q");
    auto left = drain_queue("q");
    ASSERT_FALSE(left.empty());
    EXPECT_EQ(left.back(), "p");
    // Whatever transient messages came back are whole and in order.
    for (std::size_t i = 0; i + 1 < left.size(); ++i) {
        EXPECT_EQ(left[i], "t" + std::to_string(i));
    }
}

}  // namespace
}  // namespace qmq::broker
