#include "storage/format.h"

#include <gtest/gtest.h>

#include "common/bytes.h"

namespace qmq::storage::format {
namespace {

TEST(StorageFormat, FileHeaderRoundTripsAndDetectsDamage) {
    file_header h{file_kind::segment, 7, 42, 99, "node-a"};
    bytes b = encode_file_header(h);
    ASSERT_EQ(b.size(), file_header_size);
    auto d = decode_file_header(b);
    ASSERT_TRUE(d);
    EXPECT_EQ(d->kind, file_kind::segment);
    EXPECT_EQ(d->seq, 7u);
    EXPECT_EQ(d->group, 42u);
    EXPECT_EQ(d->uid, 99u);
    EXPECT_EQ(d->node_id, "node-a");
    for (std::size_t bit : {0u, 100u, 8u * 60u, 8u * 127u}) {
        bytes bad = b;
        bad[bit / 8] ^= std::byte(1 << (bit % 8));
        EXPECT_FALSE(decode_file_header(bad)) << "bit " << bit;
    }
    EXPECT_FALSE(decode_file_header(bytes_view(b).first(100)));
}

TEST(StorageFormat, RecordRoundTripsAndEveryBitFlipIsCaught) {
    bytes payload(37);
    for (std::size_t i = 0; i < payload.size(); ++i) {
        payload[i] = std::byte(i * 13);
    }
    bytes rec;
    append_record(rec, record_kind::entry, 5, 3, 1000, 2, payload);
    ASSERT_EQ(rec.size(), record_header_size + payload.size());
    auto h = decode_record_header(rec);
    ASSERT_TRUE(h);
    EXPECT_EQ(h->group, 5u);
    EXPECT_EQ(h->term, 3u);
    EXPECT_EQ(h->index, 1000u);
    EXPECT_EQ(h->type, 2);
    EXPECT_EQ(h->kind, record_kind::entry);
    EXPECT_TRUE(payload_matches(*h, bytes_view(rec).subspan(record_header_size)));

    for (std::size_t bit = 0; bit < rec.size() * 8; ++bit) {
        bytes bad = rec;
        bad[bit / 8] ^= std::byte(1 << (bit % 8));
        auto bh = decode_record_header(bad);
        const bool caught =
            !bh || !payload_matches(*bh, bytes_view(bad).subspan(record_header_size));
        EXPECT_TRUE(caught) << "bit " << bit;
        if (bit < record_header_size * 8) {
            EXPECT_FALSE(bh) << "header bit " << bit << " must fail the header checksum";
        }
    }
}

TEST(StorageFormat, BatchHeaderAndIndexEntry) {
    std::byte buf[batch_header_size];
    encode_batch_header({1234, 5}, buf);
    auto h = decode_batch_header(bytes_view(buf, batch_header_size));
    ASSERT_TRUE(h);
    EXPECT_EQ(h->body_len, 1234u);
    EXPECT_EQ(h->record_count, 5u);
    buf[5] ^= std::byte{4};
    EXPECT_FALSE(decode_batch_header(bytes_view(buf, batch_header_size)));

    bytes ie;
    append_index_entry(ie, {77, 4096, 12});
    ASSERT_EQ(ie.size(), index_entry_size);
    auto e = decode_index_entry(ie);
    ASSERT_TRUE(e);
    EXPECT_EQ(e->index, 77u);
    EXPECT_EQ(e->offset, 4096u);
    EXPECT_EQ(e->ordinal, 12u);
    ie[3] ^= std::byte{1};
    EXPECT_FALSE(decode_index_entry(ie));
}

}  // namespace
}  // namespace qmq::storage::format
