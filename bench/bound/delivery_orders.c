/* Three ways to deliver one partition's synaptic events into its ring buffer,
 * timed side by side on synthetic PD14-like rows (what BENCHMARKS.md's "what
 * would close the gap" is measured with):
 *
 *   gcc -O2 -march=native -o delivery_orders bench/bound/delivery_orders.c
 *   ./delivery_orders NEURONS ROWS ROW_LEN SPIKES STEPS BLOCK_SHIFT MAX_DELAY
 *   ./delivery_orders 38585 40000 1900 25 2000 10 40     # PD14, one partition
 *
 * ROWS rows of ROW_LEN synapses (u32 target, f32 weight, u8 delay uniform in
 * [1, MAX_DELAY]; rows by delay, then target, as lifsim stores them; ROWS x
 * ROW_LEN x 9 bytes well above the last-level cache). Each step SPIKES random
 * rows are delivered into a float64 ring of 64 slots x NEURONS, then slot k
 * is read and cleared (the neuron update's part). Modes, ns per event:
 *   plain    lifsim's loop: each weight added into its slot, the ring value
 *            prefetched 32 synapses ahead;
 *   blocked  rows regrouped by blocks of 2^BLOCK_SHIFT targets, the step's
 *            spikes delivered block by block (each block's ring values fit
 *            L2), the next block's synapses prefetched;
 *   binned   events appended to a list per arrival slot, and slot k + 1's
 *            list added into its row at the end of step k;
 *   stream   the rows read and summed, nothing written: the floor.
 * Three rounds, the modes alternating. Single-threaded. */
#include <immintrin.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_util.h"

#define SLOTS 64
#define MASK (SLOTS - 1)

int main(int argc, char **argv) {
    if (argc != 8) {
        fprintf(stderr, "usage: delivery_orders NEURONS ROWS ROW_LEN SPIKES STEPS BLOCK_SHIFT MAX_DELAY\n");
        return 2;
    }
    size_t n = atol(argv[1]), rows = atol(argv[2]), len = atol(argv[3]);
    size_t spikes = atol(argv[4]), steps = atol(argv[5]);
    int shift = atoi(argv[6]), max_delay = atoi(argv[7]);
    size_t events = rows * len, blocks = (n + (1u << shift) - 1) >> shift;
    if (max_delay < 1 || max_delay >= SLOTS - 1 || blocks > 4096) {
        fprintf(stderr, "delivery_orders: MAX_DELAY must be 1..62, blocks at most 4096\n");
        return 1;
    }
    uint32_t *t0 = malloc(events * 4), *t1 = malloc(events * 4);
    float *w0 = malloc(events * 4), *w1 = malloc(events * 4);
    uint8_t *d0 = malloc(events), *d1 = malloc(events);
    uint32_t *starts = malloc(rows * (blocks + 1) * 4);
    uint64_t *key = malloc(len * 8);
    double *ring = calloc(n * SLOTS, 8);
    uint32_t *fired = malloc(spikes * 4), *bin_t[SLOTS];
    float *bin_w[SLOTS];
    size_t bin_len[SLOTS];
    for (int s = 0; s < SLOTS; s++) {
        bin_t[s] = malloc(spikes * len * 4 * 2);
        bin_w[s] = malloc(spikes * len * 4 * 2);
        bin_len[s] = 0;
    }
    if (!t0 || !t1 || !w0 || !w1 || !d0 || !d1 || !starts || !key || !ring || !bin_w[SLOTS - 1]) {
        fprintf(stderr, "delivery_orders: out of memory\n");
        return 1;
    }
    for (size_t r = 0; r < rows; r++) {
        size_t at = r * len;
        for (size_t j = 0; j < len; j++)
            key[j] = (uint64_t)(1 + next() % max_delay) << 32 | (uint32_t)(next() % n);
        qsort(key, len, 8, by_key);
        for (size_t j = 0; j < len; j++) {
            t0[at + j] = (uint32_t)key[j];
            d0[at + j] = key[j] >> 32;
            w0[at + j] = (float)(next() % 1000) * 1e-3f;
        }
        /* The blocked copy: a stable counting sort of the row by block. */
        uint32_t *s = starts + r * (blocks + 1), cursor[4096];
        memset(s, 0, (blocks + 1) * 4);
        for (size_t j = 0; j < len; j++) s[(t0[at + j] >> shift) + 1]++;
        for (size_t b = 0; b < blocks; b++) s[b + 1] += s[b];
        memcpy(cursor, s, blocks * 4);
        for (size_t j = 0; j < len; j++) {
            size_t to = at + cursor[t0[at + j] >> shift]++;
            t1[to] = t0[at + j], w1[to] = w0[at + j], d1[to] = d0[at + j];
        }
    }
    const char *names[] = {"plain", "blocked", "binned", "stream"};
    double best[4] = {1e30, 1e30, 1e30, 1e30}, check = 0;
    for (int round = 0; round < 3; round++) {
        for (int mode = 0; mode < 4; mode++) {
            state = 12345 + round;
            double start = now();
            for (size_t k = 0; k < steps; k++) {
                for (size_t i = 0; i < spikes; i++) fired[i] = next() % rows;
                if (mode == 0) {
                    for (size_t i = 0; i < spikes; i++) {
                        size_t at = (size_t)fired[i] * len;
                        const uint32_t *t = t0 + at;
                        const float *w = w0 + at;
                        const uint8_t *d = d0 + at;
                        for (size_t j = 0; j < len; j++) {
                            if (j + 32 < len)
                                _mm_prefetch((const char *)&ring[((k + d[j + 32]) & MASK) * n + t[j + 32]], _MM_HINT_T0);
                            ring[((k + d[j]) & MASK) * n + t[j]] += w[j];
                        }
                    }
                } else if (mode == 1) {
                    for (size_t b = 0; b < blocks; b++)
                        for (size_t i = 0; i < spikes; i++) {
                            size_t r = fired[i], at = r * len;
                            const uint32_t *s = starts + r * (blocks + 1);
                            if (b + 1 < blocks)
                                for (size_t q = at + s[b + 1]; q < at + s[b + 2]; q += 16) {
                                    _mm_prefetch((const char *)&t1[q], _MM_HINT_T0);
                                    _mm_prefetch((const char *)&w1[q], _MM_HINT_T0);
                                    _mm_prefetch((const char *)&d1[q], _MM_HINT_T0);
                                }
                            for (size_t j = at + s[b]; j < at + s[b + 1]; j++)
                                ring[((k + d1[j]) & MASK) * n + t1[j]] += w1[j];
                        }
                } else if (mode == 2) {
                    for (size_t i = 0; i < spikes; i++) {
                        size_t at = (size_t)fired[i] * len, j = 0;
                        const uint32_t *t = t0 + at;
                        const float *w = w0 + at;
                        const uint8_t *d = d0 + at;
                        while (j < len) {
                            uint8_t delay = d[j];
                            size_t s = (k + delay) & MASK, m = bin_len[s];
                            for (; j < len && d[j] == delay; j++, m++) bin_t[s][m] = t[j], bin_w[s][m] = w[j];
                            bin_len[s] = m;
                        }
                    }
                    size_t s = (k + 1) & MASK;
                    double *row = ring + s * n;
                    for (size_t q = 0; q < bin_len[s]; q++) row[bin_t[s][q]] += bin_w[s][q];
                    bin_len[s] = 0;
                } else {
                    uint64_t sum = 0;
                    for (size_t i = 0; i < spikes; i++) {
                        size_t at = (size_t)fired[i] * len;
                        const uint32_t *w = (const uint32_t *)(w0 + at);
                        for (size_t j = 0; j < len; j++) sum += t0[at + j] + w[j] + d0[at + j];
                    }
                    check += (double)sum;
                }
                double *row = ring + (k & MASK) * n;
                for (size_t q = 0; q < n; q++) check += row[q], row[q] = 0;
            }
            double ns = (now() - start) / ((double)steps * spikes * len) * 1e9;
            if (ns < best[mode]) best[mode] = ns;
        }
    }
    printf("{\"neurons\": %zu, \"block\": %u, \"ns_per_event_best_of_3\": {", n, 1u << shift);
    for (int m = 0; m < 4; m++) printf("\"%s\": %.2f%s", names[m], best[m], m < 3 ? ", " : "");
    printf("}, \"checksum\": %.6g}\n", check);
    return 0;
}
