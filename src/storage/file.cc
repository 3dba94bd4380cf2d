#include "storage/file.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "common/assert.h"

namespace qmq::storage {
namespace {

std::atomic<int> injected_write_errno{0};

const char* errno_name(int err) {
    switch (err) {
        case ENOSPC:
            return "ENOSPC";
        case EIO:
            return "EIO";
        case EDQUOT:
            return "EDQUOT";
        case ENOENT:
            return "ENOENT";
        case EEXIST:
            return "EEXIST";
        case EACCES:
            return "EACCES";
        case EROFS:
            return "EROFS";
        default:
            return nullptr;
    }
}

std::string dir_of(const std::string& path) {
    auto p = std::filesystem::path(path).parent_path().string();
    return p.empty() ? "." : p;
}

}  // namespace

error io_error(std::string_view op, std::string_view path, int err) {
    std::string msg(op);
    msg += ' ';
    msg += path;
    msg += ": ";
    msg += std::strerror(err);
    if (const char* name = errno_name(err)) {
        msg += " (";
        msg += name;
        msg += ')';
    }
    return error{err, std::move(msg)};
}

void inject_write_errno(int err) {
    injected_write_errno.store(err);
}

result<std::shared_ptr<file>> file::open(const std::string& path, mode m) {
    int flags = O_CLOEXEC;
    switch (m) {
        case mode::read_only:
            flags |= O_RDONLY;
            break;
        case mode::read_write:
            flags |= O_RDWR;
            break;
        case mode::create_new:
            flags |= O_RDWR | O_CREAT | O_EXCL;
            break;
    }
    int fd = ::open(path.c_str(), flags, 0644);
    if (fd < 0) {
        return io_error("open", path, errno);
    }
    return std::shared_ptr<file>(new file(fd, path));
}

file::~file() {
    ::close(_fd);
}

result<void> file::write_at(bytes_view data, uint64_t offset) {
    if (int err = injected_write_errno.load()) {
        return io_error("write", _path, err);
    }
    const std::byte* p = data.data();
    std::size_t left = data.size();
    while (left > 0) {
        ssize_t n = ::pwrite(_fd, p, left, static_cast<off_t>(offset));
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return io_error("write", _path, errno);
        }
        p += n;
        left -= static_cast<std::size_t>(n);
        offset += static_cast<uint64_t>(n);
    }
    return ok_result();
}

result<std::size_t> file::read_at(std::span<std::byte> data, uint64_t offset) const {
    std::size_t done = 0;
    while (done < data.size()) {
        ssize_t n =
            ::pread(_fd, data.data() + done, data.size() - done, static_cast<off_t>(offset + done));
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return io_error("read", _path, errno);
        }
        if (n == 0) {
            break;
        }
        done += static_cast<std::size_t>(n);
    }
    return done;
}

result<void> file::datasync() {
    if (int err = injected_write_errno.load()) {
        return io_error("fdatasync", _path, err);
    }
    if (::fdatasync(_fd) != 0) {
        return io_error("fdatasync", _path, errno);
    }
    return ok_result();
}

result<void> file::truncate(uint64_t size) {
    if (::ftruncate(_fd, static_cast<off_t>(size)) != 0) {
        return io_error("ftruncate", _path, errno);
    }
    return ok_result();
}

result<uint64_t> file::size() const {
    struct stat st {};
    if (::fstat(_fd, &st) != 0) {
        return io_error("fstat", _path, errno);
    }
    return static_cast<uint64_t>(st.st_size);
}

result<void> make_dirs(const std::string& path) {
    std::error_code ec;
    std::filesystem::create_directories(path, ec);
    if (ec) {
        return io_error("mkdir", path, ec.value());
    }
    return ok_result();
}

result<void> sync_dir(const std::string& path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        return io_error("open directory", path, errno);
    }
    int rc = ::fsync(fd);
    int err = errno;
    ::close(fd);
    if (rc != 0) {
        return io_error("fsync directory", path, err);
    }
    return ok_result();
}

result<std::vector<std::string>> list_dir(const std::string& path) {
    DIR* d = ::opendir(path.c_str());
    if (d == nullptr) {
        return io_error("opendir", path, errno);
    }
    std::vector<std::string> names;
    while (dirent* e = ::readdir(d)) {
        std::string name = e->d_name;
        if (name != "." && name != "..") {
            names.push_back(std::move(name));
        }
    }
    ::closedir(d);
    return names;
}

result<void> remove_file(const std::string& path) {
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
        return io_error("unlink", path, errno);
    }
    return ok_result();
}

result<void> rename_file(const std::string& from, const std::string& to) {
    if (::rename(from.c_str(), to.c_str()) != 0) {
        return io_error("rename " + from + " to", to, errno);
    }
    return ok_result();
}

bool path_exists(const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0;
}

uint64_t disk_usage(const std::string& path) {
    uint64_t total = 0;
    std::error_code ec;
    for (auto it = std::filesystem::recursive_directory_iterator(path, ec);
         !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
        std::error_code ec2;
        if (it->is_regular_file(ec2)) {
            total += it->file_size(ec2);
        }
    }
    return total;
}

result<void> write_file_atomically(const std::string& path, bytes_view data) {
    const std::string tmp = path + ".tmp";
    (void)remove_file(tmp);
    auto f = file::open(tmp, file::mode::create_new);
    if (!f) {
        return f.err();
    }
    if (auto r = (*f)->write_at(data, 0); !r) {
        return r.err();
    }
    if (auto r = (*f)->datasync(); !r) {
        return r.err();
    }
    if (auto r = rename_file(tmp, path); !r) {
        return r.err();
    }
    return sync_dir(dir_of(path));
}

result<bytes> read_whole_file(const std::string& path) {
    auto f = file::open(path, file::mode::read_only);
    if (!f) {
        return f.err();
    }
    auto size = (*f)->size();
    if (!size) {
        return size.err();
    }
    bytes out(*size);
    auto n = (*f)->read_at(out, 0);
    if (!n) {
        return n.err();
    }
    out.resize(*n);
    return out;
}

}  // namespace qmq::storage
