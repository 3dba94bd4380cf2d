#pragma once

// Thin POSIX file wrappers: every failure comes back as an error whose
// message names the operation, the path and the errno (e.g. "write
// /data/wal/00000007.wal: No space left on device (ENOSPC)").

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/bytes.h"
#include "common/result.h"

namespace qmq::storage {

error io_error(std::string_view op, std::string_view path, int err);

// Test hook: while set to an errno value (ENOSPC, EIO), every write and
// datasync through `file` fails with it. Lets tests drive the error paths
// where mounting a tiny filesystem is not permitted.
void inject_write_errno(int err);

class file {
  public:
    enum class mode { read_only, read_write, create_new };

    static result<std::shared_ptr<file>> open(const std::string& path, mode m);
    ~file();
    file(const file&) = delete;
    file& operator=(const file&) = delete;

    result<void> write_at(bytes_view data, uint64_t offset);
    // Reads up to data.size() bytes; returns how many (fewer only at end of file).
    result<std::size_t> read_at(std::span<std::byte> data, uint64_t offset) const;
    result<void> datasync();
    result<void> truncate(uint64_t size);
    result<uint64_t> size() const;
    const std::string& path() const { return _path; }

  private:
    file(int fd, std::string path) : _fd(fd), _path(std::move(path)) {}
    int _fd;
    std::string _path;
};

// Directory helpers.
result<void> make_dirs(const std::string& path);
result<void> sync_dir(const std::string& path);
result<std::vector<std::string>> list_dir(const std::string& path);  // names, no . or ..
result<void> remove_file(const std::string& path);
result<void> rename_file(const std::string& from, const std::string& to);
bool path_exists(const std::string& path);
// Total bytes of regular files under `path`, recursively (for tests and stats).
uint64_t disk_usage(const std::string& path);

// Writes `data` to `path` atomically: temp file, fsync, rename, fsync the
// directory. A crash leaves either the old content or the new, never a mix.
result<void> write_file_atomically(const std::string& path, bytes_view data);
result<bytes> read_whole_file(const std::string& path);

}  // namespace qmq::storage
