#include "runtime/train/fit.h"

#include <chrono>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <sstream>

#include "runtime/dropout_mask.h"
#include "runtime/train/training_curve.h"

namespace rnnc::train {
namespace {

using Clock = std::chrono::steady_clock;

constexpr const char* kParamPrefix = "param/";
constexpr const char* kOptimizerPrefix = "optimizer/";

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

bool has_input(const ir::Function& f, const std::string& name) {
  for (size_t i = 0; i < f.args().size(); ++i) {
    if (f.value_name(f.arg(i)) == name) return true;
  }
  return false;
}

std::string history_text(const std::vector<EpochRecord>& history) {
  std::ostringstream out;
  out.precision(9);
  for (const EpochRecord& r : history) {
    out << r.epoch << ' ' << r.train_loss << ' ' << r.train_accuracy << ' ' << r.eval_loss << ' ' << r.eval_accuracy
        << ' ' << r.seconds << ' ' << r.examples_per_second << '\n';
  }
  return out.str();
}

std::vector<EpochRecord> parse_history(const std::string& text, const std::string& origin) {
  std::vector<EpochRecord> history;
  std::istringstream in(text);
  std::string line;
  int line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    std::istringstream fields(line);
    EpochRecord r;
    fields >> r.epoch >> r.train_loss >> r.train_accuracy >> r.eval_loss >> r.eval_accuracy >> r.seconds >>
        r.examples_per_second;
    RNNC_USER_CHECK(fields && r.epoch == line_no) << "checkpoint " << origin << ": training history line " << line_no
                                                  << " is malformed: '" << line << "'";
    history.push_back(r);
  }
  return history;
}

std::string percent(double fraction) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f%%", 100 * fraction);
  return buf;
}

void write_curve(const std::string& path, const std::string& title, const std::vector<std::pair<double, double>>& step_loss,
                 const std::vector<EpochRecord>& history) {
  CurvePanel loss{"loss", "epoch", {}};
  // A moving average over the steps keeps the per-batch noise from hiding the trend.
  CurveSeries smoothed{"train loss (per step, smoothed)", {}, "#1f77b4"};
  double avg = NAN;
  for (auto [x, y] : step_loss) {
    avg = std::isnan(avg) ? y : 0.95 * avg + 0.05 * y;
    smoothed.points.push_back({x, avg});
  }
  loss.series.push_back(smoothed);
  CurveSeries train_epoch{"train loss (epoch mean)", {}, "#ff7f0e", true}, eval_epoch{"eval loss", {}, "#2ca02c", true};
  CurvePanel accuracy{"accuracy", "epoch", {}};
  CurveSeries train_acc{"train accuracy", {}, "#ff7f0e", true}, eval_acc{"eval accuracy", {}, "#2ca02c", true};
  for (const EpochRecord& r : history) {
    train_epoch.points.push_back({r.epoch, r.train_loss});
    if (r.eval_loss >= 0) eval_epoch.points.push_back({r.epoch, r.eval_loss});
    if (r.train_accuracy >= 0) train_acc.points.push_back({r.epoch, r.train_accuracy});
    if (r.eval_accuracy >= 0) eval_acc.points.push_back({r.epoch, r.eval_accuracy});
  }
  loss.series.push_back(train_epoch);
  if (!eval_epoch.points.empty()) loss.series.push_back(eval_epoch);
  std::vector<CurvePanel> panels{loss};
  if (!train_acc.points.empty() || !eval_acc.points.empty()) {
    if (!train_acc.points.empty()) accuracy.series.push_back(train_acc);
    if (!eval_acc.points.empty()) accuracy.series.push_back(eval_acc);
    panels.push_back(accuracy);
  }
  write_file_atomically(path, render_training_curve_svg(title, panels));
}

}  // namespace

std::string format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  char buf[32];
  int64_t s = static_cast<int64_t>(std::llround(seconds));
  if (s < 60) {
    std::snprintf(buf, sizeof buf, "%.1fs", seconds);
  } else if (s < 3600) {
    std::snprintf(buf, sizeof buf, "%" PRId64 "m%02" PRId64 "s", s / 60, s % 60);
  } else {
    std::snprintf(buf, sizeof buf, "%" PRId64 "h%02" PRId64 "m", s / 3600, s / 60 % 60);
  }
  return buf;
}

Checkpoint checkpoint_of(const TrainableModel& model, const Optimizer* optimizer, const std::vector<EpochRecord>& history,
                         int64_t steps, const std::map<std::string, std::string>& text) {
  Checkpoint c;
  c.text = text;
  c.text["model"] = model.name();
  c.text["fit.epochs_done"] = std::to_string(history.size());
  c.text["fit.steps"] = std::to_string(steps);
  c.text["fit.history"] = history_text(history);
  for (const auto& [name, t] : model.params()) c.tensors[kParamPrefix + name] = t;
  if (optimizer) {
    c.text["optimizer"] = optimizer->name();
    for (auto& [name, t] : optimizer->state()) c.tensors[kOptimizerPrefix + name] = std::move(t);
  }
  return c;
}

void restore_params(TrainableModel& model, const Checkpoint& checkpoint) {
  ParamMap params;
  for (const auto& [key, t] : checkpoint.tensors) {
    if (key.rfind(kParamPrefix, 0) == 0) params[key.substr(std::strlen(kParamPrefix))] = t;
  }
  model.load_params(params);
}

FitResult fit(TrainableModel& model, Optimizer& optimizer, const BatchSource& data, const FitOptions& o) {
  FitResult result;
  const bool has_seed = has_input(model.training_forward(), "seed");
  if (o.resume && !o.checkpoint.empty() && std::filesystem::exists(o.checkpoint)) {
    Checkpoint c = load_checkpoint(o.checkpoint);
    RNNC_USER_CHECK(c.get_text("model") == model.name())
        << "checkpoint " << o.checkpoint << " holds model '" << c.get_text("model") << "', not '" << model.name() << "'";
    RNNC_USER_CHECK(c.get_text("optimizer") == optimizer.name())
        << "checkpoint " << o.checkpoint << " was trained with " << c.get_text("optimizer") << ", not " << optimizer.name();
    restore_params(model, c);
    std::map<std::string, Tensor<float>> state;
    for (const auto& [key, t] : c.tensors) {
      if (key.rfind(kOptimizerPrefix, 0) == 0) state[key.substr(std::strlen(kOptimizerPrefix))] = t;
    }
    optimizer.load_state(state);
    result.history = parse_history(c.get_text("fit.history"), o.checkpoint);
    result.steps = std::stoll(c.get_text("fit.steps"));
    std::printf("resumed from %s after epoch %zu (%" PRId64 " steps)\n", o.checkpoint.c_str(), result.history.size(),
                result.steps);
  }
  // Before any training: a checkpoint or curve that cannot be written would be found only after an epoch.
  if (!o.checkpoint.empty()) check_writable(o.checkpoint, "the checkpoint");
  if (!o.curve_svg.empty()) check_writable(o.curve_svg, "the training curve");
  std::vector<std::pair<double, double>> step_loss;
  for (int epoch = static_cast<int>(result.history.size()); epoch < o.epochs; ++epoch) {
    int64_t batches = data.num_batches(epoch);
    if (o.max_steps_per_epoch >= 0) batches = std::min(batches, o.max_steps_per_epoch);
    RNNC_USER_CHECK(batches > 0) << "epoch " << epoch + 1 << " has no batches: is the training data empty?";
    const Clock::time_point start = Clock::now();
    Clock::time_point last_print = start;
    double loss_sum = 0;
    int64_t examples = 0, correct = 0;
    bool has_accuracy = true;
    for (int64_t i = 0; i < batches; ++i) {
      Batch batch = data.batch(epoch, i);
      if (has_seed) {
        // Each step's dropout masks: a pure function of the run's seed and the global step.
        batch.inputs["seed"] = i64_scalar(static_cast<int64_t>(
            runtime::splitmix64_finalize(o.seed * runtime::kDropoutSaltMix + static_cast<uint64_t>(result.steps)) >> 1));
      }
      TrainableModel::StepResult step = model.forward_backward(batch.inputs, o.loss);
      ClipResult clip = clip_grad_norm(step.grads, o.clip_norm);
      if (!std::isfinite(step.loss) || !std::isfinite(clip.total_norm)) {
        throw NonFiniteLoss("training diverged: the " + std::string(std::isfinite(step.loss) ? "gradient norm" : "loss") +
                            " is " + std::to_string(std::isfinite(step.loss) ? clip.total_norm : step.loss) +
                            " at epoch " + std::to_string(epoch + 1) + ", step " + std::to_string(i + 1) +
                            (!o.checkpoint.empty() && std::filesystem::exists(o.checkpoint)
                                 ? "; the last good checkpoint " + o.checkpoint + " is kept"
                                 : std::string()));
      }
      optimizer.step(model.params(), step.grads, clip.scale);
      ++result.steps;
      loss_sum += step.loss * static_cast<double>(batch.examples);
      examples += batch.examples;
      int64_t c = data.correct(batch, step.outputs);
      if (c < 0) has_accuracy = false;
      correct += std::max<int64_t>(c, 0);
      step_loss.push_back({epoch + static_cast<double>(i + 1) / static_cast<double>(batches), step.loss});
      if (seconds_since(last_print) >= o.progress_seconds || i + 1 == batches) {
        last_print = Clock::now();
        double elapsed = seconds_since(start);
        double eta = elapsed / static_cast<double>(i + 1) * static_cast<double>(batches - i - 1);
        std::printf("epoch %d/%d [%5" PRId64 "/%" PRId64 "] loss %.4f%s  %.0f ex/s  ETA %s\n", epoch + 1, o.epochs, i + 1,
                    batches, loss_sum / static_cast<double>(examples),
                    has_accuracy ? ("  acc " + percent(static_cast<double>(correct) / static_cast<double>(examples))).c_str() : "",
                    static_cast<double>(examples) / elapsed, format_duration(eta).c_str());
        std::fflush(stdout);
      }
    }
    EpochRecord record;
    record.epoch = epoch + 1;
    record.seconds = seconds_since(start);
    record.train_loss = loss_sum / static_cast<double>(examples);
    record.train_accuracy = has_accuracy ? static_cast<double>(correct) / static_cast<double>(examples) : -1;
    record.examples_per_second = static_cast<double>(examples) / record.seconds;
    std::string eval_summary;
    if (o.evaluate) {
      EvalResult eval = o.evaluate();
      record.eval_loss = eval.loss;
      record.eval_accuracy = eval.accuracy;
      eval_summary = eval.summary;
    }
    result.history.push_back(record);
    std::printf("epoch %d/%d done in %s: train loss %.4f%s, %.0f examples/s%s%s\n", record.epoch, o.epochs,
                format_duration(record.seconds).c_str(), record.train_loss,
                has_accuracy ? (", train accuracy " + percent(record.train_accuracy)).c_str() : "",
                record.examples_per_second, eval_summary.empty() ? "" : "; ", eval_summary.c_str());
    if (!o.checkpoint.empty()) {
      save_checkpoint_atomically(checkpoint_of(model, &optimizer, result.history, result.steps, o.checkpoint_text),
                                 o.checkpoint);
      std::printf("checkpoint written: %s\n", o.checkpoint.c_str());
    }
    std::fflush(stdout);
  }
  if (!o.curve_svg.empty()) {
    write_curve(o.curve_svg, model.name() + " training", step_loss, result.history);
    std::printf("training curve written: %s\n", o.curve_svg.c_str());
  }
  return result;
}

}  // namespace rnnc::train
