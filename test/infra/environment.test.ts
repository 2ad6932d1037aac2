/**
 * The configuration contract (core/config/env.ts) end to end: every environment the stack
 * synthesises — the registry function, the upload service's container, the GC task functions —
 * parses with the reader of the code it runs, CloudFormation tokens standing in as placeholder
 * strings. A variable the stack names and no schema reads, or one a function requires and the
 * stack forgets, fails here.
 */
import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { envFragments, gcTaskEnv, parseEnv } from '../../core/config/env.ts';
import { readFunctionConfig } from '../../functions/registry/config.ts';
import { synthApp } from './support.ts';

/** A CloudFormation value as a string: `Fn::Join` joined, any other token a placeholder. */
function resolve(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  const join = (value as { 'Fn::Join'?: [string, unknown[]] })['Fn::Join'];
  if (join) return join[1].map(resolve).join(join[0]);
  return 'cfn-token';
}

interface Environments {
  registry: Array<Record<string, string>>;
  uploadService: Array<Record<string, string>>;
  gcTasks: Array<Record<string, string>>;
  others: Array<Record<string, string>>;
}

function environments(context: Record<string, string>): Environments {
  const { stacks } = synthApp(context);
  const t = Template.fromStack(stacks['Cirrus-eu-west-1']!);
  const out: Environments = { registry: [], uploadService: [], gcTasks: [], others: [] };
  for (const [id, fn] of Object.entries(t.findResources('AWS::Lambda::Function'))) {
    const variables = (fn.Properties.Environment?.Variables ?? {}) as Record<string, unknown>;
    const env = Object.fromEntries(Object.entries(variables).map(([k, v]) => [k, resolve(v)]));
    if (env.CIRRUS_SERVICE === 'registry') out.registry.push(env);
    else if (id.startsWith('Gc') || id.startsWith('Replication')) out.gcTasks.push(env);
    else out.others.push(env);
  }
  for (const task of Object.values(t.findResources('AWS::ECS::TaskDefinition'))) {
    for (const container of task.Properties.ContainerDefinitions as Array<{ Environment?: Array<{ Name: string; Value: unknown }> }>) {
      out.uploadService.push(Object.fromEntries((container.Environment ?? []).map((e) => [e.Name, resolve(e.Value)])));
    }
  }
  return out;
}

const cirrusNames = (env: Record<string, string>) => Object.keys(env).filter((name) => name.startsWith('CIRRUS_'));

describe('the environment the stack synthesises parses', () => {
  it.each([
    ['defaults (auth on, upload service)', {}],
    ['auth off, no upload service, a custom domain', { auth: 'off', uploadService: 'off', domainName: '{region}.registry.example.com', certificateArn: 'arn:aws:acm:us-east-1:123456789012:certificate/x' }],
  ])('%s', (_name, context) => {
    const envs = environments(context);
    expect(envs.registry).toHaveLength(1);
    // GC's four task functions and replication's three read the same schema.
    expect(envs.gcTasks).toHaveLength(7);
    expect(envs.uploadService).toHaveLength('uploadService' in context ? 0 : 1);

    for (const env of [...envs.registry, ...envs.uploadService]) {
      const config = readFunctionConfig(env);
      expect(config.hashMode).toBe('resumable');
      expect(config.auth.enabled).toBe(!('auth' in context));
      expect(config.originSecretArn).toBeDefined();
    }
    const [upload] = envs.uploadService;
    if (upload) {
      const config = readFunctionConfig(upload);
      expect(config.service).toBe('upload-service');
      expect(config.publicUrl).toMatch(/^https:\/\//);
      expect(config.port).toBe(8080);
    }
    if ('domainName' in context) expect(readFunctionConfig(envs.registry[0]!).publicUrl).toBe('https://eu-west-1.registry.example.com');
    for (const env of envs.gcTasks) expect(parseEnv(gcTaskEnv, env)).toMatchObject({ CIRRUS_TABLE: 'cfn-token', CIRRUS_BUCKET: 'cfn-token' });

    // Every CIRRUS_ name the stack sets is one the contract defines; no other function gets one.
    for (const env of [...envs.registry, ...envs.uploadService, ...envs.gcTasks]) for (const name of cirrusNames(env)) expect(Object.keys(envFragments)).toContain(name);
    for (const env of envs.others) expect(cirrusNames(env)).toEqual([]);
  });

  it('a stack that forgot a required variable would not parse', () => {
    const [registry] = environments({}).registry;
    const { CIRRUS_TABLE: _dropped, ...withoutTable } = registry!;
    expect(() => readFunctionConfig(withoutTable)).toThrow(/CIRRUS_TABLE/);
  });
});
