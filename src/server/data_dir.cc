#include "server/data_dir.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>

namespace qmq::server {

namespace {

constexpr const char* lock_file_name = "LOCK";
constexpr std::size_t pid_text_max = 32;

std::string read_pid(int fd) {
    char buf[pid_text_max] = {};
    const ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
    if (n <= 0) {
        return "unknown";
    }
    std::string pid(buf, static_cast<std::size_t>(n));
    while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' ')) {
        pid.pop_back();
    }
    return pid.empty() ? "unknown" : pid;
}

}  // namespace

result<data_dir_lock> data_dir_lock::acquire(const std::string& path) {
    std::error_code ec;
    std::filesystem::create_directories(path, ec);
    if (ec) {
        return error{ec.value(), fmt::format("unusable data dir '{}': cannot create it: {}", path,
                                             ec.message())};
    }
    if (!std::filesystem::is_directory(path, ec)) {
        return error{ENOTDIR, fmt::format("unusable data dir '{}': not a directory", path)};
    }
    const std::string lock_path = fmt::format("{}/{}", path, lock_file_name);
    const int fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
        const int err = errno;
        return error{err, fmt::format("unusable data dir '{}': cannot open {}: {}", path, lock_path,
                                      std::strerror(err))};
    }
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
        const int err = errno;
        const std::string holder = read_pid(fd);
        ::close(fd);
        if (err == EWOULDBLOCK) {
            return error{err, fmt::format("data dir '{}' is in use by another quorummq-server "
                                          "(pid {}); stop it or use another --data-dir",
                                          path, holder)};
        }
        return error{err, fmt::format("unusable data dir '{}': cannot lock {}: {}", path, lock_path,
                                      std::strerror(err))};
    }
    const std::string pid = fmt::format("{}\n", ::getpid());
    if (::ftruncate(fd, 0) != 0 ||
        ::pwrite(fd, pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size())) {
        const int err = errno;
        ::close(fd);
        return error{err, fmt::format("unusable data dir '{}': cannot write {}: {}", path,
                                      lock_path, std::strerror(err))};
    }
    return data_dir_lock(path, fd);
}

data_dir_lock::data_dir_lock(data_dir_lock&& other) noexcept
    : _path(std::move(other._path)), _fd(other._fd) {
    other._fd = -1;
}

data_dir_lock::~data_dir_lock() {
    if (_fd >= 0) {
        ::close(_fd);  // releases the flock
    }
}

}  // namespace qmq::server
