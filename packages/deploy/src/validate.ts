import { closestMatch } from '@flink-artifacts/core';
import { Deployment, type IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import { Job, type IJob } from 'kubernetes-models/batch/v1/Job';
import { Pod, type IPod } from 'kubernetes-models/v1/Pod';
import { ObjectMeta, type IObjectMeta } from '@kubernetes-models/apimachinery/apis/meta/v1/ObjectMeta';
import { K8S_FIELDS, K8S_ROOTS } from './k8s-fields.generated.ts';

/**
 * Validation in the API server's strict mode (`kubectl --validate=strict`): the Kubernetes
 * OpenAPI schema bundled with kubernetes-models (types, required fields, formats), plus no field
 * the API does not define (kubernetes-models accepts unknown fields; the field table is generated
 * from its declarations). It does not check references between fields (a mount of an undeclared
 * volume), which the pod tests under podman do.
 */
function check(validate: () => void, what: string): void {
  try {
    validate();
  } catch (error) {
    throw new Error(`${what} does not validate against the Kubernetes schema: ${(error as Error).message}`, { cause: error });
  }
}

/** The first field of `value` (of type `type`) that the API does not define, with its path. */
function firstUnknownField(value: unknown, type: string, path: string): { path: string; field: string; known: string[] } | undefined {
  if (value === null || value === undefined || type === '*') return undefined;
  if (type.endsWith('[]')) {
    if (!Array.isArray(value)) return undefined;
    for (const [i, item] of value.entries()) {
      const found = firstUnknownField(item, type.slice(0, -2), `${path}[${i}]`);
      if (found) return found;
    }
    return undefined;
  }
  if (type.startsWith('{')) {
    if (typeof value !== 'object') return undefined;
    for (const [key, item] of Object.entries(value)) {
      const found = firstUnknownField(item, type.slice(1, -1), `${path}[${JSON.stringify(key)}]`);
      if (found) return found;
    }
    return undefined;
  }
  const fields = K8S_FIELDS[type];
  if (fields === undefined || typeof value !== 'object' || Array.isArray(value)) return undefined;
  for (const [key, item] of Object.entries(value)) {
    const fieldType = fields[key];
    const here = path === '' ? key : `${path}.${key}`;
    if (fieldType === undefined) return { path: here, field: key, known: Object.keys(fields) };
    const found = firstUnknownField(item, fieldType, here);
    if (found) return found;
  }
  return undefined;
}

function checkKnownFields(value: unknown, kind: keyof typeof K8S_ROOTS, what: string): void {
  const unknown = firstUnknownField(value, K8S_ROOTS[kind], '');
  if (unknown === undefined) return;
  const suggestion = closestMatch(unknown.field, unknown.known);
  // Cut short: a file that is no manifest at all would otherwise have its lines quoted.
  const shown = unknown.path.length > 60 ? `${unknown.path.slice(0, 40)}...` : unknown.path;
  throw new Error(`${what}: unknown field "${shown}" in a ${kind}${suggestion === undefined ? '' : ` (did you mean ${suggestion}?)`}; the API server rejects it in strict mode`);
}

/** @throws Error naming `what` and the first schema violation or unknown field. */
export function checkPodStrict(pod: IPod, what: string): void {
  check(() => new Pod(pod).validate(), what);
  checkKnownFields(pod, 'Pod', what);
}

/** @throws Error naming `what` and the first schema violation or unknown field. */
export function checkDeploymentStrict(deployment: IDeployment, what: string): void {
  check(() => new Deployment(deployment).validate(), what);
  checkKnownFields(deployment, 'Deployment', what);
}

/** @throws Error naming `what` and the first schema violation or unknown field. */
export function checkJobStrict(job: IJob, what: string): void {
  check(() => new Job(job).validate(), what);
  checkKnownFields(job, 'Job', what);
}

/** @throws Error naming `what` and the first schema violation. */
export function validateObjectMeta(metadata: IObjectMeta, what: string): void {
  check(() => new ObjectMeta(metadata).validate(), what);
}
