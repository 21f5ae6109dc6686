// biome-ignore-all lint/suspicious/noTemplateCurlyInString: CloudFormation Fn::Sub strings, not JavaScript templates
/**
 * The template layer of the local runtime: CloudFormation's intrinsics resolved to local names, URLs and
 * ARNs, and what the runtime cannot run refused at start-up, naming it — never skipped.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startStackRuntime } from '../../lib/local/stack-runtime.ts';
import type { CloudAssembly } from '../../lib/local/template/assembly.ts';
import { Resolver } from '../../lib/local/template/intrinsics.ts';
import {
  parseTemplate,
  type Template,
  TemplateError,
  TemplateSchema,
} from '../../lib/local/template/template.ts';

const PSEUDO = { region: 'eu-west-1', accountId: '123456789012', stackName: 'TestStack' };
const QUEUE_ARN = 'arn:aws:sqs:eu-west-1:123456789012:test-queue';
const QUEUE_URL = 'http://127.0.0.1:1/123456789012/test-queue';

function template(input: Record<string, unknown>): Template {
  return TemplateSchema.parse(input);
}

function resolverWithQueue(extra: Record<string, unknown> = {}): Resolver {
  const resolver = new Resolver(
    template({
      Parameters: { Stage: { Type: 'String', Default: 'prod' }, Required: { Type: 'String' } },
      Conditions: {
        IsProd: { 'Fn::Equals': [{ Ref: 'Stage' }, 'prod'] },
        IsNotProd: { 'Fn::Not': [{ Condition: 'IsProd' }] },
        Both: { 'Fn::And': [{ Condition: 'IsProd' }, { 'Fn::Equals': ['a', 'a'] }] },
      },
      Resources: {
        Queue: { Type: 'AWS::SQS::Queue' },
        Pending: { Type: 'AWS::SNS::Topic' },
        ...extra,
      },
    }),
    PSEUDO,
  );
  resolver.define('Queue', { ref: QUEUE_URL, attributes: { Arn: QUEUE_ARN, QueueName: 'test-queue' } });
  return resolver;
}

describe('Resolver: intrinsics to local values', () => {
  it.each([
    ['Ref to a resource', { Ref: 'Queue' }, QUEUE_URL],
    ['Ref to a parameter default', { Ref: 'Stage' }, 'prod'],
    ['Ref AWS::Region', { Ref: 'AWS::Region' }, 'eu-west-1'],
    ['Ref AWS::AccountId', { Ref: 'AWS::AccountId' }, '123456789012'],
    ['Ref AWS::StackName', { Ref: 'AWS::StackName' }, 'TestStack'],
    ['Ref AWS::Partition', { Ref: 'AWS::Partition' }, 'aws'],
    ['Fn::GetAtt as a list', { 'Fn::GetAtt': ['Queue', 'Arn'] }, QUEUE_ARN],
    ['Fn::GetAtt as a dotted string', { 'Fn::GetAtt': 'Queue.QueueName' }, 'test-queue'],
    [
      'Fn::Join over nested intrinsics',
      { 'Fn::Join': [':', ['arn', { Ref: 'AWS::Partition' }, { 'Fn::GetAtt': ['Queue', 'QueueName'] }]] },
      'arn:aws:test-queue',
    ],
    [
      'Fn::Sub with pseudo parameters, attributes and a literal ${!…}',
      { 'Fn::Sub': '${AWS::Region}/${Queue.Arn}/${!Literal}' },
      `eu-west-1/${QUEUE_ARN}/\${Literal}`,
    ],
    [
      'Fn::Sub with its own variables',
      { 'Fn::Sub': ['${Name}-${Stage}', { Name: { 'Fn::GetAtt': ['Queue', 'QueueName'] } }] },
      'test-queue-prod',
    ],
    ['Fn::Select', { 'Fn::Select': [1, ['a', { Ref: 'Stage' }, 'c']] }, 'prod'],
    [
      'Fn::Select over Fn::Split (a queue name from its ARN)',
      { 'Fn::Select': [5, { 'Fn::Split': [':', { 'Fn::GetAtt': ['Queue', 'Arn'] }] }] },
      'test-queue',
    ],
    ['Fn::If on a condition', { 'Fn::If': ['IsProd', 'yes', 'no'] }, 'yes'],
    ['Fn::If on a negated condition', { 'Fn::If': ['IsNotProd', 'yes', 'no'] }, 'no'],
    ['Fn::If on Fn::And', { 'Fn::If': ['Both', 'yes', 'no'] }, 'yes'],
    ['Fn::Base64', { 'Fn::Base64': 'hello' }, 'aGVsbG8='],
  ])('%s', (_name, input, expected) => {
    // Act
    const resolved = resolverWithQueue().resolve(input, 'Test');
    // Assess
    expect(resolved).toEqual(expected);
  });

  it('drops a property or list item that is Ref AWS::NoValue, and resolves inside objects and lists', () => {
    // Act
    const resolved = resolverWithQueue().resolve(
      {
        Keep: { Ref: 'Queue' },
        Drop: { Ref: 'AWS::NoValue' },
        List: ['x', { 'Fn::If': ['IsNotProd', 'y', { Ref: 'AWS::NoValue' }] }],
      },
      'Test',
    );
    // Assess
    expect(resolved).toEqual({ Keep: QUEUE_URL, List: ['x'] });
  });

  it('lists the resources a value references (the dependency graph), not pseudo parameters', () => {
    // Act
    const references = Resolver.references({
      A: { Ref: 'Queue' },
      B: { 'Fn::GetAtt': ['Table', 'Arn'] },
      C: { 'Fn::Sub': ['${Bucket.Arn}/${AWS::Region}/${Own}', { Own: { Ref: 'Stream' } }] },
      D: { Ref: 'AWS::AccountId' },
    });
    // Assess
    expect([...references].sort()).toEqual(['Bucket', 'Queue', 'Stream', 'Table']);
  });

  it.each([
    [
      'an intrinsic the runtime does not know',
      { 'Fn::ImportValue': 'shared-vpc' },
      /Fn::ImportValue is not supported/,
    ],
    ['Fn::FindInMap', { 'Fn::FindInMap': ['Map', 'k', 'v'] }, /Fn::FindInMap is not supported/],
    [
      'a reference to an undeclared resource',
      { Ref: 'Nowhere' },
      /reference to Nowhere, which the template does not declare/,
    ],
    [
      'a resource with no local counterpart yet',
      { Ref: 'Pending' },
      /Pending \(AWS::SNS::Topic\), which has no local counterpart/,
    ],
    [
      'an attribute a resource lacks',
      { 'Fn::GetAtt': ['Queue', 'Missing'] },
      /Queue\.Missing: the local runtime knows Arn, QueueName/,
    ],
    ['a parameter with no default', { Ref: 'Required' }, /parameter Required has no default/],
    ['an unknown condition', { 'Fn::If': ['Nope', 1, 2] }, /unknown condition Nope/],
    ['Fn::Select outside its list', { 'Fn::Select': [3, ['a']] }, /outside the list/],
  ])('refuses %s with a TemplateError naming where it was met', (_name, input, message) => {
    // Act
    const attempt = () => resolverWithQueue().resolve({ Properties: { Field: input } }, 'MyTable');
    // Assess
    expect(attempt).toThrow(TemplateError);
    expect(attempt).toThrow(message);
    expect(attempt).toThrow(/^MyTable\.Properties\.Field/);
  });
});

describe('parseTemplate', () => {
  it('names the source when the text is not JSON or not a template', () => {
    expect(() => parseTemplate('{', 'cdk.out/X.template.json')).toThrow(
      /cdk\.out\/X\.template\.json: not JSON/,
    );
    expect(() => parseTemplate('{"Resources": 3}', 'X.json')).toThrow(
      /X\.json: not a CloudFormation template/,
    );
  });
});

describe('startStackRuntime on a template it cannot run', () => {
  const assembly = (resources: Record<string, unknown>): CloudAssembly => {
    const dir = mkdtempSync(join(tmpdir(), 'cti-template-'));
    return {
      dir,
      stackName: 'TestStack',
      template: template({ Resources: resources }),
      assetDirectory: (id) => {
        throw new TemplateError(`${id}: no asset`);
      },
    };
  };

  it('refuses a resource type it has no local counterpart for, naming it, before starting anything', async () => {
    // Prepare
    const stateDir = mkdtempSync(join(tmpdir(), 'cti-template-state-'));
    // Act
    const started = startStackRuntime({
      assembly: assembly({
        Table: { Type: 'AWS::DynamoDB::Table', Properties: {} },
        Cache: { Type: 'AWS::ElastiCache::CacheCluster', Properties: {} },
      }),
      stateDir,
      port: 0,
      log: () => {},
    });
    // Assess
    await expect(started).rejects.toThrow(TemplateError);
    await expect(started).rejects.toThrow(
      'Cache: resource type AWS::ElastiCache::CacheCluster is not supported by the local runtime',
    );
  });

  it('refuses an unsupported intrinsic in a data store it creates, naming the resource and the property', async () => {
    // Prepare
    const stateDir = mkdtempSync(join(tmpdir(), 'cti-template-state-'));
    // Act
    const started = startStackRuntime({
      assembly: assembly({
        Queue: {
          Type: 'AWS::SQS::Queue',
          Properties: { QueueName: { 'Fn::ImportValue': 'shared-queue-name' } },
        },
      }),
      stateDir,
      port: 0,
      log: () => {},
    });
    // Assess
    await expect(started).rejects.toThrow(
      'Queue (AWS::SQS::Queue).QueueName: the intrinsic Fn::ImportValue is not supported by the local runtime',
    );
  }, 60_000);
});
