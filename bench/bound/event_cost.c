/* The cost of one synaptic event on this machine, measured without lifsim:
 * what PD14's lower bound in BENCHMARKS.md is computed from
 * (bench/microcircuit_bound.py compiles and runs this).
 *
 *   event_cost NEURONS SLOTS DELAYS EVENTS
 *
 * 1. stream: reads EVENTS synapses as lifsim stores them (u32 target, f32
 *    weight, u8 delay: 9 bytes) and sums them: the bandwidth at which
 *    synapses can be read, GB/s.
 * 2. events: the same synapses delivered as lifsim's inner loop does, each
 *    weight added into a float64 ring buffer of SLOTS rows of NEURONS values
 *    at row (k + delay) & (SLOTS - 1), delays uniform in [1, DELAYS], targets
 *    uniform over the neurons, each run of 4,000 (a source's row) by delay,
 *    then target, as lifsim stores rows: ns per event.
 * Prints one JSON object. Single-threaded; run one per core to load both. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "bench_util.h"

int main(int argc, char **argv) {
    if (argc != 5) {
        fprintf(stderr, "usage: event_cost NEURONS SLOTS DELAYS EVENTS\n");
        return 2;
    }
    size_t n = strtoull(argv[1], 0, 10), slots = strtoull(argv[2], 0, 10);
    size_t delays = strtoull(argv[3], 0, 10), events = strtoull(argv[4], 0, 10);
    uint32_t *target = malloc(events * 4);
    float *weight = malloc(events * 4);
    uint8_t *delay = malloc(events);
    double *ring = calloc(n * slots, 8);
    if (!target || !weight || !delay || !ring || (slots & (slots - 1)) || delays >= slots) {
        fprintf(stderr, "event_cost: bad sizes or out of memory\n");
        return 1;
    }
    const size_t row = 4000;
    for (size_t i = 0; i < events; i++) {
        target[i] = next() % n;
        weight[i] = (float)(next() % 1000) * 1e-3f;
        delay[i] = 1 + next() % delays;
    }
    /* Each row by (delay, target). */
    uint64_t *key = malloc(row * 8);
    for (size_t i = 0; i < events; i += row) {
        size_t m = events - i < row ? events - i : row;
        for (size_t j = 0; j < m; j++) key[j] = (uint64_t)delay[i + j] << 32 | target[i + j];
        qsort(key, m, 8, by_key);
        for (size_t j = 0; j < m; j++) {
            delay[i + j] = key[j] >> 32;
            target[i + j] = (uint32_t)key[j];
        }
    }
    free(key);

    /* Four independent integer sums: the loads, not the adds, set the pace. */
    double t0 = now();
    uint64_t s[4] = {0, 0, 0, 0};
    const uint32_t *wbits = (const uint32_t *)weight;
    for (size_t i = 0; i + 4 <= events; i += 4)
        for (int j = 0; j < 4; j++) s[j] += target[i + j] + wbits[i + j] + delay[i + j];
    double t_stream = now() - t0;
    double sum = (double)(s[0] + s[1] + s[2] + s[3]);

    t0 = now();
    uint64_t k = 0, mask = slots - 1;
    for (size_t i = 0; i < events; i++) {
        if (i % row == 0) k++; /* a new spike, a step later */
        ring[((k + delay[i]) & mask) * n + target[i]] += weight[i];
    }
    double t_events = now() - t0;
    for (size_t i = 0; i < n * slots; i += 4096) sum += ring[i];

    printf("{\"neurons\": %zu, \"slots\": %zu, \"events\": %zu, "
           "\"stream_gb_s\": %.3f, \"ns_per_event\": %.3f, \"checksum\": %.6g}\n",
           n, slots, events, 9.0 * events / t_stream * 1e-9,
           t_events / events * 1e9, sum);
    return 0;
}
