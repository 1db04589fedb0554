/**
 * podman, configured for these machines (docker/podman/containers.conf), for the pod tests:
 * `kube play` of rendered manifests, secrets in the form podman 4.3 reads for secretKeyRef.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const CONTAINERS_CONF = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'docker', 'podman', 'containers.conf');

export interface PodmanResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs podman; never throws for a non-zero exit (the caller asserts on it). */
export async function podman(args: readonly string[]): Promise<PodmanResult> {
  try {
    const { stdout, stderr } = await run('podman', [...args], { env: { ...process.env, CONTAINERS_CONF }, maxBuffer: 64 * 1024 * 1024 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout ?? '', stderr: e.stderr ?? String(error) };
  }
}

/**
 * Creates a podman secret that `valueFrom.secretKeyRef` resolves: podman 4.3 reads the secret as
 * a JSON map of key to base64 value.
 */
export async function createSecret(name: string, data: Record<string, string>): Promise<void> {
  const encoded = Object.fromEntries(Object.entries(data).map(([key, value]) => [key, Buffer.from(value).toString('base64')]));
  await podman(['secret', 'rm', name]);
  // A file, not stdin: podman 4.3 wants stdin to have a size, which a pipe has not.
  const dir = await mkdtemp(join(tmpdir(), 'fa-secret-'));
  try {
    await writeFile(join(dir, 'data.json'), JSON.stringify(encoded), { mode: 0o600 });
    const result = await podman(['secret', 'create', name, join(dir, 'data.json')]);
    if (result.code !== 0) throw new Error(`podman secret create ${name}: ${result.stderr}`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** State of a container: created, running, exited... or undefined when it does not exist. */
export async function containerState(name: string): Promise<{ status: string; exitCode: number } | undefined> {
  const result = await podman(['inspect', '--format', '{{.State.Status}} {{.State.ExitCode}}', name]);
  if (result.code !== 0) return undefined;
  const [status, exitCode] = result.stdout.trim().split(' ');
  return { status: status ?? '', exitCode: Number(exitCode) };
}
