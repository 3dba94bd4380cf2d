#include "storage/log_store.h"

#include <algorithm>

#include "common/assert.h"
#include "common/log.h"
#include "storage/format.h"
#include "storage/paths.h"
#include "storage/record_cursor.h"
#include "storage/wal_scan.h"

namespace qmq::storage {
namespace {

entry decode_entry(bytes_view record) {
    auto h = format::decode_record_header(record);
    QMQ_ASSERT(h.has_value());
    auto payload = record.subspan(format::record_header_size, h->payload_len);
    QMQ_ASSERT(format::payload_matches(*h, payload));
    return entry{log_index(h->index), term_t(h->term), h->type,
                 bytes(payload.begin(), payload.end())};
}

error refused(const std::string& why) {
    return error{EIO, why};
}

}  // namespace

log_store::log_store(log_store_options opts) : _opts(std::move(opts)) {}

result<std::unique_ptr<log_store>> log_store::open(log_store_options opts) {
    if (opts.dir.empty()) {
        return error{EINVAL, "storage: no data directory given"};
    }
    if (opts.node_id.size() > format::node_id_size_max) {
        return error{EINVAL, "storage: node id longer than 84 bytes"};
    }
    QMQ_ASSERT(opts.batch_bytes_max > 0 && opts.wal_file_bytes_max > format::file_header_size);
    std::unique_ptr<log_store> s(new log_store(std::move(opts)));
    if (auto r = s->recover(); !r) {
        return r.err();
    }
    uint64_t next_seq = 1;
    {
        std::lock_guard lock(s->_mu);
        if (!s->_wal_files.empty()) {
            next_seq = s->_wal_files.rbegin()->first + 1;
        }
    }
    wal_writer::listener& l = *s;
    s->_writer = std::make_unique<wal_writer>(
        wal_writer::config{s->_opts.dir, s->_opts.node_id, s->_opts.wal_file_bytes_max,
                           s->_opts.batch_bytes_max, s->_opts.write_retry_ms},
        l, next_seq);
    if (auto r = s->_writer->start(); !r) {
        return error{r.err().code, "storage: cannot create a WAL file: " + r.err().message};
    }
    s->_segment_thread = std::thread([p = s.get()] { p->segment_loop(); });
    return s;
}

log_store::~log_store() {
    _writer.reset();  // writes what is queued, then stops
    {
        std::lock_guard lock(_mu);
        _stop = true;
    }
    _segment_cv.notify_all();
    if (_segment_thread.joinable()) {
        _segment_thread.join();
    }
}

// ---- recovery ----------------------------------------------------------

result<void> log_store::recover() {
    const std::string& root = _opts.dir;
    for (const auto& d : {root, paths::wal_dir(root), paths::groups_dir(root)}) {
        if (auto r = make_dirs(d); !r) {
            return r;
        }
    }
    std::lock_guard lock(_mu);

    // Segments first: their summaries, not their contents.
    auto group_names = list_dir(paths::groups_dir(root));
    if (!group_names) {
        return group_names.err();
    }
    for (const auto& name : *group_names) {
        auto id = paths::parse_hex16(name, "");
        if (!id || *id == 0) {
            continue;
        }
        auto& g = group_locked(*id);
        const std::string dir = paths::group_dir(root, *id);
        if (path_exists(paths::corrupt_marker(root, *id))) {
            auto msg = read_whole_file(paths::corrupt_marker(root, *id));
            g.error = msg ? std::string(as_string_view(*msg)) : "group marked damaged";
        }
        if (path_exists(paths::release_mark(root, *id))) {
            // Unreadable: take no hole as released (a hole then refuses the
            // group, loudly, rather than hiding a loss).
            auto mark = read_whole_file(paths::release_mark(root, *id));
            auto released = mark ? format::decode_release_mark(*mark) : std::nullopt;
            if (released) {
                g.released_durable = *released;
            } else {
                QMQ_LOG_WARN("storage: group {}: release mark unreadable, ignored", *id);
            }
        }
        auto files = list_dir(dir);
        if (!files) {
            return files.err();
        }
        std::vector<uint64_t> seqs;
        for (const auto& f : *files) {
            if (f.ends_with(".tmp")) {
                (void)remove_file(dir + "/" + f);  // an unfinished compaction or state write
            } else if (auto seq = paths::parse_hex16(f, ".seg")) {
                seqs.push_back(*seq);
            }
        }
        for (const auto& f : *files) {
            auto seq = paths::parse_hex16(f, ".idx");
            if (seq && std::find(seqs.begin(), seqs.end(), *seq) == seqs.end()) {
                (void)remove_file(dir + "/" + f);
            }
        }
        std::sort(seqs.begin(), seqs.end());
        for (uint64_t seq : seqs) {
            g.next_segment_seq = std::max(g.next_segment_seq, seq + 1);
            if (!g.error.empty()) {
                continue;
            }
            auto s = segment::open(dir, _opts.node_id, *id, seq);
            if (!s) {
                mark_damaged(g, s.err().message, false);
                continue;
            }
            if (!*s) {
                continue;
            }
            if (!(*s)->empty() && !g.segments.empty() &&
                (*s)->first() <= g.segments.back()->last()) {
                mark_damaged(g, "segment " + (*s)->path() + " overlaps the one before it", false);
                continue;
            }
            g.segments.push_back(std::move(*s));
        }
        for (const auto& s : g.segments) {
            if (!s->empty()) {
                g.seg_last = g.last = s->last();
                if (g.first == 0) {
                    g.first = s->first();
                }
            }
        }
    }

    // Then replay the WAL: start-up time follows the WAL's size.
    auto wal_names = list_dir(paths::wal_dir(root));
    if (!wal_names) {
        return wal_names.err();
    }
    std::vector<uint64_t> wal_seqs;
    for (const auto& name : *wal_names) {
        if (auto seq = paths::parse_hex16(name, ".wal")) {
            wal_seqs.push_back(*seq);
        }
    }
    std::sort(wal_seqs.begin(), wal_seqs.end());
    for (uint64_t seq : wal_seqs) {
        const std::string path = paths::wal_file(root, seq);
        auto f = file::open(path, file::mode::read_write);
        if (!f) {
            return f.err();
        }
        bytes hb(format::file_header_size);
        auto n = (*f)->read_at(hb, 0);
        if (!n) {
            return n.err();
        }
        auto h = format::decode_file_header(hb);
        if (!h || h->kind != format::file_kind::wal || h->seq != seq) {
            if (*n < format::file_header_size) {
                (void)remove_file(path);  // torn while being created; held nothing
                continue;
            }
            _unattributable.push_back("wal " + path + " offset 0: bad file header");
            _keep_wal[seq] = true;
            _wal_files[seq] = std::move(*f);
            _closed.push_back(seq);
            continue;
        }
        auto outcome = scan_wal(
            **f,
            [&](const format::record_header& rh, uint64_t offset) {
                apply_recovered(rh, seq, offset);
            },
            [&](const wal_damage& d) {
                _keep_wal[seq] = true;
                if (d.group) {
                    mark_damaged(group_locked(*d.group), d.message, true);
                } else {
                    _unattributable.push_back(d.message);
                }
            });
        if (!outcome) {
            return outcome.err();
        }
        _wal_files[seq] = std::move(*f);
        _closed.push_back(seq);
    }
    // A bad record at a segment's tail is a flush torn by a crash when the
    // WAL still holds the entries from there on (it is deleted only after
    // the flush is durable); otherwise the segment is damaged.
    for (auto& [id, g] : _groups) {
        for (std::size_t k = 0; k < g->segments.size() && g->error.empty(); ++k) {
            auto& s = g->segments[k];
            if (!s->tail_damage()) {
                continue;
            }
            const bool last = k + 1 == g->segments.size();
            const uint64_t valid_last =
                !s->empty() ? s->last() : (k > 0 ? g->segments[k - 1]->last() : 0);
            const bool covered =
                last && !g->wal.empty() && (valid_last == 0 || g->wal_first <= valid_last + 1);
            if (!covered) {
                mark_damaged(*g, *s->tail_damage(), false);
                break;
            }
            if (auto r = s->cut_tail(); !r) {
                return r;
            }
            if (s->empty()) {
                if (auto r = s->remove_files(); !r) {
                    return r;
                }
                g->segments.pop_back();
            }
        }
    }
    if (!_unattributable.empty()) {
        // Whose records were lost cannot be known: no group may start as if
        // its log were whole.
        for (auto& [id, g] : _groups) {
            mark_damaged(*g, "WAL damage of unknown group: " + _unattributable.front(), true);
        }
    }

    for (auto& [id, g] : _groups) {
        group_recovery rec{group_id(id), log_index(g->first), log_index(g->last), term_t(0),
                           g->error};
        if (g->error.empty() && g->last != 0) {
            if (!g->wal.empty()) {
                rec.last_term = term_t(g->wal.back().term);
            } else {
                for (const auto& s : g->segments) {
                    if (s->first() <= g->last && g->last <= s->last()) {
                        auto t = s->term_at(g->last);
                        if (t && *t) {
                            rec.last_term = term_t(**t);
                        }
                    }
                }
            }
        }
        _recovered.push_back(std::move(rec));
    }
    std::sort(_recovered.begin(), _recovered.end(),
              [](const auto& a, const auto& b) { return a.group < b.group; });
    return ok_result();
}

void log_store::apply_recovered(const format::record_header& h, uint64_t wal_seq, uint64_t offset) {
    auto& g = group_locked(h.group);
    if (!g.error.empty()) {
        _keep_wal[wal_seq] = true;  // its records stay on disk (quarantined), never dropped
        return;
    }
    if (h.kind == format::record_kind::truncate) {
        truncate_locked(g, h.index);
        return;
    }
    if (g.first != 0 && h.index > g.last + 1 && g.wal.empty() && g.last == g.seg_last &&
        h.index <= g.released_durable) {
        // The segment thread does not copy released entries, so the last
        // entries of a flushed WAL file may be in no segment: this WAL file
        // continues after them (at run time seg_last covers them). Only a
        // hole wholly below the durable release mark is that; any other
        // hole is lost entries and refuses the group below.
        g.seg_last = g.last = h.index - 1;
    }
    if (g.first != 0 && h.index > g.last + 1) {
        _keep_wal[wal_seq] = true;
        mark_damaged(g,
                     "wal " + paths::wal_file(_opts.dir, wal_seq) + " offset " +
                         std::to_string(offset) + ": index " + std::to_string(h.index) +
                         " follows " + std::to_string(g.last) + " (gap)",
                     true);
        return;
    }
    if (g.first != 0 && h.index <= g.last) {
        truncate_locked(g, h.index);
    }
    if (g.wal.empty()) {
        g.wal_first = h.index;
    }
    g.wal.push_back({h.term, offset, static_cast<uint32_t>(wal_seq),
                     static_cast<uint32_t>(format::record_size(h))});
    g.last = h.index;
    if (g.first == 0) {
        g.first = h.index;
    }
}

void log_store::mark_damaged(group_state& g, const std::string& message, bool persist) {
    if (!g.error.empty()) {
        return;
    }
    g.error = message;
    QMQ_LOG_ERROR("storage: group {} refuses to start: {}", g.id, message);
    if (persist) {
        // Remembered across restarts: the damaged WAL file is quarantined
        // rather than replayed again.
        const std::string dir = paths::group_dir(_opts.dir, g.id);
        if (make_dirs(dir)) {
            (void)write_file_atomically(paths::corrupt_marker(_opts.dir, g.id), as_bytes(message));
        }
    }
}

// ---- in-memory log -------------------------------------------------------

log_store::group_state& log_store::group_locked(uint64_t id) {
    auto& slot = _groups[id];
    if (!slot) {
        slot = std::make_unique<group_state>();
        slot->id = id;
    }
    return *slot;
}

void log_store::recompute_first_locked(group_state& g) {
    g.first = 0;
    for (const auto& s : g.segments) {
        const uint64_t f = s->first();
        if (f != 0 && f <= g.seg_last) {
            g.first = f;
            break;
        }
    }
    if (g.first == 0 && !g.wal.empty()) {
        g.first = g.wal_first;
    }
    if (g.first == 0) {
        g.last = 0;
    }
}

void log_store::truncate_locked(group_state& g, uint64_t from) {
    if (g.first == 0 || from > g.last) {
        return;
    }
    while (!g.wal.empty() && g.wal_first + g.wal.size() - 1 >= from) {
        g.wal.pop_back();
    }
    if (g.wal.empty()) {
        g.wal_first = 0;
    }
    if (from <= g.seg_last) {
        g.seg_last = from - 1;  // the segment thread cuts the files later
    }
    g.last = from - 1;
    recompute_first_locked(g);
}

bool log_store::released_locked(const group_state& g, uint64_t index) const {
    return index < g.release && !std::binary_search(g.live.begin(), g.live.end(), index);
}

std::optional<entry> log_store::entry_from_memory_locked(const group_state& g,
                                                         uint64_t index) const {
    const mem_entry& e = g.wal[index - g.wal_first];
    if (e.wal_seq == 0) {
        auto it = _pending.find(e.offset);
        QMQ_ASSERT(it != _pending.end());
        const wal_request& r = *it->second;
        const uint32_t at = r.offsets[index - r.first];
        return decode_entry(bytes_view(r.records).subspan(at, e.len));
    }
    auto it = _cache.upper_bound({e.wal_seq, e.offset});
    if (it == _cache.begin()) {
        return std::nullopt;
    }
    --it;
    if (it->first.first != e.wal_seq || e.offset >= it->first.second + it->second->size()) {
        return std::nullopt;
    }
    return decode_entry(bytes_view(*it->second).subspan(e.offset - it->first.second, e.len));
}

result<void> log_store::append(group_id gid, std::span<const entry> entries) {
    if (entries.empty()) {
        return error{EINVAL, "storage: append of no entries"};
    }
    if (gid.value == 0) {
        return error{EINVAL, "storage: group id 0 is reserved"};
    }
    auto req = std::make_shared<wal_request>();
    req->group = gid.value;
    req->first = entries.front().index.value;
    req->last = entries.back().index.value;
    req->term = entries.back().term.value;
    std::size_t total = 0;
    for (std::size_t i = 0; i < entries.size(); ++i) {
        const auto& e = entries[i];
        if (e.index.value == 0 || e.index.value != req->first + i ||
            (i > 0 && e.term < entries[i - 1].term)) {
            return error{EINVAL, "storage: append of non-consecutive entries to group " +
                                     std::to_string(gid.value)};
        }
        if (e.payload.size() > format::payload_size_max) {
            return error{EINVAL, "storage: entry larger than 256 MiB"};
        }
        total += format::record_header_size + e.payload.size();
    }
    req->records.reserve(total);
    req->offsets.reserve(entries.size());
    for (const auto& e : entries) {
        req->offsets.push_back(static_cast<uint32_t>(req->records.size()));
        format::append_record(req->records, format::record_kind::entry, gid.value, e.term.value,
                              e.index.value, e.type, e.payload);
    }

    std::lock_guard lock(_mu);
    if (_write_error) {
        return refused("storage refuses writes after: " + _write_error->message);
    }
    auto& g = group_locked(gid.value);
    if (!g.error.empty()) {
        return refused("group " + std::to_string(gid.value) + " is damaged: " + g.error);
    }
    if (g.first != 0 && req->first > g.last + 1) {
        return error{EINVAL, "storage: append at index " + std::to_string(req->first) +
                                 " leaves a gap after " + std::to_string(g.last) + " in group " +
                                 std::to_string(gid.value)};
    }
    if (g.first != 0 && req->first <= g.last) {
        truncate_locked(g, req->first);  // Raft overwrite: replay does the same
    }
    req->id = _next_request++;
    if (g.wal.empty()) {
        g.wal_first = req->first;
    }
    for (std::size_t i = 0; i < entries.size(); ++i) {
        const uint32_t end = i + 1 < entries.size() ? req->offsets[i + 1]
                                                    : static_cast<uint32_t>(req->records.size());
        g.wal.push_back({entries[i].term.value, req->id, 0, end - req->offsets[i]});
    }
    g.last = req->last;
    if (g.first == 0) {
        g.first = req->first;
    }
    _pending[req->id] = req;
    _writer->submit(std::move(req));
    return ok_result();
}

result<void> log_store::truncate_suffix(group_id gid, log_index from) {
    std::lock_guard lock(_mu);
    if (_write_error) {
        return refused("storage refuses writes after: " + _write_error->message);
    }
    auto it = _groups.find(gid.value);
    if (it == _groups.end()) {
        return ok_result();
    }
    auto& g = *it->second;
    if (!g.error.empty()) {
        return refused("group " + std::to_string(gid.value) + " is damaged: " + g.error);
    }
    if (g.first == 0 || from.value > g.last || from.value == 0) {
        return ok_result();
    }
    truncate_locked(g, from.value);
    auto req = std::make_shared<wal_request>();
    req->id = _next_request++;
    req->group = gid.value;
    req->first = req->last = from.value;
    req->is_truncate = true;
    req->offsets.push_back(0);
    format::append_record(req->records, format::record_kind::truncate, gid.value, 0, from.value, 0,
                          {});
    _pending[req->id] = req;
    _writer->submit(std::move(req));
    return ok_result();
}

// ---- writer callbacks ------------------------------------------------------

void log_store::on_written(uint64_t seq, uint64_t batch_offset, std::shared_ptr<const bytes> batch,
                           std::vector<std::shared_ptr<wal_request>>& requests) {
    std::vector<durable_notice> notices;
    {
        std::lock_guard lock(_mu);
        uint64_t at = batch_offset + format::batch_header_size;
        for (const auto& r : requests) {
            _pending.erase(r->id);
            if (!r->is_truncate) {
                auto it = _groups.find(r->group);
                QMQ_ASSERT(it != _groups.end());
                auto& g = *it->second;
                for (std::size_t j = 0; j < r->offsets.size(); ++j) {
                    const uint64_t index = r->first + j;
                    if (g.wal.empty() || index < g.wal_first ||
                        index >= g.wal_first + g.wal.size()) {
                        continue;
                    }
                    auto& e = g.wal[index - g.wal_first];
                    if (e.wal_seq == 0 && e.offset == r->id) {
                        e.wal_seq = static_cast<uint32_t>(seq);
                        e.offset = at + r->offsets[j];
                    }
                }
                notices.push_back({group_id(r->group),
                                   log_index(r->first),
                                   log_index(r->last),
                                   term_t(r->term),
                                   true,
                                   {}});
            }
            at += r->records.size();
        }
        _cache_bytes += batch->size();
        _cache[{seq, batch_offset}] = std::move(batch);
        while (_cache_bytes > _opts.write_cache_bytes_max && !_cache.empty()) {
            _cache_bytes -= _cache.begin()->second->size();
            _cache.erase(_cache.begin());
        }
    }
    push_notices(notices);
    if (_opts.on_durable) {
        _opts.on_durable();
    }
}

void log_store::on_failed(std::vector<std::shared_ptr<wal_request>>& requests, const error& err) {
    std::vector<durable_notice> notices;
    {
        std::lock_guard lock(_mu);
        _write_error = err;
        _writer->drain(requests);
        for (const auto& r : requests) {
            _pending.erase(r->id);
            if (r->is_truncate) {
                continue;
            }
            auto& g = group_locked(r->group);
            if (!g.wal.empty() && r->first >= g.wal_first &&
                r->first < g.wal_first + g.wal.size()) {
                const auto& e = g.wal[r->first - g.wal_first];
                if (e.wal_seq == 0 && e.offset == r->id) {
                    truncate_locked(g, r->first);
                }
            }
            notices.push_back(
                {group_id(r->group), log_index(r->first), log_index(r->last), term_t(r->term),
                 false,
                 err.message + "; entries from " + std::to_string(r->first) + " were not written"});
        }
    }
    push_notices(notices);
    if (_opts.on_durable) {
        _opts.on_durable();
    }
}

void log_store::on_closed(uint64_t seq) {
    {
        std::lock_guard lock(_mu);
        _closed.push_back(seq);
    }
    _segment_cv.notify_all();
}

void log_store::on_opened(uint64_t seq, std::shared_ptr<file> f) {
    std::lock_guard lock(_mu);
    QMQ_ASSERT(seq < (uint64_t{1} << 32));
    _wal_files[seq] = std::move(f);
}

void log_store::on_resumed() {
    std::lock_guard lock(_mu);
    _write_error.reset();
}

void log_store::push_notices(std::vector<durable_notice>& notices) {
    if (notices.empty()) {
        return;
    }
    {
        std::lock_guard lock(_notice_mu);
        if (_notices.empty()) {
            _notices.swap(notices);
        } else {
            for (auto& n : notices) {
                _notices.push_back(std::move(n));
            }
        }
    }
    _notice_cv.notify_all();
}

std::vector<durable_notice> log_store::take_durable() {
    std::lock_guard lock(_notice_mu);
    std::vector<durable_notice> out;
    out.swap(_notices);
    return out;
}

bool log_store::wait_durable(std::chrono::milliseconds timeout) {
    std::unique_lock lock(_notice_mu);
    return _notice_cv.wait_for(lock, timeout, [&] { return !_notices.empty(); });
}

// ---- reads -----------------------------------------------------------------

result<std::vector<entry>> log_store::read(group_id gid, log_index from_i, log_index to_i) {
    struct piece {
        std::shared_ptr<segment> seg;  // a segment range [a, b], or
        std::shared_ptr<file> wal;     // one record in a WAL file, or
        std::optional<entry> memory;   // an entry from the write cache
        uint64_t a = 0, b = 0, offset = 0;
        uint32_t len = 0;
    };
    std::vector<piece> plan;
    uint64_t release = 0;
    std::vector<uint64_t> live;
    {
        std::lock_guard lock(_mu);
        auto it = _groups.find(gid.value);
        if (it == _groups.end()) {
            return std::vector<entry>{};
        }
        const auto& g = *it->second;
        if (!g.error.empty()) {
            return refused("group " + std::to_string(gid.value) + " is damaged: " + g.error);
        }
        if (g.first == 0) {
            return std::vector<entry>{};
        }
        const uint64_t from = std::max(from_i.value, g.first);
        const uint64_t to = std::min(to_i.value, g.last);
        if (from > to) {
            return std::vector<entry>{};
        }
        uint64_t seg_hi = std::min(to, g.seg_last);
        if (!g.wal.empty()) {
            seg_hi = std::min(seg_hi, g.wal_first - 1);
        }
        for (const auto& s : g.segments) {
            const uint64_t sf = s->first();
            const uint64_t sl = s->last();
            if (sf == 0 || sf > seg_hi) {
                break;
            }
            if (sl < from || from > seg_hi) {
                continue;
            }
            plan.push_back({s, nullptr, std::nullopt, std::max(from, sf), std::min(seg_hi, sl)});
        }
        if (!g.wal.empty()) {
            uint64_t bytes_planned = 0;
            for (uint64_t i = std::max(from, g.wal_first); i <= to; ++i) {
                const mem_entry& e = g.wal[i - g.wal_first];
                if (released_locked(g, i)) {
                    continue;
                }
                if (auto m = entry_from_memory_locked(g, i)) {
                    plan.push_back({nullptr, nullptr, std::move(m), i, i});
                } else {
                    auto f = _wal_files.find(e.wal_seq);
                    QMQ_ASSERT(f != _wal_files.end());
                    plan.push_back({nullptr, f->second, std::nullopt, i, i, e.offset, e.len});
                }
                bytes_planned += e.len;
                if (bytes_planned >= _opts.read_bytes_max) {
                    break;
                }
            }
        }
        release = g.release;
        if (from < release) {
            auto lo = std::lower_bound(g.live.begin(), g.live.end(), from);
            auto hi = std::lower_bound(g.live.begin(), g.live.end(), std::min(to + 1, release));
            live.assign(lo, hi);
        }
    }
    auto is_released = [&](uint64_t i) {
        return i < release && !std::binary_search(live.begin(), live.end(), i);
    };

    std::vector<entry> out;
    uint64_t taken = 0;
    for (auto& p : plan) {
        if (taken >= _opts.read_bytes_max && !out.empty()) {
            break;
        }
        if (p.seg) {
            // The segment stops at `budget` counting every record it reads,
            // released ones too (left out here): then this read ends there,
            // or the next piece would follow a hole. A cut part with nothing
            // but released entries is read on, so a read never returns empty
            // before the end.
            bool stop = false;
            uint64_t a = p.a;
            for (;;) {
                std::vector<entry> part;
                const uint64_t budget =
                    taken >= _opts.read_bytes_max ? 1 : _opts.read_bytes_max - taken;
                if (auto r = p.seg->read(a, p.b, budget, part); !r) {
                    return r.err();
                }
                uint64_t read_bytes = 0;
                for (const auto& e : part) {
                    read_bytes += e.payload.size();
                }
                const bool cut =
                    read_bytes >= budget && !part.empty() && part.back().index.value < p.b;
                const uint64_t next = part.empty() ? 0 : part.back().index.value + 1;
                for (auto& e : part) {
                    if (!is_released(e.index.value)) {
                        taken += e.payload.size();
                        out.push_back(std::move(e));
                    }
                }
                if (!cut) {
                    break;
                }
                if (!out.empty()) {
                    stop = true;
                    break;
                }
                a = next;
            }
            if (stop) {
                break;
            }
        } else if (p.memory) {
            taken += p.memory->payload.size();
            out.push_back(std::move(*p.memory));
        } else {
            bytes rec(p.len);
            auto n = p.wal->read_at(rec, p.offset);
            if (!n) {
                return n.err();
            }
            auto h = *n == p.len ? format::decode_record_header(rec) : std::nullopt;
            const bool ok =
                h && h->group == gid.value && h->index == p.a &&
                format::payload_matches(*h, bytes_view(rec).subspan(format::record_header_size));
            if (!ok) {
                return error{EIO, "wal " + p.wal->path() + " offset " + std::to_string(p.offset) +
                                      ": record does not match group " + std::to_string(gid.value) +
                                      " index " + std::to_string(p.a)};
            }
            out.push_back(decode_entry(rec));
            taken += out.back().payload.size();
        }
    }
    return out;
}

result<std::optional<term_t>> log_store::term_at(group_id gid, log_index index) {
    std::shared_ptr<segment> seg;
    {
        std::lock_guard lock(_mu);
        if (index.value == 0) {
            return std::optional<term_t>(term_t(0));
        }
        auto it = _groups.find(gid.value);
        if (it == _groups.end()) {
            return std::optional<term_t>();
        }
        const auto& g = *it->second;
        if (!g.error.empty()) {
            return refused("group " + std::to_string(gid.value) + " is damaged: " + g.error);
        }
        if (g.first == 0 || index.value > g.last || index.value < g.first) {
            return std::optional<term_t>();
        }
        if (!g.wal.empty() && index.value >= g.wal_first) {
            return std::optional<term_t>(term_t(g.wal[index.value - g.wal_first].term));
        }
        if (index.value > g.seg_last) {
            return std::optional<term_t>();
        }
        for (const auto& s : g.segments) {
            if (s->first() <= index.value && index.value <= s->last()) {
                seg = s;
                break;
            }
        }
    }
    if (!seg) {
        return std::optional<term_t>();
    }
    auto t = seg->term_at(index.value);
    if (!t) {
        return t.err();
    }
    if (!*t) {
        return std::optional<term_t>();
    }
    return std::optional<term_t>(term_t(**t));
}

result<std::optional<log_store::group_info>> log_store::info(group_id gid) {
    group_info gi;
    {
        std::lock_guard lock(_mu);
        auto it = _groups.find(gid.value);
        if (it == _groups.end()) {
            return std::optional<group_info>();
        }
        const auto& g = *it->second;
        if (!g.error.empty()) {
            return refused("group " + std::to_string(gid.value) + " is damaged: " + g.error);
        }
        gi.first = log_index(g.first);
        gi.last = log_index(g.last);
    }
    if (gi.last.value != 0) {
        auto t = term_at(gid, gi.last);
        if (!t) {
            return t.err();
        }
        gi.last_term = t->value_or(term_t(0));
    }
    return std::optional<group_info>(gi);
}

// ---- release points ----------------------------------------------------------

void log_store::set_release_point(group_id gid, log_index index) {
    {
        std::lock_guard lock(_mu);
        auto& g = group_locked(gid.value);
        g.release = std::max(g.release, index.value);
        g.compaction_due = true;
    }
    _segment_cv.notify_all();
}

void log_store::set_live_indexes(group_id gid, std::vector<log_index> live) {
    std::vector<uint64_t> v;
    v.reserve(live.size());
    for (auto i : live) {
        v.push_back(i.value);
    }
    std::sort(v.begin(), v.end());
    v.erase(std::unique(v.begin(), v.end()), v.end());
    {
        std::lock_guard lock(_mu);
        auto& g = group_locked(gid.value);
        g.live = std::move(v);
        g.compaction_due = true;
    }
    _segment_cv.notify_all();
}

std::optional<error> log_store::write_error() const {
    std::lock_guard lock(_mu);
    return _write_error;
}

log_store_stats log_store::stats() const {
    log_store_stats st;
    std::lock_guard lock(_mu);
    st.groups = _groups.size();
    for (const auto& [id, g] : _groups) {
        st.wal_entries += g->wal.size();
        // A deque allocates in blocks; count what it holds, plus the group.
        st.index_bytes += g->wal.size() * sizeof(mem_entry) + sizeof(group_state) +
                          g->live.capacity() * sizeof(uint64_t);
        st.segments += g->segments.size();
        for (const auto& s : g->segments) {
            st.index_bytes += sizeof(segment) + s->index_memory_bytes();
        }
    }
    st.cache_bytes = _cache_bytes;
    st.wal_files = _wal_files.size();
    st.wal_batches = _writer ? _writer->batches() : 0;
    st.segments_compacted = _segments_compacted;
    st.segments_deleted = _segments_deleted;
    return st;
}

}  // namespace qmq::storage
