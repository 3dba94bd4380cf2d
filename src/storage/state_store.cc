#include "storage/state_store.h"

#include "common/assert.h"
#include "common/crc32c.h"
#include "storage/format.h"
#include "storage/paths.h"

namespace qmq::storage {
namespace {

constexpr uint32_t small_magic = 0x514D5153u;  // "QMQS"
constexpr uint8_t small_version = 1;
constexpr uint8_t kind_hard_state = 1;
constexpr uint8_t kind_config = 2;
constexpr uint32_t snapshot_meta_bytes_max = 64u << 20;

std::string group_file(const std::string& root, group_id g, const char* name) {
    return paths::group_dir(root, g.value) + "/" + name;
}

error damaged(const std::string& path, uint64_t offset, const std::string& what) {
    return error{EIO, path + " offset " + std::to_string(offset) + ": " + what};
}

}  // namespace

result<std::string> state_store::ensure_group_dir(group_id g) {
    const std::string dir = paths::group_dir(_dir, g.value);
    if (!path_exists(dir)) {
        if (auto r = make_dirs(dir); !r) {
            return r.err();
        }
        if (auto r = sync_dir(paths::groups_dir(_dir)); !r) {
            return r.err();
        }
    }
    return dir;
}

result<void> state_store::save_small(group_id g, const char* name, uint8_t kind,
                                     bytes_view payload) {
    auto dir = ensure_group_dir(g);
    if (!dir) {
        return dir.err();
    }
    bytes out;
    byte_writer w(out);
    w.u32(small_magic);
    w.u8(kind);
    w.u8(small_version);
    w.u16(0);
    w.u32(static_cast<uint32_t>(payload.size()));
    w.raw(payload);
    w.u32(crc32c(out));
    return write_file_atomically(group_file(_dir, g, name), out);
}

result<std::optional<bytes>> state_store::load_small(group_id g, const char* name,
                                                     uint8_t kind) const {
    const std::string path = group_file(_dir, g, name);
    if (!path_exists(path)) {
        return std::optional<bytes>();
    }
    auto data = read_whole_file(path);
    if (!data) {
        return data.err();
    }
    byte_reader r(*data);
    const uint32_t magic = r.u32();
    const uint8_t k = r.u8();
    const uint8_t version = r.u8();
    r.u16();
    const uint32_t len = r.u32();
    auto payload = r.take(len);
    const std::size_t covered = r.position();
    const uint32_t crc = r.u32();
    if (!r.ok() || magic != small_magic || k != kind || version != small_version ||
        crc != crc32c(data->data(), covered)) {
        return damaged(path, 0, "bad small-state file (checksum or header)");
    }
    return std::optional<bytes>(bytes(payload.begin(), payload.end()));
}

result<void> state_store::save_hard_state(group_id g, const hard_state& hs) {
    bytes p;
    byte_writer w(p);
    w.u64(hs.term.value);
    w.u64(hs.voted_for);
    return save_small(g, "hard_state", kind_hard_state, p);
}

result<std::optional<hard_state>> state_store::load_hard_state(group_id g) const {
    auto p = load_small(g, "hard_state", kind_hard_state);
    if (!p) {
        return p.err();
    }
    if (!*p) {
        return std::optional<hard_state>();
    }
    byte_reader r(**p);
    hard_state hs{term_t(r.u64()), r.u64()};
    if (!r.ok() || !r.at_end()) {
        return damaged(group_file(_dir, g, "hard_state"), 0, "bad hard state length");
    }
    return std::optional<hard_state>(hs);
}

result<void> state_store::save_config(group_id g, bytes_view config) {
    return save_small(g, "config", kind_config, config);
}

result<std::optional<bytes>> state_store::load_config(group_id g) const {
    return load_small(g, "config", kind_config);
}

// ---- snapshots -------------------------------------------------------------

snapshot_writer::snapshot_writer(std::string tmp, std::string final_path, std::shared_ptr<file> f,
                                 uint64_t offset)
    : _tmp(std::move(tmp)), _final(std::move(final_path)), _file(std::move(f)), _offset(offset) {}

snapshot_writer::~snapshot_writer() {
    if (!_done) {
        _file.reset();
        (void)remove_file(_tmp);
    }
}

result<void> snapshot_writer::write(bytes_view chunk) {
    QMQ_ASSERT(!_done);
    QMQ_ASSERT(!chunk.empty() && chunk.size() <= chunk_bytes_max);
    bytes head;
    byte_writer w(head);
    w.u32(static_cast<uint32_t>(chunk.size()));
    w.u32(crc32c(chunk));
    if (auto r = _file->write_at(head, _offset); !r) {
        return r;
    }
    if (auto r = _file->write_at(chunk, _offset + head.size()); !r) {
        return r;
    }
    _offset += head.size() + chunk.size();
    _total += chunk.size();
    ++_chunks;
    return ok_result();
}

result<void> snapshot_writer::commit() {
    QMQ_ASSERT(!_done);
    bytes tail;
    byte_writer w(tail);
    w.u32(0);
    w.u64(_total);
    w.u32(_chunks);
    w.u32(crc32c(tail.data() + 4, 12));
    if (auto r = _file->write_at(tail, _offset); !r) {
        return r;
    }
    if (auto r = _file->datasync(); !r) {
        return r;
    }
    if (auto r = rename_file(_tmp, _final); !r) {
        return r;
    }
    _done = true;
    std::string dir = _final.substr(0, _final.rfind('/'));
    return sync_dir(dir);
}

result<std::unique_ptr<snapshot_writer>> state_store::begin_snapshot(group_id g,
                                                                     const snapshot_meta& m) {
    QMQ_ASSERT(m.meta.size() <= snapshot_meta_bytes_max);
    auto dir = ensure_group_dir(g);
    if (!dir) {
        return dir.err();
    }
    const std::string final_path = group_file(_dir, g, "snapshot");
    const std::string tmp = final_path + ".tmp";
    (void)remove_file(tmp);
    auto f = file::open(tmp, file::mode::create_new);
    if (!f) {
        return f.err();
    }
    format::file_header h{format::file_kind::snapshot, 0, g.value, 0, ""};
    bytes head = format::encode_file_header(h);
    byte_writer w(head);
    const std::size_t meta_start = head.size();
    w.u64(m.index.value);
    w.u64(m.term.value);
    w.u32(static_cast<uint32_t>(m.meta.size()));
    w.raw(m.meta);
    w.u32(crc32c(head.data() + meta_start, head.size() - meta_start));
    if (auto r = (*f)->write_at(head, 0); !r) {
        (void)remove_file(tmp);
        return r.err();
    }
    return std::unique_ptr<snapshot_writer>(
        new snapshot_writer(tmp, final_path, std::move(*f), head.size()));
}

snapshot_reader::snapshot_reader(std::shared_ptr<file> f, snapshot_meta meta, uint64_t offset)
    : _file(std::move(f)), _meta(std::move(meta)), _offset(offset) {}

result<bytes> snapshot_reader::next_chunk() {
    if (_end) {
        return bytes{};
    }
    bytes head(8);
    auto n = _file->read_at(head, _offset);
    if (!n) {
        return n.err();
    }
    byte_reader r(bytes_view(head).first(*n));
    const uint32_t len = r.u32();
    const uint32_t crc = r.u32();
    if (!r.ok()) {
        return damaged(_file->path(), _offset, "snapshot cut short");
    }
    if (len == 0) {
        bytes tail(20);
        auto t = _file->read_at(tail, _offset);
        if (!t) {
            return t.err();
        }
        byte_reader tr(bytes_view(tail).first(*t));
        tr.u32();
        const uint64_t total = tr.u64();
        const uint32_t chunks = tr.u32();
        const uint32_t tcrc = tr.u32();
        if (!tr.ok() || tcrc != crc32c(tail.data() + 4, 12) || total != _total ||
            chunks != _chunks) {
            return damaged(_file->path(), _offset, "snapshot end marker does not match");
        }
        _end = true;
        return bytes{};
    }
    if (len > snapshot_writer::chunk_bytes_max) {
        return damaged(_file->path(), _offset, "snapshot chunk length out of range");
    }
    bytes data(len);
    auto d = _file->read_at(data, _offset + 8);
    if (!d) {
        return d.err();
    }
    if (*d != len || crc32c(data) != crc) {
        return damaged(_file->path(), _offset, "snapshot chunk checksum mismatch");
    }
    _offset += 8 + len;
    _total += len;
    ++_chunks;
    return data;
}

result<std::unique_ptr<snapshot_reader>> state_store::open_snapshot(group_id g) const {
    const std::string path = group_file(_dir, g, "snapshot");
    if (!path_exists(path)) {
        return std::unique_ptr<snapshot_reader>();
    }
    auto f = file::open(path, file::mode::read_only);
    if (!f) {
        return f.err();
    }
    bytes head(format::file_header_size + 20);
    auto n = (*f)->read_at(head, 0);
    if (!n) {
        return n.err();
    }
    auto h = format::decode_file_header(bytes_view(head).first(*n));
    if (!h || h->kind != format::file_kind::snapshot || h->group != g.value || *n < head.size()) {
        return damaged(path, 0, "bad snapshot header");
    }
    byte_reader r(bytes_view(head).subspan(format::file_header_size));
    snapshot_meta m;
    m.index = log_index(r.u64());
    m.term = term_t(r.u64());
    const uint32_t meta_len = r.u32();
    if (meta_len > snapshot_meta_bytes_max) {
        return damaged(path, format::file_header_size, "snapshot meta length out of range");
    }
    bytes rest(20 + meta_len + 4);
    auto mn = (*f)->read_at(rest, format::file_header_size);
    if (!mn) {
        return mn.err();
    }
    byte_reader mr(bytes_view(rest).first(*mn));
    mr.take(20);
    auto meta = mr.take(meta_len);
    const uint32_t crc = mr.u32();
    if (!mr.ok() || crc != crc32c(rest.data(), 20 + meta_len)) {
        return damaged(path, format::file_header_size, "snapshot meta checksum mismatch");
    }
    m.meta.assign(meta.begin(), meta.end());
    return std::unique_ptr<snapshot_reader>(new snapshot_reader(
        std::move(*f), std::move(m), format::file_header_size + 20 + meta_len + 4));
}

result<void> state_store::remove(group_id g) {
    for (const char* name : {"hard_state", "config", "snapshot"}) {
        if (auto r = remove_file(group_file(_dir, g, name)); !r) {
            return r;
        }
    }
    const std::string dir = paths::group_dir(_dir, g.value);
    if (path_exists(dir)) {
        return sync_dir(dir);
    }
    return ok_result();
}

}  // namespace qmq::storage
