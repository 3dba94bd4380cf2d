#include "storage/segment.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <random>

#include "common/assert.h"
#include "common/log.h"
#include "storage/record_cursor.h"

namespace qmq::storage {
namespace {

using format::index_entry;

uint64_t new_uid() {
    static std::mutex mu;
    static std::mt19937_64 gen{std::random_device{}()};
    std::lock_guard lock(mu);
    uint64_t v = 0;
    while (v == 0) {
        v = gen();
    }
    return v;
}

std::string seq_name(uint64_t seq, const char* ext) {
    char buf[40];
    std::snprintf(buf, sizeof buf, "%016" PRIx64 "%s", seq, ext);
    return buf;
}

error corrupt(const std::string& path, uint64_t offset, std::string_view what) {
    return error{
        EIO, "segment " + path + " offset " + std::to_string(offset) + ": " + std::string(what)};
}

const char* status_text(record_cursor::status s) {
    switch (s) {
        case record_cursor::status::truncated:
            return "record cut short";
        case record_cursor::status::bad_header:
            return "record header checksum mismatch";
        case record_cursor::status::bad_payload:
            return "record payload checksum mismatch";
        default:
            return "unexpected record";
    }
}

// Adds index entries for records at `interval` spacing, as append() does.
struct index_builder {
    uint64_t last_offset = format::file_header_size;
    std::vector<index_entry> entries;
    void see(uint64_t index, uint64_t offset, uint32_t ordinal) {
        if (offset - last_offset >= segment::index_interval_bytes) {
            entries.push_back({index, offset, ordinal});
            last_offset = offset;
        }
    }
};

bytes encode_index(const format::file_header& h, const std::vector<index_entry>& entries) {
    bytes out = format::encode_file_header(h);
    for (const auto& e : entries) {
        format::append_index_entry(out, e);
    }
    return out;
}

result<std::shared_ptr<file>> create_with_header(const std::string& path, bytes_view header) {
    (void)remove_file(path);
    auto f = file::open(path, file::mode::create_new);
    if (!f) {
        return f.err();
    }
    if (auto r = (*f)->write_at(header, 0); !r) {
        return r.err();
    }
    if (auto r = (*f)->datasync(); !r) {
        return r.err();
    }
    return f;
}

}  // namespace

std::string segment::data_path(const std::string& dir, uint64_t seq) {
    return dir + "/" + seq_name(seq, ".seg");
}
std::string segment::index_path(const std::string& dir, uint64_t seq) {
    return dir + "/" + seq_name(seq, ".idx");
}

segment::segment(std::string dir, std::string node_id, uint64_t group, uint64_t seq, uint64_t uid,
                 std::shared_ptr<file> data, std::shared_ptr<file> index)
    : _dir(std::move(dir)),
      _node_id(std::move(node_id)),
      _group(group),
      _seq(seq),
      _uid(uid),
      _file(std::move(data)),
      _index(std::move(index)) {}

result<std::shared_ptr<segment>> segment::create(const std::string& dir, const std::string& node_id,
                                                 uint64_t group, uint64_t seq) {
    const uint64_t uid = new_uid();
    format::file_header h{format::file_kind::segment, seq, group, uid, node_id};
    auto data = create_with_header(data_path(dir, seq), format::encode_file_header(h));
    if (!data) {
        return data.err();
    }
    h.kind = format::file_kind::segment_index;
    auto index = create_with_header(index_path(dir, seq), format::encode_file_header(h));
    if (!index) {
        return index.err();
    }
    if (auto r = sync_dir(dir); !r) {
        return r.err();
    }
    std::shared_ptr<segment> s(
        new segment(dir, node_id, group, seq, uid, std::move(*data), std::move(*index)));
    s->_size = s->_write_end = s->_index_size = format::file_header_size;
    s->_sparse_loaded = true;
    return s;
}

result<std::shared_ptr<segment>> segment::open(const std::string& dir, const std::string& node_id,
                                               uint64_t group, uint64_t seq) {
    const std::string path = data_path(dir, seq);
    auto data = file::open(path, file::mode::read_write);
    if (!data) {
        return data.err();
    }
    auto size = (*data)->size();
    if (!size) {
        return size.err();
    }
    bytes hbuf(format::file_header_size);
    auto got = (*data)->read_at(hbuf, 0);
    if (!got) {
        return got.err();
    }
    auto h = format::decode_file_header(hbuf);
    if (!h) {
        if (*size <= format::file_header_size) {
            // Torn while being created: it never held a record.
            (void)remove_file(path);
            (void)remove_file(index_path(dir, seq));
            return std::shared_ptr<segment>();
        }
        return corrupt(path, 0, "bad file header");
    }
    if (h->kind != format::file_kind::segment || h->group != group || h->seq != seq) {
        return corrupt(path, 0, "file header names another segment");
    }

    // The index is usable when its header carries this segment's uid.
    std::shared_ptr<file> index;
    uint64_t index_size = 0;
    if (auto f = file::open(index_path(dir, seq), file::mode::read_write); f) {
        bytes ih(format::file_header_size);
        auto n = (*f)->read_at(ih, 0);
        auto ihd = n ? format::decode_file_header(ih) : std::nullopt;
        auto isz = (*f)->size();
        if (ihd && ihd->kind == format::file_kind::segment_index && ihd->uid == h->uid && isz) {
            index = std::move(*f);
            index_size = *isz;
        }
    }

    std::shared_ptr<segment> s(new segment(dir, node_id, group, seq, h->uid, *data, nullptr));
    index_entry start{0, 0, 0};
    if (index) {
        // Trust the last index entry that points at the record it names.
        const uint64_t n = (index_size - format::file_header_size) / format::index_entry_size;
        uint64_t keep = 0;
        for (uint64_t k = n; k > 0; --k) {
            bytes eb(format::index_entry_size);
            const uint64_t at = format::file_header_size + (k - 1) * format::index_entry_size;
            auto r = index->read_at(eb, at);
            if (!r) {
                return r.err();
            }
            auto e = format::decode_index_entry(eb);
            if (!e || e->offset < format::file_header_size ||
                e->offset + format::record_header_size > *size) {
                continue;
            }
            bytes rb(format::record_header_size);
            if (auto rr = (*data)->read_at(rb, e->offset); !rr) {
                return rr.err();
            }
            auto rh = format::decode_record_header(rb);
            if (rh && rh->index == e->index) {
                start = *e;
                keep = k;
                break;
            }
        }
        index_size = format::file_header_size + keep * format::index_entry_size;
        if (auto r = index->truncate(index_size); !r) {
            return r.err();
        }
    } else {
        // Missing or stale index: rebuild it by scanning (rare: only after a
        // crash between the two renames of a compaction).
        QMQ_LOG_WARN("segment {}: index missing or stale, rebuilding", path);
        index_builder b;
        record_cursor c(**data, format::file_header_size, *size);
        uint32_t ordinal = 0;
        for (;;) {
            auto st = c.next();
            if (!st) {
                return st.err();
            }
            if (*st != record_cursor::status::ok) {
                break;
            }
            b.see(c.header().index, c.record_offset(), ordinal++);
        }
        format::file_header ih = *h;
        ih.kind = format::file_kind::segment_index;
        if (auto r = write_file_atomically(index_path(dir, seq), encode_index(ih, b.entries)); !r) {
            return r.err();
        }
        auto f = file::open(index_path(dir, seq), file::mode::read_write);
        if (!f) {
            return f.err();
        }
        index = std::move(*f);
        index_size = format::file_header_size + b.entries.size() * format::index_entry_size;
        if (!b.entries.empty()) {
            start = b.entries.back();
        }
    }
    s->_index = index;

    // Scan the tail after the last index entry; cut a torn tail (a crash
    // during a flush whose WAL file still exists, so nothing is lost).
    const uint64_t scan_from = start.offset != 0 ? start.offset : format::file_header_size;
    uint64_t count = start.offset != 0 ? start.ordinal : 0;
    uint64_t last = 0;
    uint64_t last_term = 0;
    record_cursor c(**data, scan_from, *size);
    uint64_t end = scan_from;
    std::optional<std::string> damage;
    for (;;) {
        auto st = c.next();
        if (!st) {
            return st.err();
        }
        if (*st == record_cursor::status::end) {
            break;
        }
        if (*st != record_cursor::status::ok) {
            damage = corrupt(path, c.record_offset(), status_text(*st)).message;
            break;
        }
        if (last != 0 && c.header().index <= last) {
            // Left over from an earlier write of this region: not this log.
            damage = corrupt(path, c.record_offset(), "record index out of order").message;
            break;
        }
        ++count;
        last = c.header().index;
        last_term = c.header().term;
        end = c.position();
    }
    s->_tail_damage = damage;
    s->_size = s->_write_end = end;
    s->_index_size = index_size;
    s->_last_index_entry = start;
    s->_sparse_loaded = false;
    if (count == 0) {
        if (damage) {
            return s;  // empty but for a bad record: the caller decides
        }
        if (auto r = s->remove_files(); !r) {
            return r.err();
        }
        return std::shared_ptr<segment>();
    }
    record_cursor fc(**data, format::file_header_size, end);
    auto st = fc.next();
    if (!st) {
        return st.err();
    }
    if (*st != record_cursor::status::ok) {
        return corrupt(path, format::file_header_size, status_text(*st));
    }
    s->_first = fc.header().index;
    s->_last = last;
    s->_last_term = last_term;
    s->_count = count;
    return s;
}

result<void> segment::append(bytes_view records, std::span<const record_ref> refs) {
    QMQ_ASSERT(!refs.empty());
    if (auto r = _file->write_at(records, _write_end); !r) {
        return r;
    }
    uint64_t last_index_offset;
    uint64_t ordinal;
    {
        std::lock_guard lock(_mu);
        last_index_offset = !_pending_index.empty()         ? _pending_index.back().offset
                            : _last_index_entry.offset != 0 ? _last_index_entry.offset
                                                            : format::file_header_size;
        ordinal = _count + _pending_count;
        if (_count + _pending_count > 0) {
            QMQ_ASSERT(refs.front().index > (_pending_count > 0 ? _pending_last : _last));
        }
    }
    for (const auto& ref : refs) {
        const uint64_t at = _write_end + ref.offset;
        if (at - last_index_offset >= index_interval_bytes) {
            _pending_index.push_back({ref.index, at, static_cast<uint32_t>(ordinal)});
            last_index_offset = at;
        }
        ++ordinal;
    }
    if (_pending_count == 0) {
        _pending_first = refs.front().index;
    }
    _pending_last = refs.back().index;
    _pending_last_term = refs.back().term;
    _pending_count += refs.size();
    _write_end += records.size();
    return ok_result();
}

result<void> segment::sync() {
    if (_pending_count == 0) {
        return ok_result();
    }
    if (auto r = _file->datasync(); !r) {
        return r;
    }
    // Index entries go in only after the records they point to are durable;
    // the index is a hint, so it is not synced itself.
    bytes idx;
    for (const auto& e : _pending_index) {
        format::append_index_entry(idx, e);
    }
    uint64_t index_at;
    {
        std::lock_guard lock(_mu);
        index_at = _index_size;
    }
    const bool index_written = idx.empty() || _index->write_at(idx, index_at).ok();
    std::lock_guard lock(_mu);
    if (_count == 0) {
        _first = _pending_first;
    }
    _last = _pending_last;
    _last_term = _pending_last_term;
    _count += _pending_count;
    _size = _write_end;
    if (index_written && !_pending_index.empty()) {
        _index_size += idx.size();
        _last_index_entry = _pending_index.back();
        if (_sparse_loaded) {
            _sparse.insert(_sparse.end(), _pending_index.begin(), _pending_index.end());
        }
    }
    _pending_index.clear();
    _pending_count = 0;
    return ok_result();
}

void segment::discard_pending() {
    std::lock_guard lock(_mu);
    _write_end = _size;
    _pending_index.clear();
    _pending_count = 0;
    // A retry may write less (more entries released by then): records left
    // past the end would be read back at the next start as if valid.
    if (auto r = _file->truncate(_size); !r) {
        QMQ_LOG_WARN("segment {}: cannot cut back unsynced records: {}", path(), r.err().message);
    }
}

result<void> segment::load_sparse_locked() const {
    if (_sparse_loaded) {
        return ok_result();
    }
    bytes buf(_index_size - format::file_header_size);
    auto n = _index->read_at(buf, format::file_header_size);
    if (!n) {
        return n.err();
    }
    _sparse.clear();
    for (std::size_t at = 0; at + format::index_entry_size <= *n; at += format::index_entry_size) {
        auto e = format::decode_index_entry(bytes_view(buf).subspan(at, format::index_entry_size));
        if (!e || e->offset >= _size) {
            break;
        }
        _sparse.push_back(*e);
    }
    _sparse_loaded = true;
    return ok_result();
}

uint64_t segment::start_offset_locked(uint64_t index) const {
    auto it = std::upper_bound(_sparse.begin(), _sparse.end(), index,
                               [](uint64_t i, const index_entry& e) { return i < e.index; });
    if (it == _sparse.begin()) {
        return format::file_header_size;
    }
    return std::prev(it)->offset;
}

result<void> segment::read(uint64_t from, uint64_t to, uint64_t bytes_max,
                           std::vector<entry>& out) const {
    uint64_t start;
    uint64_t end;
    uint64_t truncations;
    {
        std::lock_guard lock(_mu);
        if (auto r = load_sparse_locked(); !r) {
            return r;
        }
        start = start_offset_locked(from);
        end = _size;
        truncations = _truncations;
    }
    record_cursor c(*_file, start, end);
    uint64_t taken = 0;
    for (;;) {
        auto st = c.next();
        if (!st) {
            return st.err();
        }
        if (*st == record_cursor::status::end) {
            return ok_result();
        }
        if (*st != record_cursor::status::ok) {
            std::lock_guard lock(_mu);
            if (_truncations != truncations) {
                return ok_result();  // records past `to` were cut meanwhile
            }
            return corrupt(path(), c.record_offset(), status_text(*st));
        }
        const auto& h = c.header();
        if (h.group != _group || h.kind != format::record_kind::entry) {
            return corrupt(path(), c.record_offset(), "record of another group or kind");
        }
        if (h.index > to) {
            return ok_result();
        }
        if (h.index >= from) {
            auto p = c.payload();
            out.push_back(
                entry{log_index(h.index), term_t(h.term), h.type, bytes(p.begin(), p.end())});
            taken += p.size();
            if (taken >= bytes_max || h.index == to) {
                return ok_result();
            }
        }
    }
}

result<std::optional<uint64_t>> segment::term_at(uint64_t index) const {
    std::vector<entry> out;
    if (auto r = read(index, index, 1, out); !r) {
        return r.err();
    }
    if (out.empty() || out.front().index.value != index) {
        return std::optional<uint64_t>();
    }
    return std::optional<uint64_t>(out.front().term.value);
}

result<uint64_t> segment::find_offset(uint64_t index) const {
    uint64_t start;
    uint64_t end;
    {
        std::lock_guard lock(_mu);
        if (auto r = load_sparse_locked(); !r) {
            return r.err();
        }
        start = start_offset_locked(index);
        end = _size;
    }
    record_cursor c(*_file, start, end);
    for (;;) {
        auto st = c.next();
        if (!st) {
            return st.err();
        }
        if (*st == record_cursor::status::end) {
            return end;
        }
        if (*st != record_cursor::status::ok) {
            return corrupt(path(), c.record_offset(), status_text(*st));
        }
        if (c.header().index >= index) {
            return c.record_offset();
        }
    }
}

result<bool> segment::truncate_from(uint64_t index) {
    QMQ_ASSERT(_pending_count == 0);
    auto off = find_offset(index);
    if (!off) {
        return off.err();
    }
    std::size_t keep;
    index_entry start{0, 0, 0};
    {
        std::lock_guard lock(_mu);
        if (*off >= _size) {
            return _count == 0;
        }
        keep = static_cast<std::size_t>(
            std::lower_bound(_sparse.begin(), _sparse.end(), index,
                             [](const index_entry& e, uint64_t i) { return e.index < i; }) -
            _sparse.begin());
        if (keep > 0) {
            start = _sparse[keep - 1];
        }
    }
    const uint64_t index_size = format::file_header_size + keep * format::index_entry_size;
    // The index first: an index entry must never point past the data.
    if (auto r = _index->truncate(index_size); !r) {
        return r.err();
    }
    if (auto r = _file->truncate(*off); !r) {
        return r.err();
    }
    if (auto r = _file->datasync(); !r) {
        return r.err();
    }
    uint64_t count = start.offset != 0 ? start.ordinal : 0;
    uint64_t last = 0;
    uint64_t last_term = 0;
    record_cursor c(*_file, start.offset != 0 ? start.offset : format::file_header_size, *off);
    for (;;) {
        auto st = c.next();
        if (!st) {
            return st.err();
        }
        if (*st != record_cursor::status::ok) {
            break;
        }
        ++count;
        last = c.header().index;
        last_term = c.header().term;
    }
    std::lock_guard lock(_mu);
    ++_truncations;
    _sparse.resize(keep);
    _last_index_entry = start;
    _index_size = index_size;
    _size = _write_end = *off;
    _count = count;
    _last = last;
    _last_term = last_term;
    if (count == 0) {
        _first = 0;
    }
    return count == 0;
}

result<std::shared_ptr<segment>> segment::rewrite(std::span<const uint64_t> keep) const {
    const uint64_t uid = new_uid();
    format::file_header h{format::file_kind::segment, _seq, _group, uid, _node_id};
    const std::string data_tmp = data_path(_dir, _seq) + ".tmp";
    const std::string index_tmp = index_path(_dir, _seq) + ".tmp";
    auto data = create_with_header(data_tmp, format::encode_file_header(h));
    if (!data) {
        return data.err();
    }
    uint64_t end;
    {
        std::lock_guard lock(_mu);
        end = _size;
    }
    auto fail = [&](error e) -> result<std::shared_ptr<segment>> {
        (void)remove_file(data_tmp);
        (void)remove_file(index_tmp);
        return e;
    };
    record_cursor c(*_file, format::file_header_size, end);
    index_builder b;
    bytes buf;
    uint64_t write_at = format::file_header_size;
    uint32_t ordinal = 0;
    uint64_t first = 0, last = 0, last_term = 0;
    constexpr std::size_t flush_bytes = 1 << 20;
    for (;;) {
        auto st = c.next();
        if (!st) {
            return fail(st.err());
        }
        if (*st == record_cursor::status::end) {
            break;
        }
        if (*st != record_cursor::status::ok) {
            return fail(corrupt(path(), c.record_offset(), status_text(*st)));
        }
        const auto& rh = c.header();
        if (!std::binary_search(keep.begin(), keep.end(), rh.index)) {
            continue;
        }
        b.see(rh.index, write_at + buf.size(), ordinal++);
        if (first == 0) {
            first = rh.index;
        }
        last = rh.index;
        last_term = rh.term;
        format::append_record(buf, rh.kind, rh.group, rh.term, rh.index, rh.type, c.payload());
        if (buf.size() >= flush_bytes) {
            if (auto r = (*data)->write_at(buf, write_at); !r) {
                return fail(r.err());
            }
            write_at += buf.size();
            buf.clear();
        }
    }
    if (ordinal == 0) {
        (void)remove_file(data_tmp);
        if (auto r = remove_files(); !r) {
            return r.err();
        }
        return std::shared_ptr<segment>();
    }
    if (auto r = (*data)->write_at(buf, write_at); !r) {
        return fail(r.err());
    }
    write_at += buf.size();
    if (auto r = (*data)->datasync(); !r) {
        return fail(r.err());
    }
    h.kind = format::file_kind::segment_index;
    bytes idx = encode_index(h, b.entries);
    auto index = create_with_header(index_tmp, idx);
    if (!index) {
        return fail(index.err());
    }
    // Commit: the new index first (a stale index is detected by its uid and
    // rebuilt), then the data file; the data rename is the commit point.
    if (auto r = rename_file(index_tmp, index_path(_dir, _seq)); !r) {
        return fail(r.err());
    }
    if (auto r = rename_file(data_tmp, data_path(_dir, _seq)); !r) {
        return fail(r.err());
    }
    if (auto r = sync_dir(_dir); !r) {
        return r.err();
    }
    auto df = file::open(data_path(_dir, _seq), file::mode::read_write);
    if (!df) {
        return df.err();
    }
    auto xf = file::open(index_path(_dir, _seq), file::mode::read_write);
    if (!xf) {
        return xf.err();
    }
    std::shared_ptr<segment> s(
        new segment(_dir, _node_id, _group, _seq, uid, std::move(*df), std::move(*xf)));
    s->_size = s->_write_end = write_at;
    s->_first = first;
    s->_last = last;
    s->_last_term = last_term;
    s->_count = ordinal;
    s->_index_size = idx.size();
    s->_sparse = b.entries;
    s->_sparse_loaded = true;
    s->_last_index_entry = b.entries.empty() ? index_entry{0, 0, 0} : b.entries.back();
    return s;
}

result<void> segment::cut_tail() {
    QMQ_LOG_WARN("{}: cutting the tail of a flush torn by a crash", *_tail_damage);
    if (auto r = _file->truncate(_size); !r) {
        return r;
    }
    if (auto r = _file->datasync(); !r) {
        return r;
    }
    _tail_damage.reset();
    return ok_result();
}

result<void> segment::remove_files() const {
    if (auto r = remove_file(data_path(_dir, _seq)); !r) {
        return r;
    }
    if (auto r = remove_file(index_path(_dir, _seq)); !r) {
        return r;
    }
    return sync_dir(_dir);
}

uint64_t segment::index_memory_bytes() const {
    std::lock_guard lock(_mu);
    return _sparse.capacity() * sizeof(index_entry);
}

}  // namespace qmq::storage
