import { CONTAINER_ENV_PREFIXES, FlinkKeys } from '@flink-artifacts/core';
import type { ArtifactWiring } from './wiring.ts';

/**
 * What the user must know about credentials given as literal options: Flink keeps its
 * configuration as given (its own filesystems may need the keys), so they end up where `where`
 * says, in clear; the init container never gets them. Says how to move each kind to a Secret.
 */
export function literalSecretWarnings(wiring: ArtifactWiring, where: string): string[] {
  const keys = wiring.literalSecrets;
  if (keys.length === 0) return [];
  const moves: string[] = [];
  if (keys.some((key) => /(^|\.)s3a?\.|^fs\.s3a\./.test(key))) {
    moves.push(
      "S3 keys: -Dkubernetes.env.secretKeyRef='env:AWS_ACCESS_KEY_ID,secret:<name>,key:<key>;env:AWS_SECRET_ACCESS_KEY,secret:<name>,key:<key>' " +
        '(Flink\'s S3 filesystems and the fetcher both read these variables), then drop the s3 key options',
    );
  }
  if (keys.some((key) => key.startsWith('fs.azure.'))) {
    moves.push(
      "Azure keys: -Dkubernetes.env.secretKeyRef='env:AZURE_STORAGE_KEY,secret:<name>,key:<key>' (or env:AZURE_STORAGE_SAS_TOKEN for a SAS), which the fetcher reads, " +
        'or no secret at all with AKS workload identity (the fetcher uses DefaultAzureCredential when no key is given); ' +
        'keep an fs.azure option only if Flink\'s own Azure filesystem needs it',
    );
  }
  if (keys.some((key) => key.startsWith('fs.oss.'))) {
    moves.push(
      "OSS keys: -Dkubernetes.env.secretKeyRef='env:OSS_ACCESS_KEY_ID,secret:<name>,key:<key>;env:OSS_ACCESS_KEY_SECRET,secret:<name>,key:<key>', " +
        'which the fetcher reads; keep the fs.oss key options only if Flink\'s own OSS filesystem needs them',
    );
  }
  if (keys.includes(FlinkKeys.httpHeaders)) {
    moves.push(`${FlinkKeys.httpHeaders}: -Dkubernetes.env.secretKeyRef=env:FLINK_ARTIFACTS_HTTP_HEADERS,secret:<name>,key:<key> (same Name:Value format)`);
  }
  const envKeys = keys.filter((key) => CONTAINER_ENV_PREFIXES.some((prefix) => key.startsWith(prefix)));
  if (envKeys.length > 0) {
    moves.push(
      `${envKeys.map((key) => key.slice(key.lastIndexOf('.env.') + 5)).join(', ')}: kubernetes.env.secretKeyRef instead of containerized.*.env ` +
        '(the init container does not get literal credential variables)',
    );
  }
  const verb = keys.length === 1 ? 'is' : 'are';
  return [
    `${keys.join(', ')} ${verb} given as literal values: ${where}, in clear for anyone who can read it; the init container does not get ${keys.length === 1 ? 'it' : 'them'}. ` +
      `To keep a credential out of both, put it in a Secret.${moves.length > 0 ? ` ${moves.join('; ')}.` : ''}`,
  ];
}
