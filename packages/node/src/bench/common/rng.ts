/**
 * mulberry32, the seeded PRNG the engine's matching bench uses too: a bench run
 * is reproducible from the seed it prints.
 */
export class Rng {
  private a: number;

  constructor(seed: number) {
    this.a = seed >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    this.a = (this.a + 0x6d2b79f5) | 0;
    let t = Math.imul(this.a ^ (this.a >>> 15), 1 | this.a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** Integer in [lo, hi]. */
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }

  /**
   * A version-4-shaped UUID (36 characters), the form of the cmdIds BourseClient
   * generates by default: idempotency keys of realistic length, from the seed.
   */
  uuid(): string {
    const hex = (this.word() + this.word() + this.word() + this.word()).split("");
    hex[12] = "4";
    hex[16] = "89ab"[this.int(4)]!;
    const s = hex.join("");
    return `${s.slice(0, 8)}-${s.slice(8, 12)}-${s.slice(12, 16)}-${s.slice(16, 20)}-${s.slice(20, 32)}`;
  }

  private word(): string {
    return Math.floor(this.next() * 4294967296).toString(16).padStart(8, "0");
  }
}
