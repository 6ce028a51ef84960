import { test } from "uvu";
import * as assert from "uvu/assert";
import type { EngineEvent } from "@bourse/engine";
import type { BourseClientError } from "../src/client/errors.js";
import type { OutEnd, OutMessage, OutReader } from "../src/client/out-reader.js";
import { ReportStream, type ReportMeta } from "../src/client/report-stream.js";
import type { Report } from "../src/client/wire.js";

/** BOURSE_OUT of one partition in memory; `failNext` makes the next reads throw. */
class MemoryOut implements OutReader {
  readonly batches: OutMessage[] = [];
  reads = 0;
  failNext = 0;
  private seq = 0;
  private streamSeq = 0;

  /** Appends a batch of events, each for `accounts[i]` (null = market data); returns it. */
  append(accounts: (string | null)[]): OutMessage {
    this.streamSeq += 2; // other partitions' messages sit in between
    const events = accounts.map((a) => event(++this.seq, a));
    const m = { streamSeq: this.streamSeq, firstSeq: events[0]!.seq, lastSeq: this.seq, events };
    this.batches.push(m);
    return m;
  }

  async next(_p: number, from: number): Promise<OutMessage | null> {
    this.reads++;
    if (this.failNext > 0) {
      this.failNext--;
      throw new Error("read failed");
    }
    return this.batches.find((b) => b.streamSeq >= from) ?? null;
  }

  async end(): Promise<OutEnd> {
    const last = this.batches.at(-1);
    return { streamSeq: last?.streamSeq ?? 0, lastSeq: last?.lastSeq ?? 0 };
  }
}

// The stream's retry backoff uses unref'd timers (a live NATS connection keeps a real client's process up):
// here nothing else would, so hold the event loop open while the tests run.
const keepAlive = setInterval(() => {}, 1_000);
test.after(() => clearInterval(keepAlive));

function event(seq: number, account: string | null): EngineEvent {
  const h = { partition: 0, seq, inSeq: seq, ts: 0 };
  return account === null
    ? { ...h, type: "l2", market: "M", side: "buy", price: 1, qty: 1 }
    : { ...h, type: "expired", account, market: "M", orderId: seq, remaining: 1 };
}

/** The report the node would send `account` for batch `m`. */
function report(m: OutMessage, account: string, prevSeq: number): Report {
  const events = m.events.filter((e) => "account" in e && e.account === account);
  return { partition: 0, streamSeq: m.streamSeq, firstSeq: m.firstSeq, lastSeq: m.lastSeq, prevSeq, events };
}

function setup(out: MemoryOut) {
  const seen: { seq: number; meta: ReportMeta }[] = [];
  const errors: BourseClientError[] = [];
  const stream = new ReportStream("me", out, { attemptsMax: 3, backoffMsBase: 1, messagesMax: 1000 }, (e, meta) => seen.push({ seq: e.seq, meta }), (e) => errors.push(e));
  return { stream, seen, errors, seqs: () => seen.map((s) => s.seq) };
}

test("a chain of reports with matching prevSeq never reads the stream", async () => {
  const out = new MemoryOut();
  const { stream, errors, seqs } = setup(out);
  const a = out.append(["me", null]);
  const b = out.append(["other", "me"]);
  stream.push(report(a, "me", 0));
  stream.push(report(b, "me", 1));
  await stream.idle();
  assert.equal(seqs(), [1, 4]);
  assert.is(out.reads, 0);
  assert.equal(errors, []);
});

test("a failed read is retried; the gap is delivered once, in order", async () => {
  const out = new MemoryOut();
  const { stream, errors, seen } = setup(out);
  const a = out.append(["me"]);
  out.append(["me", "other"]); // report lost
  const c = out.append(["me"]);
  stream.push(report(a, "me", 0));
  out.failNext = 2;
  stream.push(report(c, "me", 2));
  stream.push(report(c, "me", 2)); // a re-sent report changes nothing
  await stream.idle();
  assert.equal(seen.map((s) => [s.seq, s.meta.recovered]), [[1, false], [2, true], [4, false]]);
  assert.equal(errors, []);
});

test("a gap that cannot be read is reported once; the report's own events still arrive and the next report continues", async () => {
  const out = new MemoryOut();
  const { stream, errors, seqs } = setup(out);
  const a = out.append(["me"]);
  out.append(["me"]); // lost, and unreadable below
  const c = out.append(["me"]);
  const d = out.append(["me"]);
  stream.push(report(a, "me", 0));
  out.failNext = 3;
  stream.push(report(c, "me", 2));
  stream.push(report(d, "me", 3));
  await stream.idle();
  assert.equal(seqs(), [1, 3, 4]);
  assert.is(errors.length, 1);
  assert.is(errors[0]!.code, "report_gap");
  assert.match(errors[0]!.message, /after sequence 1 may be missing/);
});

test("prevSeq -1 (after a takeover) reads what lies between, and only that", async () => {
  const out = new MemoryOut();
  const { stream, seqs } = setup(out);
  const a = out.append(["me"]);
  out.append(["other"]);
  const c = out.append(["me"]);
  stream.push(report(a, "me", 0));
  stream.push(report(c, "me", -1));
  await stream.idle();
  assert.equal(seqs(), [1, 3]);
  assert.is(out.reads, 2, "the message in between, then the report's own (which ends the read)");
});

test("catchUp from a baseline finds events whose report never came, and never delivers them twice", async () => {
  const out = new MemoryOut();
  const { stream, seqs } = setup(out);
  out.append(["me"]); // before the baseline: not ours to deliver
  await stream.markBaseline(0);
  const b = out.append(["me", null]); // report lost
  await stream.catchUp(0);
  assert.equal(seqs(), [2]);
  const c = out.append(["me"]);
  stream.push(report(c, "me", 2));
  stream.push(report(b, "me", 1)); // a late report of an old batch
  await stream.catchUp(0);
  await stream.idle();
  assert.equal(seqs(), [2, 4]);
});

test("the first report after the client's first command reads back from the baseline only when prevSeq is past it or -1", async () => {
  // prevSeq past the baseline: the account's earlier report (after the baseline) was lost.
  {
    const out = new MemoryOut();
    const { stream, seen, errors } = setup(out);
    out.append(["me", null]); // before the client's first command
    await stream.markBaseline(0);
    out.append(["me"]); // its first command: report lost
    const c = out.append(["other", "me"]);
    stream.push(report(c, "me", 3));
    await stream.idle();
    assert.equal(seen.map((s) => [s.seq, s.meta.recovered]), [[3, true], [5, false]]);
    assert.equal(errors, []);
  }
  // prevSeq within the baseline: the previous event is from before the client's first command; nothing to read.
  {
    const out = new MemoryOut();
    const { stream, seqs } = setup(out);
    out.append(["me"]);
    out.append([null]);
    await stream.markBaseline(0);
    out.append(["other"]);
    const d = out.append(["me"]);
    stream.push(report(d, "me", 1));
    await stream.idle();
    assert.equal(seqs(), [4]);
    assert.is(out.reads, 0);
  }
  // prevSeq -1 (first report after a takeover): read; a late report of the earlier batch changes nothing.
  {
    const out = new MemoryOut();
    const { stream, seqs } = setup(out);
    await stream.markBaseline(0);
    const a = out.append(["me"]); // its report is late (a paused former owner)
    const b = out.append(["me"]);
    stream.push(report(b, "me", -1));
    stream.push(report(a, "me", 0));
    await stream.idle();
    assert.equal(seqs(), [1, 2]);
  }
});

test("after close nothing more is delivered", async () => {
  const out = new MemoryOut();
  const { stream, seqs } = setup(out);
  const a = out.append(["me"]);
  stream.close();
  stream.push(report(a, "me", 0));
  await stream.idle();
  assert.equal(seqs(), []);
});

test.run();
