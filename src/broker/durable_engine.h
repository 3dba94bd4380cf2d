#pragma once

// The node's durable storage as the broker sees it: the one storage::log_store
// (every durable classic queue is a single-member log in it) and the
// state_store (queue snapshots), plus the waiters for durability: a
// publisher confirm for a persistent message waits here until the WAL
// writer reports its entry fdatasync'd (one fdatasync serves every entry of
// a batch: group commit).
//
// Threads: the log store's writer thread only calls the on_ready callback
// given to open(), which must post to the event loop; everything else,
// including drain(), runs on the event loop.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "common/result.h"
#include "storage/log_store.h"
#include "storage/state_store.h"

namespace qmq::broker {

class broker;

class durable_engine {
  public:
    // Opens (and recovers) the stores under `dir`. on_ready is called on the
    // WAL writer thread when notices wait: post drain() to the loop.
    static result<std::unique_ptr<durable_engine>> open(const std::string& dir,
                                                        std::function<void()> on_ready);
    ~durable_engine();

    storage::log_store& log() { return *_log; }
    storage::state_store& states() { return _states; }

    // The log of durable queue `queue` in `vhost` (stable across restarts).
    static storage::group_id group_for(std::string_view vhost, std::string_view queue);

    // Calls done(true) once entry `index` of `g` is durable, done(false) if
    // it failed to be written. May call at once when already durable.
    void when_durable(storage::group_id g, uint64_t index, std::function<void(bool)> done);
    // Takes the log store's notices and runs the waiters they satisfy.
    void drain();

    // A deleted queue's log is released once its last entry is durable;
    // until then a queue of the same name must not replay it.
    void set_deleting(storage::group_id g, std::optional<uint64_t> index);
    std::optional<uint64_t> deleting(storage::group_id g) const;

    // Durable exchanges, queues and bindings (durable_metadata.h): restored
    // once at start, then the file is rewritten whenever they changed.
    result<void> load_metadata(broker& b);
    void save_metadata_if_changed(broker& b);

  private:
    durable_engine(std::string dir) : _states(std::move(dir)) {}

    struct group_waiters {
        uint64_t durable_up_to = 0;
        std::multimap<uint64_t, std::function<void(bool)>> waiting;  // by index
    };

    std::unique_ptr<storage::log_store> _log;
    storage::state_store _states;
    std::unordered_map<uint64_t, group_waiters> _waiters;
    bytes _saved_metadata;
    std::unordered_map<uint64_t, uint64_t> _deleting;  // group -> deleted at index
};

}  // namespace qmq::broker
