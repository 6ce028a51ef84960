/** A seeded PRNG (mulberry32): the same seed gives the same run, so a failure can be replayed. */
export type Rng = () => number;

export function rng(seed: number): Rng {
  let s = seed >>> 0;
  return () => {
    let t = (s = (s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** An exponentially distributed duration with the given mean (inverse transform). */
export function exponential(r: Rng, mean: number): number {
  return -mean * Math.log(1 - r());
}

/** An independent stream derived from a seed and a label, so adding one stream never shifts another. */
export function substream(seed: number, label: string): Rng {
  let h = 2166136261 ^ seed;
  for (let i = 0; i < label.length; i++) h = Math.imul(h ^ label.charCodeAt(i), 16777619);
  return rng(h >>> 0);
}
