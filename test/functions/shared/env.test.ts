import { describe, expect, it } from 'vitest';
import { ENV_SCHEMAS, EnvironmentError, LoadEnvSchema, parseEnv } from '../../../functions/shared/env.ts';
import { resourceEnvironment, TOPOLOGY } from '../../../lib/infra/topology.ts';

const RESOURCE_VAR = /^(TABLE|QUEUE|DLQ|STREAM|BUCKET)_/;

describe('handler environments', () => {
  it.each(Object.entries(ENV_SCHEMAS))(
    '%s reads only resource variables the topology provides',
    (fn, schema) => {
      // Prepare
      const provided = resourceEnvironment(
        TOPOLOGY.functions[fn as keyof typeof ENV_SCHEMAS],
        (kind, key) => `${kind}-${key}`,
      );
      const shape =
        'shape' in schema ? schema.shape : (schema as unknown as { in: { shape: object } }).in.shape;

      // Act
      const required = Object.keys(shape).filter((k) => RESOURCE_VAR.test(k));

      // Assess
      expect(required.length).toBeGreaterThan(0);
      expect(required.filter((k) => !(k in provided))).toEqual([]);
      expect(() =>
        parseEnv(schema, { ...provided, CTI_KEY_PROVIDER: 'raw', CTI_LOCAL_KEY_FILE: '/k' }),
      ).not.toThrow();
    },
  );

  it('names every missing variable', () => {
    expect(() => parseEnv(LoadEnvSchema, {})).toThrow(EnvironmentError);
    expect(() => parseEnv(LoadEnvSchema, {})).toThrow(/TABLE_INDICATORS.*TABLE_DOCUMENT_LEDGER.*TABLE_AUDIT/);
  });

  it('asks for the key the key provider needs', () => {
    const tables = { TABLE_INDICATORS: 'i', TABLE_DOCUMENT_LEDGER: 'l', TABLE_AUDIT: 'a' };
    expect(() => parseEnv(LoadEnvSchema, { ...tables, CTI_KEY_PROVIDER: 'kms' })).toThrow(/CTI_KMS_KEY_ARN/);
    expect(() => parseEnv(LoadEnvSchema, { ...tables, CTI_KEY_PROVIDER: 'raw' })).toThrow(
      /CTI_LOCAL_KEY_FILE/,
    );
  });
});
