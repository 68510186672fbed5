// The training-curve picture written at the end of a run: an SVG (no dependencies, opens in any
// browser) with one panel per quantity, e.g. loss over steps and accuracy over epochs.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace rnnc::train {

struct CurveSeries {
  std::string label;
  std::vector<std::pair<double, double>> points;  // (x, y)
  std::string color = "#1f77b4";
  bool markers = false;  // dots at each point (for few points, e.g. per epoch)
};

struct CurvePanel {
  std::string title;
  std::string x_label;
  std::vector<CurveSeries> series;
};

std::string render_training_curve_svg(const std::string& title, const std::vector<CurvePanel>& panels);

}  // namespace rnnc::train
