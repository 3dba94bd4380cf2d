#pragma once

// The data directory: created if missing, checked writable, and locked with
// flock() on <dir>/LOCK for the life of the process, so a second server on
// the same directory refuses to start instead of corrupting the first one's
// files. The kernel drops the lock when the process dies (even by kill -9),
// so a stale LOCK file never blocks a restart.

#include <string>

#include "common/result.h"

namespace qmq::server {

class data_dir_lock {
  public:
    // Creates and locks `path`. The error message is one line naming the
    // directory and the cause (permission, not a directory, locked by pid N).
    static result<data_dir_lock> acquire(const std::string& path);

    data_dir_lock(data_dir_lock&& other) noexcept;
    data_dir_lock& operator=(data_dir_lock&&) = delete;
    data_dir_lock(const data_dir_lock&) = delete;
    ~data_dir_lock();

    const std::string& path() const { return _path; }

  private:
    data_dir_lock(std::string path, int fd) : _path(std::move(path)), _fd(fd) {}

    std::string _path;
    int _fd = -1;
};

}  // namespace qmq::server
