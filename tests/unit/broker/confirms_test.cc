// Publisher confirms coalesced into multiple=true frames: the pure
// confirm_coalescer, then through a session (transient queues), then with
// the durable engine (confirms decided by one drain of WAL notices).

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>
#include <thread>

#include "broker/broker.h"
#include "broker/durable_confirms.h"
#include "broker/durable_engine.h"
#include "broker/session.h"
#include "common/prng.h"
#include "confirms_harness.h"
#include "harness.h"

namespace qmq::broker {
namespace {

using frame = confirm_coalescer::frame;
using frames = std::vector<frame>;

frames flush(confirm_coalescer& c) {
    frames out;
    c.flush(out);
    return out;
}

TEST(ConfirmCoalescer, ContiguousAcksBecomeOneMultipleFrame) {
    confirm_coalescer c;
    for (int i = 0; i < 5; ++i) {
        c.decide(c.next(), true);
    }
    EXPECT_EQ(flush(c), (frames{{5, true, true}}));
    EXPECT_EQ(flush(c), frames{});
    EXPECT_EQ(c.unconfirmed(), 0u);
    // A single one is sent with multiple=false.
    c.decide(c.next(), true);
    EXPECT_EQ(flush(c), (frames{{6, false, true}}));
}

TEST(ConfirmCoalescer, NackSplitsRunsInTagOrder) {
    confirm_coalescer c;
    const bool outcome[] = {true, true, false, false, true, false, true, true};
    for (bool ok : outcome) {
        c.decide(c.next(), ok);
    }
    EXPECT_EQ(flush(c), (frames{{2, true, true},
                                {4, true, false},
                                {5, false, true},
                                {6, false, false},
                                {8, true, true}}));
}

TEST(ConfirmCoalescer, NothingAboveAPendingTagIsCoveredByMultiple) {
    confirm_coalescer c;
    const uint64_t s1 = c.next();
    const uint64_t s2 = c.next();  // stays pending (durable)
    const uint64_t s3 = c.next();
    const uint64_t s4 = c.next();
    c.decide(s1, true);
    c.decide(s4, true);
    c.decide(s3, true);
    // 1 alone below the gap; 3 and 4 alone (multiple would confirm 2).
    EXPECT_EQ(flush(c), (frames{{1, false, true}, {3, false, true}, {4, false, true}}));
    EXPECT_EQ(c.unconfirmed(), 1u);
    const uint64_t s5 = c.next();
    const uint64_t s6 = c.next();
    c.decide(s5, true);
    c.decide(s6, true);
    c.decide(s2, true);
    // 2 is now the lowest: it goes out alone (3, 4 were confirmed already),
    // then 5..6 as one run.
    EXPECT_EQ(flush(c), (frames{{2, false, true}, {6, true, true}}));
    EXPECT_EQ(c.unconfirmed(), 0u);
}

TEST(ConfirmCoalescer, UndecidedIsNeverSent) {
    confirm_coalescer c;
    c.next();
    c.next();
    EXPECT_EQ(flush(c), frames{});
    EXPECT_FALSE(c.has_decided());
    EXPECT_EQ(c.unconfirmed(), 2u);
}

// Random decision orders and flush points: every tag confirmed exactly once
// with its own outcome, none before it was decided, multiple only over
// tags all decided alike and not confirmed before.
TEST(ConfirmCoalescer, RandomOrdersConfirmEachTagOnceWithItsOutcome) {
    prng rng(20261126);
    for (int round = 0; round < 200; ++round) {
        confirm_coalescer c;
        std::map<uint64_t, bool> truth;
        std::vector<uint64_t> undecided;
        std::map<uint64_t, bool> seen;
        std::set<uint64_t> decided;
        const int steps = 1 + static_cast<int>(rng.next() % 60);
        auto check = [&](const frames& fs) {
            for (const frame& f : fs) {
                ASSERT_FALSE(seen.contains(f.tag));
                if (!f.multiple) {
                    ASSERT_TRUE(decided.contains(f.tag));
                    ASSERT_EQ(truth[f.tag], f.ack);
                    seen[f.tag] = f.ack;
                    continue;
                }
                // Covers every unconfirmed tag <= f.tag: all decided alike.
                for (uint64_t t = 1; t <= f.tag; ++t) {
                    if (seen.contains(t))
                        continue;
                    ASSERT_TRUE(decided.contains(t)) << "tag " << t << " not decided";
                    ASSERT_EQ(truth[t], f.ack);
                    seen[t] = f.ack;
                }
            }
        };
        for (int i = 0; i < steps; ++i) {
            const uint64_t r = rng.next() % 4;
            if (r == 0 && !undecided.empty()) {
                const std::size_t k = rng.next() % undecided.size();
                const uint64_t seq = undecided[k];
                undecided.erase(undecided.begin() + static_cast<std::ptrdiff_t>(k));
                c.decide(seq, truth[seq]);
                decided.insert(seq);
            } else if (r == 1) {
                check(flush(c));
            } else {
                const uint64_t seq = c.next();
                truth[seq] = rng.next() % 5 != 0;
                if (rng.next() % 3 == 0) {
                    undecided.push_back(seq);  // waits for "the disk"
                } else {
                    c.decide(seq, truth[seq]);
                    decided.insert(seq);
                }
            }
        }
        for (uint64_t seq : undecided) {
            c.decide(seq, truth[seq]);
            decided.insert(seq);
        }
        check(flush(c));
        ASSERT_EQ(seen, truth) << "round " << round;
        ASSERT_EQ(c.unconfirmed(), 0u);
    }
}

// ---- through a session ------------------------------------------------------

class ConfirmsSession : public ::testing::Test {
  protected:
    broker b{config::defaults()};
    testing::client c{b};
    void SetUp() override {
        b.tick(1'000'000);
        c.open();
    }
};

TEST_F(ConfirmsSession, OneReadOfPublishesIsConfirmedByOneFrame) {
    c.declare("q");
    c.send(amqp::confirm_select{});
    for (int i = 0; i < 10; ++i) {
        c.publish("", "q", "m");
    }
    // Nothing before the end of the read batch.
    EXPECT_TRUE(c.all<amqp::basic_ack>().empty());
    c.s().on_batch_end();
    const auto acks = c.all<amqp::basic_ack>();
    ASSERT_EQ(acks.size(), 1u);
    EXPECT_EQ(std::get<amqp::basic_ack>(acks[0].m).delivery_tag, 10u);
    EXPECT_TRUE(std::get<amqp::basic_ack>(acks[0].m).multiple);
    // The next batch continues from 11.
    c.publish("", "q", "m");
    c.s().on_batch_end();
    const auto again = c.all<amqp::basic_ack>();
    ASSERT_EQ(again.size(), 2u);
    EXPECT_EQ(std::get<amqp::basic_ack>(again[1].m).delivery_tag, 11u);
    EXPECT_FALSE(std::get<amqp::basic_ack>(again[1].m).multiple);
}

TEST_F(ConfirmsSession, NackInTheMiddleKeepsOrder) {
    c.declare("small", {{"x-max-length", 2}, {"x-overflow", "reject-publish"}});
    c.send(amqp::confirm_select{});
    for (int i = 0; i < 4; ++i) {
        c.publish("", "small", "m");  // 3 and 4 rejected
    }
    c.publish("", "nowhere", "m");  // unroutable: acked
    c.s().on_batch_end();
    c.sink.out.erase(c.sink.out.begin(), c.sink.out.begin() + 2);  // declare-ok, select-ok
    ASSERT_EQ(c.sink.out.size(), 3u);
    const auto a1 = std::get<amqp::basic_ack>(c.sink.out[0].m);
    const auto n = std::get<amqp::basic_nack>(c.sink.out[1].m);
    const auto a2 = std::get<amqp::basic_ack>(c.sink.out[2].m);
    EXPECT_EQ(a1.delivery_tag, 2u);
    EXPECT_TRUE(a1.multiple);
    EXPECT_EQ(n.delivery_tag, 4u);
    EXPECT_TRUE(n.multiple);
    EXPECT_EQ(a2.delivery_tag, 5u);
    EXPECT_FALSE(a2.multiple);
}

TEST_F(ConfirmsSession, ConfirmsGoOutBeforeAChannelError) {
    c.declare("q");
    c.send(amqp::confirm_select{});
    c.publish("", "q", "m");
    c.publish("missing-exchange", "q", "m");  // 404 closes the channel
    EXPECT_EQ(c.last_channel_close_code(), 404);
    const auto acks = c.all<amqp::basic_ack>();
    ASSERT_EQ(acks.size(), 1u);
    EXPECT_EQ(std::get<amqp::basic_ack>(acks[0].m).delivery_tag, 1u);
}

// ---- with the durable engine ---------------------------------------------

amqp::basic_properties persistent() {
    amqp::basic_properties p;
    p.delivery_mode = 2;
    return p;
}

class ConfirmsDurable : public ::testing::Test {
  protected:
    void SetUp() override {
        _dir = std::filesystem::temp_directory_path() /
               ("qmq-confirms-" + std::to_string(::getpid()) + "-" +
                ::testing::UnitTest::GetInstance()->current_test_info()->name());
        std::filesystem::remove_all(_dir);
        auto e = durable_engine::open(_dir.string(), [] {});
        ASSERT_TRUE(e) << e.err().message;
        _engine = std::move(*e);
        _broker = std::make_unique<broker>(config::defaults());
        _broker->set_durable(_engine.get());
        _c = std::make_unique<testing::client>(*_broker);
        _c->open();
    }
    void TearDown() override {
        _c.reset();
        _broker.reset();
        _engine.reset();
        std::filesystem::remove_all(_dir);
    }
    void declare_durable(const std::string& name) {
        amqp::queue_declare d;
        d.queue = name;
        d.durable = true;
        _c->send(d);
    }
    // Drains WAL notices until `published` tags are confirmed (bounded).
    testing::confirmed_tags settle(uint64_t published) {
        testing::confirmed_tags t;
        for (int i = 0; i < 300; ++i) {
            t = testing::confirms_of(_c->sink, 1, published);
            if (t.outcome.size() == published) {
                break;
            }
            _engine->log().wait_durable(std::chrono::milliseconds(10));
            _engine->drain();
        }
        return t;
    }

    std::filesystem::path _dir;
    std::unique_ptr<durable_engine> _engine;
    std::unique_ptr<broker> _broker;
    std::unique_ptr<testing::client> _c;
};

TEST_F(ConfirmsDurable, TransientAndPersistentMixedAreEachConfirmedOnce) {
    declare_durable("d");
    _c->declare("t");
    _c->send(amqp::confirm_select{});
    uint64_t published = 0;
    for (int i = 0; i < 40; ++i) {
        if (i % 4 == 3) {
            _c->publish("", "t", "transient");
        } else {
            _c->publish("", "d", "p", persistent());
        }
        ++published;
        if (i % 10 == 9) {
            _c->s().on_batch_end();
        }
    }
    // Persistent ones wait for the WAL: transient ones above them went
    // out alone, none of the persistent ones before the disk said so.
    const auto early = testing::confirms_of(_c->sink, 1, published);
    for (const auto& [tag, ok] : early.outcome) {
        EXPECT_EQ((tag - 1) % 4, 3u) << "tag " << tag << " confirmed before the disk";
    }
    const auto t = settle(published);
    EXPECT_EQ(t.outcome.size(), published);
    EXPECT_FALSE(t.twice);
    for (const auto& [tag, ok] : t.outcome) {
        EXPECT_TRUE(ok) << tag;
    }
}

TEST_F(ConfirmsDurable, OneDrainConfirmsItsPersistentRunInOneFrame) {
    declare_durable("d");
    _c->send(amqp::confirm_select{});
    constexpr uint64_t published = 50;
    for (uint64_t i = 0; i < published; ++i) {
        _c->publish("", "d", "p", persistent());
    }
    _c->s().on_batch_end();
    EXPECT_TRUE(testing::confirms_of(_c->sink, 1, published).outcome.empty())
        << "nothing is confirmed before the disk";
    // The WAL gives one notice per append. Let the writer make (nearly) all
    // of them durable, then drain: at_drain_end sends what one drain decides
    // as one multiple=true frame, so a handful of frames, not one per tag.
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    const auto t = settle(published);
    EXPECT_EQ(t.outcome.size(), published);
    EXPECT_FALSE(t.twice);
    EXPECT_LE(t.frames, 3u);
    EXPECT_GE(t.multiple_frames, 1u);
}

TEST_F(ConfirmsDurable, TxCommitOkWaitsForTheDisk) {
    declare_durable("d");
    _c->send(amqp::tx_select{});
    for (int i = 0; i < 5; ++i) {
        _c->publish("", "d", "p", persistent());
    }
    _c->send(amqp::tx_commit{});
    EXPECT_TRUE(_c->all<amqp::tx_commit_ok>().empty()) << "commit-ok before the WAL";
    for (int i = 0; i < 300 && _c->all<amqp::tx_commit_ok>().empty(); ++i) {
        _engine->log().wait_durable(std::chrono::milliseconds(10));
        _engine->drain();
    }
    EXPECT_EQ(_c->all<amqp::tx_commit_ok>().size(), 1u);
    // Transient messages (or queues) need no disk: at once.
    _c->publish("", "d", "transient");
    _c->send(amqp::tx_commit{});
    EXPECT_EQ(_c->all<amqp::tx_commit_ok>().size(), 2u);
    EXPECT_TRUE(_c->sink.channel_closes.empty());
}

TEST_F(ConfirmsDurable, CommitOksKeepTheirOrder) {
    declare_durable("d");
    _c->send(amqp::tx_select{});
    _c->publish("", "d", "p", persistent());
    _c->send(amqp::tx_commit{});
    _c->publish("", "d", "transient");
    _c->send(amqp::tx_commit{});
    // The second needs no disk but must not overtake the first.
    EXPECT_TRUE(_c->all<amqp::tx_commit_ok>().empty());
    for (int i = 0; i < 300 && _c->all<amqp::tx_commit_ok>().size() < 2; ++i) {
        _engine->log().wait_durable(std::chrono::milliseconds(10));
        _engine->drain();
    }
    EXPECT_EQ(_c->all<amqp::tx_commit_ok>().size(), 2u);
}

TEST(TxCommit, RejectedPublishFailsTheCommitWith406) {
    broker b{config::defaults()};
    testing::client c{b};
    b.tick(1'000'000);
    c.open();
    c.declare("small", {{"x-max-length", 1}, {"x-overflow", "reject-publish"}});
    c.send(amqp::tx_select{});
    c.publish("", "small", "1");
    c.publish("", "small", "2");  // rejected
    c.send(amqp::tx_commit{});
    EXPECT_TRUE(c.all<amqp::tx_commit_ok>().empty());
    EXPECT_EQ(c.last_channel_close_code(), 406);
    EXPECT_EQ(c.last_channel_close_text(), "PRECONDITION_FAILED - partial tx completion");
}

}  // namespace
}  // namespace qmq::broker
