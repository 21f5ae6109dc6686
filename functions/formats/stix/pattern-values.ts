import type { IndicatorType } from '../../domain/indicator.ts';
import {
  type ComparisonExpression,
  type ObjectPath,
  type ObservationExpression,
  type PatternConstant,
  printPath,
} from './pattern.ts';

/** How a comparison sits in its pattern: alone (only OR around it), or one condition among several. */
export type Combination = 'alone' | 'and' | 'followedby';

/** A value a pattern pins down with =, IN or (for addresses) ISSUBSET. */
export interface PatternValue {
  type: IndicatorType;
  value: string;
  /** The object path as pattern text, e.g. `file:hashes.'SHA-256'`. */
  path: string;
  operator: '=' | 'IN' | 'ISSUBSET';
  combination: Combination;
  /** True when WITHIN / REPEATS / START…STOP qualifies the observation. */
  qualified: boolean;
}

/** A comparison on a supported path whose constant cannot be a value of that type. */
export interface PatternValueProblem {
  path: string;
  reason: string;
}

export interface PatternValues {
  values: PatternValue[];
  problems: PatternValueProblem[];
}

/** Hash algorithm names as STIX writes them (`'SHA-256'`, `SHA256`, `MD5`) → indicator type. */
export function hashType(name: string): IndicatorType | undefined {
  switch (name.toUpperCase()) {
    case 'MD5':
      return 'md5';
    case 'SHA-1':
    case 'SHA1':
      return 'sha1';
    case 'SHA-256':
    case 'SHA256':
      return 'sha256';
    case 'SHA-512':
    case 'SHA512':
      return 'sha512';
    case 'SSDEEP':
      return 'ssdeep';
    default:
      return undefined;
  }
}

/** The indicator type of an address string: a `/prefix` makes it a network. */
const addressType = (scoType: string, value: string): IndicatorType =>
  value.includes('/') ? 'cidr' : scoType === 'ipv6-addr' ? 'ipv6' : 'ipv4';

/** Indicator type of `<sco>:value`-like properties: the SCO types whose `value` is the indicator. */
const VALUE_TYPES: Record<string, IndicatorType> = {
  'ipv4-addr': 'ipv4',
  'ipv6-addr': 'ipv6',
  'domain-name': 'domain',
  url: 'url',
  'email-addr': 'email',
};

type Pins = ReadonlyMap<string, string> | undefined;

/**
 * The indicator type a path stands for, or undefined when the path is not one we mine. `pins` maps a
 * reference property (`dst_ref`) to the SCO type pinned for it in the same AND group.
 */
function typeOfPath(path: ObjectPath, pins: Pins): IndicatorType | 'address' | undefined {
  const steps = path.steps;
  const first = steps[0];
  if (first?.kind !== 'property') return undefined;
  const second = steps[1];
  if (steps.length === 1) {
    switch (path.objectType) {
      case 'ipv4-addr':
      case 'ipv6-addr':
        return first.name === 'value' ? 'address' : undefined;
      case 'domain-name':
      case 'url':
      case 'email-addr':
        return first.name === 'value' ? VALUE_TYPES[path.objectType] : undefined;
      case 'file':
        return first.name === 'name' ? 'filename' : undefined;
      case 'windows-registry-key':
        return first.name === 'key' ? 'registry-key' : undefined;
      case 'mutex':
        return first.name === 'name' ? 'mutex' : undefined;
      case 'autonomous-system':
        return first.name === 'number' ? 'asn' : undefined;
      default:
        return undefined;
    }
  }
  if (steps.length !== 2 || second?.kind !== 'property') return undefined;
  if (first.name === 'hashes') {
    const t = path.objectType;
    return t === 'file' || t === 'x509-certificate' || t === 'artifact' ? hashType(second.name) : undefined;
  }
  if (second.name !== 'value' || !first.name.endsWith('_ref')) return undefined;
  if (path.objectType === 'email-message' && (first.name === 'from_ref' || first.name === 'sender_ref'))
    return 'email';
  const pinned = pins?.get(first.name);
  if (pinned === 'ipv4-addr' || pinned === 'ipv6-addr') return 'address';
  return pinned === undefined ? undefined : VALUE_TYPES[pinned];
}

/** The SCO type behind an address path (for `ipv4` vs `ipv6` when the value has no prefix). */
function addressScoType(path: ObjectPath, pins: Pins): string {
  if (path.objectType === 'ipv4-addr' || path.objectType === 'ipv6-addr') return path.objectType;
  const first = path.steps[0];
  return (first?.kind === 'property' && pins?.get(first.name)) || 'ipv4-addr';
}

/** `network-traffic:dst_ref.type = 'ipv4-addr'` pins dst_ref; returns [ref, sco type] or undefined. */
function pinOf(e: ComparisonExpression): [string, string] | undefined {
  if (e.kind !== 'comparison' || e.operator !== '=' || e.negated) return undefined;
  const steps = e.path.steps;
  const ref = steps[0];
  const prop = steps[1];
  if (steps.length !== 2 || ref?.kind !== 'property' || prop?.kind !== 'property' || prop.name !== 'type')
    return undefined;
  if (!ref.name.endsWith('_ref') || Array.isArray(e.value) || e.value.kind !== 'string') return undefined;
  return [ref.name, e.value.value];
}

interface Walk {
  out: PatternValues;
  combination: Combination;
  qualified: boolean;
}

function constantText(c: PatternConstant, type: IndicatorType): string | undefined {
  if (c.kind === 'string') return c.value;
  if (type === 'asn' && c.kind === 'int') return String(c.value);
  return undefined;
}

function emit(
  walk: Walk,
  path: ObjectPath,
  type: IndicatorType | 'address',
  pins: Pins,
  operator: PatternValue['operator'],
  constant: PatternConstant,
  inAnd: boolean,
): void {
  const pathText = printPath(path);
  const text = constantText(constant, type === 'address' ? 'ipv4' : type);
  if (text === undefined) {
    walk.out.problems.push({
      path: pathText,
      reason: `${pathText} ${operator} expects a quoted string, found ${constant.kind === 'int' ? 'an' : 'a'} ${constant.kind} constant`,
    });
    return;
  }
  let resolved: IndicatorType;
  if (operator === 'ISSUBSET') resolved = 'cidr';
  else if (type === 'address') resolved = addressType(addressScoType(path, pins), text);
  else resolved = type;
  walk.out.values.push({
    type: resolved,
    value: text,
    path: pathText,
    operator,
    combination: walk.combination === 'alone' && inAnd ? 'and' : walk.combination,
    qualified: walk.qualified,
  });
}

function walkComparison(e: ComparisonExpression, walk: Walk, pins: Pins, inAnd: boolean): void {
  switch (e.kind) {
    case 'exists':
      return;
    case 'or':
      for (const operand of e.operands) walkComparison(operand, walk, pins, inAnd);
      return;
    case 'and': {
      let scoped = pins;
      for (const operand of e.operands) {
        const pin = pinOf(operand);
        if (pin) {
          if (scoped === pins) scoped = new Map(pins);
          (scoped as Map<string, string>).set(pin[0], pin[1]);
        }
      }
      for (const operand of e.operands) walkComparison(operand, walk, scoped, true);
      return;
    }
    case 'comparison': {
      if (e.negated) return;
      const op = e.operator;
      if (op !== '=' && op !== 'IN' && op !== 'ISSUBSET') return;
      const type = typeOfPath(e.path, pins);
      if (type === undefined) return;
      if (op === 'ISSUBSET') {
        if (type === 'address' && !Array.isArray(e.value)) emit(walk, e.path, type, pins, op, e.value, inAnd);
        return;
      }
      if (Array.isArray(e.value)) {
        for (const c of e.value) emit(walk, e.path, type, pins, 'IN', c, inAnd);
      } else {
        emit(walk, e.path, type, pins, '=', e.value, inAnd);
      }
      return;
    }
  }
}

function walkObservation(e: ObservationExpression, walk: Walk): void {
  switch (e.kind) {
    case 'observation':
      walkComparison(e.expression, walk, undefined, false);
      return;
    case 'qualified': {
      const qualified = walk.qualified;
      walk.qualified = true;
      walkObservation(e.expression, walk);
      walk.qualified = qualified;
      return;
    }
    default: {
      const combination = walk.combination;
      if (e.kind === 'followedby') walk.combination = 'followedby';
      else if (e.kind === 'and' && combination === 'alone') walk.combination = 'and';
      for (const operand of e.operands) walkObservation(operand, walk);
      walk.combination = combination;
    }
  }
}

/**
 * The values a parsed pattern pins down: every non-negated `=` and `IN` comparison on a supported object
 * path (addresses, domains, URLs, e-mail addresses, file/x509/artifact hashes, file names, registry keys,
 * mutexes, AS numbers, network-traffic refs whose type the same AND group pins), and `ISSUBSET` on an
 * address (a CIDR). Each value says whether it stood alone or inside AND / FOLLOWEDBY.
 *
 * @example patternValues(parsePattern("[domain-name:value = 'evil.com']")).values[0].type // 'domain'
 */
export function patternValues(pattern: ObservationExpression): PatternValues {
  const walk: Walk = { out: { values: [], problems: [] }, combination: 'alone', qualified: false };
  walkObservation(pattern, walk);
  return walk.out;
}
