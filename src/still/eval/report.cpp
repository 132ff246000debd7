#include "still/eval/report.h"

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <set>

#include "still/data/manifest.h"
#include "still/eval/evaluate.h"
#include "still/eval/svg_plot.h"
#include "still/io/atomic_file.h"
#include "still/modelio/checkpoint.h"
#include "still/util/error.h"
#include "still/util/log.h"
#include "still/util/sha256.h"

namespace still::eval {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::string canonical_path(const std::string& p) {
  std::error_code ec;
  auto c = fs::weakly_canonical(fs::path(p), ec);
  return ec ? p : c.string();
}

std::string fixed(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

double num(const json& j, const char* key, double fallback = std::nan("")) {
  return j.is_object() && j.contains(key) && j[key].is_number() ? j[key].get<double>() : fallback;
}

bool is_run_dir(const std::string& d) {
  return file_exists(path_join(d, "metrics.jsonl")) || dir_exists(path_join(d, "checkpoints"));
}

RunData load_run(const std::string& dir) {
  RunData r;
  r.dir = dir;
  fs::path p = fs::path(dir).lexically_normal();
  if (p.filename().empty()) p = p.parent_path();
  r.name = p.filename().string();
  std::string mpath = path_join(dir, "metrics.jsonl");
  if (file_exists(mpath)) {
    int skipped = 0;
    r.metrics = read_metrics(mpath, &skipped);
    if (skipped) log_warn(mpath + ": skipped " + std::to_string(skipped) + " malformed lines");
  }
  std::string ck;
  try {
    ck = train::resolve_checkpoint(dir);  // honours the run's `latest` pointer
  } catch (const Error&) {
  }
  r.manifest = nullptr;
  if (!ck.empty() && file_exists(path_join(ck, Manifest::kFileName))) {
    auto j = json::parse(read_file(path_join(ck, Manifest::kFileName)), nullptr, false);
    if (!j.is_discarded()) r.manifest = j;
    r.manifest_sha256 = sha256_file(path_join(ck, Manifest::kFileName));
  }
  return r;
}

// Results that scored the same suite (hash and limit) form one comparable table.
struct Group {
  std::string hash, name;
  int64_t limit = 0;
  json suite;
  std::vector<json> models;
  std::vector<std::string> sources;
};

std::vector<Group> group_results(const ReportData& d) {
  std::vector<Group> groups;
  for (size_t i = 0; i < d.results.size(); ++i) {
    const json& r = d.results[i];
    std::string h = r["suite"].value("hash", "");
    int64_t limit = r.value("limit", int64_t(0));
    Group* g = nullptr;
    for (auto& x : groups)
      if (x.hash == h && x.limit == limit) g = &x;
    if (!g) {
      groups.push_back({h, r["suite"].value("name", "?"), limit, r["suite"], {}, {}});
      g = &groups.back();
    }
    g->sources.push_back(d.result_paths[i]);
    for (auto& m : r["models"]) {
      bool dup = false;
      for (auto& e : g->models)
        dup |= e.value("identity", "") == m.value("identity", "") &&
               e.value("role", "") == m.value("role", "");
      if (!dup) g->models.push_back(m);
    }
  }
  return groups;
}

json group_doc(const Group& g) {
  return {{"suite", g.suite}, {"limit", g.limit}, {"models", g.models}};
}

// The first perplexity task's nats/token, or the first multiple-choice acc_norm.
struct Quality {
  std::string axis, hint;
  double value = std::nan("");
};
Quality quality_of(const json& suite, const json& model) {
  for (auto& t : suite["tasks"])
    if (t.value("kind", "") == "perplexity") {
      const json& s = model["tasks"].value(t.value("name", ""), json::object());
      return {t.value("name", "") + " nats/token", " (lower is better)", num(s, "nats_per_token")};
    }
  for (auto& t : suite["tasks"]) {
    const json& s = model["tasks"].value(t.value("name", ""), json::object());
    return {t.value("name", "") + " acc_norm", " (higher is better)", num(s, "acc_norm")};
  }
  return {"quality", "", std::nan("")};
}

double own_flops(const json& manifest) {
  return manifest.is_object() && manifest.contains("compute")
             ? num(manifest["compute"], "flops", 0.0)
             : 0.0;
}

// FLOPs of this artifact plus everything it was made from (each input counted once).
double total_flops(const json& manifest, std::set<std::string>& seen) {
  if (!manifest.is_object()) return 0;
  double f = own_flops(manifest);
  if (manifest.contains("inputs") && manifest["inputs"].is_array())
    for (auto& in : manifest["inputs"]) {
      std::string h = in.value("sha256", "");
      if (!in.contains("manifest") || !seen.insert(h).second) continue;
      f += total_flops(in["manifest"], seen);
    }
  return f;
}

std::string command_text(const json& manifest) {
  std::string c;
  if (manifest.is_object() && manifest.contains("command") && manifest["command"].is_array())
    for (auto& a : manifest["command"]) c += (c.empty() ? "" : " ") + a.get<std::string>();
  return c;
}

std::string compute_text(const json& manifest) {
  if (!manifest.is_object() || !manifest.contains("compute")) return "";
  const json& c = manifest["compute"];
  std::string s;
  if (num(c, "flops", 0) > 0) s += tick_label(num(c, "flops")) + " FLOP";
  if (num(c, "wall_seconds", 0) > 0)
    s += std::string(s.empty() ? "" : ", ") + format_duration(num(c, "wall_seconds")) + " wall";
  if (num(c, "tokens", 0) > 0)
    s += std::string(s.empty() ? "" : ", ") + format_count(num(c, "tokens")) + " tokens";
  return s;
}

// Lineage as nested lists: markdown (indented bullets) and HTML (<ul>).
void lineage(const json& manifest, int depth, std::string& md, std::string& html) {
  if (!manifest.is_object() || !manifest.contains("inputs") || !manifest["inputs"].is_array() ||
      depth > 8)
    return;
  html += "<ul>";
  for (auto& in : manifest["inputs"]) {
    std::string role = in.value("role", "?"), path = in.value("path", "?");
    std::string sha = in.value("sha256", "").substr(0, 12);
    const json& sub = in.value("manifest", json(nullptr));
    std::string kind = sub.is_object() ? sub.value("kind", "") : "file";
    std::string comp = compute_text(sub);
    md += std::string(size_t(depth) * 2, ' ') + "- **" + role + "**: `" + path + "` (" + kind +
          ", sha256 " + sha + "…" + (comp.empty() ? "" : "; " + comp) + ")\n";
    html += "<li><b>" + xml_escape(role) + "</b>: <code>" + xml_escape(path) +
            "</code> <span class=\"dim\">(" + xml_escape(kind) + ", sha256 " + xml_escape(sha) +
            "…" + (comp.empty() ? "" : "; " + xml_escape(comp)) + ")</span>";
    lineage(sub, depth + 1, md, html);
    html += "</li>";
  }
  html += "</ul>";
}

std::string html_table(const std::vector<std::vector<std::string>>& cells) {
  std::string o = "<table>\n<thead><tr>";
  for (size_t i = 0; i < cells[0].size(); ++i)
    o += std::string(i == 0 ? "<th class=\"l\">" : "<th>") + xml_escape(cells[0][i]) + "</th>";
  o += "</tr></thead>\n<tbody>\n";
  for (size_t k = 1; k < cells.size(); ++k) {
    o += "<tr>";
    for (size_t i = 0; i < cells[k].size(); ++i)
      o += std::string(i == 0 ? "<td class=\"l\">" : "<td>") + xml_escape(cells[k][i]) + "</td>";
    o += "</tr>\n";
  }
  return o + "</tbody></table>\n";
}

// Averages consecutive points into at most `max_points` buckets so noisy per-step losses
// stay readable.
void bucket(std::vector<double>& x, std::vector<double>& y, size_t max_points) {
  if (x.size() <= max_points) return;
  size_t per = (x.size() + max_points - 1) / max_points;
  std::vector<double> bx, by;
  for (size_t i = 0; i < x.size(); i += per) {
    double sx = 0, sy = 0;
    size_t n = 0;
    for (size_t k = i; k < std::min(x.size(), i + per); ++k) sx += x[k], sy += y[k], ++n;
    bx.push_back(sx / double(n));
    by.push_back(sy / double(n));
  }
  x.swap(bx);
  y.swap(by);
}

const char* kCss = R"(body{font-family:-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;
max-width:1280px;margin:2em auto;padding:0 1.5em;color:#222;line-height:1.45}
h1{font-size:1.7em;margin-bottom:.2em}h2{margin-top:1.8em;border-bottom:1px solid #ddd;padding-bottom:.2em}
.dim{color:#777}.warn{background:#fff4e5;border-left:4px solid #e69f00;padding:.6em 1em;margin:1em 0}
table{border-collapse:collapse;margin:.8em 0;font-size:.9em;display:block;overflow-x:auto}
th,td{padding:.35em .7em;border-bottom:1px solid #e5e5e5;text-align:right;white-space:nowrap}
th{background:#f4f6f8;font-weight:600;white-space:normal;vertical-align:bottom}.l{text-align:left}tbody tr:hover{background:#fafbfc}
code{background:#f4f6f8;padding:0 .25em;border-radius:3px;font-size:.9em}
figure{margin:1em 0}figcaption{color:#555;font-size:.9em}ul{margin:.2em 0}
.plots svg{max-width:100%;height:auto;border:1px solid #eee;border-radius:4px})";

}  // namespace

std::vector<json> read_metrics(const std::string& path, int* skipped) {
  std::vector<json> out;
  int bad = 0;
  std::string text = read_file(path);
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) nl = text.size();
    std::string_view line(text.data() + pos, nl - pos);
    pos = nl + 1;
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    auto j = json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object()) {
      ++bad;
      continue;
    }
    out.push_back(std::move(j));
  }
  if (skipped) *skipped = bad;
  return out;
}

ReportData gather_report(const std::vector<std::string>& inputs) {
  require(!inputs.empty(), "still report: give run directories or eval results files");
  ReportData d;
  std::set<std::string> run_seen, res_seen;
  auto add_results = [&](const std::string& p) {
    if (!res_seen.insert(canonical_path(p)).second) return;
    d.results.push_back(load_results(p));
    d.result_paths.push_back(p);
  };
  auto add_run = [&](const std::string& p) {
    if (!run_seen.insert(canonical_path(p)).second) return;
    d.runs.push_back(load_run(p));
  };
  for (auto& in : inputs) {
    if (file_exists(in) && !dir_exists(in)) {
      add_results(in);
      continue;
    }
    require(dir_exists(in), in + ": not found (give a run directory or an eval results file)");
    std::string dir = in;
    // A checkpoint folder stands for its run.
    fs::path p = fs::path(in).lexically_normal();
    if (p.filename().empty()) p = p.parent_path();
    if (p.parent_path().filename() == "checkpoints") dir = p.parent_path().parent_path().string();
    bool any = false;
    if (is_run_dir(dir)) add_run(dir), any = true;
    std::error_code ec;
    std::vector<std::string> evals;
    for (auto& e : fs::directory_iterator(dir, ec)) {
      std::string n = e.path().filename().string();
      if (n.starts_with("eval") && n.ends_with(".json") && e.is_regular_file())
        evals.push_back(e.path().string());
    }
    std::sort(evals.begin(), evals.end());
    for (auto& e : evals) add_results(e), any = true;
    require(any, in + ": neither a run directory (metrics.jsonl, checkpoints/) nor a folder "
                      "holding eval results (eval*.json)");
  }
  // Runs behind the evaluated models, for their curves and manifests.
  for (auto& r : d.results)
    for (auto& m : r["models"]) {
      std::string rd = m.value("run_dir", "");
      if (!rd.empty() && dir_exists(rd)) add_run(rd);
    }
  return d;
}

ReportFiles write_report(const ReportData& data, const std::string& out_dir,
                         const std::string& title) {
  make_dirs(out_dir);
  ReportFiles files;
  files.markdown = path_join(out_dir, "report.md");
  files.html = path_join(out_dir, "report.html");
  std::string md = "# " + title + "\n\n", html;
  html += "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>" +
          xml_escape(title) + "</title>\n<style>" + kCss + "</style></head><body>\n";
  html += "<h1>" + xml_escape(title) + "</h1>\n";
  std::string made = std::string("Made by still ") + STILL_VERSION + " from " +
                     std::to_string(data.runs.size()) + " run(s) and " +
                     std::to_string(data.results.size()) + " eval result file(s).";
  md += made + "\n\n";
  html += "<p class=\"dim\">" + xml_escape(made) + "</p>\n";

  auto groups = group_results(data);
  auto emit_svg = [&](const std::string& name, const std::string& svg, const std::string& caption) {
    std::string p = path_join(out_dir, name);
    write_file_atomic(p, svg);
    files.svgs.push_back(p);
    md += "![" + caption + "](" + name + ")\n\n*" + caption + "*\n\n";
    html += "<figure class=\"plots\">\n" + svg + "<figcaption>" + xml_escape(caption) +
            "</figcaption></figure>\n";
  };

  // 1. Results: one table per suite hash.
  md += "## Results\n\n";
  html += "<h2>Results</h2>\n";
  if (groups.empty()) {
    md += "No eval results given (run `still eval ... --out FILE` and pass FILE).\n\n";
    html +=
        "<p class=\"dim\">No eval results given (run <code>still eval … --out FILE</code> "
        "and pass FILE).</p>\n";
  }
  // Different benchmarks are simply separate tables; the same suite name with another hash
  // or limit is the case to flag: its numbers look comparable and are not.
  std::map<std::string, int> per_name;
  for (auto& g : groups) per_name[g.name] += 1;
  std::string clashing;
  for (auto& [name, n] : per_name)
    if (n > 1) clashing += (clashing.empty() ? "" : ", ") + name;
  if (!clashing.empty()) {
    std::string w = "Results for suite " + clashing +
                    " were scored on different data or item limits (different suite hashes). "
                    "They are shown in separate tables: numbers from different tables are not "
                    "comparable.";
    md += "> **Warning:** " + w + "\n\n";
    html += "<div class=\"warn\"><b>Warning:</b> " + xml_escape(w) + "</div>\n";
  }
  for (auto& g : groups) {
    std::string head = "Suite " + g.name + " — hash " + g.hash.substr(0, 16) + "…" +
                       (g.limit > 0 ? ", first " + std::to_string(g.limit) + " per task" : "");
    auto cells = results_table(group_doc(g));
    md += "**" + head + "**\n\n" + format_markdown_table(cells) + "\n";
    html += "<p><b>" + xml_escape(head) + "</b></p>\n" + html_table(cells);
    // Plain-language summary against the teacher.
    const json* teacher = nullptr;
    for (auto& m : g.models)
      if (m.value("role", "") == "teacher") teacher = &m;
    std::string smd, shtml;
    for (auto& m : g.models) {
      Quality q = quality_of(g.suite, m);
      if (!std::isfinite(q.value)) continue;
      std::string line = m.value("label", "?") + ": " + fixed(q.value, 4) + " " + q.axis + q.hint;
      if (teacher && &m != teacher) {
        Quality tq = quality_of(g.suite, *teacher);
        double ratio = num(*teacher, "params") / std::max(1.0, num(m, "params"));
        line += "; teacher " + fixed(tq.value, 4);
        if (ratio > 1.05) line += "; " + fixed(ratio, 1) + "× fewer parameters than the teacher";
      }
      smd += "- " + line + "\n";
      shtml += "<li>" + xml_escape(line) + "</li>";
    }
    if (!smd.empty()) md += smd + "\n", html += "<ul>" + shtml + "</ul>\n";
    md += "Sources: ";
    for (auto& s : g.sources) md += "`" + s + "` ";
    md += "\n\n";
  }

  // 2. Loss curves.
  md += "## Training\n\n";
  html += "<h2>Training</h2>\n";
  std::vector<PlotSeries> curves;
  bool by_tokens = true;
  for (auto& r : data.runs)
    for (auto& rec : r.metrics) by_tokens &= rec.contains("tokens") && rec["tokens"].is_number();
  for (size_t i = 0; i < data.runs.size(); ++i) {
    const RunData& r = data.runs[i];
    PlotSeries train{r.name + " train", {}, {}, {}, false, int(i)};
    PlotSeries held{r.name + " held-out", {}, {}, {}, true, int(i)};
    for (auto& rec : r.metrics) {
      double x = num(rec, by_tokens ? "tokens" : "step");
      if (rec.contains("loss")) train.x.push_back(x), train.y.push_back(num(rec, "loss"));
      if (rec.contains("heldout_loss") && rec["heldout_loss"].is_number())
        held.x.push_back(x), held.y.push_back(num(rec, "heldout_loss"));
    }
    bucket(train.x, train.y, 300);
    if (!train.x.empty()) curves.push_back(train);
    if (!held.x.empty()) curves.push_back(held);
  }
  if (curves.empty()) {
    md += "No training metrics found (runs' metrics.jsonl).\n\n";
    html += "<p class=\"dim\">No training metrics found (runs' metrics.jsonl).</p>\n";
  } else {
    PlotOptions po{"Training and held-out loss",
                   by_tokens ? "tokens seen" : "optimizer step",
                   "loss (nats/token)",
                   false,
                   860,
                   400};
    emit_svg("loss.svg", svg_line_chart(po, curves),
             "Training objective (solid, averaged per bucket; for a distillation run this is "
             "its KD loss) and held-out cross-entropy (dashed) of each run.");
  }
  // Distillation runs also log their held-out KL to the teacher.
  std::vector<PlotSeries> kl_curves;
  for (size_t i = 0; i < data.runs.size(); ++i) {
    PlotSeries kl{data.runs[i].name, {}, {}, {}, false, int(i)};
    for (auto& rec : data.runs[i].metrics)
      if (rec.contains("heldout_kl") && rec["heldout_kl"].is_number())
        kl.x.push_back(num(rec, by_tokens ? "tokens" : "step")),
            kl.y.push_back(num(rec, "heldout_kl"));
    if (!kl.x.empty()) kl_curves.push_back(kl);
  }
  if (!kl_curves.empty()) {
    PlotOptions po{"Held-out KL(teacher ‖ student) during distillation",
                   by_tokens ? "tokens seen" : "optimizer step",
                   "KL (nats/token)",
                   false,
                   860,
                   360};
    emit_svg("heldout-kl.svg", svg_line_chart(po, kl_curves),
             "Mean KL from the teacher's stored top-k signal to the student on held-out windows.");
  }

  // 3. Quality versus parameters and versus compute.
  md += "## Quality versus cost\n\n";
  html += "<h2>Quality versus cost</h2>\n";
  bool any_cost_plot = false;
  for (auto& g : groups) {
    std::vector<PlotSeries> by_params, by_compute;
    std::string axis, hint;
    PlotSeries own{"own compute", {}, {}, {}, false, 0, true};
    PlotSeries tot{"incl. inputs", {}, {}, {}, false, 1};
    for (size_t i = 0; i < g.models.size(); ++i) {
      const json& m = g.models[i];
      Quality q = quality_of(g.suite, m);
      axis = q.axis;
      hint = q.hint;
      PlotSeries s{m.value("label", "?"),
                   {num(m, "params")},
                   {q.value},
                   {m.value("label", "?")},
                   false,
                   int(i)};
      by_params.push_back(s);
      const json& man = m.value("manifest", json(nullptr));
      std::set<std::string> seen;
      double f_own = own_flops(man), f_tot = total_flops(man, seen);
      if (f_own > 0) own.x.push_back(f_own), own.y.push_back(q.value), own.labels.push_back(s.name);
      // Models made from nothing else sit on their own ring: label them once.
      if (f_tot > 0)
        tot.x.push_back(f_tot), tot.y.push_back(q.value),
            tot.labels.push_back(f_tot > f_own ? s.name : "");
    }
    std::string suffix = groups.size() > 1 ? " — " + g.name : "";
    std::string file_suffix = groups.size() > 1 ? "-" + g.hash.substr(0, 8) : "";
    if (!axis.empty()) {
      emit_svg("quality-params" + file_suffix + ".svg",
               svg_scatter({"Quality versus parameters" + suffix, "parameters (log scale)", axis,
                            true, 860, 400},
                           by_params),
               "Each evaluated model: " + axis + hint + " against its parameter count.");
      any_cost_plot = true;
    }
    if (!own.x.empty()) {
      by_compute.push_back(own);
      if (!tot.x.empty()) by_compute.push_back(tot);
      emit_svg("quality-compute" + file_suffix + ".svg",
               svg_scatter({"Quality versus compute spent" + suffix, "FLOPs (log scale)", axis,
                            true, 860, 400},
                           by_compute),
               axis + hint +
                   " against compute from each model's manifest: its own training "
                   "(rings), and including what it was made from, such as the teacher's training "
                   "and signal (dots).");
    }
  }
  if (!any_cost_plot) {
    md += "No eval results to plot.\n\n";
    html += "<p class=\"dim\">No eval results to plot.</p>\n";
  }

  // 4. Lineage.
  md += "## Lineage\n\n";
  html += "<h2>Lineage</h2>\n";
  std::set<std::string> shown;
  auto lineage_of = [&](const std::string& name, const std::string& identity, const json& man) {
    if (!man.is_object() || !shown.insert(identity.empty() ? name : identity).second) return;
    std::string comp = compute_text(man), cmd = command_text(man);
    md += "### " + name + "\n\n" + man.value("kind", "artifact") +
          (identity.empty() ? "" : ", manifest sha256 " + identity.substr(0, 16) + "…") +
          (comp.empty() ? "" : "; " + comp) + "\n\n";
    html +=
        "<h3>" + xml_escape(name) + "</h3><p class=\"dim\">" +
        xml_escape(man.value("kind", "artifact")) +
        (identity.empty() ? "" : ", manifest sha256 " + xml_escape(identity.substr(0, 16)) + "…") +
        (comp.empty() ? "" : "; " + xml_escape(comp)) + "</p>\n";
    if (!cmd.empty()) {
      md += "`" + cmd + "`\n\n";
      html += "<p><code>" + xml_escape(cmd) + "</code></p>\n";
    }
    std::string lmd, lhtml;
    lineage(man, 0, lmd, lhtml);
    md += (lmd.empty() ? "No recorded inputs.\n" : lmd) + "\n";
    html += lmd.empty() ? "<p class=\"dim\">No recorded inputs.</p>\n" : lhtml + "\n";
  };
  std::set<std::string> runs_shown;  // a run evaluated as a model is shown once
  for (auto& g : groups)
    for (auto& m : g.models) {
      lineage_of(m.value("label", "?"), m.value("identity", ""),
                 m.value("manifest", json(nullptr)));
      if (!m.value("run_dir", "").empty())
        runs_shown.insert(canonical_path(m.value("run_dir", "")));
    }
  for (auto& r : data.runs)
    if (!runs_shown.count(canonical_path(r.dir))) lineage_of(r.name, r.manifest_sha256, r.manifest);
  if (shown.empty()) {
    md += "No manifests found.\n\n";
    html += "<p class=\"dim\">No manifests found.</p>\n";
  }
  html += "</body></html>\n";
  write_file_atomic(files.markdown, md);
  write_file_atomic(files.html, html);
  return files;
}

}  // namespace still::eval
