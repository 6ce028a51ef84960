/**
 * The CLI's building blocks, for packages that add commands to `bourse`
 * (`@bourse/sim` adds `sim`): the runner, the option tables' types and value
 * parsers. Imported as `@bourse/node/cli`.
 */
export { commands, main, rootCommand } from "./main.js";
export { choice, exitCodes, leafCommand, listOf, positiveInt, UsageError, type Command, type OptionSpec, type Parsed } from "./options.js";
