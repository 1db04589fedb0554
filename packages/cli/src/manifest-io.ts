import { randomBytes } from 'node:crypto';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import { TemplateError, readString, type FlinkConfig } from '@flink-artifacts/core';
import type { PodTemplateSource } from '@flink-artifacts/deploy';
import { parseAllDocuments, stringify } from 'yaml';

/** The Flink keys naming a pod template, the JobManager's first. */
export const POD_TEMPLATE_KEYS = ['kubernetes.pod-template-file.jobmanager', 'kubernetes.pod-template-file.default'] as const;

/**
 * The user's pod template, if the options name one: read and parsed here, at the CLI, so that
 * the deploy package stays free of files and YAML.
 *
 * @throws TemplateError naming the file (unreadable, not YAML, several documents).
 */
export async function readPodTemplate(config: FlinkConfig, cwd: string): Promise<PodTemplateSource | undefined> {
  for (const key of POD_TEMPLATE_KEYS) {
    const given = readString(config, key);
    if (given === undefined) continue;
    const path = isAbsolute(given) ? given : resolve(cwd, given);
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (error) {
      throw new TemplateError(`cannot read the pod template ${path} (${key}): ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, { cause: error });
    }
    const documents = parseAllDocuments(text, { logLevel: 'error' });
    if (!Array.isArray(documents) || documents.length !== 1) {
      throw new TemplateError(`pod template ${path} must hold exactly one YAML document`);
    }
    const document = documents[0]!;
    if (document.errors.length > 0) {
      const first = document.errors[0]!;
      const line = first.linePos?.[0].line;
      throw new TemplateError(`pod template ${path} is not valid YAML${line === undefined ? '' : ` (line ${line})`}: ${first.message.split('\n')[0]}`);
    }
    return { template: document.toJS(), path };
  }
  return undefined;
}

/** A manifest as YAML: same object, same bytes. */
export function toYaml(manifest: unknown): string {
  return stringify(manifest, { lineWidth: 0, aliasDuplicateObjects: false });
}

/** Writes a file atomically (temporary file, then rename). */
export async function writeFileAtomic(path: string, text: string): Promise<void> {
  const tmp = `${path}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    await writeFile(tmp, text);
    await rename(tmp, path);
  } catch (error) {
    await rm(tmp, { force: true });
    throw error;
  }
}
