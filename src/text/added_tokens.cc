#include "text/added_tokens.h"

#include <algorithm>
#include <array>

#include "text/unicode.h"

namespace mova {
namespace {

struct Match {
  size_t start, stop;
  int64_t id;
};

// tokenizers' AddedVocabulary::find_matches over one piece of text.
std::vector<Match> find_matches(std::string_view text,
                                const std::vector<const AddedToken*>& tokens) {
  std::array<std::vector<const AddedToken*>, 256> by_first_byte;
  for (const AddedToken* t : tokens)
    if (!t->content.empty()) by_first_byte[static_cast<unsigned char>(t->content[0])].push_back(t);
  std::vector<Match> matches;
  size_t prev_stop = 0;
  for (size_t i = 0; i < text.size();) {
    const AddedToken* best = nullptr;
    for (const AddedToken* t : by_first_byte[static_cast<unsigned char>(text[i])])
      if ((best == nullptr || t->content.size() > best->content.size()) &&
          text.substr(i, t->content.size()) == t->content)
        best = t;
    if (best == nullptr) {
      ++i;
      continue;
    }
    size_t start = i, stop = i + best->content.size();
    i = stop;  // a rejected match still consumes its text, as the Aho-Corasick iteration does
    if (best->single_word) {
      const DecodedChar before = char_before(text, start), after = char_at(text, stop);
      if ((before.bytes > 0 && is_word_char(before.cp)) ||
          (after.bytes > 0 && is_word_char(after.cp)))
        continue;
    }
    // The search goes on from the match's own end, not past what rstrip takes; a token that
    // starts inside that whitespace keeps only its part after it (possibly none).
    start = std::max(start, prev_stop);
    if (best->lstrip)
      for (DecodedChar c; start > prev_stop && is_white_space((c = char_before(text, start)).cp);)
        start -= std::min(c.bytes, start - prev_stop);
    if (best->rstrip)
      for (DecodedChar c; stop < text.size() && is_white_space((c = char_at(text, stop)).cp);)
        stop += c.bytes;
    stop = std::max(stop, start);
    matches.push_back({start, stop, best->id});
    prev_stop = stop;
  }
  return matches;
}

// Appends `text` (at `offset` in the whole) to `out`, split at `tokens`.
void split_into(std::string_view text, size_t offset, const std::vector<const AddedToken*>& tokens,
                std::vector<TextSpan>& out) {
  size_t pos = 0;
  for (const Match& m : find_matches(text, tokens)) {
    if (m.start > pos) out.push_back({text.substr(pos, m.start - pos), offset + pos, -1});
    out.push_back({text.substr(m.start, m.stop - m.start), offset + m.start, m.id});
    pos = m.stop;
  }
  if (pos < text.size()) out.push_back({text.substr(pos), offset + pos, -1});
}

}  // namespace

std::vector<TextSpan> split_added_tokens(std::string_view text,
                                         const std::vector<AddedToken>& tokens) {
  std::vector<const AddedToken*> verbatim, normalized;
  for (const AddedToken& t : tokens) (t.normalized ? normalized : verbatim).push_back(&t);
  std::vector<TextSpan> first, spans;
  split_into(text, 0, verbatim, first);
  if (normalized.empty()) return first;
  for (const TextSpan& s : first) {
    if (s.token_id >= 0)
      spans.push_back(s);
    else
      split_into(s.text, s.offset, normalized, spans);
  }
  return spans;
}

}  // namespace mova
