// Tokenizes texts with llama.cpp itself (node-llama-cpp), loading only a GGUF's vocabulary.
// Usage: node tokenize.mjs JOB.json — JOB: {"model": path, "texts": [...]}; prints one JSON
// line: [[ids of text 0], [ids of text 1], ...] (no BOS, special tokens as plain text).
import {readFileSync} from "node:fs";
import {getLlama, LlamaLogLevel} from "node-llama-cpp";

const job = JSON.parse(readFileSync(process.argv[2], "utf8"));
const llama = await getLlama({gpu: false, build: "never", logLevel: LlamaLogLevel.error});
const model = await llama.loadModel({modelPath: job.model, vocabOnly: true});
console.log(JSON.stringify(job.texts.map((t) => Array.from(model.tokenize(t, false)))));
await model.dispose();
