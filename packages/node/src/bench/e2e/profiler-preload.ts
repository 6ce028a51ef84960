/**
 * Loaded into a `bourse node` process with `node --import <this file>` (through
 * NODE_OPTIONS, see ./node-profiling.ts) when BOURSE_PROFILE_DIR is set: the
 * first SIGUSR2 starts the V8 CPU profiler in-process (node:inspector), the
 * next one stops it and writes `<dir>/<node id>.cpuprofile` (the format of
 * `node --cpu-prof`, readable by Chrome DevTools and speedscope). Unlike
 * --cpu-prof, which covers a process's whole life, this profiles exactly the
 * benchmark step in between. Nothing else of the node changes.
 */
import { Session } from "node:inspector";
import { renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const dir = process.env["BOURSE_PROFILE_DIR"];
const intervalUs = Number(process.env["BOURSE_PROFILE_INTERVAL_US"] ?? "500");

function nodeId(): string {
  const i = process.argv.indexOf("--id");
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : String(process.pid);
}

if (dir !== undefined && dir !== "") {
  let session: Session | undefined;
  process.on("SIGUSR2", () => {
    if (session === undefined) {
      const s = new Session();
      s.connect();
      session = s;
      s.post("Profiler.enable", () => s.post("Profiler.setSamplingInterval", { interval: intervalUs }, () => s.post("Profiler.start")));
      return;
    }
    const s = session;
    session = undefined;
    s.post("Profiler.stop", (err, r) => {
      s.disconnect();
      if (err !== null) {
        process.stderr.write(`profiler: ${err.message}\n`);
        return;
      }
      const file = join(dir, `${nodeId()}.cpuprofile`);
      // Written whole, then renamed: a reader polling for the file never sees half of it.
      writeFileSync(`${file}.tmp`, JSON.stringify(r.profile));
      renameSync(`${file}.tmp`, file);
    });
  });
}
