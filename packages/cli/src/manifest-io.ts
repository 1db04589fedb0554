import { randomBytes } from 'node:crypto';
import { rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import { FlinkArtifactsError, TemplateError, UsageError, readRegularTextFile, readString, type FlinkConfig } from '@flink-artifacts/core';
import type { PodTemplates, PodTemplateSource } from '@flink-artifacts/deploy';
import { Document, Scalar, parseAllDocuments, visit } from 'yaml';

/** Flink's keys naming pod templates, by role. */
export const POD_TEMPLATE_KEYS = {
  jobmanager: 'kubernetes.pod-template-file.jobmanager',
  taskmanager: 'kubernetes.pod-template-file.taskmanager',
  default: 'kubernetes.pod-template-file.default',
} as const;

/**
 * The user's pod templates that the options name, for the given roles: read and parsed here,
 * at the CLI, so that the deploy package stays free of files and YAML. A relative path is
 * relative to the working directory, as for `bin/flink`.
 *
 * @throws TemplateError naming the file (unreadable, not YAML, several documents).
 */
export async function readPodTemplates(config: FlinkConfig, cwd: string, roles: readonly (keyof PodTemplates)[]): Promise<PodTemplates> {
  const templates: Partial<Record<keyof PodTemplates, PodTemplateSource>> = {};
  for (const role of roles) {
    const key = POD_TEMPLATE_KEYS[role];
    const given = readString(config, key);
    if (given !== undefined) templates[role] = await readPodTemplate(isAbsolute(given) ? given : resolve(cwd, given), key);
  }
  return templates;
}

async function readPodTemplate(path: string, key: string): Promise<PodTemplateSource> {
  let text: string;
  try {
    text = await readRegularTextFile(path);
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

/**
 * A manifest as YAML: same object, same bytes, read the same by YAML 1.2 and 1.1 readers
 * (kubectl's and many tools' parsers are 1.1): every string a 1.1 reader would take for a
 * boolean, number, null or timestamp (`yes`, `off`, `y`, `1_000`) is quoted, and so are the
 * merge key `<<` and the value key `=`, which 1.1 readers treat as instructions.
 */
export function toYaml(manifest: unknown): string {
  // Without the merge tag: the 1.1 schema would otherwise write the string '<<' as a bare merge key.
  const document = new Document(manifest, {
    version: '1.1',
    aliasDuplicateObjects: false,
    customTags: (tags) => tags.filter((tag) => typeof tag === 'string' || tag.tag !== 'tag:yaml.org,2002:merge'),
  });
  visit(document, {
    Scalar(_, node) {
      if (typeof node.value !== 'string') return;
      // YAML 1.2 readers (the yaml package, Go's yaml.v3) have forms of their own: 0o17 is 15.
      if (node.value === '<<' || node.value === '=' || !readsAsItselfIn12(node.value)) node.type = Scalar.QUOTE_DOUBLE;
    },
  });
  return document.toString({ lineWidth: 0 });
}

// Plain scalars a YAML 1.2 core-schema reader takes for something other than the string.
const YAML12_NOT_STRING = /^(?:~|null|Null|NULL|true|True|TRUE|false|False|FALSE|[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+|[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.nan|\.NaN|\.NAN)$/;

function readsAsItselfIn12(text: string): boolean {
  return text !== '' && !YAML12_NOT_STRING.test(text);
}

/** Could not write an output file the user named. Runtime kind (exit 1) unless the path is wrong. */
export class OutputFileError extends FlinkArtifactsError {
  constructor(message: string, kind: 'usage' | 'runtime', cause: unknown) {
    super('ERR_OUTPUT', kind, message, { cause });
    this.name = 'OutputFileError';
  }
}

/**
 * Writes a file atomically (temporary file, then rename). A missing or non-directory parent is
 * the user's path (exit 2, naming the directory); other failures name the file.
 *
 * @throws UsageError, OutputFileError.
 */
export async function writeFileAtomic(path: string, text: string): Promise<void> {
  const dir = dirname(path);
  const dirStat = await stat(dir).catch(() => undefined);
  if (dirStat === undefined) throw new UsageError(`cannot write ${path}: the directory ${dir} does not exist`);
  if (!dirStat.isDirectory()) throw new UsageError(`cannot write ${path}: ${dir} is not a directory`);
  const tmp = `${path}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    await writeFile(tmp, text);
    await rename(tmp, path);
  } catch (error) {
    await rm(tmp, { force: true });
    const code = (error as NodeJS.ErrnoException).code;
    const reason = code === 'EACCES' || code === 'EPERM' ? 'permission denied' : code === 'EISDIR' ? 'it is a directory' : code === 'ENOSPC' ? 'no space left on device' : (code ?? (error as Error).message);
    throw new OutputFileError(`cannot write ${path}: ${reason}`, code === 'EISDIR' ? 'usage' : 'runtime', error);
  }
}
