import { DocumentError } from '../../functions/formats/types.ts';
import { UsageError } from './errors.ts';

/** A subcommand: its one-line summary, its usage text and a lazy loader (so `parse` never loads the AWS SDK). */
interface Command {
  summary: string;
  usage: string;
  run: () => Promise<(args: string[]) => Promise<number>>;
}

const COMMANDS: Record<string, Command> = {
  parse: {
    summary: 'parse a feed document into normalized indicators (NDJSON on stdout)',
    usage:
      'cti-ingest parse FILE [--format auto|stix|misp|misp-feed|csv|json|xml|rss|text] [--preset NAME] [--feed-config F] [--feed ID] [--quarantine FILE]',
    run: async () => (await import('./parse.ts')).runParse,
  },
};

const HELP = `cti-ingest — threat-intelligence ingestion pipeline

Usage: cti-ingest <command> [options]

Commands:
${Object.entries(COMMANDS)
  .map(([name, c]) => `  ${name.padEnd(8)} ${c.summary}\n           ${c.usage}`)
  .join('\n')}

Run 'cti-ingest <command> --help' for a command's options.
`;

/** Run the CLI; resolves to the process exit code. */
export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(HELP);
    return name === undefined ? 2 : 0;
  }
  const command = COMMANDS[name];
  if (!command) {
    process.stderr.write(
      `cti-ingest: unknown command '${name}'. Commands: ${Object.keys(COMMANDS).join(', ')}\n`,
    );
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(`Usage: ${command.usage}\n`);
    return 0;
  }
  try {
    const run = await command.run();
    return await run(rest);
  } catch (error) {
    if (error instanceof UsageError || error instanceof DocumentError) {
      process.stderr.write(`cti-ingest ${name}: ${error.message}\n`);
      return 2;
    }
    throw error;
  }
}
