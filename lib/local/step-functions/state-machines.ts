import { randomUUID } from 'node:crypto';
import { StateMachine } from 'aws-local-stepfunctions';
import { z } from 'zod';
import { FunctionError, type FunctionHost, FunctionTimeoutError } from '../lambda/function-host.ts';
import type { Resolver } from '../template/intrinsics.ts';
import { parseProperties, resourcesOfType, type Template, TemplateError } from '../template/template.ts';

type JSONValue = Parameters<StateMachine['run']>[0];

// aws-local-stepfunctions 3 calls Promise.withResolvers (Node 22); Node 20 lacks it.
if (typeof (Promise as { withResolvers?: unknown }).withResolvers !== 'function') {
  Object.defineProperty(Promise, 'withResolvers', {
    configurable: true,
    value: <T>() => {
      let resolve!: (value: T | PromiseLike<T>) => void;
      let reject!: (reason?: unknown) => void;
      const promise = new Promise<T>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      return { promise, resolve, reject };
    },
  });
}

const StateMachineSchema = z
  .object({
    DefinitionString: z.string().optional(),
    Definition: z.record(z.string(), z.unknown()).optional(),
    DefinitionSubstitutions: z.record(z.string(), z.unknown()).default({}),
    StateMachineName: z.string().optional(),
  })
  .loose();

/** A metric a state machine publishes (its `cloudwatch:putMetricData` tasks), kept locally. */
export interface PublishedMetric {
  stateMachine: string;
  namespace: string;
  data: unknown;
  at: string;
}

export interface ExecutionRecord {
  executionArn: string;
  stateMachineArn: string;
  input: unknown;
  startedAt: string;
  status: 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'ABORTED';
  error?: string;
  states: string[];
}

export interface StateMachineOptions {
  /** Retry intervals of every Task state set to 0 (tests); the definition's own otherwise. */
  immediateRetries?: boolean;
  onMetric?: (metric: PublishedMetric) => void;
  log?: (message: string) => void;
}

interface TaskState {
  Type: 'Task';
  Resource: string;
}

/**
 * An AWS::StepFunctions::StateMachine of the template, run by aws-local-stepfunctions: the definition with
 * its DefinitionSubstitutions resolved, every Task state mapped by its Resource — `lambda:invoke` and plain
 * function ARNs to the local functions (errors keep the function's error name, so Retry and Catch match as
 * in AWS), `aws-sdk:cloudwatch:putMetricData` to a local metrics sink. A Task resource the runtime cannot
 * run is a TemplateError at start-up.
 */
export class LocalStateMachine {
  readonly executions: ExecutionRecord[] = [];
  private readonly machine: StateMachine;
  private readonly handlers: Record<string, (input: JSONValue) => Promise<JSONValue>> = {};
  private readonly running = new Set<{ abort: () => void; done: Promise<unknown> }>();

  constructor(
    readonly logicalId: string,
    readonly arn: string,
    definition: Record<string, unknown>,
    functions: ReadonlyMap<string, FunctionHost>,
    private readonly options: StateMachineOptions = {},
  ) {
    const states = (definition['States'] ?? {}) as Record<string, { Type?: string; Resource?: string }>;
    const findFunction = (nameOrArn: string): FunctionHost | undefined => {
      // arn:aws:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER] — a qualifier (alias, version) is dropped.
      const parts = nameOrArn.split(':');
      const base = parts.length === 8 ? parts.slice(0, 7).join(':') : nameOrArn;
      return [...functions.values()].find((f) => f.definition.arn === base || f.definition.name === base);
    };
    for (const [name, state] of allTaskStates(states)) {
      const resource = state.Resource;
      if (resource === 'arn:aws:states:::lambda:invoke') {
        this.handlers[name] = async (input) => {
          const { FunctionName, Payload } = input as { FunctionName?: string; Payload?: unknown };
          const host = FunctionName ? findFunction(FunctionName) : undefined;
          if (!host)
            throw taskError('Lambda.ResourceNotFoundException', `${name}: no function ${FunctionName}`);
          return { Payload: (await invokeTask(host, Payload ?? {})) as JSONValue, StatusCode: 200 };
        };
      } else if (/^arn:aws:lambda:/.test(resource)) {
        const host = findFunction(resource);
        if (!host) throw new TemplateError(`${logicalId}: Task ${name} names ${resource}, no local function`);
        this.handlers[name] = async (input) => (await invokeTask(host, input)) as JSONValue;
      } else if (resource === 'arn:aws:states:::aws-sdk:cloudwatch:putMetricData') {
        this.handlers[name] = async (input) => {
          const { Namespace, MetricData } = input as { Namespace?: string; MetricData?: unknown };
          this.options.onMetric?.({
            stateMachine: logicalId,
            namespace: Namespace ?? '',
            data: MetricData,
            at: new Date().toISOString(),
          });
          return {};
        };
      } else {
        throw new TemplateError(
          `${logicalId}: Task state ${name} uses ${resource}, which the local runtime cannot run`,
        );
      }
    }
    this.machine = new StateMachine(definition as never);
  }

  /** Start an execution; resolves with its record once it ends (never rejects). */
  start(input: unknown): { executionArn: string; done: Promise<ExecutionRecord> } {
    const executionArn = `${this.arn.replace(':stateMachine:', ':execution:')}:${randomUUID()}`;
    const record: ExecutionRecord = {
      executionArn,
      stateMachineArn: this.arn,
      input,
      startedAt: new Date().toISOString(),
      status: 'RUNNING',
      states: [],
    };
    this.executions.push(record);
    if (this.executions.length > 100) this.executions.shift();
    const execution = this.machine.run(input as JSONValue, {
      overrides: {
        taskResourceLocalHandlers: this.handlers,
        ...(this.options.immediateRetries
          ? { retryIntervalOverrides: Object.fromEntries(Object.keys(this.handlers).map((k) => [k, 0])) }
          : {}),
      },
    });
    const events = (async () => {
      for await (const event of execution.eventLogs)
        if (event.type === 'StateEntered') record.states.push(event.state.name);
    })();
    const done = execution.result
      .then(
        () => {
          record.status = 'SUCCEEDED';
        },
        (error: unknown) => {
          record.status = (error as Error).name === 'ExecutionAbortedError' ? 'ABORTED' : 'FAILED';
          record.error = `${(error as Error).name}: ${(error as Error).message}`;
          this.options.log?.(`[${this.logicalId}] execution failed: ${record.error}`);
        },
      )
      .then(() => events)
      .then(() => record);
    const handle = { abort: () => execution.abort(), done };
    this.running.add(handle);
    void done.finally(() => this.running.delete(handle));
    return { executionArn, done };
  }

  async stop(): Promise<void> {
    for (const handle of this.running) handle.abort();
    await Promise.allSettled([...this.running].map((h) => h.done));
  }
}

/** Every Task state, including those inside Parallel branches and Map iterators. */
function allTaskStates(states: Record<string, unknown>): [string, TaskState][] {
  const out: [string, TaskState][] = [];
  for (const [name, state] of Object.entries(states)) {
    const s = state as {
      Type?: string;
      Resource?: string;
      Branches?: unknown[];
      Iterator?: unknown;
      ItemProcessor?: unknown;
    };
    if (s.Type === 'Task' && typeof s.Resource === 'string') out.push([name, s as TaskState]);
    for (const branch of [...(s.Branches ?? []), s.Iterator, s.ItemProcessor])
      if (branch && typeof branch === 'object' && 'States' in branch)
        out.push(...allTaskStates((branch as { States: Record<string, unknown> }).States));
  }
  return out;
}

async function invokeTask(host: FunctionHost, payload: unknown): Promise<unknown> {
  try {
    return await host.invoke(payload);
  } catch (error) {
    if (error instanceof FunctionTimeoutError) throw taskError('Sandbox.Timedout', error.message);
    if (error instanceof FunctionError) throw taskError(error.name, error.message);
    throw taskError('Lambda.ServiceException', (error as Error).message);
  }
}

function taskError(name: string, message: string): Error {
  const error = new Error(message);
  error.name = name;
  return error;
}

/** The template's state machines, definitions resolved. */
export function stateMachines(
  template: Template,
  resolver: Resolver,
  functions: ReadonlyMap<string, FunctionHost>,
  options: StateMachineOptions,
): LocalStateMachine[] {
  return resourcesOfType(template, 'AWS::StepFunctions::StateMachine').map(([id, resource]) => {
    const props = parseProperties(
      StateMachineSchema,
      id,
      resource.Type,
      resolver.resolve(resource.Properties, id),
    );
    let text = props.DefinitionString ?? JSON.stringify(props.Definition ?? {});
    for (const [name, value] of Object.entries(props.DefinitionSubstitutions))
      text = text.split(`\${${name}}`).join(String(value));
    let definition: Record<string, unknown>;
    try {
      definition = JSON.parse(text) as Record<string, unknown>;
    } catch (error) {
      throw new TemplateError(`${id}: the definition is not JSON: ${(error as Error).message}`);
    }
    const arn = resolver.resolveString({ Ref: id }, id);
    return new LocalStateMachine(id, arn, definition, functions, options);
  });
}
