/**
 * The feed-pull state machine in Amazon States Language, built once: the stack deploys it (with
 * `definitionSubstitutions` filling the placeholders) and the local runtime and tests run the very same
 * definition with aws-local-stepfunctions, mapping each Task state to an in-process function.
 *
 * Input (from the schedule): `{ "feed": <FeedConfig> }`. Every Task calls the feed-pull function with an
 * `action`: `load` reads the saved cursor, `pull` fetches one page and hands its documents to intake (archive +
 * ledger + raw stream, exactly as pushed documents), `save` stores the page's cursor — only after the page
 * was handed off, so a crash between the two re-pulls a page (dedup absorbs the repeat) and never skips
 * one. A pull that saved progress but left work failed (`failed: true`) ends in the failure path too.
 */

/** Placeholders filled by `definitionSubstitutions` in AWS and by `resolveDefinition` locally. */
export const FEED_PULL_SUBSTITUTIONS = {
  functionArn: 'FeedPullFunctionArn',
  metricNamespace: 'MetricNamespace',
} as const;

/** State names, for overriding Task states locally and for tests. */
export const FEED_PULL_STATES = {
  load: 'LoadCursor',
  pull: 'PullPage',
  save: 'SaveCursor',
  more: 'MorePages',
  next: 'NextPage',
  recordFailure: 'RecordFailure',
  failed: 'PullFailed',
  done: 'Done',
} as const;

/** The metric the Catch path emits (dimension FeedId); the stack alarms on it. */
export const FEED_PULL_FAILED_METRIC = 'FeedPullFailed';

/** A page loop longer than this stops (the next scheduled run resumes from the saved cursor). */
export const MAX_PAGES_PER_RUN = 500;

const placeholder = (name: string) => `\${${name}}`;

/** Errors the Lambda service raises on its own (throttles, cold-start failures): always worth a retry. */
const LAMBDA_TRANSIENT = [
  'Lambda.ServiceException',
  'Lambda.AWSLambdaException',
  'Lambda.SdkClientException',
  'Lambda.TooManyRequestsException',
];

/**
 * A permanent problem (bad config, 4xx from the source, a refused address): retrying cannot help.
 * functions/feed-pull throws errors with this name.
 */
export const PERMANENT_ERROR = 'FeedPullPermanentError';

const RETRY = [
  { ErrorEquals: [PERMANENT_ERROR], MaxAttempts: 0 },
  {
    ErrorEquals: LAMBDA_TRANSIENT,
    IntervalSeconds: 2,
    MaxAttempts: 6,
    BackoffRate: 2,
    JitterStrategy: 'FULL',
  },
  {
    ErrorEquals: ['States.ALL'],
    IntervalSeconds: 10,
    MaxAttempts: 3,
    BackoffRate: 3,
    JitterStrategy: 'FULL',
  },
];

const CATCH = [{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: FEED_PULL_STATES.recordFailure }];

function invoke(payload: Record<string, unknown>, resultSelector: Record<string, unknown> | undefined) {
  return {
    Type: 'Task',
    Resource: 'arn:aws:states:::lambda:invoke',
    Parameters: { FunctionName: placeholder(FEED_PULL_SUBSTITUTIONS.functionArn), Payload: payload },
    ...(resultSelector ? { ResultSelector: resultSelector } : {}),
    TimeoutSeconds: 360,
    Retry: RETRY,
    Catch: CATCH,
  };
}

export type AslDefinition = Record<string, unknown> & { StartAt: string; States: Record<string, unknown> };

/** The definition with `${FeedPullFunctionArn}` and `${MetricNamespace}` placeholders. */
export function feedPullDefinition(): AslDefinition {
  const S = FEED_PULL_STATES;
  return {
    Comment:
      'Pull one feed: load its cursor, pull a page, hand it off, save the cursor, loop while more pages.',
    StartAt: S.load,
    TimeoutSeconds: 6 * 3600,
    States: {
      [S.load]: {
        ...invoke({ action: 'load', 'feed.$': '$.feed' }, { 'cursor.$': '$.Payload.cursor', pages: 0 }),
        ResultPath: '$.state',
        Next: S.pull,
      },
      [S.pull]: {
        ...invoke(
          { action: 'pull', 'feed.$': '$.feed', 'cursor.$': '$.state.cursor', 'pages.$': '$.state.pages' },
          {
            'cursor.$': '$.Payload.cursor',
            'more.$': '$.Payload.more',
            'pages.$': '$.Payload.pages',
            'accepted.$': '$.Payload.accepted',
            'failed.$': '$.Payload.failed',
          },
        ),
        ResultPath: '$.page',
        Next: S.save,
      },
      [S.save]: {
        ...invoke({ action: 'save', 'feed.$': '$.feed', 'cursor.$': '$.page.cursor' }, undefined),
        ResultPath: null,
        Next: S.more,
      },
      [S.more]: {
        Type: 'Choice',
        Choices: [
          // Progress was saved, but part of the pull failed (MISP events left to retry): alarm.
          { Variable: '$.page.failed', BooleanEquals: true, Next: S.recordFailure },
          {
            And: [
              { Variable: '$.page.more', BooleanEquals: true },
              { Variable: '$.page.pages', NumericLessThan: MAX_PAGES_PER_RUN },
            ],
            Next: S.next,
          },
        ],
        Default: S.done,
      },
      [S.next]: {
        Type: 'Pass',
        Parameters: {
          'feed.$': '$.feed',
          state: { 'cursor.$': '$.page.cursor', 'pages.$': '$.page.pages' },
        },
        Next: S.pull,
      },
      [S.done]: {
        Type: 'Succeed',
      },
      [S.recordFailure]: {
        Type: 'Task',
        Resource: 'arn:aws:states:::aws-sdk:cloudwatch:putMetricData',
        Parameters: {
          Namespace: placeholder(FEED_PULL_SUBSTITUTIONS.metricNamespace),
          MetricData: [
            {
              MetricName: FEED_PULL_FAILED_METRIC,
              Dimensions: [{ Name: 'FeedId', 'Value.$': '$.feed.id' }],
              Unit: 'Count',
              Value: 1,
            },
          ],
        },
        ResultPath: null,
        Retry: [{ ErrorEquals: ['States.ALL'], IntervalSeconds: 1, MaxAttempts: 3, BackoffRate: 2 }],
        Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: null, Next: S.failed }],
        Next: S.failed,
      },
      [S.failed]: {
        Type: 'Fail',
        Error: 'FeedPullFailed',
        Cause: 'The feed pull failed after its retries; see the execution history for the error.',
      },
    },
  };
}

/** The definition with its placeholders replaced (locally, or to validate it). */
export function resolveDefinition(
  definition: AslDefinition,
  values: Record<(typeof FEED_PULL_SUBSTITUTIONS)[keyof typeof FEED_PULL_SUBSTITUTIONS], string>,
): AslDefinition {
  let text = JSON.stringify(definition);
  for (const [name, value] of Object.entries(values)) text = text.split(placeholder(name)).join(value);
  return JSON.parse(text) as AslDefinition;
}
