#pragma once
// Timing several contenders side by side on a machine whose speed drifts (this VM: ±10 % within minutes).
// Timed one after another, each contender gets its own minutes and the ratio between them takes the drift;
// timed in alternation, every round runs each once, so the drift falls on all of them alike.
#include <chrono>
#include <functional>
#include <vector>

namespace rnnc::bench {

// The median of `times` (the mean of the middle two for an even count); NaN when empty.
double median(std::vector<double> times);

// Runs each of `runs` `warmup` times, then `repeats` rounds in which each runs untimed for at least
// `settle` (once at least), then once timed; returns each one's median in milliseconds of its timed
// runs. The order within a round reverses from one round to the next. A timed run thus follows runs of
// its own contender, as in timing one after another: a run leaves threads behind that spin for a few ms
// (OpenMP's), and they take CPU from whatever runs next (S, rnnc right after oneDNN: +4 ms of 20
// forward, +6 of 65 training; a 2 ms shape after a single untimed run of its own: +0.6-1 ms); a pause
// to let them sleep instead costs the next run their wake-up (oneDNN after a 60 ms pause: 90-95 ms
// training against 77-81).
std::vector<double> median_ms_alternating(const std::vector<std::function<void()>>& runs, int repeats,
                                          int warmup = 2,
                                          std::chrono::milliseconds settle = std::chrono::milliseconds(20));

}  // namespace rnnc::bench
