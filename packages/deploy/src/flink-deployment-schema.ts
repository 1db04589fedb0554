import { OPERATOR_FLINK_VERSIONS } from '@flink-artifacts/core';
import type { IPod } from 'kubernetes-models/v1/Pod';
import { UPGRADE_MODES } from './job-options.ts';
import { checkPodStrict, validateObjectMeta } from './validate.ts';

/**
 * The part of the Flink Kubernetes Operator's FlinkDeployment schema (CRD
 * `flinkdeployments.flink.apache.org`, version v1beta1, operator releases 1.10 to 1.13) that
 * covers what we emit: field names, types and enums, unknown fields refused. No maintained npm
 * package carries it, so it is written here from the CRD reference; pod templates inside are
 * checked as Pods.
 */
type FieldType =
  | { readonly type: 'string'; readonly enum?: readonly string[] }
  | { readonly type: 'integer' | 'number' | 'boolean' | 'string[]' | 'string-map' | 'pod' | 'metadata' | 'free' }
  | { readonly type: 'object'; readonly fields: Readonly<Record<string, FieldType>> };

const RESOURCE: FieldType = { type: 'object', fields: { cpu: { type: 'number' }, memory: { type: 'string' }, ephemeralStorage: { type: 'string' } } };

const FLINK_DEPLOYMENT: FieldType = {
  type: 'object',
  fields: {
    apiVersion: { type: 'string', enum: ['flink.apache.org/v1beta1'] },
    kind: { type: 'string', enum: ['FlinkDeployment'] },
    metadata: { type: 'metadata' },
    spec: {
      type: 'object',
      fields: {
        image: { type: 'string' },
        imagePullPolicy: { type: 'string' },
        serviceAccount: { type: 'string' },
        flinkVersion: { type: 'string', enum: OPERATOR_FLINK_VERSIONS },
        mode: { type: 'string', enum: ['native', 'standalone'] },
        ingress: { type: 'free' },
        podTemplate: { type: 'pod' },
        flinkConfiguration: { type: 'string-map' },
        logConfiguration: { type: 'string-map' },
        restartNonce: { type: 'integer' },
        jobManager: { type: 'object', fields: { resource: RESOURCE, replicas: { type: 'integer' }, podTemplate: { type: 'pod' } } },
        taskManager: { type: 'object', fields: { resource: RESOURCE, replicas: { type: 'integer' }, podTemplate: { type: 'pod' } } },
        job: {
          type: 'object',
          fields: {
            jarURI: { type: 'string' },
            parallelism: { type: 'integer' },
            entryClass: { type: 'string' },
            args: { type: 'string[]' },
            state: { type: 'string', enum: ['running', 'suspended'] },
            upgradeMode: { type: 'string', enum: UPGRADE_MODES },
            initialSavepointPath: { type: 'string' },
            allowNonRestoredState: { type: 'boolean' },
            savepointTriggerNonce: { type: 'integer' },
            checkpointTriggerNonce: { type: 'integer' },
            savepointRedeployNonce: { type: 'integer' },
          },
        },
      },
    },
  },
};

function fail(what: string, path: string, problem: string): never {
  throw new Error(`${what}: ${path} ${problem} (FlinkDeployment schema of the Flink Kubernetes Operator)`);
}

function checkValue(value: unknown, type: FieldType, path: string, what: string): void {
  switch (type.type) {
    case 'string':
      if (typeof value !== 'string') fail(what, path, 'must be a string');
      if (type.enum !== undefined && !type.enum.includes(value)) fail(what, path, `must be one of ${type.enum.join(', ')}, not ${JSON.stringify(value)}`);
      return;
    case 'integer':
      if (!Number.isSafeInteger(value)) fail(what, path, 'must be an integer');
      return;
    case 'number':
      if (typeof value !== 'number' || !Number.isFinite(value)) fail(what, path, 'must be a number');
      return;
    case 'boolean':
      if (typeof value !== 'boolean') fail(what, path, 'must be a boolean');
      return;
    case 'string[]':
      if (!Array.isArray(value) || value.some((item) => typeof item !== 'string')) fail(what, path, 'must be a list of strings');
      return;
    case 'string-map':
      if (typeof value !== 'object' || value === null || Array.isArray(value) || Object.values(value).some((item) => typeof item !== 'string')) {
        fail(what, path, 'must map names to strings');
      }
      return;
    case 'pod':
      checkPodStrict({ apiVersion: 'v1', kind: 'Pod', ...(value as object) } as IPod, `${what}, ${path}`);
      return;
    case 'metadata':
      validateObjectMeta(value as object, `${what}, ${path}`);
      return;
    case 'free':
      return;
    case 'object': {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(what, path, 'must be an object');
      for (const [key, item] of Object.entries(value)) {
        const field = type.fields[key];
        if (field === undefined) fail(what, `${path}.${key}`, 'is not a field');
        checkValue(item, field, `${path}.${key}`, what);
      }
    }
  }
}

/** @throws Error naming `what`, the path and the problem. */
export function checkFlinkDeploymentStrict(resource: unknown, what: string): void {
  checkValue(resource, FLINK_DEPLOYMENT, '$', what);
}
