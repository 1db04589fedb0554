import { Deployment, type IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import { Pod, type IPod } from 'kubernetes-models/v1/Pod';
import { ObjectMeta, type IObjectMeta } from '@kubernetes-models/apimachinery/apis/meta/v1/ObjectMeta';

/**
 * Validation against the Kubernetes OpenAPI schema bundled with kubernetes-models (a maintained,
 * generated model package): types, required fields and formats. It does not check references
 * between fields (a mount of an undeclared volume), which the pod tests under podman do.
 */
function check(validate: () => void, what: string): void {
  try {
    validate();
  } catch (error) {
    throw new Error(`${what} does not validate against the Kubernetes schema: ${(error as Error).message}`, { cause: error });
  }
}

/** @throws Error naming `what` and the first schema violation. */
export function validatePod(pod: IPod, what: string): void {
  check(() => new Pod(pod).validate(), what);
}

/** @throws Error naming `what` and the first schema violation. */
export function validateDeployment(deployment: IDeployment, what: string): void {
  check(() => new Deployment(deployment).validate(), what);
}

/** @throws Error naming `what` and the first schema violation. */
export function validateObjectMeta(metadata: IObjectMeta, what: string): void {
  check(() => new ObjectMeta(metadata).validate(), what);
}
