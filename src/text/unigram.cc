#include "text/unigram.h"

#include <algorithm>
#include <cstdint>
#include <limits>

#include "text/unicode.h"

namespace mova {

namespace {

constexpr uint64_t kHashStart = 0xcbf29ce484222325ull;  // FNV-1a
uint64_t hash_byte(uint64_t h, char byte) {
  return (h ^ static_cast<uint8_t>(byte)) * 0x100000001b3ull;
}

}  // namespace

UnigramModel::UnigramModel(std::vector<Piece> pieces, int unk_id)
    : pieces_(std::move(pieces)), unk_id_(unk_id) {
  double min_score = std::numeric_limits<double>::infinity();
  by_hash_.reserve(pieces_.size());
  for (size_t i = 0; i < pieces_.size(); ++i) {
    const std::string& text = pieces_[i].text;
    uint64_t h = kHashStart;
    for (const char c : text) h = hash_byte(h, c);
    const auto id = static_cast<int>(i);
    // Of equal pieces the last keeps the text, as in tokenizers' token_to_ids.
    const auto [it, added] = by_hash_.try_emplace(h, id);
    if (!added && pieces_[it->second].text == text)
      it->second = id;
    else if (!added)
      colliding_[text] = id;
    min_score = std::min(min_score, pieces_[i].score);
    longest_piece_ = std::max(longest_piece_, text.size());
  }
  unk_score_ = min_score - 10.0;
}

int UnigramModel::find(std::string_view text, uint64_t hash) const {
  const auto it = by_hash_.find(hash);
  if (it == by_hash_.end()) return -1;
  if (pieces_[it->second].text == text) return it->second;
  const auto c = colliding_.find(text);
  return c == colliding_.end() ? -1 : c->second;
}

void UnigramModel::encode(std::string_view word, std::vector<int>& ids) const {
  struct Best {
    double score = 0;
    size_t start = 0;
    int id = -1;  // -1: no path ends here yet
  };
  std::vector<Best> best(word.size() + 1);
  best[0].id = 0;
  for (size_t start = 0; start < word.size();) {
    const size_t char_len = char_at(word, start).bytes;
    const double here = best[start].score;
    bool single_char_piece = false;
    const size_t longest = std::min(longest_piece_, word.size() - start);
    uint64_t hash = kHashStart;
    size_t next_char_end = start + char_len;  // the prefix is looked up at character ends
    for (size_t end = start; end < start + longest;) {
      hash = hash_byte(hash, word[end++]);
      if (end != next_char_end) continue;
      next_char_end = end + char_at(word, end).bytes;
      const int id = find(word.substr(start, end - start), hash);
      if (id < 0) continue;
      Best& target = best[end];
      const double score = here + pieces_[id].score;
      if (target.id < 0 || score > target.score) target = {score, start, id};
      single_char_piece |= end - start == char_len;
    }
    if (!single_char_piece) {
      Best& target = best[start + char_len];
      const double score = here + unk_score_;
      if (target.id < 0 || score > target.score) target = {score, start, unk_id_};
    }
    start += char_len;
  }
  // Back from the end; a run of unknown characters becomes one token, the vocabulary's if the
  // run happens to be a piece.
  std::vector<int> reversed;
  size_t unknown_stop = 0;  // > 0: the end of a run of unknown characters being collected
  const auto flush_unknown = [&](size_t start) {
    const std::string_view run = word.substr(start, unknown_stop - start);
    uint64_t h = kHashStart;
    for (const char c : run) h = hash_byte(h, c);
    const int id = find(run, h);
    reversed.push_back(id >= 0 ? id : unk_id_);
    unknown_stop = 0;
  };
  for (size_t end = word.size(); end > 0; end = best[end].start) {
    if (best[end].id == unk_id_) {
      if (unknown_stop == 0) unknown_stop = end;
      continue;
    }
    if (unknown_stop > 0) flush_unknown(end);
    reversed.push_back(best[end].id);
  }
  if (unknown_stop > 0) flush_unknown(0);
  ids.insert(ids.end(), reversed.rbegin(), reversed.rend());
}

}  // namespace mova
