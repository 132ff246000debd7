// Training on teacher generations (sequence-level KD) with a real byte-level BPE tokenizer:
// the prompt mask covers exactly BOS + encode(prompt) — also where a BPE merge crosses the
// prompt/completion boundary — so the scored targets are exactly the completion's tokens (and
// EOS where the teacher ended); the held-out split keeps a prompt's samples together.
#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>

#include "still/data/generated_corpus.h"
#include "still/data/manifest.h"
#include "still/data/packing.h"
#include "still/formats/tokenizer/bpe_trainer.h"
#include "still/io/atomic_file.h"
#include "still/util/error.h"
#include "test_train_helpers.h"

namespace still {
namespace {

struct Sample {
  int prompt_index;
  std::string prompt, completion, finish;
};

// A generations directory as `still teach --generate` leaves it.
void write_generations(const std::string& dir, const std::vector<Sample>& samples) {
  make_dirs(dir);
  write_file_atomic(dir + "/generation.json", "{}\n");
  std::string text;
  for (auto& s : samples) {
    nlohmann::ordered_json j;
    j["prompt_index"] = s.prompt_index;
    j["sample"] = 0;
    j["prompt"] = s.prompt;
    j["completion"] = s.completion;
    j["text"] = s.prompt + s.completion;
    j["finish_reason"] = s.finish;
    j["reference"] = "reference " + s.completion;
    text += j.dump() + "\n";
  }
  write_file_atomic(dir + "/generations.jsonl", text);
  Manifest m;
  m.kind = "generations";
  m.add_file(dir, "generation.json");
  m.add_file(dir, "generations.jsonl");
  m.write(dir);
}

std::unique_ptr<Tokenizer> trained_bpe(const std::string& dir) {
  BpeTrainOptions opt;
  opt.vocab_size = 400;
  opt.progress = false;
  write_file_atomic(dir + "/tokenizer.json", train_bpe(synthetic_corpus(400), opt).tokenizer_json);
  write_file_atomic(dir + "/tokenizer_config.json",
                    R"({"bos_token": "<|begin_of_text|>", "eos_token": "<|end_of_text|>"})");
  return load_tokenizer(dir + "/tokenizer.json");
}

std::vector<Sample> samples() {
  std::vector<Sample> v;
  static const char* prompts[] = {"the cat sees", "a dog fol", "the far", "my friend likes "};
  static const char* completions[] = {" the river.\n", "lows the sun.", "mer feeds a stone.",
                                      "the old tree.\nthe bird"};
  for (int i = 0; i < 12; ++i)
    v.push_back(
        {i, prompts[i % 4], completions[(i / 4 + i) % 4], i % 3 == 0 ? "max_tokens" : "eos"});
  return v;
}

// Scored targets of every document, in corpus order, through the held-out packer (which
// carries documents across rows): the tokens after each document's prompt.
std::vector<int32_t> scored_targets(const train::TokenDocs& docs) {
  std::vector<int32_t> out;
  for (auto& b : train::make_heldout_batches(docs, 2, 16, 1 << 20))
    for (int32_t t : b.targets)
      if (t >= 0) out.push_back(t);
  return out;
}

}  // namespace

TEST(GeneratedCorpus, PromptMaskCoversExactlyThePromptTokensWithBpe) {
  TempDir d;
  auto tok = trained_bpe(d.path);
  ASSERT_EQ(tok->kind(), "bpe");
  ASSERT_GE(tok->bos_id(), 0);
  ASSERT_GE(tok->eos_id(), 0);
  auto all = samples();
  write_generations(d.path + "/gen", all);

  // Document by document: the prompt part is exactly BOS + encode(prompt).
  int split = 0;
  for (auto& s : all) {
    train::PromptedDoc doc =
        train::tokenize_prompted(*tok, s.prompt, s.completion, s.finish == "eos");
    std::vector<int32_t> p = tok->encode(s.prompt);
    p.insert(p.begin(), tok->bos_id());
    ASSERT_EQ(doc.prompt_len, int64_t(p.size()));
    EXPECT_TRUE(std::equal(p.begin(), p.end(), doc.ids.begin())) << s.prompt;
    std::vector<int32_t> rest(doc.ids.begin() + doc.prompt_len, doc.ids.end());
    if (s.finish == "eos") {
      ASSERT_EQ(rest.back(), tok->eos_id());
      rest.pop_back();
    } else {
      EXPECT_NE(rest.back(), tok->eos_id());
    }
    EXPECT_EQ(tok->decode(rest), s.completion);
    if (doc.split_boundary) {
      ++split;
      EXPECT_EQ(rest, tok->encode(s.completion));
    } else {
      auto whole = tok->encode(s.prompt + s.completion);
      EXPECT_EQ(rest, std::vector<int32_t>(whole.begin() + long(p.size()) - 1, whole.end()));
    }
  }
  // "a dog fol" + "lows" and "the far" + "mer" cross a merge; "the cat sees" + " the" doesn't.
  EXPECT_GT(split, 0);
  EXPECT_LT(split, int(all.size()));

  // The corpus: scored targets are exactly the completions' tokens; unmasked, everything
  // after BOS.
  for (bool mask : {true, false}) {
    auto g = train::load_generated_corpus(d.path + "/gen", *tok, {0.25, mask, false});
    EXPECT_EQ(g.samples, 12);
    EXPECT_EQ(g.prompts, 12);
    EXPECT_TRUE(g.has_references);
    for (const train::TokenDocs* docs : {&g.corpus.train, &g.corpus.heldout}) {
      std::vector<int32_t> expect;
      for (int64_t k = 0; k < docs->num_docs(); ++k) {
        const int32_t* ids = docs->tokens.data() + docs->doc_start[size_t(k)];
        int64_t from = mask ? docs->doc_prompt(k) : 1;
        ASSERT_GE(from, 1);
        expect.insert(expect.end(), ids + from, ids + docs->doc_len(k));
      }
      EXPECT_EQ(scored_targets(*docs), expect) << (mask ? "masked" : "unmasked");
    }
  }

  // The training packer applies the same mask: in row 0 of the stream (which starts at a
  // document), the token at position p of a document with prompt length P has a scored
  // target iff p + 1 >= P.
  auto g = train::load_generated_corpus(d.path + "/gen", *tok, {0.25, true, false});
  std::map<std::vector<int32_t>, int64_t> prompt_of;  // document tokens -> prompt length
  for (int64_t k = 0; k < g.corpus.train.num_docs(); ++k) {
    auto b = g.corpus.train.tokens.begin() + g.corpus.train.doc_start[size_t(k)];
    prompt_of[std::vector<int32_t>(b, b + g.corpus.train.doc_len(k))] =
        g.corpus.train.doc_prompt(k);
  }
  const int T = int(g.corpus.train.tokens.size());
  train::PackedStream stream(g.corpus.train, 3);
  Batch batch;
  batch.resize(1, T);
  stream.fill_row(0, batch, 0);
  int checked = 0;
  for (int start = 0; start < T;) {
    int end = start + 1;
    while (end < T && batch.positions[size_t(end)] != 0) ++end;
    std::vector<int32_t> doc(batch.tokens.begin() + start, batch.tokens.begin() + end);
    ASSERT_TRUE(prompt_of.count(doc));
    int64_t P = prompt_of[doc];
    for (int p = 0; p < end - start; ++p) {
      bool scored = batch.targets[size_t(start + p)] >= 0;
      EXPECT_EQ(scored, p + 1 >= P && p + 1 < end - start) << "position " << p;
    }
    ++checked;
    start = end;
  }
  EXPECT_EQ(checked, g.corpus.train.num_docs());
}

TEST(GeneratedCorpus, HeldOutByPromptAndStrictErrors) {
  TempDir d;
  ByteTokenizer tok;
  std::vector<Sample> all;
  for (int i = 0; i < 40; ++i) {
    std::string prompt = "p";
    prompt += std::to_string(i);
    for (int s = 0; s < 3; ++s) all.push_back({i, prompt, " c", "eos"});
  }
  write_generations(d.path + "/gen", all);
  auto g = train::load_generated_corpus(d.path + "/gen", tok, {0.2, true, false});
  // Every prompt's three samples sit on one side: document counts are multiples of 3.
  EXPECT_EQ(g.corpus.heldout.num_docs() % 3, 0);
  EXPECT_EQ(g.corpus.train.num_docs() % 3, 0);
  EXPECT_GT(g.corpus.heldout.num_docs(), 0);
  EXPECT_EQ(g.prompts, 40);

  auto message = [&](const std::string& dir, bool ref = false) {
    try {
      train::load_generated_corpus(dir, tok, {0.2, true, ref});
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  make_dirs(d.path + "/sig");
  write_file_atomic(d.path + "/sig/signal.json", "{}");
  EXPECT_NE(message(d.path + "/sig").find("pass it with --signal"), std::string::npos);
  EXPECT_NE(message(d.path + "/nothing").find("holds no generations"), std::string::npos);
  // A damaged file is named.
  std::string f = d.path + "/gen/generations.jsonl";
  std::string good = read_file(f);
  write_file_atomic(f, good.substr(0, good.size() / 2));
  EXPECT_NE(message(d.path + "/gen").find("generations.jsonl"), std::string::npos);
  // Samples without references cannot feed the reference baseline.
  write_generations(d.path + "/noref", {{0, "a", "b", "eos"}, {1, "c", "d", "eos"}});
  std::string noref = read_file(d.path + "/noref/generations.jsonl");
  size_t at;
  while ((at = noref.find(",\"reference\"")) != std::string::npos)
    noref.erase(at, noref.find('}', at) - at);
  write_file_atomic(d.path + "/noref/generations.jsonl", noref);
  Manifest m;
  m.add_file(d.path + "/noref", "generation.json");
  m.add_file(d.path + "/noref", "generations.jsonl");
  m.write(d.path + "/noref");
  EXPECT_NE(message(d.path + "/noref", true).find("has no \"reference\""), std::string::npos);
}

}  // namespace still
