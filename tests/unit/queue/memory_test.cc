// Counts the heap bytes the machine spends per message, with glibc's own
// accounting (mallinfo2), so the figure in docs/queue-machine.md is checked.

#include <gtest/gtest.h>
#include <malloc.h>

#include "queue/machine.h"
#include "unit/queue/build_flags.h"

namespace qmq::queue {
namespace {

using testing::sanitized;

uint64_t heap_in_use() {
    struct mallinfo2 mi = mallinfo2();
    return mi.uordblks + mi.hblkhd;
}

constexpr uint64_t messages = 200'000;
// Documented budgets: a ready message costs its 24-byte record plus deque
// blocks; an unacked one sits in a per-consumer ordered map.
constexpr uint64_t ready_bytes_per_message_max = 28;
constexpr uint64_t unacked_bytes_per_message_max = 96;

TEST(QueueMemory, ReadyMessageCostsAboutItsRecord) {
    if (sanitized)
        GTEST_SKIP() << "allocator accounting is the sanitizer's";
    uint64_t before = heap_in_use();
    {
        queue_state s(queue_config{}, 0);
        apply_result out;
        for (uint64_t i = 1; i <= messages; ++i) {
            apply(meta{log_index(i), 1, 0}, enqueue{owner_id(1), 0, 0, 100, 0, {}}, s, out);
        }
        ASSERT_EQ(s.ready_count(), messages);
        uint64_t per = (heap_in_use() - before) / messages;
        RecordProperty("ready_bytes_per_message", std::to_string(per));
        std::printf("ready: %lu bytes per message\n", static_cast<unsigned long>(per));
        EXPECT_GE(per, sizeof(message_record));
        EXPECT_LE(per, ready_bytes_per_message_max);
    }
}

TEST(QueueMemory, UnackedMessageCostsAMapNode) {
    if (sanitized)
        GTEST_SKIP() << "allocator accounting is the sanitizer's";
    uint64_t before = heap_in_use();
    {
        queue_state s(queue_config{}, 0);
        apply_result out;
        apply(meta{log_index(1), 1, 0}, checkout{consumer_id(1), owner_id(1), 0, 0, false}, s, out);
        for (uint64_t i = 2; i <= messages + 1; ++i) {
            apply(meta{log_index(i), 1, 0}, enqueue{owner_id(1), 0, 0, 100, 0, {}}, s, out);
        }
        ASSERT_EQ(s.unacked_count(), messages);
        uint64_t per = (heap_in_use() - before) / messages;
        std::printf("unacked: %lu bytes per message\n", static_cast<unsigned long>(per));
        EXPECT_GE(per, sizeof(message_record));
        EXPECT_LE(per, unacked_bytes_per_message_max);
    }
}

}  // namespace
}  // namespace qmq::queue
