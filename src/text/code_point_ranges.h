// Sorted, non-overlapping code point ranges, as the generated Unicode tables store them
// (text/word_chars.cc, text/grapheme_break_table.cc), and the search over them.
#pragma once

#include <algorithm>
#include <cstddef>
#include <iterator>

namespace mova {

template <typename T>
struct CodePointRange {
  char32_t first, last;
  T value;
};

// The value of the range holding `cp`, or `otherwise`.
template <typename T, size_t N>
T find_code_point(const CodePointRange<T> (&table)[N], char32_t cp, T otherwise) {
  const auto* it =
      std::upper_bound(std::begin(table), std::end(table), cp,
                       [](char32_t c, const CodePointRange<T>& r) { return c < r.first; });
  if (it == std::begin(table) || cp > std::prev(it)->last) return otherwise;
  return std::prev(it)->value;
}

}  // namespace mova
