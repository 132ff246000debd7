// `still report` on synthetic runs and eval results: every section is rendered, the SVG
// plots are well-formed XML with the expected series and points inside the canvas, and
// results from different suite hashes are never put in one table.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "still/data/manifest.h"
#include "still/eval/report.h"
#include "still/eval/svg_plot.h"
#include "still/io/atomic_file.h"
#include "test_helpers.h"

namespace still::eval {
namespace {

using nlohmann::json;

json make_manifest(double flops, const json& teacher_manifest) {
  json inputs = json::array();
  inputs.push_back({{"role", "data"}, {"path", "corpus.txt"}, {"sha256", std::string(64, 'a')}});
  if (!teacher_manifest.is_null())
    inputs.push_back({{"role", "teacher"},
                      {"path", "runs/teacher"},
                      {"sha256", std::string(64, 'b')},
                      {"manifest", teacher_manifest}});
  return {{"format", "still-manifest/1"},
          {"kind", "checkpoint"},
          {"command", {"still", "train", "--out", "x"}},
          {"files", json::array()},
          {"inputs", inputs},
          {"compute", {{"flops", flops}, {"wall_seconds", 60.0}, {"tokens", 100000}}},
          {"extra", json::object()}};
}

// A run folder with metrics.jsonl and one checkpoint manifest.
std::string make_run(const std::string& root, const std::string& name, double start_loss,
                     const json& manifest) {
  std::string dir = root + "/" + name;
  make_dirs(dir + "/checkpoints/step-0000050");
  std::string m;
  for (int s = 1; s <= 50; ++s) {
    json rec = {{"step", s}, {"loss", start_loss / (1 + 0.05 * s)}, {"tokens", s * 2048}};
    if (s % 10 == 0) rec["heldout_loss"] = start_loss / (1 + 0.04 * s);
    if (s % 10 == 0 && name == "student") rec["heldout_kl"] = 1.0 / s;  // a distillation run
    m += rec.dump() + "\n";
  }
  m += "{not json\n";  // a torn line is skipped, not fatal
  write_file_atomic(dir + "/metrics.jsonl", m);
  write_file_atomic(dir + "/checkpoints/step-0000050/manifest.json", manifest.dump());
  write_file_atomic(dir + "/latest", "step-0000050\n");
  return dir;
}

json model_result(const std::string& label, const std::string& role, const std::string& run_dir,
                  int64_t params, double nats, double acc, const json& manifest) {
  return {
      {"label", label},
      {"role", role},
      {"path", run_dir},
      {"resolved", run_dir + "/checkpoints/step-0000050"},
      {"identity", std::string(60, '0') + label.substr(0, 4)},
      {"run_dir", run_dir},
      {"params", params},
      {"size_bytes", params * 4},
      {"tasks",
       {{"heldout", {{"kind", "perplexity"}, {"nats_per_token", nats}, {"ppl", std::exp(nats)}}},
        {"hellaswag", {{"kind", "multiple_choice"}, {"acc", acc}, {"acc_norm", acc + 0.01}}}}},
      {"ece", 0.05},
      {"agreement",
       role == "teacher" ? json(nullptr) : json({{"top1_match", 0.7}, {"mean_kl", 0.2}})},
      {"tokens_per_second", 12345.0},
      {"peak_rss_bytes", 100 << 20},
      {"manifest", manifest}};
}

json results_doc(const std::string& hash, const std::vector<json>& models) {
  return {{"still_eval", 1},
          {"suite",
           {{"name", "demo"},
            {"hash", hash},
            {"tasks",
             {{{"name", "heldout"}, {"kind", "perplexity"}},
              {{"name", "hellaswag"}, {"kind", "multiple_choice"}}}}}},
          {"limit", 0},
          {"models", models}};
}

// Parses every SVG (files and those inlined in the HTML) as XML and prints, per SVG, its
// series names and whether all drawn coordinates lie inside the viewBox.
const char* kChecker = R"PY(
import re, sys, json, xml.etree.ElementTree as ET
ns = '{http://www.w3.org/2000/svg}'
def check(text):
    root = ET.fromstring(text)
    w, h = float(root.get('width')), float(root.get('height'))
    series, inside, points = [], True, 0
    for g in root.iter(ns + 'g'):
        if g.get('class') == 'series':
            series.append(g.get('data-series'))
            for el in g:
                xs = []
                if el.tag == ns + 'polyline':
                    for p in el.get('points').split():
                        x, y = map(float, p.split(',')); xs.append((x, y))
                elif el.tag == ns + 'circle':
                    xs.append((float(el.get('cx')), float(el.get('cy'))))
                points += len(xs)
                inside &= all(0 <= x <= w and 0 <= y <= h for x, y in xs)
    return {'series': series, 'inside': inside, 'points': points,
            'xticks': len([t for t in root.iter(ns + 'text') if t.get('class') == 'xtick'])}
out = {}
for f in sys.argv[2:]:
    out[f.split('/')[-1]] = check(open(f, encoding='utf-8').read())
html = open(sys.argv[1], encoding='utf-8').read()
out['html_svgs'] = [check(s) for s in re.findall(r'<svg.*?</svg>', html, re.S)]
print(json.dumps(out))
)PY";

TEST(Report, RendersAllSectionsWithWellFormedPlots) {
  TempDir d;
  json tman = make_manifest(5e13, nullptr);
  json sman = make_manifest(2e12, tman);
  json bman = make_manifest(2e12, nullptr);
  std::string t = make_run(d.path, "teacher", 5.0, tman);
  std::string s = make_run(d.path, "student", 5.5, sman);
  std::string b = make_run(d.path, "baseline", 5.6, bman);
  json res = results_doc(std::string(64, 'c'),
                         {model_result("teacher", "teacher", t, 4000000, 1.5, 0.27, tman),
                          model_result("student", "model", s, 800000, 1.9, 0.26, sman),
                          model_result("baseline", "model", b, 800000, 2.1, 0.25, bman)});
  write_file_atomic(d.path + "/eval-demo.json", res.dump());

  std::string out;
  ASSERT_EQ(run_command(still_bin() + " report " + d.path + "/eval-demo.json --out " + d.path +
                            "/rep --json",
                        &out),
            0)
      << out;
  std::string md = read_file(d.path + "/rep/report.md");
  for (const char* section : {"## Results", "## Training", "## Quality versus cost", "## Lineage",
                              "| student |", "| baseline |", "| teacher |", "heldout nats/tok",
                              "5.0× fewer parameters", "`runs/teacher`", "![", "loss.svg"})
    EXPECT_NE(md.find(section), std::string::npos) << section << "\n" << md;
  EXPECT_EQ(md.find("Warning"), std::string::npos);
  std::string html = read_file(d.path + "/rep/report.html");
  EXPECT_NE(html.find("<style>"), std::string::npos);
  // Self-contained: nothing is fetched from elsewhere.
  EXPECT_EQ(html.find("<link"), std::string::npos);
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("src=\"http"), std::string::npos);

  write_file_atomic(d.path + "/check.py", kChecker);
  ASSERT_EQ(run_command("/usr/bin/python3 " + d.path + "/check.py " + d.path + "/rep/report.html " +
                            d.path + "/rep/loss.svg " + d.path + "/rep/quality-params.svg " +
                            d.path + "/rep/quality-compute.svg",
                        &out),
            0)
      << out;
  json c = json::parse(out);
  auto names = [&](const char* f) { return c[f]["series"].get<std::vector<std::string>>(); };
  std::vector<std::string> want_loss;
  for (auto r : {"teacher", "student", "baseline"}) {
    want_loss.push_back(std::string(r) + " train");
    want_loss.push_back(std::string(r) + " held-out");
  }
  auto got_loss = names("loss.svg");
  std::sort(want_loss.begin(), want_loss.end());
  std::sort(got_loss.begin(), got_loss.end());
  EXPECT_EQ(got_loss, want_loss);
  EXPECT_EQ(names("quality-params.svg"),
            (std::vector<std::string>{"teacher", "student", "baseline"}));
  EXPECT_EQ(names("quality-compute.svg"),
            (std::vector<std::string>{"own compute", "incl. inputs"}));
  for (auto f : {"loss.svg", "quality-params.svg", "quality-compute.svg"}) {
    EXPECT_TRUE(c[f]["inside"].get<bool>()) << f;
    EXPECT_GE(c[f]["xticks"].get<int>(), 2) << f;
  }
  // 3 runs × (50 train + 5 held-out) points; 3 models; 3 + 3 compute points.
  EXPECT_EQ(c["loss.svg"]["points"].get<int>(), 3 * 55);
  EXPECT_EQ(c["quality-params.svg"]["points"].get<int>(), 3);
  EXPECT_EQ(c["quality-compute.svg"]["points"].get<int>(), 6);
  EXPECT_EQ(c["html_svgs"].size(), 4u);  // + the held-out KL of the distilled student
  EXPECT_TRUE(file_exists(d.path + "/rep/heldout-kl.svg"));
}

TEST(Report, DifferentSuiteHashesAreSeparatedAndFlagged) {
  TempDir d;
  json man = make_manifest(1e12, nullptr);
  std::string s = make_run(d.path, "student", 5.5, man);
  write_file_atomic(d.path + "/a.json",
                    results_doc(std::string(64, 'c'),
                                {model_result("student", "model", s, 800000, 1.9, 0.26, man)})
                        .dump());
  write_file_atomic(d.path + "/b.json",
                    results_doc(std::string(64, 'e'),
                                {model_result("student", "model", s, 800000, 1.7, 0.26, man)})
                        .dump());
  auto data = gather_report({d.path + "/a.json", d.path + "/b.json"});
  EXPECT_EQ(data.runs.size(), 1u);  // found through the results' run_dir
  auto files = write_report(data, d.path + "/rep");
  std::string md = read_file(files.markdown);
  EXPECT_NE(md.find("**Warning:**"), std::string::npos);
  EXPECT_NE(md.find("cccccccccccccccc"), std::string::npos);
  EXPECT_NE(md.find("eeeeeeeeeeeeeeee"), std::string::npos);
  // Two tables (one header row each).
  size_t n = 0;
  for (size_t p = md.find("| model |"); p != std::string::npos; p = md.find("| model |", p + 1))
    ++n;
  EXPECT_EQ(n, 2u);
}

TEST(Report, DifferentBenchmarksAreSeparateTablesWithoutWarning) {
  TempDir d;
  json man = make_manifest(1e12, nullptr);
  std::string s = make_run(d.path, "student", 5.5, man);
  json a =
      results_doc(std::string(64, 'c'), {model_result("student", "model", s, 8, 1.9, 0.2, man)});
  json b =
      results_doc(std::string(64, 'e'), {model_result("student", "model", s, 8, 1.9, 0.2, man)});
  b["suite"]["name"] = "hellaswag-val";
  write_file_atomic(d.path + "/a.json", a.dump());
  write_file_atomic(d.path + "/b.json", b.dump());
  auto files = write_report(gather_report({d.path + "/a.json", d.path + "/b.json"}), d.path + "/r");
  std::string md = read_file(files.markdown);
  EXPECT_EQ(md.find("Warning"), std::string::npos);
  EXPECT_NE(md.find("Suite hellaswag-val"), std::string::npos);
  EXPECT_NE(md.find("Suite demo"), std::string::npos);
}

TEST(Report, BadInputsNameThePath) {
  TempDir d;
  std::string out;
  EXPECT_NE(run_command(still_bin() + " report " + d.path + "/nope --out " + d.path + "/r", &out),
            0);
  EXPECT_NE(out.find(d.path + "/nope"), std::string::npos) << out;
  write_file_atomic(d.path + "/x.json", "{\"a\": 1}");
  EXPECT_NE(run_command(still_bin() + " report " + d.path + "/x.json --out " + d.path + "/r", &out),
            0);
  EXPECT_NE(out.find("x.json: not a still eval results file"), std::string::npos) << out;
}

TEST(SvgPlot, NiceTicksAndEscaping) {
  EXPECT_EQ(nice_ticks(0, 1, 5), (std::vector<double>{0, 0.2, 0.4, 0.6000000000000001, 0.8, 1}));
  auto t = nice_ticks(1.7, 6.3, 5);
  EXPECT_EQ(t.front(), 2);
  EXPECT_EQ(t.back(), 6);
  EXPECT_EQ(tick_label(1500000), "1.5M");
  EXPECT_EQ(tick_label(0.25), "0.25");
  EXPECT_EQ(xml_escape("a<b & \"c\""), "a&lt;b &amp; &quot;c&quot;");
  // A series name with markup stays text.
  std::string svg = svg_line_chart({"t<1>", "x", "y", false, 400, 300},
                                   {{"<evil>", {1, 2}, {3, 4}, {}, false, -1}});
  EXPECT_EQ(svg.find("<evil>"), std::string::npos);
  EXPECT_NE(svg.find("&lt;evil&gt;"), std::string::npos);
}

}  // namespace
}  // namespace still::eval
