// Tokenization by llama.cpp itself (node-llama-cpp's prebuilt binaries), vocabulary only.
// Usage: node tokenize_many.mjs JOBS.json — JOBS: [{"model": gguf path, "texts": [string, ...]}]
// Prints one JSON line: [[ids of text 0, ids of text 1, ...] per job]. No BOS, special tokens
// in the text are not parsed (like llama.cpp's test-tokenizer-0).
import {readFileSync} from "node:fs";
import {getLlama, LlamaLogLevel} from "node-llama-cpp";

const jobs = JSON.parse(readFileSync(process.argv[2], "utf8"));
const llama = await getLlama({gpu: false, build: "never", logLevel: LlamaLogLevel.error});
const results = [];
for (const job of jobs) {
  const model = await llama.loadModel({modelPath: job.model, vocabOnly: true});
  results.push(job.texts.map((t) => Array.from(model.tokenize(t, false))));
  await model.dispose();
}
console.log(JSON.stringify(results));
