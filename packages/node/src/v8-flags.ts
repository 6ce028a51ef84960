/**
 * V8 flags every `bourse node` process is started with: by `bourse dev`, by the
 * benchmarks' and tests' clusters (NodeProcess), by bench memory's engine process,
 * and in deploy/ (the systemd unit's ExecStart, the image's ENTRYPOINT).
 *
 * `--max-semi-space-size=8`: V8 grows each of the young generation's two semi-spaces
 * to 16 MB under a high allocation rate and keeps them committed; a node allocates fast
 * (commands, events) but keeps little of it. bench memory (docs/benchmarks.md), the
 * engine process: RSS at 1M resting orders 224–241 MB with V8's default, 215 MB with 8
 * or 4; after 10M orders 238–258, 228 with 8, 219–232 with 4. bench e2e put the nodes'
 * CPU per command within the run-to-run spread with 8 (21–30 µs, against 22–25 without
 * and 25–31 with 4, two runs each), so 8: most of the memory, the smaller change.
 */
export const NODE_V8_FLAGS: readonly string[] = ["--max-semi-space-size=8"];
