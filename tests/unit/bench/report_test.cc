#include "loadgen/report.h"

#include <gtest/gtest.h>

#include "loadgen/run.h"

namespace qmq::bench {
namespace {

// bench/compare and bench/plot read these paths; keep them stable.
TEST(Report, JsonCarriesTheFiguresCompareReads) {
    options o;
    o.confirm = 100;
    run_results r;
    r.published = 1000;
    r.confirmed = 1000;
    r.consumed = 1000;
    r.publish_rate = 500;
    r.consume_rate = 499;
    r.latency.p99 = 1234;
    r.confirm_latency.p50 = 77;
    r.rss_start = 100;
    r.rss_peak = 300;
    r.verified = verify_result{};
    r.verified->expected = 1000;
    const auto j = to_json(o, r);
    EXPECT_TRUE(j["ok"].get<bool>());
    EXPECT_EQ(j["publish_rate"].get<double>(), 500);
    EXPECT_EQ(j["consume_rate"].get<double>(), 499);
    EXPECT_EQ(j["latency_us"]["p99"].get<uint64_t>(), 1234u);
    EXPECT_EQ(j["confirm_latency_us"]["p50"].get<uint64_t>(), 77u);
    EXPECT_EQ(j["broker"]["rss_peak_bytes"].get<uint64_t>(), 300u);
    EXPECT_TRUE(j["broker"]["cpu_percent"].is_null());
    EXPECT_EQ(j["verify"]["missing"].get<uint64_t>(), 0u);
    EXPECT_EQ(j["options"]["confirm"].get<uint32_t>(), 100u);
    EXPECT_TRUE(j["seconds"].is_array());
}

TEST(Report, MissingMessagesMakeTheRunFail) {
    options o;
    run_results r;
    r.verified = verify_result{};
    r.verified->expected = 10;
    r.verified->missing = 1;
    EXPECT_FALSE(to_json(o, r)["ok"].get<bool>());
    EXPECT_EQ(exit_code(r), exit_missing);
    r.verified->missing = 0;
    EXPECT_EQ(exit_code(r), exit_ok);
    r.error = "connection lost";
    EXPECT_EQ(exit_code(r), exit_failed);
    EXPECT_FALSE(to_json(o, r)["ok"].get<bool>());
}

TEST(Report, BacklogMemoryPerMessage) {
    options o;
    o.backlog = true;
    o.count = 1000;
    run_results r;
    r.rss_start = 1'000'000;
    r.backlog_rss = 3'000'000;
    r.backlog_messages = 1000;
    const auto j = to_json(o, r);
    EXPECT_DOUBLE_EQ(j["backlog"]["rss_per_message_bytes"].get<double>(), 2000.0);
    EXPECT_TRUE(j["verify"].is_null());
}

TEST(Report, SummarizeTakesPercentilesFromTheHistogram) {
    histogram h(3'600'000'000ull, 3);
    for (uint64_t v = 1; v <= 1000; ++v) {
        h.record(v);
    }
    const latency_summary l = summarize(h);
    EXPECT_EQ(l.count, 1000u);
    EXPECT_EQ(l.p50, 500u);
    EXPECT_EQ(l.p99, 990u);
    EXPECT_EQ(l.p999, 999u);
    EXPECT_EQ(l.max, 1000u);
}

}  // namespace
}  // namespace qmq::bench
