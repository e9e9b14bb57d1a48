#include "text/unigram.h"

#include <algorithm>
#include <limits>

#include "text/unicode.h"

namespace mova {

UnigramModel::UnigramModel(std::vector<Piece> pieces, int unk_id)
    : pieces_(std::move(pieces)), unk_id_(unk_id) {
  double min_score = std::numeric_limits<double>::infinity();
  ids_.reserve(pieces_.size());
  for (size_t i = 0; i < pieces_.size(); ++i) {
    ids_.emplace(pieces_[i].text, static_cast<int>(i));  // the first of equal pieces keeps it
    min_score = std::min(min_score, pieces_[i].score);
    longest_piece_ = std::max(longest_piece_, pieces_[i].text.size());
  }
  unk_score_ = min_score - 10.0;
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
    for (size_t len = char_len; len <= longest; len += char_at(word, start + len).bytes) {
      const auto it = ids_.find(word.substr(start, len));
      if (it != ids_.end()) {
        Best& target = best[start + len];
        const double score = here + pieces_[it->second].score;
        if (target.id < 0 || score > target.score) target = {score, start, it->second};
        single_char_piece |= len == char_len;
      }
      if (start + len == word.size()) break;
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
    const auto it = ids_.find(word.substr(start, unknown_stop - start));
    reversed.push_back(it != ids_.end() ? it->second : unk_id_);
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
