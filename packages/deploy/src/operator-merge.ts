/**
 * The Flink Kubernetes Operator's pod template merge (`spec.podTemplate` under
 * `spec.jobManager.podTemplate`): objects merge field by field, the specific template's scalars
 * win, and arrays merge element by element at the same position, or, with
 * `kubernetes.operator.pod-template.merge-arrays-by-name`, by their `name` (a union).
 *
 * Merging a base with `merge(base, x)` again gives `merge(base, x)` back in both modes, which
 * is what lets us hand the operator an already merged JobManager template.
 */
export function mergePodTemplates(base: unknown, specific: unknown, byName: boolean): unknown {
  if (isObject(base) && isObject(specific)) {
    const out: Record<string, unknown> = structuredClone(base);
    for (const [key, value] of Object.entries(specific)) out[key] = key in out ? mergePodTemplates(out[key], value, byName) : structuredClone(value);
    return out;
  }
  if (Array.isArray(base) && Array.isArray(specific)) {
    if (byName && base.every(hasName) && specific.every(hasName)) {
      const out = base.map((item) => structuredClone(item));
      for (const item of specific) {
        const at = out.findIndex((existing) => existing.name === item.name);
        if (at === -1) out.push(structuredClone(item));
        else out[at] = mergePodTemplates(out[at], item, byName) as { name: unknown };
      }
      return out;
    }
    const out = base.map((item) => structuredClone(item));
    specific.forEach((item, i) => {
      out[i] = i < out.length ? mergePodTemplates(out[i], item, byName) : structuredClone(item);
    });
    return out;
  }
  return structuredClone(specific);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function hasName(value: unknown): value is { name: unknown } {
  return isObject(value) && 'name' in value;
}
