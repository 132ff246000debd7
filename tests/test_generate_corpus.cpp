// `still teach --generate` (sequence-level KD data): every sample is a pure function of
// (seed, prompt, sample), whatever the shard size, order or number decoded at once; a damaged
// result is regenerated to the same bytes; other settings into the same --out are refused; prompts
// are read strictly.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "still/data/generated_corpus.h"
#include "still/data/manifest.h"
#include "still/formats/tokenizer/tokenizer.h"
#include "still/io/atomic_file.h"
#include "still/teach/generate_corpus.h"
#include "still/util/error.h"
#include "test_helpers.h"

namespace still {
namespace {

LlamaConfig tiny_teacher() {
  LlamaConfig c = LlamaConfig::preset("tiny");
  c.max_seq = 48;
  return c;
}

std::vector<std::string> lines_of(const std::string& s) {
  std::vector<std::string> v;
  size_t pos = 0;
  while (pos < s.size()) {
    size_t nl = s.find('\n', pos);
    v.push_back(s.substr(pos, nl - pos));
    pos = nl + 1;
  }
  return v;
}

struct Fixture {
  TempDir d;
  LlamaModel model{tiny_teacher()};
  ByteTokenizer tok;
  TeacherHandle th{&model, &tok, "random-tiny", "", std::string(64, '0')};
  std::string prompts;
  Fixture() {
    model.init_random(3);
    prompts = d.path + "/prompts.jsonl";
    std::string text;
    for (int i = 0; i < 7; ++i) {
      std::string digit(1, char('0' + i));
      nlohmann::json j = {{"prompt", "prompt " + digit + ": "}, {"id", "q" + digit}};
      text += j.dump();
      text += '\n';
    }
    write_file_atomic(prompts, text);
  }
  GenerateCorpusOptions options(const std::string& out, int shard) const {
    GenerateCorpusOptions o;
    o.prompts = prompts;
    o.out = d.path + "/" + out;
    o.max_new_tokens = 12;
    o.samples_per_prompt = 2;
    o.seed = 5;
    o.prompts_per_shard = shard;
    return o;
  }
};

}  // namespace

TEST(GenerateCorpus, SamplesArePureFunctionsOfSeedPromptAndSample) {
  Fixture f;
  GenerateCorpusOptions a = f.options("a", 2), b = f.options("b", 5), p = f.options("p", 3);
  p.parallel = 3;  // three samples at a time, one thread each
  GenerateCorpusResult ra = run_generate_corpus(a, f.th);
  EXPECT_EQ(ra.samples, 14);
  EXPECT_EQ(ra.shards_written, 4);
  run_generate_corpus(b, f.th);
  const std::string file_a = read_file(a.out + "/generations.jsonl");
  // Shard size changes nothing; the shards are gone once the manifest is written.
  EXPECT_EQ(file_a, read_file(b.out + "/generations.jsonl"));
  run_generate_corpus(p, f.th);
  EXPECT_EQ(file_a, read_file(p.out + "/generations.jsonl"));
  EXPECT_FALSE(dir_exists(a.out + "/shards"));
  Manifest::load(a.out).verify(a.out);
  EXPECT_EQ(Manifest::load(a.out).kind, "generations");

  // Any sample alone, in any order, is the line in the file.
  auto lines = lines_of(file_a);
  ASSERT_EQ(lines.size(), 14u);
  auto prompts = read_prompts(f.prompts);
  for (int k = 13; k >= 0; k -= 3) {
    auto j = generate_sample(f.model, f.tok, prompts[size_t(k / 2)], k / 2, k % 2, a);
    EXPECT_EQ(j.dump(), lines[size_t(k)]) << "sample " << k;
  }
  auto j0 = nlohmann::json::parse(lines[6]);
  EXPECT_EQ(j0["id"], "q3");
  EXPECT_EQ(j0["prompt_index"], 3);
  EXPECT_EQ(j0["sample"], 0);
  EXPECT_EQ(j0["text"].get<std::string>(),
            j0["prompt"].get<std::string>() + j0["completion"].get<std::string>());
  EXPECT_EQ(j0["prompt_tokens"], 10);  // bytes, no BOS
  // The two samples of a prompt draw from different streams; another seed changes them.
  EXPECT_NE(nlohmann::json::parse(lines[6])["completion"],
            nlohmann::json::parse(lines[7])["completion"]);
  GenerateCorpusOptions c = f.options("c", 2);
  c.seed = 6;
  run_generate_corpus(c, f.th);
  EXPECT_NE(read_file(c.out + "/generations.jsonl"), file_a);
}

TEST(GenerateCorpus, RegeneratesDamageAndRefusesOtherSettings) {
  Fixture f;
  GenerateCorpusOptions a = f.options("a", 3);
  run_generate_corpus(a, f.th);
  const std::string path = a.out + "/generations.jsonl";
  const std::string good = read_file(path);
  // A rerun of a complete run does nothing.
  EXPECT_TRUE(run_generate_corpus(a, f.th).already_complete);
  // A damaged file is caught by the manifest's hash and regenerated to the same bytes.
  std::string bad = good;
  bad[bad.size() / 2] ^= 1;
  write_file_atomic(path, bad);
  GenerateCorpusResult r = run_generate_corpus(a, f.th);
  EXPECT_FALSE(r.already_complete);
  EXPECT_EQ(read_file(path), good);

  // Other settings into the same --out: one line naming the setting.
  GenerateCorpusOptions t = a;
  t.sampler.temperature = 0.5f;
  try {
    run_generate_corpus(t, f.th);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("temperature"), std::string::npos) << m;
    EXPECT_EQ(m.find('\n'), std::string::npos) << m;
  }
  EXPECT_EQ(read_file(path), good);
  // An --out holding a signal, or anything else, is refused.
  make_dirs(f.d.path + "/sig");
  write_file_atomic(f.d.path + "/sig/signal.json", "{}");
  GenerateCorpusOptions s = f.options("sig", 3);
  EXPECT_THROW(run_generate_corpus(s, f.th), Error);
}

TEST(GenerateCorpus, StopStringsAndGreedy) {
  Fixture f;
  GenerateCorpusOptions g = f.options("g", 4);
  g.sampler.temperature = 0;
  g.samples_per_prompt = 1;
  g.max_new_tokens = 20;
  auto prompts = read_prompts(f.prompts);
  auto free_run = generate_sample(f.model, f.tok, prompts[1], 1, 0, g);
  std::string text = free_run["completion"].get<std::string>();
  ASSERT_GE(text.size(), 6u);
  // A stop string taken from the middle of the greedy text cuts it there.
  g.stop = {text.substr(4, 2)};
  auto stopped = generate_sample(f.model, f.tok, prompts[1], 1, 0, g);
  EXPECT_EQ(stopped["finish_reason"], "stop");
  EXPECT_EQ(stopped["completion"].get<std::string>(), text.substr(0, text.find(g.stop[0])));
}

TEST(GenerateCorpus, ReadsPromptsStrictly) {
  TempDir d;
  auto write = [&](const std::string& name, const std::string& text) {
    write_file_atomic(d.path + "/" + name, text);
    return d.path + "/" + name;
  };
  auto txt = read_prompts(write("p.txt", "first prompt\nstill first\n\n\nsecond\n"));
  ASSERT_EQ(txt.size(), 2u);
  EXPECT_EQ(txt[0].prompt, "first prompt\nstill first");
  EXPECT_EQ(txt[1].prompt, "second");
  EXPECT_EQ(txt[1].id, 1);
  auto js = read_prompts(write(
      "p.jsonl", "{\"prompt\": \"a\", \"id\": 7, \"reference\": \"b\"}\n\n{\"prompt\": \"c\"}\n"));
  ASSERT_EQ(js.size(), 2u);
  EXPECT_EQ(js[0].id, 7);
  EXPECT_EQ(*js[0].reference, "b");
  EXPECT_EQ(js[1].id, 1);
  EXPECT_FALSE(js[1].reference);
  auto message = [&](const std::string& path) {
    try {
      read_prompts(path);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message(write("m.jsonl", "{\"prompt\": \"a\"}\n{\"text\": \"b\"}\n"))
                .find("line 2 has no string field \"prompt\""),
            std::string::npos);
  EXPECT_NE(message(write("e.txt", "\n\n")).find("holds no prompts"), std::string::npos);
  EXPECT_NE(message(write("j.jsonl", "not json\n")).find("line 1 is not a JSON object"),
            std::string::npos);
  EXPECT_NE(message(d.path + "/missing.jsonl").find("does not exist"), std::string::npos);
}

}  // namespace still
