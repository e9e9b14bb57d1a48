#!/usr/bin/env node
// Token ids from Hugging Face's own tokenizers library (the Rust code behind transformers'
// T5TokenizerFast, through its Node binding: `npm install tokenizers@0.23.2`), truncated to 512
// with the post-processor's </s> as upstream's `tokenizer(..., max_length=512, truncation=True)`.
//
//   NODE_PATH=DIR/node_modules node hf_tokenize.js TOKENIZER_JSON TEXTS_JSON
//       prints JSON: a list of [ids], one per text of TEXTS_JSON (a list of strings).
'use strict';

const fs = require('fs');
const { Tokenizer } = require('tokenizers');

(async () => {
  const tokenizer = Tokenizer.fromFile(process.argv[2]);
  tokenizer.setTruncation(512);
  const texts = JSON.parse(fs.readFileSync(process.argv[3], 'utf8'));
  const ids = [];
  for (const text of texts) ids.push((await tokenizer.encode(text)).getIds());
  process.stdout.write(JSON.stringify(ids) + '\n');
})();
