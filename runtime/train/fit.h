// The training loop every rnnc example shares: epochs over a batch source, forward+backward, clipping,
// the optimizer step, a progress line, a per-epoch summary and evaluation, an atomic checkpoint after
// every epoch (parameters, optimizer state, history and whatever the application adds, e.g. its
// vocabulary), resume from that checkpoint, and a stop with a clear message on a non-finite loss.
//
// Batches are a pure function of (epoch, index) and each step's dropout seed of (seed, step): a run
// resumed from epoch e's checkpoint takes exactly the steps the uninterrupted run would have taken.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "ir/error.h"
#include "runtime/train/checkpoint.h"
#include "runtime/train/optimizer.h"
#include "runtime/train/trainable_model.h"

namespace rnnc::train {

struct Batch {
  NamedBuffers inputs;   // @forward's inputs except `seed` (the loop supplies it)
  int64_t examples = 0;  // for examples/s and averaging
};

class BatchSource {
 public:
  virtual ~BatchSource() = default;
  virtual int64_t num_batches(int epoch) const = 0;
  virtual Batch batch(int epoch, int64_t index) const = 0;
  // Correct predictions in `batch` from the step's outputs (e.g. argmax of logits); -1: no accuracy.
  virtual int64_t correct(const Batch& batch, const NamedBuffers& outputs) const { return -1; }
};

struct EpochRecord {
  int epoch = 0;  // 1-based
  double train_loss = 0, train_accuracy = -1;  // accuracy in [0, 1], -1 when the model has none
  double eval_loss = -1, eval_accuracy = -1;   // from FitOptions::evaluate
  double seconds = 0, examples_per_second = 0;
};

// What an evaluation reports: a loss and/or an accuracy (-1 where it has none) and a label for the line.
struct EvalResult {
  double loss = -1, accuracy = -1;
  std::string summary;  // printed after the epoch summary, e.g. "validation accuracy 86.20%"
};

struct FitOptions {
  int epochs = 1;
  double clip_norm = 0;  // global gradient norm limit; 0: none
  uint64_t seed = 0;     // dropout seeds derive from it
  std::string loss = "loss";
  std::string checkpoint;  // written after each epoch when not empty
  bool resume = false;     // continue from `checkpoint` when it exists
  std::string curve_svg;   // the training curve, written at the end when not empty
  double progress_seconds = 2.0;  // a progress line at most this often (0: every step)
  int64_t max_steps_per_epoch = -1;  // for tests and quick runs
  std::function<EvalResult()> evaluate;  // after each epoch, optional
  // Text entries the application stores in every checkpoint (config, vocabulary, …).
  std::map<std::string, std::string> checkpoint_text;
};

// Thrown when the loss or the gradient norm is NaN or Inf. The last checkpoint (if any) is untouched.
class NonFiniteLoss : public UserError {
 public:
  using UserError::UserError;
};

struct FitResult {
  std::vector<EpochRecord> history;
  int64_t steps = 0;
};

FitResult fit(TrainableModel& model, Optimizer& optimizer, const BatchSource& data, const FitOptions& options);

// Parameters (and, when present, optimizer state and history) from a checkpoint written by fit().
Checkpoint checkpoint_of(const TrainableModel& model, const Optimizer* optimizer, const std::vector<EpochRecord>& history,
                         int64_t steps, const std::map<std::string, std::string>& text);
void restore_params(TrainableModel& model, const Checkpoint& checkpoint);

// "1m02s", "3h05m": for ETAs and summaries.
std::string format_duration(double seconds);

}  // namespace rnnc::train
