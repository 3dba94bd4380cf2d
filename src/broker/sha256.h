#pragma once

// SHA-256 (FIPS 180-4), small and self-contained: the broker only hashes
// passwords at login, so a portable implementation is fast enough and keeps
// the module free of an OpenSSL dependency.

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace qmq::broker {

using sha256_digest = std::array<uint8_t, 32>;

class sha256 {
  public:
    sha256();
    void update(const void* data, std::size_t size);
    void update(std::string_view s) { update(s.data(), s.size()); }
    sha256_digest finish();

    static sha256_digest of(std::string_view s) {
        sha256 h;
        h.update(s);
        return h.finish();
    }

  private:
    void compress(const uint8_t* block);

    std::array<uint32_t, 8> _state;
    std::array<uint8_t, 64> _block{};
    std::size_t _block_used = 0;
    uint64_t _total_bytes = 0;
};

}  // namespace qmq::broker
