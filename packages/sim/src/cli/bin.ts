/** The `bourse` CLI with the simulation's commands added (`bourse sim`). */
import { main } from "@bourse/node/cli";
import { simCommand } from "./sim-command.js";

process.exitCode = await main(process.argv.slice(2), [simCommand]);
