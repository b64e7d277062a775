import type { Command } from 'commander';
import type { CliContext } from '../context.js';

/** A group of `coffer` commands. cli/main.ts lists the groups; adding one is a one-line change there. */
export type CommandGroup = (program: Command, ctx: CliContext) => void;
