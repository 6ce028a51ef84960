/**
 * FNV-1a over the UTF-16 code units, reduced to 30 bits and never 0: 0 marks
 * an empty slot of a hash table, and a 30-bit integer is a small integer to V8
 * (stored inline, never boxed). Callers compute it once per key and pass it
 * along, so a command's cmdId is hashed once however often the idempotency
 * index is consulted.
 *
 * It is deterministic (the engine may not use randomness), so keys chosen to
 * collide would lengthen probe chains; cmdIds come from authenticated clients
 * and are at most `limits.idLengthMax` long.
 */
export function hashString(s: string): number {
  let h = 0x811c9dc5 | 0;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 2 || 1;
}
