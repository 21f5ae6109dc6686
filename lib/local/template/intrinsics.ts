import type { Template } from './template.ts';
import { TemplateError } from './template.ts';

/** What a resource answers to `Ref` and `Fn::GetAtt` once it exists locally. */
export interface ResourceIdentity {
  ref: string;
  attributes: Record<string, string>;
}

/** The values CloudFormation gives its pseudo parameters, locally. */
export interface PseudoParameters {
  region: string;
  accountId: string;
  stackName: string;
}

/** `Ref: AWS::NoValue` removes the property it stands for. */
const NO_VALUE = Symbol('AWS::NoValue');

/**
 * CloudFormation's intrinsic functions over a template whose resources exist locally: `Ref`, `Fn::GetAtt`,
 * `Fn::Join`, `Fn::Sub`, `Fn::Select`, `Fn::Split`, `Fn::If` (with the template's conditions),
 * `Fn::Base64`, `Fn::GetAZs` and the pseudo parameters. Anything else — another intrinsic, a reference to a
 * resource that has no local identity yet, an attribute a resource does not have — is a `TemplateError`
 * naming where it was met, never a silent guess.
 */
export class Resolver {
  private readonly identities = new Map<string, ResourceIdentity>();
  private readonly conditions = new Map<string, boolean>();

  constructor(
    private readonly template: Template,
    private readonly pseudo: PseudoParameters,
  ) {}

  /** Record what a resource answers to Ref / GetAtt (after it was created, or computed for it). */
  define(logicalId: string, identity: ResourceIdentity): void {
    this.identities.set(logicalId, identity);
  }

  identity(logicalId: string): ResourceIdentity | undefined {
    return this.identities.get(logicalId);
  }

  /** The logical id of the resource whose Ref or an attribute equals `value` (an ARN, a URL, a name). */
  logicalIdOf(value: string): string | undefined {
    for (const [id, identity] of this.identities) {
      if (identity.ref === value || Object.values(identity.attributes).includes(value)) return id;
    }
    return undefined;
  }

  /** Resolve every intrinsic in `value`; `where` names the place for error messages. */
  resolve(value: unknown, where: string): unknown {
    const resolved = this.walk(value, where);
    return resolved === NO_VALUE ? undefined : resolved;
  }

  /** Resolve to a string, or fail naming the place. */
  resolveString(value: unknown, where: string): string {
    const resolved = this.resolve(value, where);
    if (typeof resolved === 'string') return resolved;
    if (typeof resolved === 'number' || typeof resolved === 'boolean') return String(resolved);
    throw new TemplateError(`${where}: expected a string, found ${JSON.stringify(resolved)}`);
  }

  /** Is a template condition true (conditions are evaluated once, over the pseudo parameters)? */
  condition(name: string, where: string): boolean {
    const known = this.conditions.get(name);
    if (known !== undefined) return known;
    const expression = this.template.Conditions[name];
    if (expression === undefined) throw new TemplateError(`${where}: unknown condition ${name}`);
    const value = this.evaluateCondition(expression, `${where} (condition ${name})`);
    this.conditions.set(name, value);
    return value;
  }

  /** References to other resources in `value` (Ref, GetAtt, ${} in Sub): the dependency graph's edges. */
  static references(value: unknown): Set<string> {
    const found = new Set<string>();
    const visit = (v: unknown): void => {
      if (Array.isArray(v)) {
        for (const item of v) visit(item);
        return;
      }
      if (v === null || typeof v !== 'object') return;
      const entries = Object.entries(v);
      const [key, arg] = entries[0] ?? [];
      if (entries.length === 1 && key === 'Ref' && typeof arg === 'string' && !arg.startsWith('AWS::'))
        found.add(arg);
      else if (entries.length === 1 && key === 'Fn::GetAtt') {
        const target = Array.isArray(arg) ? arg[0] : typeof arg === 'string' ? arg.split('.')[0] : undefined;
        if (typeof target === 'string') found.add(target);
      } else if (entries.length === 1 && key === 'Fn::Sub') {
        const text = Array.isArray(arg) ? arg[0] : arg;
        const locals = Array.isArray(arg) && arg[1] && typeof arg[1] === 'object' ? arg[1] : {};
        if (typeof text === 'string')
          for (const m of text.matchAll(/\$\{([^!}][^}]*)\}/g)) {
            const name = (m[1] ?? '').split('.')[0] ?? '';
            if (!name.startsWith('AWS::') && !(name in locals)) found.add(name);
          }
        visit(locals);
        return;
      }
      for (const [, child] of entries) visit(child);
    };
    visit(value);
    return found;
  }

  private walk(value: unknown, where: string): unknown {
    if (Array.isArray(value)) {
      return value.map((v, i) => this.walk(v, `${where}[${i}]`)).filter((v) => v !== NO_VALUE);
    }
    if (value === null || typeof value !== 'object') return value;
    const entries = Object.entries(value);
    const first = entries[0];
    if (entries.length === 1 && first && (first[0] === 'Ref' || first[0].startsWith('Fn::')))
      return this.intrinsic(first[0], first[1], where);
    const out: Record<string, unknown> = {};
    for (const [key, child] of entries) {
      const resolved = this.walk(child, `${where}.${key}`);
      if (resolved !== NO_VALUE) out[key] = resolved;
    }
    return out;
  }

  private intrinsic(name: string, arg: unknown, where: string): unknown {
    switch (name) {
      case 'Ref':
        return this.ref(expectString(arg, `${where} Ref`), where);
      case 'Fn::GetAtt': {
        const [id, attribute] = Array.isArray(arg)
          ? [arg[0], this.walk(arg[1], where)]
          : typeof arg === 'string'
            ? [arg.slice(0, arg.indexOf('.')), arg.slice(arg.indexOf('.') + 1)]
            : [undefined, undefined];
        return this.getAtt(
          expectString(id, `${where} Fn::GetAtt`),
          expectString(attribute, `${where} Fn::GetAtt`),
          where,
        );
      }
      case 'Fn::Join': {
        const [delimiter, list] = expectArray(arg, 2, `${where} Fn::Join`);
        const items = this.walk(list, where);
        if (!Array.isArray(items)) throw new TemplateError(`${where}: Fn::Join needs a list`);
        return items.map((item) => scalar(item, `${where} Fn::Join`)).join(expectString(delimiter, where));
      }
      case 'Fn::Select': {
        const [index, list] = expectArray(arg, 2, `${where} Fn::Select`);
        const items = this.walk(list, where);
        const i = Number(this.walk(index, where));
        if (!Array.isArray(items) || !Number.isInteger(i) || i < 0 || i >= items.length)
          throw new TemplateError(`${where}: Fn::Select index ${String(index)} is outside the list`);
        return items[i];
      }
      case 'Fn::Split': {
        const [delimiter, text] = expectArray(arg, 2, `${where} Fn::Split`);
        return expectString(this.walk(text, where), where).split(expectString(delimiter, where));
      }
      case 'Fn::Sub':
        return this.sub(arg, where);
      case 'Fn::If': {
        const [condition, whenTrue, whenFalse] = expectArray(arg, 3, `${where} Fn::If`);
        return this.condition(expectString(condition, where), where)
          ? this.walk(whenTrue, where)
          : this.walk(whenFalse, where);
      }
      case 'Fn::Base64':
        return Buffer.from(expectString(this.walk(arg, where), where), 'utf8').toString('base64');
      case 'Fn::GetAZs':
        return ['a', 'b', 'c'].map((zone) => `${this.pseudo.region}${zone}`);
      default:
        throw new TemplateError(`${where}: the intrinsic ${name} is not supported by the local runtime`);
    }
  }

  private ref(name: string, where: string): unknown {
    switch (name) {
      case 'AWS::Region':
        return this.pseudo.region;
      case 'AWS::AccountId':
        return this.pseudo.accountId;
      case 'AWS::Partition':
        return 'aws';
      case 'AWS::URLSuffix':
        return 'amazonaws.com';
      case 'AWS::StackName':
        return this.pseudo.stackName;
      case 'AWS::StackId':
        return `arn:aws:cloudformation:${this.pseudo.region}:${this.pseudo.accountId}:stack/${this.pseudo.stackName}/local`;
      case 'AWS::NoValue':
        return NO_VALUE;
    }
    const parameter = this.template.Parameters[name];
    if (parameter !== undefined) {
      if (parameter.Default === undefined)
        throw new TemplateError(`${where}: parameter ${name} has no default and none is given locally`);
      return parameter.Default;
    }
    return this.identityFor(name, where).ref;
  }

  private getAtt(id: string, attribute: string, where: string): string {
    const identity = this.identityFor(id, where);
    const value = identity.attributes[attribute];
    if (value === undefined)
      throw new TemplateError(
        `${where}: Fn::GetAtt ${id}.${attribute}: the local runtime knows ${Object.keys(identity.attributes).join(', ') || 'no attributes'} of ${id}`,
      );
    return value;
  }

  private identityFor(id: string, where: string): ResourceIdentity {
    const identity = this.identities.get(id);
    if (identity) return identity;
    const resource = this.template.Resources[id];
    if (!resource)
      throw new TemplateError(`${where}: reference to ${id}, which the template does not declare`);
    throw new TemplateError(
      `${where}: reference to ${id} (${resource.Type}), which has no local counterpart yet`,
    );
  }

  private sub(arg: unknown, where: string): string {
    const [text, localValues] = Array.isArray(arg) ? [arg[0], arg[1]] : [arg, {}];
    const template = expectString(text, `${where} Fn::Sub`);
    const locals =
      localValues && typeof localValues === 'object' ? (localValues as Record<string, unknown>) : {};
    return template.replace(/\$\{([^}]*)\}/g, (whole, inner: string) => {
      if (inner.startsWith('!')) return `\${${inner.slice(1)}}`;
      if (inner in locals) return scalar(this.walk(locals[inner], where), `${where} Fn::Sub`);
      const dot = inner.indexOf('.');
      if (dot > 0 && !inner.startsWith('AWS::'))
        return this.getAtt(inner.slice(0, dot), inner.slice(dot + 1), where);
      const value = this.ref(inner, where);
      if (value === NO_VALUE) throw new TemplateError(`${where}: ${whole} cannot be AWS::NoValue in Fn::Sub`);
      return scalar(value, `${where} Fn::Sub`);
    });
  }

  private evaluateCondition(expression: unknown, where: string): boolean {
    if (expression === null || typeof expression !== 'object' || Array.isArray(expression))
      throw new TemplateError(`${where}: a condition must be an object`);
    const [name, arg] = Object.entries(expression)[0] ?? [];
    switch (name) {
      case 'Fn::Equals': {
        const [a, b] = expectArray(arg, 2, where);
        return JSON.stringify(this.walk(a, where)) === JSON.stringify(this.walk(b, where));
      }
      case 'Fn::Not':
        return !this.evaluateCondition(expectArray(arg, 1, where)[0], where);
      case 'Fn::And':
        return (arg as unknown[]).every((c) => this.evaluateCondition(c, where));
      case 'Fn::Or':
        return (arg as unknown[]).some((c) => this.evaluateCondition(c, where));
      case 'Condition':
        return this.condition(expectString(arg, where), where);
      default:
        throw new TemplateError(`${where}: condition function ${String(name)} is not supported locally`);
    }
  }
}

function expectString(value: unknown, where: string): string {
  if (typeof value !== 'string') throw new TemplateError(`${where}: expected a string`);
  return value;
}

function expectArray(value: unknown, length: number, where: string): unknown[] {
  if (!Array.isArray(value) || value.length < length)
    throw new TemplateError(`${where}: expected a list of ${length}`);
  return value;
}

function scalar(value: unknown, where: string): string {
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean')
    return String(value);
  throw new TemplateError(`${where}: expected a string, found ${JSON.stringify(value)}`);
}
