/**
 * A container argument that reaches the process as written. Kubernetes expands `$(VAR)` in a
 * container's command and args and turns `$$` into `$`, so every `$` is doubled: a jar name,
 * a -D value or a program argument with a `$` in it is not rewritten by the kubelet.
 */
export function literalArg(text: string): string {
  return text.replaceAll('$', () => '$$');
}
