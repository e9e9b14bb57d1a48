// The Unigram model as Hugging Face's tokenizers runs it (`Unigram::encode_optimized`), on one
// word of normalized text ("▁" for spaces): the best-scoring split into vocabulary pieces,
// scores summed in double precision; a character no piece starts with is unknown (score: the
// lowest in the vocabulary minus 10), and unknown runs fuse into one unknown token. Where two
// splits score the same, the one whose last piece starts earliest wins. sentencepiece breaks
// such ties the other way ("ffff" → "fff f" there, "f fff" upstream), which is why mova.cpp
// takes only the normalization from it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace mova {

class UnigramModel {
 public:
  struct Piece {
    std::string text;
    double score = 0;
  };
  // `pieces[i]` has id i. Pieces are found in the text whatever their kind (control pieces
  // included), as in tokenizers.
  UnigramModel(std::vector<Piece> pieces, int unk_id);

  // Appends the ids of `word`'s best split.
  void encode(std::string_view word, std::vector<int>& ids) const;

 private:
  // The id of a piece, by a hash that grows a byte at a time (so each start costs one pass
  // over the longest piece's length, as a trie walk would); -1 when none.
  int find(std::string_view text, uint64_t hash) const;

  std::vector<Piece> pieces_;
  std::unordered_map<uint64_t, int> by_hash_;
  std::unordered_map<std::string_view, int> colliding_;  // pieces whose hash another one has
  int unk_id_;
  double unk_score_;
  size_t longest_piece_ = 0;  // bytes
};

}  // namespace mova
