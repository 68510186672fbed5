#pragma once
// The benchmark's anchors: the same recurrent workload timed with oneDNN (one RNN primitive per layer) and
// with PyTorch eager (bench/torch_rnn.py), so rnnc's timings can be reported as ratios against both.
//
// What is timed (rnnc times the same thing):
// - forward: inference forward pass of a stack of `layers` unidirectional layers over x [seq, batch, input]
//   (time-major), zero initial states, every sequence full length; the result is the last layer's outputs
//   for all steps.
// - train: one training step's compute: forward in training mode (keeping what backward needs) + backward
//   producing the gradients of all weights and biases and of x, given an upstream gradient of ones for the
//   last layer's outputs. No optimizer update.
#include <cmath>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace rnnc::bench {

struct Workload {
  std::string cell;  // lstm | gru | rnn-tanh | rnn-relu | layernorm-lstm
  int layers;
  int64_t batch, seq, input, hidden;
};

struct Timing {
  double forward_ms = NAN;  // NaN: the anchor cannot run this cell ("n/a")
  double train_ms = NAN;
  std::string note;  // why a number is missing, or what to know about it
};

// oneDNN (f32 CPU engine): lstm_forward/lstm_backward, lbr_gru_* (PyTorch's GRU), vanilla_rnn_* with tanh or
// relu; one primitive per layer. Weights in the primitives' preferred layouts (format_tag::any), reordered once
// when built; explicit zero initial states. run() is what is timed: primitive execution, stream wait included,
// and for train the zeroing of the gradient buffers that oneDNN accumulates into. Built once, run as often as
// asked, so that a benchmark can time it in alternation with rnnc (alternating_timer.h).
class OnednnAnchor {
 public:
  // Throws AnchorUnavailable where oneDNN cannot run the workload (layernorm-lstm, an oneDNN error).
  OnednnAnchor(const Workload& w, bool train);
  ~OnednnAnchor();
  OnednnAnchor(const OnednnAnchor&) = delete;
  OnednnAnchor& operator=(const OnednnAnchor&) = delete;
  void run();  // one inference forward, or one training step

 private:
  struct Net;
  std::unique_ptr<Net> net_;
};

struct AnchorUnavailable : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// OnednnAnchor timed on its own: medians of `repeats` runs after warm-up; n/a with the reason in `note` where
// oneDNN cannot run the cell.
Timing time_onednn(const Workload& w, int repeats);

// PyTorch eager: runs bench/torch_rnn.py (RNNC_SOURCE_DIR "/bench/torch_rnn.py") with /usr/bin/python3 (or
// $RNNC_PYTHON) through popen and parses its one-line JSON. Default torch thread settings. Never throws: a failed
// run gives NaNs and the reason in `note`.
Timing time_torch(const Workload& w, int repeats);

// A Timing number for printing: "12.345" or "n/a".
std::string format_ms(double ms);

namespace detail {
// For anchors_selftest: the oneDNN anchor's own primitives (same construction, layouts and reorders as
// time_onednn) run once on given data in oneDNN's plain user layouts: x [T, N, I] (tnc); per layer weights_layer
// [in, G, H] and weights_iter [H, G, H] (ldigo, L = D = 1), bias [BG, H] (ldgo); dy [T, N, H] the upstream
// gradient of the last layer's outputs. Gate order is oneDNN's (LSTM: i, f, c~, o).
struct OnednnRun {
  std::vector<float> y;        // inference forward: last layer's outputs, [T, N, H]
  std::vector<float> y_train;  // training forward: the same outputs
  std::vector<float> dx;       // [T, N, I]
  std::vector<std::vector<float>> dw_layer, dw_iter, dbias;  // per layer, ldigo / ldigo / ldgo
};
OnednnRun run_onednn_once(const Workload& w, const std::vector<float>& x,
                          const std::vector<std::vector<float>>& w_layer,
                          const std::vector<std::vector<float>>& w_iter, const std::vector<std::vector<float>>& bias,
                          const std::vector<float>& dy);
}  // namespace detail

}  // namespace rnnc::bench
