#include "still/eval/tasks.h"

#include <algorithm>
#include <climits>
#include <cmath>

#include "still/data/corpus.h"
#include "still/data/manifest.h"
#include "still/data/packing.h"
#include "still/util/error.h"
#include "still/util/log.h"

namespace still::eval {
namespace {

// Rows of teacher log-probs kept per batch stay under this (B·T·V floats).
constexpr double kTeacherRowBytes = 256.0 * 1024 * 1024;

std::vector<int32_t> doc_tokens(const Tokenizer& tok, const std::string& text) {
  // As train::make_corpus: BOS and EOS around every document when the tokenizer has them.
  std::vector<int32_t> t;
  auto body = tok.encode(text);
  if (body.empty()) return t;
  if (tok.bos_id() >= 0) t.push_back(tok.bos_id());
  t.insert(t.end(), body.begin(), body.end());
  if (tok.eos_id() >= 0) t.push_back(tok.eos_id());
  return t;
}

}  // namespace

double PerplexityScore::ppl() const { return std::exp(nats_per_token()); }

std::vector<std::string> task_documents(const SuiteTask& task) {
  return train::split_documents(task.content, task.format == "jsonl", task.resolved_path);
}

PerplexityScore score_perplexity(LmScorer& model, const Tokenizer& tok, const SuiteTask& task,
                                 const TaskOptions& opt, LmScorer* teacher, Calibration& calib,
                                 Agreement& agree) {
  auto docs = task_documents(task);
  if (opt.limit > 0 && int64_t(docs.size()) > opt.limit) docs.resize(size_t(opt.limit));
  PerplexityScore score;
  train::TokenDocs td;
  for (auto& d : docs) {
    auto t = doc_tokens(tok, d);
    if (t.size() < 2) continue;  // nothing to predict
    td.add(t);
    score.docs += 1;
    score.bytes += int64_t(d.size());
  }
  require(score.docs > 0, task.resolved_path + ": task \"" + task.name +
                              "\" holds no document of two or more tokens to score");
  const int T = task.window > 0 ? task.window : model.max_seq();
  require(T >= 2 && T <= model.max_seq(), "task \"" + task.name + "\": window " +
                                              std::to_string(T) + " exceeds the model's max_seq " +
                                              std::to_string(model.max_seq()));
  int B = std::max(1, opt.batch_rows);
  if (teacher) {
    double row_bytes = double(T) * teacher->vocab_size() * sizeof(float);
    B = std::max(1, std::min(B, int(kTeacherRowBytes / row_bytes)));
  }
  auto batches = train::make_heldout_batches(td, B, T, INT_MAX);
  Progress bar("perplexity " + task.name, int64_t(td.tokens.size()), "tokens");
  int64_t seen = 0;
  for (auto& b : batches) {
    TeacherRows trows(b);
    if (teacher) teacher->run(b, trows);
    StudentProbe probe(b, teacher ? &trows : nullptr, calib, agree);
    double t0 = wall_seconds_now();
    LossStats st = model.run(b, probe);
    score.seconds += wall_seconds_now() - t0;
    score.nats += st.loss_sum;
    score.tokens += st.count;
    seen = std::min<int64_t>(int64_t(td.tokens.size()), seen + int64_t(b.B) * b.T);
    if (opt.progress)
      bar.update(seen, "nats/token " + std::to_string(score.nats_per_token()).substr(0, 6));
  }
  bar.finish();
  return score;
}

std::pair<std::vector<int32_t>, int> mc_pair_tokens(const Tokenizer& tok, const std::string& ctx,
                                                    const std::string& ending) {
  std::vector<int32_t> whole = tok.encode(ctx + " " + ending);
  size_t n_ctx = tok.encode(ctx).size();
  require(whole.size() > n_ctx, "ending \"" + ending.substr(0, 40) + "\" yields no tokens");
  std::vector<int32_t> seq;
  if (tok.bos_id() >= 0) seq.push_back(tok.bos_id());
  seq.insert(seq.end(), whole.begin(), whole.end());
  return {seq, int(whole.size() - n_ctx)};
}

McScore score_multiple_choice(LmScorer& model, const Tokenizer& tok,
                              const std::vector<McItem>& all_items, const TaskOptions& opt) {
  size_t n_items = all_items.size();
  if (opt.limit > 0) n_items = std::min(n_items, size_t(opt.limit));
  McScore score;
  score.logprobs.resize(n_items);
  const int max_T = model.max_seq();
  const size_t per_pass = size_t(std::max(1, opt.mc_items));
  Progress bar("multiple choice", int64_t(n_items), "items");
  for (size_t i0 = 0; i0 < n_items; i0 += per_pass) {
    size_t i1 = std::min(n_items, i0 + per_pass);
    // One row per (item, ending): the sequence's inputs, left-truncated to the window as
    // lm-eval does, with only the ending's tokens scored.
    // Rows of (inputs, targets) per ending. As lm-eval: the sequence's inputs are cut on the
    // left to the window and only the ending's tokens are scored. An ending longer than the
    // window (where lm-eval gives up) is scored in chunks of half a window, each token with
    // at least half a window of preceding text, every token exactly once.
    struct RowSpec {
      std::vector<int32_t> tok, tgt;
      size_t ending;  // index among this pass's endings
    };
    std::vector<RowSpec> rows;
    size_t n_endings = 0;
    int T = 1;
    for (size_t i = i0; i < i1; ++i)
      for (auto& e : all_items[i].endings) {
        auto [seq, n_cont] = mc_pair_tokens(tok, all_items[i].context, e);
        const int L = int(seq.size()) - 1;  // inputs; input p predicts seq[p + 1]
        const int first_scored = L - n_cont;
        const int chunk = n_cont < max_T ? n_cont : std::max(1, max_T / 2);
        for (int a = first_scored; a < L; a += chunk) {
          int b_end = std::min(L, a + chunk);      // scored inputs [a, b_end)
          int start = std::max(0, b_end - max_T);  // row inputs [start, b_end)
          RowSpec row{{}, {}, n_endings};
          for (int p = start; p < b_end; ++p) {
            row.tok.push_back(seq[size_t(p)]);
            row.tgt.push_back(p >= a ? seq[size_t(p) + 1] : -1);
          }
          T = std::max(T, int(row.tok.size()));
          rows.push_back(std::move(row));
        }
        ++n_endings;
      }
    Batch b;
    b.resize(int(rows.size()), T);
    for (size_t r = 0; r < rows.size(); ++r) {
      for (size_t p = 0; p < rows[r].tok.size(); ++p) {
        size_t at = r * size_t(T) + p;
        b.tokens[at] = rows[r].tok[p];
        b.positions[at] = int32_t(p);
        b.targets[at] = rows[r].tgt[p];
      }
      score.tokens += int64_t(rows[r].tok.size());
    }
    TargetLogprobs probe(b);
    double t0 = wall_seconds_now();
    model.run(b, probe);
    score.seconds += wall_seconds_now() - t0;
    std::vector<double> ending_lp(n_endings, 0.0);
    for (size_t r = 0; r < rows.size(); ++r)
      for (int p = 0; p < T; ++p) {
        size_t at = r * size_t(T) + size_t(p);
        if (b.targets[at] >= 0) ending_lp[rows[r].ending] += probe.logprobs()[at];
      }
    size_t r = 0;
    for (size_t i = i0; i < i1; ++i) {
      const McItem& item = all_items[i];
      std::vector<double>& lps = score.logprobs[i];
      int best = 0, best_norm = 0;
      double best_norm_v = 0;
      for (size_t k = 0; k < item.endings.size(); ++k, ++r) {
        double lp = ending_lp[r];
        lps.push_back(lp);
        double norm = lp / double(item.endings[k].size());
        if (lp > lps[size_t(best)]) best = int(k);
        if (k == 0 || norm > best_norm_v) best_norm = int(k), best_norm_v = norm;
      }
      score.items += 1;
      score.correct += best == item.label;
      score.correct_norm += best_norm == item.label;
    }
    if (opt.progress) bar.update(int64_t(i1), "acc " + std::to_string(score.acc()).substr(0, 5));
  }
  bar.finish();
  return score;
}

}  // namespace still::eval
