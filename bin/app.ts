import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { ConfigError, configFromContext } from '../lib/infra/config.ts';
import { IngestionStack } from '../lib/infra/ingestion-stack.ts';

const app = new App();
try {
  const config = configFromContext(app.node.getAllContext());
  new IngestionStack(app, 'CtiIngest', {
    config,
    projectRoot: resolve(dirname(fileURLToPath(import.meta.url)), '..'),
    ...environment(),
    description: `cti-ingest threat-intelligence ingestion pipeline (profile ${config.profile.name})`,
  });
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  process.stderr.write(`cti-ingest: invalid configuration: ${error.message}\n`);
  process.exit(1);
}
// cdk-nag: any unacknowledged finding stops synthesis (acknowledgements sit beside the resources, with reasons).
Validations.of(app).addPlugins(
  new AwsSolutionsChecks(app, { verbose: true }),
  new ServerlessChecks(app, { verbose: true }),
);

/** The account and region of the CLI's credentials when there are any (synth needs neither). */
function environment(): { env?: { account: string; region: string } } {
  const account = process.env['CDK_DEFAULT_ACCOUNT'];
  const region = process.env['CDK_DEFAULT_REGION'];
  return account && region ? { env: { account, region } } : {};
}
