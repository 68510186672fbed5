#include "runtime/train/training_curve.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <sstream>

namespace rnnc::train {
namespace {

constexpr double kWidth = 720, kPanelHeight = 260, kLeft = 70, kRight = 170, kTop = 40, kBottom = 45;

std::string escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '&': out += "&amp;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4g", v);
  return buf;
}

struct Range {
  double lo = std::numeric_limits<double>::infinity(), hi = -std::numeric_limits<double>::infinity();
  void add(double v) {
    if (!std::isfinite(v)) return;
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  void settle() {
    if (!std::isfinite(lo)) lo = 0, hi = 1;
    if (hi - lo < 1e-12) lo -= 0.5, hi += 0.5;
  }
};

void panel(std::ostringstream& svg, const CurvePanel& p, double y0) {
  Range xr, yr;
  for (const auto& s : p.series) {
    for (auto [x, y] : s.points) xr.add(x), yr.add(y);
  }
  xr.settle();
  yr.settle();
  const double w = kWidth - kLeft - kRight, h = kPanelHeight - kTop - kBottom;
  auto px = [&](double x) { return kLeft + (x - xr.lo) / (xr.hi - xr.lo) * w; };
  auto py = [&](double y) { return y0 + kTop + h - (y - yr.lo) / (yr.hi - yr.lo) * h; };
  svg << "<text x='" << kLeft << "' y='" << y0 + kTop - 10 << "' font-size='14'>" << escape(p.title) << "</text>\n";
  svg << "<rect x='" << kLeft << "' y='" << y0 + kTop << "' width='" << w << "' height='" << h
      << "' fill='none' stroke='#888'/>\n";
  for (int i = 0; i <= 4; ++i) {
    double yv = yr.lo + (yr.hi - yr.lo) * i / 4, xv = xr.lo + (xr.hi - xr.lo) * i / 4;
    svg << "<line x1='" << kLeft << "' x2='" << kLeft + w << "' y1='" << py(yv) << "' y2='" << py(yv)
        << "' stroke='#eee'/>\n";
    svg << "<text x='" << kLeft - 6 << "' y='" << py(yv) + 4 << "' font-size='11' text-anchor='end'>" << num(yv)
        << "</text>\n";
    svg << "<text x='" << px(xv) << "' y='" << y0 + kTop + h + 16 << "' font-size='11' text-anchor='middle'>"
        << num(xv) << "</text>\n";
  }
  svg << "<text x='" << kLeft + w / 2 << "' y='" << y0 + kTop + h + 34 << "' font-size='12' text-anchor='middle'>"
      << escape(p.x_label) << "</text>\n";
  int row = 0;
  for (const auto& s : p.series) {
    if (!s.points.empty()) {
      svg << "<polyline fill='none' stroke='" << s.color << "' stroke-width='1.5' points='";
      for (auto [x, y] : s.points) {
        if (std::isfinite(y)) svg << px(x) << "," << py(y) << " ";
      }
      svg << "'/>\n";
      if (s.markers) {
        for (auto [x, y] : s.points) {
          if (std::isfinite(y)) svg << "<circle cx='" << px(x) << "' cy='" << py(y) << "' r='3' fill='" << s.color << "'/>\n";
        }
      }
    }
    double ly = y0 + kTop + 14 + 18 * row++;
    svg << "<line x1='" << kLeft + w + 12 << "' x2='" << kLeft + w + 32 << "' y1='" << ly - 4 << "' y2='" << ly - 4
        << "' stroke='" << s.color << "' stroke-width='2'/>\n";
    svg << "<text x='" << kLeft + w + 38 << "' y='" << ly << "' font-size='12'>" << escape(s.label) << "</text>\n";
  }
}

}  // namespace

std::string render_training_curve_svg(const std::string& title, const std::vector<CurvePanel>& panels) {
  std::ostringstream svg;
  const double height = 30 + kPanelHeight * static_cast<double>(panels.size());
  svg << "<svg xmlns='http://www.w3.org/2000/svg' width='" << kWidth << "' height='" << height
      << "' font-family='sans-serif'>\n<rect width='100%' height='100%' fill='white'/>\n";
  svg << "<text x='" << kWidth / 2 << "' y='22' font-size='16' text-anchor='middle'>" << escape(title) << "</text>\n";
  for (size_t i = 0; i < panels.size(); ++i) panel(svg, panels[i], 30 + kPanelHeight * static_cast<double>(i));
  svg << "</svg>\n";
  return svg.str();
}

}  // namespace rnnc::train
