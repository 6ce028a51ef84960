/**
 * The bourse CLI: walks the command tree with the words of argv, parses the
 * leaf's flags against its option table, and runs it. Each command lives in its
 * own file and is registered once, in `commands` below; --help and the markdown
 * reference are generated from the same tables.
 */
import { bench } from "./bench.js";
import { devCommand } from "./dev.js";
import { nodeCommand } from "./node-command.js";
import { send } from "./send.js";
import { statusCommand } from "./status.js";
import { verifyCommand } from "./verify.js";
import {
  exitCodes,
  globalOptions,
  parseOptions,
  renderGroupHelp,
  renderLeafHelp,
  renderMarkdown,
  UsageError,
  type Command,
} from "./options.js";

/** Every command, in the order help lists them. (sim comes from @bourse/sim.) */
export const commands: readonly Command[] = [devCommand, nodeCommand, statusCommand, verifyCommand, bench, send];

/** The command tree: these commands, then `extra` (packages that build on the node add theirs: `bourse sim`). */
export function rootCommand(extra: readonly Command[] = []): Command {
  return { name: "bourse", summary: "Bourse: an actor-model order engine on NATS JetStream", subcommands: [...commands, ...extra] };
}

/** Runs the CLI on `argv` (without node and the script); resolves with the exit code. */
export async function main(argv: readonly string[], extra: readonly Command[] = []): Promise<number> {
  try {
    return await dispatch(rootCommand(extra), argv);
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`bourse: ${e.message}\n`);
      return exitCodes.usage;
    }
    process.stderr.write(`bourse: internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    return exitCodes.internal;
  }
}

async function dispatch(root: Command, argv: readonly string[]): Promise<number> {
  let node = root;
  let path = root.name;
  let i = 0;
  while (node.subcommands !== undefined) {
    const word = argv[i];
    if (word === undefined || word.startsWith("-")) return groupFlags(root, node, path, argv.slice(i));
    const next = node.subcommands.find((c) => c.name === word);
    if (next === undefined) {
      const known = node.subcommands.map((c) => c.name).join(", ");
      throw new UsageError(`unknown command "${word}" for ${path}; expected one of ${known} (see ${path} --help)`);
    }
    node = next;
    path = `${path} ${word}`;
    i++;
  }
  const values = parseOptions(path, node.options ?? [], argv.slice(i));
  if (values.help) {
    process.stdout.write(renderLeafHelp(path, node));
    return exitCodes.ok;
  }
  if (node.run === undefined) throw new Error(`command ${path} has neither subcommands nor run`);
  return node.run(values);
}

/** A group given flags or nothing: --help (at the top also --help --markdown), else a usage error. */
function groupFlags(root: Command, node: Command, path: string, argv: readonly string[]): number {
  const options = node === root ? globalOptions : [];
  const values = parseOptions(path, options, argv) as { help: boolean; markdown?: boolean };
  if (values.markdown === true && !values.help) throw new UsageError(`--markdown only goes with --help (see ${path} --help)`);
  if (values.help) {
    process.stdout.write(values.markdown === true ? renderMarkdown(root) : renderGroupHelp(path, node, options));
    return exitCodes.ok;
  }
  const known = (node.subcommands ?? []).map((c) => c.name).join(", ");
  throw new UsageError(`missing command for ${path}; expected one of ${known} (see ${path} --help)`);
}
