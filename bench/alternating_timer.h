#pragma once
// Timing several contenders side by side on a machine whose speed drifts (this VM: ±10 % within minutes).
// Timed one after another, each contender gets its own minutes and the ratio between them takes the drift;
// timed in alternation, every round runs each once, so the drift falls on all of them alike.
#include <functional>
#include <vector>

namespace rnnc::bench {

// The median of `times` (the mean of the middle two for an even count); NaN when empty.
double median(std::vector<double> times);

// Runs each of `runs` `warmup` times, then `repeats` rounds in which each runs twice, and returns each one's
// median in milliseconds of its second runs. The order within a round reverses from one round to the next.
// Only the second run of a pair is timed, so that a timed run follows one of its own contender, as in
// timing one after another: a run leaves threads behind that spin for a few ms (OpenMP's), and they take CPU
// from whatever runs next (rnnc after oneDNN: +4 ms of 20 forward, +6 of 65 training); and a pause to
// let them sleep instead costs the next run their wake-up (oneDNN after a 60 ms pause: 90-95 ms training
// against 77-81).
std::vector<double> median_ms_alternating(const std::vector<std::function<void()>>& runs, int repeats,
                                          int warmup = 2);

}  // namespace rnnc::bench
