import * as assert from "uvu/assert";

/** Awaits `p`, expecting it to reject with an instance of `type`; runs `check` on the error and returns it. */
export async function rejects<E extends Error>(p: Promise<unknown>, type: new (...a: never[]) => E, check: (e: E) => void = () => {}): Promise<E> {
  try {
    await p;
  } catch (e) {
    assert.instance(e, type, `expected ${type.name}, got ${String(e)}`);
    check(e as E);
    return e as E;
  }
  assert.unreachable(`expected a ${type.name}, but it resolved`);
  throw new Error("unreachable");
}
