#include "still/eval/svg_plot.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

namespace still::eval {
namespace {

// Colour-blind-safe palette (Okabe–Ito), dark enough on white.
const char* kPalette[] = {"#0072B2", "#D55E00", "#009E73", "#CC79A7",
                          "#E69F00", "#56B4E9", "#000000", "#999999"};

struct Frame {
  double x0, x1, y0, y1;   // data domain (x in log10 when log_x)
  double left, top, w, h;  // plot area in pixels
  bool log_x;
  double px(double x) const {
    double v = log_x ? std::log10(x) : x;
    return left + (v - x0) / (x1 - x0) * w;
  }
  double py(double y) const { return top + h - (y - y0) / (y1 - y0) * h; }
};

std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", v);
  return buf;
}

bool usable(double x, double y, bool log_x) {
  return std::isfinite(x) && std::isfinite(y) && (!log_x || x > 0);
}

void pad_range(double& lo, double& hi) {
  if (!(lo <= hi)) lo = 0, hi = 1;
  if (hi - lo < 1e-12 * std::max(1.0, std::fabs(hi))) {
    double d = std::max(std::fabs(hi) * 0.1, 1e-3);
    lo -= d, hi += d;
  } else {
    double d = (hi - lo) * 0.05;
    lo -= d, hi += d;
  }
}

// Axes, ticks, grid, labels, title and legend; the caller adds the series.
std::string frame_svg(const PlotOptions& opt, const std::vector<PlotSeries>& series, Frame& f,
                      bool lines) {
  double xmin = std::numeric_limits<double>::infinity(), xmax = -xmin, ymin = xmin, ymax = -xmin;
  for (auto& s : series)
    for (size_t i = 0; i < s.x.size() && i < s.y.size(); ++i) {
      if (!usable(s.x[i], s.y[i], opt.log_x)) continue;
      double x = opt.log_x ? std::log10(s.x[i]) : s.x[i];
      xmin = std::min(xmin, x), xmax = std::max(xmax, x);
      ymin = std::min(ymin, s.y[i]), ymax = std::max(ymax, s.y[i]);
    }
  pad_range(xmin, xmax);
  pad_range(ymin, ymax);
  const double legend_w = 190;
  f = {xmin,     xmax, ymin, ymax, 70, 40, opt.width - 70 - 20 - legend_w, opt.height - 40 - 56.0,
       opt.log_x};
  std::string o;
  o += "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + std::to_string(opt.width) +
       "\" height=\"" + std::to_string(opt.height) + "\" viewBox=\"0 0 " +
       std::to_string(opt.width) + " " + std::to_string(opt.height) +
       "\" font-family=\"sans-serif\" font-size=\"12\" role=\"img\">\n";
  o += "<title>" + xml_escape(opt.title) + "</title>\n";
  o += "<rect x=\"0\" y=\"0\" width=\"" + std::to_string(opt.width) + "\" height=\"" +
       std::to_string(opt.height) + "\" fill=\"#ffffff\"/>\n";
  o += "<text x=\"" + num(f.left) + "\" y=\"22\" font-size=\"15\" font-weight=\"bold\">" +
       xml_escape(opt.title) + "</text>\n";
  // Grid and ticks.
  o += "<g class=\"axes\" stroke=\"#dddddd\" stroke-width=\"1\">\n";
  std::vector<double> xt;
  if (opt.log_x) {
    // Whole decades when there are enough of them (thinned to ~8 labels); otherwise
    // 1-2-3-5 steps within each decade; for a narrow range, round values.
    double step = std::max(1.0, std::ceil((std::floor(f.x1) - std::ceil(f.x0) + 1) / 8));
    for (double e = std::ceil(f.x0); e <= f.x1; e += step) xt.push_back(e);
    if (xt.size() < 3) {
      xt.clear();
      for (double e = std::floor(f.x0); e <= f.x1; e += 1)
        for (double m : {1.0, 2.0, 3.0, 5.0}) {
          double t = e + std::log10(m);
          if (t >= f.x0 && t <= f.x1) xt.push_back(t);
        }
    }
    if (xt.size() < 2) {
      xt.clear();
      for (double v : nice_ticks(std::pow(10, f.x0), std::pow(10, f.x1), 4))
        if (v > 0) xt.push_back(std::log10(v));
    }
  } else {
    xt = nice_ticks(f.x0, f.x1, 6);
  }
  std::vector<double> yt = nice_ticks(f.y0, f.y1, 6);
  std::string labels;
  for (double t : xt) {
    double x = f.left + (t - f.x0) / (f.x1 - f.x0) * f.w;
    o += "<line x1=\"" + num(x) + "\" y1=\"" + num(f.top) + "\" x2=\"" + num(x) + "\" y2=\"" +
         num(f.top + f.h) + "\"/>\n";
    labels += "<text class=\"xtick\" x=\"" + num(x) + "\" y=\"" + num(f.top + f.h + 16) +
              "\" text-anchor=\"middle\">" +
              xml_escape(tick_label(opt.log_x ? std::pow(10, t) : t)) + "</text>\n";
  }
  for (double t : yt) {
    double y = f.py(t);
    o += "<line x1=\"" + num(f.left) + "\" y1=\"" + num(y) + "\" x2=\"" + num(f.left + f.w) +
         "\" y2=\"" + num(y) + "\"/>\n";
    labels += "<text class=\"ytick\" x=\"" + num(f.left - 6) + "\" y=\"" + num(y + 4) +
              "\" text-anchor=\"end\">" + xml_escape(tick_label(t)) + "</text>\n";
  }
  o += "</g>\n";
  o += "<rect x=\"" + num(f.left) + "\" y=\"" + num(f.top) + "\" width=\"" + num(f.w) +
       "\" height=\"" + num(f.h) + "\" fill=\"none\" stroke=\"#444444\"/>\n";
  o += "<g fill=\"#333333\">\n" + labels + "</g>\n";
  o += "<text x=\"" + num(f.left + f.w / 2) + "\" y=\"" + num(opt.height - 10.0) +
       "\" text-anchor=\"middle\">" + xml_escape(opt.x_label) + "</text>\n";
  o += "<text x=\"16\" y=\"" + num(f.top + f.h / 2) +
       "\" text-anchor=\"middle\" transform=\"rotate(-90 16 " + num(f.top + f.h / 2) + ")\">" +
       xml_escape(opt.y_label) + "</text>\n";
  // Legend.
  double lx = f.left + f.w + 14, ly = f.top + 8;
  o += "<g class=\"legend\">\n";
  for (size_t i = 0; i < series.size(); ++i) {
    const auto& s = series[i];
    const char* c = kPalette[size_t(s.color >= 0 ? s.color : int(i)) % 8];
    double y = ly + 18.0 * double(i);
    if (lines)
      o += "<line x1=\"" + num(lx) + "\" y1=\"" + num(y) + "\" x2=\"" + num(lx + 22) + "\" y2=\"" +
           num(y) + "\" stroke=\"" + c + "\" stroke-width=\"2.5\"" +
           (s.dashed ? " stroke-dasharray=\"6 4\"" : "") + "/>\n";
    else
      o += "<circle cx=\"" + num(lx + 11) + "\" cy=\"" + num(y) + "\" r=\"5\" " +
           (s.hollow ? "fill=\"none\" stroke-width=\"2\" stroke=\"" : "fill=\"") + c + "\"/>\n";
    std::string name = s.name.size() > 26 ? s.name.substr(0, 25) + "…" : s.name;
    o += "<text x=\"" + num(lx + 28) + "\" y=\"" + num(y + 4) + "\">" + xml_escape(name) +
         "</text>\n";
  }
  o += "</g>\n";
  return o;
}

}  // namespace

std::string xml_escape(std::string_view s) {
  std::string o;
  for (char c : s) {
    switch (c) {
      case '&':
        o += "&amp;";
        break;
      case '<':
        o += "&lt;";
        break;
      case '>':
        o += "&gt;";
        break;
      case '"':
        o += "&quot;";
        break;
      case '\'':
        o += "&#39;";
        break;
      default:
        o += c;
    }
  }
  return o;
}

std::vector<double> nice_ticks(double lo, double hi, int target) {
  std::vector<double> t;
  if (!(hi > lo) || !std::isfinite(lo) || !std::isfinite(hi)) return t;
  double raw = (hi - lo) / std::max(1, target);
  double mag = std::pow(10.0, std::floor(std::log10(raw)));
  double step = mag;
  for (double m : {1.0, 2.0, 5.0, 10.0})
    if (raw <= m * mag) {
      step = m * mag;
      break;
    }
  for (double v = std::ceil(lo / step) * step; v <= hi + step * 1e-9; v += step)
    t.push_back(std::fabs(v) < step * 1e-9 ? 0.0 : v);
  return t;
}

std::string tick_label(double v) {
  char buf[32];
  double a = std::fabs(v);
  const char* suffix[] = {"", "k", "M", "G", "T", "P", "E"};
  if (a >= 1e4) {
    int k = std::min(6, int(std::floor(std::log10(a) / 3)));
    std::snprintf(buf, sizeof buf, "%g%s", v / std::pow(1000.0, k), suffix[k]);
  } else if (a != 0 && a < 1e-3) {
    std::snprintf(buf, sizeof buf, "%.0e", v);
  } else {
    std::snprintf(buf, sizeof buf, "%.4g", v);
  }
  return buf;
}

std::string svg_line_chart(const PlotOptions& opt, const std::vector<PlotSeries>& series) {
  Frame f;
  std::string o = frame_svg(opt, series, f, true);
  for (size_t i = 0; i < series.size(); ++i) {
    const auto& s = series[i];
    const char* c = kPalette[size_t(s.color >= 0 ? s.color : int(i)) % 8];
    std::string pts;
    size_t n = 0;
    for (size_t k = 0; k < s.x.size() && k < s.y.size(); ++k) {
      if (!usable(s.x[k], s.y[k], opt.log_x)) continue;
      if (!pts.empty()) pts += ' ';
      pts += num(f.px(s.x[k]));
      pts += ',';
      pts += num(f.py(s.y[k]));
      ++n;
    }
    o += "<g class=\"series\" data-series=\"" + xml_escape(s.name) + "\">\n";
    if (n == 1)  // a single point still shows
      o += "<circle cx=\"" + pts.substr(0, pts.find(',')) + "\" cy=\"" +
           pts.substr(pts.find(',') + 1) + "\" r=\"3\" fill=\"" + c + "\"/>\n";
    else if (n > 1)
      o += "<polyline fill=\"none\" stroke=\"" + std::string(c) +
           "\" stroke-width=\"2\" stroke-linejoin=\"round\"" +
           (s.dashed ? " stroke-dasharray=\"6 4\"" : "") + " points=\"" + pts + "\"/>\n";
    o += "</g>\n";
  }
  return o + "</svg>\n";
}

std::string svg_scatter(const PlotOptions& opt, const std::vector<PlotSeries>& series) {
  Frame f;
  std::string o = frame_svg(opt, series, f, false);
  for (size_t i = 0; i < series.size(); ++i) {
    const auto& s = series[i];
    const char* c = kPalette[size_t(s.color >= 0 ? s.color : int(i)) % 8];
    o += "<g class=\"series\" data-series=\"" + xml_escape(s.name) + "\">\n";
    for (size_t k = 0; k < s.x.size() && k < s.y.size(); ++k) {
      if (!usable(s.x[k], s.y[k], opt.log_x)) continue;
      double x = f.px(s.x[k]), y = f.py(s.y[k]);
      if (s.hollow)
        o += "<circle cx=\"" + num(x) + "\" cy=\"" + num(y) + "\" r=\"7\" fill=\"none\" stroke=\"" +
             c + "\" stroke-width=\"2\"/>\n";
      else
        o += "<circle cx=\"" + num(x) + "\" cy=\"" + num(y) + "\" r=\"5\" fill=\"" + c +
             "\" stroke=\"#ffffff\"/>\n";
      if (k < s.labels.size() && !s.labels[k].empty()) {
        // Labels near the right edge go on the point's left so they stay inside the plot.
        bool left_side = x > f.left + 0.7 * f.w;
        o += "<text x=\"" + num(left_side ? x - 8 : x + 8) + "\" y=\"" + num(y - 6) +
             "\" fill=\"#333333\"" + (left_side ? " text-anchor=\"end\"" : "") + ">" +
             xml_escape(s.labels[k]) + "</text>\n";
      }
    }
    o += "</g>\n";
  }
  return o + "</svg>\n";
}

}  // namespace still::eval
