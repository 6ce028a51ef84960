/**
 * V8 flags every `bourse node` process is started with: by `bourse dev`, by the
 * benchmarks' and tests' clusters (NodeProcess), by bench memory's engine process,
 * and in deploy/ (the systemd unit's ExecStart, the image's ENTRYPOINT).
 *
 * `--max-semi-space-size=4`: V8 grows each of the young generation's two semi-spaces
 * to 16 MB under a high allocation rate and keeps them committed; a node allocates fast
 * (commands, events) but keeps little of it. bench memory (docs/benchmarks.md): a real
 * node with 100,000 resting orders 146 MB with V8's default, ~140 with 8 MB semi-spaces,
 * ~121 with 4 (three or four runs each); the engine process at 1M resting orders 224–241,
 * 215–224 and 207–215 MB. The price: in bench e2e the nodes' CPU per command at the
 * maximum rate came out at 25–31 µs with 4 MB against 22–25 µs without (two runs each,
 * a spread as wide as the difference); the node's intake and apply alone cost the same.
 * Operators who would rather spend memory than CPU start the node with
 * `--max-semi-space-size=16` instead (docs/operations.md, "Memory").
 */
export const NODE_V8_FLAGS: readonly string[] = ["--max-semi-space-size=4"];
