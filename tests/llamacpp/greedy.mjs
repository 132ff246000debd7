// Greedy decoding with llama.cpp itself (through node-llama-cpp's prebuilt binaries).
// Usage: node greedy.mjs JOBS.json  — JOBS: [{"model": path, "prompt": [ids], "n": count}, ...];
// a job may give "text" instead of "prompt": llama.cpp then tokenizes it (no BOS).
// Prints one JSON line: [{"model": path, "tokens": [ids]}, ...]. Stops only
// after n tokens (never at end-of-generation tokens), so the whole sequence is compared.
import {readFileSync} from "node:fs";
import {getLlama, LlamaLogLevel} from "node-llama-cpp";

const jobs = JSON.parse(readFileSync(process.argv[2], "utf8"));
const llama = await getLlama({gpu: false, build: "never", logLevel: LlamaLogLevel.error});
const results = [];
for (const job of jobs) {
  const model = await llama.loadModel({modelPath: job.model});
  const context = await model.createContext({contextSize: 256, batchSize: 256, threads: 1});
  const sequence = context.getSequence();
  const tokens = [];
  const prompt = job.text !== undefined ? Array.from(model.tokenize(job.text, false)) : job.prompt;
  for await (const t of sequence.evaluate(prompt, {temperature: 0})) {
    tokens.push(t);
    if (tokens.length >= job.n) break;
  }
  results.push({model: job.model, prompt, tokens});
  await context.dispose();
  await model.dispose();
}
console.log(JSON.stringify(results));
