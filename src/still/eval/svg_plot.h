// Small SVG charts drawn by our own code for reports: line charts and scatter plots with
// axes, "nice" ticks, grid, axis labels and a legend. Output is a self-contained <svg>
// element (no scripts, no external fonts) to inline in HTML or save as a file. Each series
// is one <g class="series" data-series="NAME"> so tools and tests can find it.
#pragma once
#include <string>
#include <string_view>
#include <vector>

namespace still::eval {

struct PlotSeries {
  std::string name;
  std::vector<double> x, y;         // non-finite points are skipped
  std::vector<std::string> labels;  // scatter: optional text beside each point
  bool dashed = false;
  int color = -1;       // palette index; -1 = the series' position
  bool hollow = false;  // scatter: rings instead of dots
};

struct PlotOptions {
  std::string title, x_label, y_label;
  bool log_x = false;
  int width = 720, height = 380;
};

std::string svg_line_chart(const PlotOptions& opt, const std::vector<PlotSeries>& series);
std::string svg_scatter(const PlotOptions& opt, const std::vector<PlotSeries>& series);

// Tick values covering [lo, hi] at a 1-2-5 step, about `target` of them.
std::vector<double> nice_ticks(double lo, double hi, int target);
// Short tick text: "0.5", "120", "1.5k", "3M", "2e-05".
std::string tick_label(double v);
std::string xml_escape(std::string_view s);

}  // namespace still::eval
