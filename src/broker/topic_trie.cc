#include "broker/topic_trie.h"

#include <algorithm>

#include "common/assert.h"

namespace qmq::broker {

// Heterogeneous lookup so matching looks words up without building strings.
struct word_hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept {
        return std::hash<std::string_view>{}(s);
    }
};

struct topic_trie::node {
    std::unordered_map<std::string, std::unique_ptr<node>, word_hash, std::equal_to<>> children;
    std::vector<destination> bound;  // patterns ending here

    bool empty() const { return children.empty() && bound.empty(); }
};

topic_trie::topic_trie() : _root(std::make_unique<node>()) {}
topic_trie::~topic_trie() = default;

void topic_trie::split_words(std::string_view key, std::vector<std::string_view>& out) {
    out.clear();
    if (key.empty()) {
        return;
    }
    std::size_t start = 0;
    while (true) {
        const std::size_t dot = key.find('.', start);
        if (dot == std::string_view::npos) {
            out.push_back(key.substr(start));
            return;
        }
        out.push_back(key.substr(start, dot - start));
        start = dot + 1;
    }
}

bool topic_trie::add(std::string_view pattern, const destination& dest) {
    std::vector<std::string_view> words;
    split_words(pattern, words);
    node* n = _root.get();
    for (auto w : words) {
        auto it = n->children.find(w);
        if (it == n->children.end()) {
            it = n->children.emplace(std::string(w), std::make_unique<node>()).first;
        }
        n = it->second.get();
    }
    if (std::find(n->bound.begin(), n->bound.end(), dest) != n->bound.end()) {
        return false;
    }
    n->bound.push_back(dest);
    ++_size;
    return true;
}

bool topic_trie::remove(std::string_view pattern, const destination& dest) {
    std::vector<std::string_view> words;
    split_words(pattern, words);
    // Remember the path so emptied nodes can be pruned bottom-up.
    std::vector<std::pair<node*, std::string_view>> path;
    node* n = _root.get();
    for (auto w : words) {
        auto it = n->children.find(w);
        if (it == n->children.end()) {
            return false;
        }
        path.emplace_back(n, w);
        n = it->second.get();
    }
    auto it = std::find(n->bound.begin(), n->bound.end(), dest);
    if (it == n->bound.end()) {
        return false;
    }
    n->bound.erase(it);
    QMQ_ASSERT(_size > 0);
    --_size;
    for (auto p = path.rbegin(); p != path.rend(); ++p) {
        auto child = p->first->children.find(p->second);
        QMQ_ASSERT(child != p->first->children.end());
        if (!child->second->empty()) {
            break;
        }
        p->first->children.erase(child);
    }
    return true;
}

void topic_trie::match(std::string_view routing_key, std::vector<const destination*>& out) const {
    std::vector<std::string_view> words;
    words.reserve(8);
    split_words(routing_key, words);
    match_from(*_root, words, 0, out);
}

void topic_trie::match_from(const node& n, const std::vector<std::string_view>& words,
                            std::size_t pos, std::vector<const destination*>& out) const {
    if (pos == words.size()) {
        for (const auto& d : n.bound) {
            out.push_back(&d);
        }
    }
    if (auto hash = n.children.find(std::string_view("#")); hash != n.children.end()) {
        // `#` consumes zero or more words: try every remaining suffix.
        for (std::size_t next = pos; next <= words.size(); ++next) {
            match_from(*hash->second, words, next, out);
        }
    }
    if (pos == words.size()) {
        return;
    }
    if (auto star = n.children.find(std::string_view("*")); star != n.children.end()) {
        match_from(*star->second, words, pos + 1, out);
    }
    // A key word that is literally "*" or "#" names the wildcard child,
    // already visited above; visiting it again would only duplicate.
    const std::string_view w = words[pos];
    if (w != "*" && w != "#") {
        if (auto exact = n.children.find(w); exact != n.children.end()) {
            match_from(*exact->second, words, pos + 1, out);
        }
    }
}

}  // namespace qmq::broker
