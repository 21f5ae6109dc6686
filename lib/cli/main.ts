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
  taxii: {
    summary: 'pull a TAXII 2.1 collection into a STIX 2.1 bundle, resumable with --state',
    usage:
      'cti-ingest taxii pull API_ROOT_URL --collection ID [--added-after T] [--user U --password P | --token T] [--state FILE] [--out FILE]',
    run: async () => (await import('./taxii.ts')).runTaxii,
  },
  local: {
    summary:
      'run the whole pipeline on this machine (emulators), ingest the samples, serve the API (npm start)',
    usage:
      'cti-ingest local [--once] [--port 3000] [--api-key KEY] [--profile P] [--feeds FILE] [--template DIR] [-c key=value]… [--data-dir DIR] [--endpoint URL] [--secrets FILE] [--pull-now] [--timeout SECONDS]',
    run: async () => (await import('./local.ts')).runLocal,
  },
  keys: {
    summary: 'create, rotate, revoke and list API keys of a deployed stack or a local runtime (operator key)',
    usage:
      'cti-ingest keys create|rotate|revoke|list --endpoint URL --api-key OPERATOR_KEY [--feed ID]… [--role provider|reader|operator] [--tlp LEVEL] [--key-id ID]',
    run: async () => (await import('./keys.ts')).runKeys,
  },
  indicators: {
    summary: 'print the indicators a key may see as a table (or NDJSON), with the filters of GET /indicators',
    usage:
      'cti-ingest indicators [--type T] [--since T] [--on received|seen] [--feed ID] [--min-confidence N] [--tlp LEVEL] [--label L] [--name N] [--revoked true|false] [--active true|false] [--limit 50] [--value V]… [--json] --endpoint URL --api-key KEY',
    run: async () => (await import('./indicators.ts')).runIndicators,
  },
  redrive: {
    summary: "move a stage's dead-letter queue back to its source (operator key)",
    usage: 'cti-ingest redrive --queue validate|dedup|load|extract --endpoint URL --api-key OPERATOR_KEY',
    run: async () => (await import('./redrive.ts')).runRedrive,
  },
  replay: {
    summary: 'replay a document or a feed from the raw archive, each under a new document id (operator key)',
    usage: 'cti-ingest replay --document ID | --feed ID [--since T] --endpoint URL --api-key OPERATOR_KEY',
    run: async () => (await import('./replay.ts')).runReplay,
  },
  quarantine: {
    summary: 'list, show, release or discard quarantined records (operator key)',
    usage:
      'cti-ingest quarantine list [--document ID] [--feed ID] [--stage S] [--reason TEXT] | show ID | release ID… --note WHY | discard ID… --note WHY — with --endpoint URL --api-key OPERATOR_KEY',
    run: async () => (await import('./quarantine.ts')).runQuarantine,
  },
  push: {
    summary: 'push documents to the ingest API, the content type from each file format',
    usage: 'cti-ingest push FILE… --endpoint URL --api-key KEY [--feed ID]',
    run: async () => (await import('./push.ts')).runPush,
  },
  bench: {
    summary: 'measure per-stage indicators/s on one core and the end-to-end rate (npm run bench)',
    usage: 'cti-ingest bench [--json] [--quick] [--check]',
    run: async () => (await import('./bench.ts')).runBench,
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
