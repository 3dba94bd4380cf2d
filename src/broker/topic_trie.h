#pragma once

// Topic exchange bindings as a trie over dot-separated words, so routing
// costs what the key's words visit, not the number of bindings (RabbitMQ's
// rabbit_exchange_type_topic does the same in Mnesia tables).
//
// Words follow RabbitMQ: "" is zero words, "a." is {"a", ""}; `*` matches
// exactly one word (possibly empty); `#` matches zero or more words.

#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "broker/destination.h"

namespace qmq::broker {

class topic_trie {
  public:
    topic_trie();
    ~topic_trie();
    topic_trie(const topic_trie&) = delete;
    topic_trie& operator=(const topic_trie&) = delete;

    // Returns false when this exact (pattern, destination) was already bound.
    bool add(std::string_view pattern, const destination& dest);
    // Returns false when it was not bound.
    bool remove(std::string_view pattern, const destination& dest);

    // Appends every destination whose pattern matches `routing_key`. May
    // append one destination more than once; the caller deduplicates.
    void match(std::string_view routing_key, std::vector<const destination*>& out) const;

    std::size_t size() const { return _size; }

    // Splits per RabbitMQ's split_topic_key ("" -> no words).
    static void split_words(std::string_view key, std::vector<std::string_view>& out);

  private:
    struct node;
    void match_from(const node& n, const std::vector<std::string_view>& words, std::size_t pos,
                    std::vector<const destination*>& out) const;

    std::unique_ptr<node> _root;
    std::size_t _size = 0;
};

}  // namespace qmq::broker
