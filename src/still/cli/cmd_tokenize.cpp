// `still tokenize`: show how a model's tokenizer splits text (or a chat prompt), and
// `still tokenizer train`: learn a byte-level BPE tokenizer.json from a corpus.
#include <cstdio>
#include <iostream>
#include <iterator>
#include <nlohmann/json.hpp>

#include "still/cli/commands.h"
#include "still/data/manifest.h"
#include "still/formats/tokenizer/bpe_trainer.h"
#include "still/formats/tokenizer/chat_template.h"
#include "still/formats/tokenizer/tokenizer.h"
#include "still/formats/tokenizer/utf8.h"
#include "still/io/atomic_file.h"
#include "still/modelio/open_model.h"
#include "still/util/error.h"
#include "still/util/log.h"

namespace still::cli {
namespace {

std::unique_ptr<Tokenizer> tokenizer_for(const std::string& model, const std::string& file) {
  if (!file.empty()) return load_tokenizer(file);
  try {
    return load_tokenizer(model);
  } catch (const Error&) {
    if (!dir_exists(model)) throw;
    return open_model(model).tokenizer;  // a still run or checkpoint directory
  }
}

// A token's bytes for display: printable UTF-8 as is, the rest as C escapes.
std::string show(const std::string& bytes) {
  std::string out = "'";
  for (size_t i = 0; i < bytes.size();) {
    auto c = uint8_t(bytes[i]);
    size_t n = utf8::valid_len(bytes, i);
    char buf[8];
    if (c == '\n')
      out += "\\n";
    else if (c == '\t')
      out += "\\t";
    else if (c == '\r')
      out += "\\r";
    else if (c == '\\' || c == '\'')
      out += std::string("\\") + char(c);
    else if (n == 1 && c >= 0x20 && c < 0x7F)
      out += char(c);
    else if (n > 1)
      out.append(bytes, i, n);
    else {
      std::snprintf(buf, sizeof buf, "\\x%02X", c);
      out += buf;
    }
    i += n ? n : 1;
  }
  return out + "'";
}

std::string read_input(const std::string& arg) {
  if (arg != "-") return arg;
  return std::string(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
}

void register_tokenize_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("tokenize", "Show the tokens and ids a tokenizer gives a text");
  struct Args {
    std::string model, tokenizer, text, chat;
    bool ids = false, json = false, special = false, no_generation_prompt = false;
  };
  auto a = std::make_shared<Args>();
  auto* model = cmd->add_option("--model", a->model,
                                "Model whose tokenizer to use (HF directory, GGUF, still run)");
  auto* tok =
      cmd->add_option("--tokenizer", a->tokenizer,
                      "Tokenizer file: tokenizer.json, .model, .gguf, encoder.json, 'bytes'");
  model->excludes(tok);
  cmd->add_option("text", a->text, "Text to tokenize, or - for stdin");
  cmd->add_option("--chat", a->chat,
                  "JSON file (or -) with chat messages [{\"role\",\"content\"}]: apply the chat "
                  "template and tokenize the prompt");
  cmd->add_flag("--no-generation-prompt", a->no_generation_prompt,
                "With --chat: don't append the assistant turn header");
  cmd->add_flag("--special", a->special,
                "Parse special tokens written in TEXT (template text); user text never does");
  cmd->add_flag("--ids", a->ids, "Print only the ids, space-separated");
  cmd->add_flag("--json", a->json,
                "Print JSON: ids, tokens, count, tokenizer kind and fingerprint");
  cmd->callback([a] {
    if (a->model.empty() && a->tokenizer.empty())
      throw Error("give --model MODEL or --tokenizer FILE");
    if (a->chat.empty() == a->text.empty())
      throw Error("give either TEXT (or - for stdin) or --chat MESSAGES.json");
    auto t = tokenizer_for(a->model, a->tokenizer);
    std::string text;
    std::vector<int32_t> ids;
    if (!a->chat.empty()) {
      std::string src = a->chat == "-" ? read_input("-") : read_file(a->chat);
      nlohmann::ordered_json messages;
      try {
        messages = nlohmann::ordered_json::parse(src);
      } catch (const nlohmann::json::exception& e) {
        throw Error(a->chat + ": not valid JSON (" + std::string(e.what()) + ")");
      }
      ChatPrompt p = apply_chat_template(*t, messages, !a->no_generation_prompt);
      text = p.text;
      ids = p.ids;
    } else {
      text = read_input(a->text);
      ids = a->special ? t->encode_special(text) : t->encode(text);
    }
    if (a->json) {
      nlohmann::json tokens = nlohmann::json::array();
      for (int32_t id : ids) tokens.push_back(t->token_text(id));
      nlohmann::json j = {{"tokenizer", t->kind()}, {"fingerprint", t->fingerprint()},
                          {"count", ids.size()},    {"ids", ids},
                          {"tokens", tokens},       {"text", text}};
      std::printf("%s\n", j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
    } else if (a->ids) {
      std::string line;
      for (size_t i = 0; i < ids.size(); ++i) line += (i ? " " : "") + std::to_string(ids[i]);
      std::printf("%s\n", line.c_str());
    } else {
      for (int32_t id : ids) {
        std::printf("%d\t%s\n", id, show(t->token_to_piece(id)).c_str());
      }
      log_info(std::to_string(ids.size()) + " tokens, " + std::to_string(text.size()) + " bytes");
    }
  });
}

void register_tokenizer_train(CLI::App& app) {
  auto* group = app.add_subcommand("tokenizer", "Tokenizer tools");
  group->require_subcommand(1);
  auto* cmd = group->add_subcommand(
      "train",
      "Learn a byte-level BPE tokenizer.json (Llama 3 pre-tokenizer, llama.cpp pre "
      "'llama-bpe') from a text corpus");
  struct Args {
    std::string data, out;
    BpeTrainOptions opt;
    bool json = false;
  };
  auto a = std::make_shared<Args>();
  cmd->add_option("--data", a->data, "Training text (UTF-8)")->required();
  cmd->add_option("--vocab-size", a->opt.vocab_size,
                  "Vocabulary size: 256 bytes + merges + 2 special tokens")
      ->required();
  cmd->add_option("--out", a->out, "tokenizer.json to write")->required();
  cmd->add_option("--min-frequency", a->opt.min_frequency, "Fewest occurrences of a merged pair")
      ->capture_default_str();
  cmd->add_flag("--json", a->json, "Print the summary as JSON");
  cmd->callback([a] {
    std::string corpus = read_file(a->data);
    require(!corpus.empty(), a->data + ": the corpus is empty");
    double t0 = wall_seconds_now();
    BpeTrainResult r = train_bpe(corpus, a->opt);
    write_file_atomic(a->out, r.tokenizer_json);
    auto tok = load_tokenizer(a->out);  // proves the file loads
    size_t sample = std::min<size_t>(corpus.size(), 1 << 20);
    size_t n_tokens = tok->encode(std::string_view(corpus).substr(0, sample)).size();
    nlohmann::json j = {{"out", a->out},
                        {"vocab_size", r.vocab_size},
                        {"merges", r.merges},
                        {"llama_cpp_pre", BpeTrainResult::kLlamaCppPre},
                        {"fingerprint", tok->fingerprint()},
                        {"bytes_per_token", n_tokens ? double(sample) / double(n_tokens) : 0.0},
                        {"seconds", wall_seconds_now() - t0}};
    if (a->json) {
      std::printf("%s\n", j.dump(2).c_str());
    } else {
      std::printf(
          "wrote %s: %d tokens (%d merges), %.2f bytes/token on the corpus, "
          "llama.cpp pre-tokenizer '%s'\n",
          a->out.c_str(), r.vocab_size, r.merges, j["bytes_per_token"].get<double>(),
          BpeTrainResult::kLlamaCppPre);
    }
  });
}

}  // namespace

void register_tokenize(CLI::App& app) {
  register_tokenize_command(app);
  register_tokenizer_train(app);
}

}  // namespace still::cli
