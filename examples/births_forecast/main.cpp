// births-forecast: a GRU forecaster of US daily births (1969-1988), written in rnnc's DSL and trained by
// rnnc's runtime. It reads the last `window` days (births, weekday and season of the day to predict),
// predicts the next day, and is scored on every day of the last year against the seasonal-naive
// forecast (the same weekday one week before), which it must beat.
//
//   births-forecast [--data FILE] [--epochs N] [--window N] [--hidden N] [--seed N]
#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <random>
#include <sstream>

#include "frontend/zoo.h"
#include "ir/durable_file.h"
#include "ir/error.h"
#include "runtime/train/fit.h"
#include "tools/cli.h"

namespace rnnc::births {
namespace {

namespace chrono = std::chrono;

const char* kUsage = R"(usage: births-forecast [options]
  --data FILE    the CSV year,month,date_of_month,day_of_week,births (default ../shared/data/us-births-1969-1988.csv)
  --epochs N (40)  --window N (28)  --hidden N (32)  --batch N (64)  --lr X (3e-3)  --seed N (0)
  --checkpoint FILE (births-forecast.ckpt)  --curve FILE (births-forecast.svg)  --target T (host)
)";

struct Day {
  int year = 0, month = 0, day = 0, weekday = 0;  // weekday 1..7 as in the file
  double births = 0;
};

std::vector<Day> read_births(const std::string& path) {
  std::istringstream in(read_file_or_say_why(path, "the births CSV", "see ../shared/data/README.md"));
  std::string line;
  RNNC_USER_CHECK(std::getline(in, line)) << path << ": the file is empty";
  RNNC_USER_CHECK(line.rfind("year,month,date_of_month,day_of_week,births", 0) == 0)
      << path << ":1: expected the header year,month,date_of_month,day_of_week,births, got '" << line << "'";
  std::vector<Day> days;
  for (int line_no = 2; std::getline(in, line); ++line_no) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    Day d;
    char c1, c2, c3, c4;
    std::istringstream row(line);
    row >> d.year >> c1 >> d.month >> c2 >> d.day >> c3 >> d.weekday >> c4 >> d.births;
    RNNC_USER_CHECK(row && c1 == ',' && c2 == ',' && c3 == ',' && c4 == ',' && (row >> std::ws).eof())
        << path << ":" << line_no << ": expected 5 comma-separated numbers, got '" << line << "'";
    const std::string at = path + ":" + std::to_string(line_no) + ": ";
    // The model reads the rows as consecutive days: a missing, repeated or misdated row would shift every
    // window after it without a word.
    const chrono::year_month_day date{chrono::year{d.year}, chrono::month{static_cast<unsigned>(d.month)},
                                      chrono::day{static_cast<unsigned>(d.day)}};
    // The bounds first: chrono::month and chrono::day keep only a byte, so month 257 would pass as 1.
    RNNC_USER_CHECK(d.year >= 1 && d.year <= 9999 && d.month >= 1 && d.month <= 12 && d.day >= 1 && d.day <= 31 &&
                    date.ok())
        << at << d.year << "-" << d.month << "-" << d.day << " is not a date";
    const chrono::sys_days today{date};
    RNNC_USER_CHECK(d.weekday >= 1 && d.weekday <= 7 &&
                    chrono::weekday{today}.iso_encoding() == static_cast<unsigned>(d.weekday))
        << at << "day_of_week " << d.weekday << ", but " << d.year << "-" << d.month << "-" << d.day << " is day "
        << chrono::weekday{today}.iso_encoding() << " (1 Monday ... 7 Sunday)";
    if (!days.empty()) {
      const Day& last = days.back();
      const chrono::sys_days previous{chrono::year_month_day{chrono::year{last.year}, chrono::month{static_cast<unsigned>(last.month)},
                                                              chrono::day{static_cast<unsigned>(last.day)}}};
      RNNC_USER_CHECK(today == previous + chrono::days{1})
          << at << d.year << "-" << d.month << "-" << d.day << " does not follow " << last.year << "-" << last.month << "-"
          << last.day << " (the rows must be consecutive days: one is missing, repeated or out of order)";
    }
    // A day's births in a country: a whole number, at most ten million (a larger one is a broken row, and
    // would swamp the normalisation).
    RNNC_USER_CHECK(d.births > 0 && d.births <= 1e7 && d.births == std::floor(d.births))
        << at << "births " << d.births << " is not a count between 1 and 10000000";
    days.push_back(d);
  }
  RNNC_USER_CHECK(days.size() > 800) << path << ": only " << days.size() << " days; need at least two years";
  return days;
}

constexpr int64_t kFeatures = 1 + 7 + 2;  // normalised births, the target day's weekday, its season

// Features of step t of the window ending before day `target`: that day's normalised births, plus the
// calendar of the day after it (so the last step describes the day being predicted).
void features(const std::vector<Day>& days, const std::vector<double>& z, int64_t day, float* out) {
  const Day& next = days[static_cast<size_t>(day + 1)];
  out[0] = static_cast<float>(z[static_cast<size_t>(day)]);
  for (int w = 0; w < 7; ++w) out[1 + w] = next.weekday == w + 1 ? 1.0f : 0.0f;
  double season = 2 * M_PI * ((next.month - 1) * 31 + next.day) / 372.0;
  out[8] = static_cast<float>(std::sin(season));
  out[9] = static_cast<float>(std::cos(season));
}

class WindowBatches : public train::BatchSource {
 public:
  WindowBatches(const std::vector<Day>& days, const std::vector<double>& z, std::vector<int64_t> targets, int64_t window,
                int64_t batch, uint64_t seed)
      : days_(days), z_(z), targets_(std::move(targets)), window_(window), batch_(batch), seed_(seed) {}

  int64_t num_batches(int) const override { return static_cast<int64_t>((targets_.size() + batch_ - 1) / batch_); }

  train::Batch batch(int epoch, int64_t index) const override {
    std::vector<int64_t> order(targets_.size());
    std::iota(order.begin(), order.end(), 0);
    std::mt19937_64 gen(seed_ * 1000003 + static_cast<uint64_t>(epoch));
    std::shuffle(order.begin(), order.end(), gen);
    std::vector<int64_t> chosen;
    for (int64_t i = index * batch_; i < std::min<int64_t>((index + 1) * batch_, static_cast<int64_t>(order.size())); ++i) {
      chosen.push_back(targets_[static_cast<size_t>(order[static_cast<size_t>(i)])]);
    }
    return make(chosen);
  }

  train::Batch make(const std::vector<int64_t>& chosen) const {
    const int64_t b = static_cast<int64_t>(chosen.size());
    std::vector<float> x(static_cast<size_t>(window_ * b * kFeatures)), y(static_cast<size_t>(b));
    for (int64_t j = 0; j < b; ++j) {
      int64_t target = chosen[static_cast<size_t>(j)];
      for (int64_t t = 0; t < window_; ++t) {
        features(days_, z_, target - window_ + t, &x[static_cast<size_t>((t * b + j) * kFeatures)]);
      }
      y[static_cast<size_t>(j)] = static_cast<float>(z_[static_cast<size_t>(target)]);
    }
    train::Batch out;
    out.inputs["x"] = train::f32_buffer(x, {window_, b, kFeatures});
    out.inputs["target"] = train::f32_buffer(y, {b, 1});
    out.examples = b;
    return out;
  }

 private:
  const std::vector<Day>& days_;
  const std::vector<double>& z_;
  std::vector<int64_t> targets_;
  int64_t window_, batch_;
  uint64_t seed_;
};

struct Errors {
  double mae = 0, rmse = 0;
};

Errors errors(const std::vector<double>& forecast, const std::vector<double>& actual) {
  Errors e;
  for (size_t i = 0; i < actual.size(); ++i) {
    double d = forecast[i] - actual[i];
    e.mae += std::fabs(d);
    e.rmse += d * d;
  }
  e.mae /= static_cast<double>(actual.size());
  e.rmse = std::sqrt(e.rmse / static_cast<double>(actual.size()));
  return e;
}

int body(int argc, char** argv) {
  cli::Args args(argc, argv, {"data", "epochs", "window", "hidden", "batch", "lr", "seed", "checkpoint", "curve", "target"},
                 {"resume"});
  const std::string path = args.get("data", "../shared/data/us-births-1969-1988.csv");
  const int64_t window = args.get_int("window", 28), hidden = args.get_int("hidden", 32), batch = args.get_int("batch", 64);
  const int epochs = static_cast<int>(args.get_int("epochs", 40));
  const uint64_t seed = static_cast<uint64_t>(args.get_int("seed", 0));
  if (window < 7 || hidden <= 0 || batch <= 0 || epochs <= 0) throw cli::UsageError("--window >= 7, --hidden, --batch and --epochs > 0");
  const double lr = args.get_positive_double("lr", 3e-3);
  args.expect_no_positional();

  std::vector<Day> days = read_births(path);
  const int last_year = days.back().year;
  int64_t test_start = 0;
  while (days[static_cast<size_t>(test_start)].year < last_year) ++test_start;
  RNNC_USER_CHECK(test_start > window + 365) << path << ": too little history before " << last_year;

  // Log births, standardised with the training years' statistics only.
  std::vector<double> z(days.size());
  double mean = 0, var = 0;
  for (int64_t i = 0; i < test_start; ++i) mean += std::log(days[static_cast<size_t>(i)].births);
  mean /= static_cast<double>(test_start);
  for (int64_t i = 0; i < test_start; ++i) var += std::pow(std::log(days[static_cast<size_t>(i)].births) - mean, 2);
  const double stddev = std::sqrt(var / static_cast<double>(test_start));
  for (size_t i = 0; i < days.size(); ++i) z[i] = (std::log(days[i].births) - mean) / stddev;

  std::vector<int64_t> train_targets, test_targets;
  for (int64_t t = window; t < test_start; ++t) train_targets.push_back(t);
  for (int64_t t = test_start; t < static_cast<int64_t>(days.size()); ++t) test_targets.push_back(t);
  std::printf("data: %s: %zu days; training on %zu windows before %d, forecasting the %zu days of %d\n", path.c_str(),
              days.size(), train_targets.size(), last_year, test_targets.size(), last_year);

  std::printf("compiling the model (JIT, cached after the first run)...\n");
  std::fflush(stdout);
  auto model = train::TrainableModel::jit(zoo::build_forecaster({.features = kFeatures, .hidden_size = hidden}), args.get("target", "host"));
  model->init_params(seed);
  auto adam = train::make_adam({.lr = lr});
  WindowBatches train_batches(days, z, train_targets, window, batch, seed);
  WindowBatches test_batches(days, z, test_targets, window, static_cast<int64_t>(test_targets.size()), seed);

  auto forecast_test = [&] {
    train::Batch b = test_batches.make(test_targets);
    train::NamedBuffers out = model->infer(b.inputs);
    const float* p = static_cast<const float*>(out.at("prediction").data());
    std::vector<double> births(test_targets.size());
    for (size_t i = 0; i < births.size(); ++i) births[i] = std::exp(p[i] * stddev + mean);
    return births;
  };
  std::vector<double> actual, naive;
  for (int64_t t : test_targets) {
    actual.push_back(days[static_cast<size_t>(t)].births);
    naive.push_back(days[static_cast<size_t>(t - 7)].births);
  }
  const Errors baseline = errors(naive, actual);

  train::FitOptions f;
  f.epochs = epochs;
  f.clip_norm = 1.0;
  f.seed = seed;
  f.checkpoint = args.get("checkpoint", "births-forecast.ckpt");
  f.resume = args.has("resume");
  f.curve_svg = args.get("curve", "births-forecast.svg");
  f.progress_seconds = 10;
  f.evaluate = [&] {
    Errors e = errors(forecast_test(), actual);
    char line[128];
    std::snprintf(line, sizeof line, "%d: MAE %.1f births/day (seasonal-naive %.1f)", last_year, e.mae, baseline.mae);
    return train::EvalResult{e.mae / baseline.mae, -1, line};
  };
  train::fit(*model, *adam, train_batches, f);

  const Errors gru = errors(forecast_test(), actual);
  std::printf("\nforecasts of the %zu days of %d, one day ahead:\n", actual.size(), last_year);
  std::printf("  %-28s MAE %8.1f   RMSE %8.1f\n", "GRU (rnnc)", gru.mae, gru.rmse);
  std::printf("  %-28s MAE %8.1f   RMSE %8.1f\n", "seasonal naive (t - 7 days)", baseline.mae, baseline.rmse);
  const bool beats = gru.mae < baseline.mae && gru.rmse < baseline.rmse;
  std::printf("GRU vs seasonal naive: MAE %.2fx, RMSE %.2fx: %s\n", gru.mae / baseline.mae, gru.rmse / baseline.rmse,
              beats ? "beats the baseline" : "does NOT beat the baseline");
  return beats ? 0 : 3;
}

}  // namespace
}  // namespace rnnc::births

int main(int argc, char** argv) { return rnnc::cli::run_tool("births-forecast", rnnc::births::kUsage, rnnc::births::body, argc, argv); }
