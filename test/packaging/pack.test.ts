/**
 * The packages as a user gets them: `pnpm pack` of every publishable package, one
 * `npm install <tarballs>` into an empty directory, then the README's API examples and the
 * installed command run there, with nothing from this workspace on the module path.
 *
 * Needs the packages built (`pnpm build`; `pnpm test` and scripts/run-tests.mjs callers build
 * first) and npm's cache holding the third-party dependencies (scripts/setup.sh fills it with
 * scripts/warm-npm-cache.ts): the install runs offline, as tests stay on loopback.
 */
import { readdir, readFile, rm } from 'node:fs/promises';
import { isBuiltin } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import test from 'ava';
import ts from 'typescript';
import { tempDir, writeFixture } from '@flink-artifacts/test-helpers/fixtures';
import { PACKAGES, describeRun, npmInstall, packPackages, run } from '@flink-artifacts/test-helpers/packages';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** What the README's API examples may import: the installed packages, never a path. */
const API_PACKAGES = new Set(['@flink-artifacts/core', '@flink-artifacts/client', '@flink-artifacts/fetcher']);

// npm install of these packages took 9-17 s here; allow for a slow machine, up to ava's own
// inactivity timeout (package.json "ava.timeout": 3m).
const TIMEOUT = 180_000;

/**
 * The environment a user's shell would give: without what pnpm exports to scripts (npm reads
 * `npm_config_*`) and without the variable that mutes the AWS SDK's Node-version warning, so
 * that the library's own behaviour is what is seen. NODE_OPTIONS stays: it loads the test run's
 * loopback guard, which changes nothing but stopping packets that would leave loopback.
 */
function userEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (/^(npm_|pnpm_)/i.test(key) || key === 'AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED') continue;
    env[key] = value;
  }
  // Never leave loopback, whatever the caller's environment says.
  return { ...env, AWS_EC2_METADATA_DISABLED: 'true', METADATA_SERVER_DETECTION: 'none', npm_config_update_notifier: 'false', ...extra };
}

const describe = describeRun;

interface Installation {
  /** The directory the tarballs were installed into (has package.json and node_modules). */
  dir: string;
  /** Scratch space beside it: sources, the file:// store, the fetch base dir. */
  work: string;
  /** How long pack and install took, in ms. */
  packMs: number;
  installMs: number;
}

const cleanup: string[] = [];
let installation: Promise<Installation> | undefined;

/** Packs and installs once for all tests in this file. */
function install(): Promise<Installation> {
  installation ??= (async () => {
    const tarballs = await tempDir('fa-pack-tarballs-');
    const dir = await tempDir('fa-pack-install-');
    const work = await tempDir('fa-pack-work-');
    cleanup.push(tarballs, dir, work);

    let started = Date.now();
    const files = await packPackages(root, tarballs, { ...process.env });
    const packMs = Date.now() - started;
    started = Date.now();
    // Offline, from npm's cache, which scripts/setup.sh filled (scripts/warm-npm-cache.ts): the
    // registry is not on loopback.
    const installed = await npmInstall(dir, files, userEnv(), { offline: true });
    if (installed.code !== 0) throw new Error(`${describe('npm install --offline', installed)}\n(npm's cache lacks a dependency: run scripts/setup.sh --test-servers, which fills it)`);
    return { dir, work, packMs, installMs: Date.now() - started };
  })();
  return installation;
}

test.after.always(async () => {
  await Promise.all(cleanup.map((dir) => rm(dir, { recursive: true, force: true })));
});

/** The ```ts block under each "### API" heading of the README, in order. */
async function readmeApiExamples(): Promise<string[]> {
  const readme = await readFile(join(root, 'README.md'), 'utf8');
  const blocks: string[] = [];
  for (const match of readme.matchAll(/^### API\n[\s\S]*?^```ts\n([\s\S]*?)^```$/gm)) blocks.push(match[1]!);
  return blocks;
}

/** Replaces each `from` (which must occur exactly once) by the string literal of `to`. */
function substitute(block: string, section: string, replacements: ReadonlyArray<readonly [string, string]>): string {
  let out = block;
  for (const [from, to] of replacements) {
    const count = out.split(from).length - 1;
    if (count !== 1) throw new Error(`README's ${section} API example has ${count} occurrences of ${from}, expected 1: update test/packaging/pack.test.ts with the README`);
    out = out.replace(from, () => to);
  }
  return out;
}

/** Splits a module into its import statements and the rest. */
function splitImports(block: string): { imports: string[]; body: string } {
  const imports: string[] = [];
  const body = block.replace(/^import\s[^;]*?\sfrom\s+'[^']+';\n/gm, (statement) => {
    imports.push(statement.trim());
    return '';
  });
  return { imports, body };
}

/** Bare module names a script imports (static and dynamic), package names only. */
function importedPackages(source: string): Set<string> {
  const specifiers = [
    ...source.matchAll(/\bfrom\s*['"]([^'"]+)['"]/g),
    ...source.matchAll(/\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g),
    ...source.matchAll(/^\s*import\s*['"]([^'"]+)['"]/gm),
    ...source.matchAll(/\brequire\s*\(\s*['"]([^'"]+)['"]\s*\)/g),
  ].map((match) => match[1]!);
  const names = new Set<string>();
  for (const specifier of specifiers) {
    if (specifier.startsWith('.') || specifier.startsWith('/') || isBuiltin(specifier)) continue;
    const parts = specifier.split('/');
    names.add(specifier.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]!);
  }
  return names;
}

test('the README API examples, installed from the tarballs: upload to file://, fetch back, same bytes, nothing on stderr', async (t) => {
  t.timeout(TIMEOUT);
  const { dir, work, packMs, installMs } = await install();
  t.log(`pnpm pack x${PACKAGES.length}: ${packMs} ms; npm install: ${installMs} ms`);

  const examples = await readmeApiExamples();
  t.is(examples.length, 2, 'two "### API" sections in the README: fetch, then upload');
  const [fetchExample, uploadExample] = examples as [string, string];

  const src = join(work, 'src');
  const store = join(work, 'store');
  const base = join(work, 'artifacts');
  const job = await writeFixture(join(src, 'my-flink-job.jar'), Buffer.from(Array.from({ length: 300_000 }, (_, i) => (i * 31) % 251)));
  await writeFixture(join(src, 'my-udf.jar'), 'a udf');
  const storeUri = `${pathToFileURL(store).href}/`;
  const localUri = (path: string) => pathToFileURL(path).href.replace(/^file:/, 'local:');

  // The examples as written, pointed at this test's directories instead of S3 and /tmp.
  const upload = splitImports(
    substitute(uploadExample, 'upload', [
      ["'kubernetes.artifacts.local-upload-target=s3://my-bucket/flink/'", JSON.stringify(`kubernetes.artifacts.local-upload-target=${storeUri}`)],
      ["'user.artifacts.artifact-list=local:///tmp/my-udf.jar;s3://my-bucket/shared/lib.jar'", JSON.stringify(`user.artifacts.artifact-list=${localUri(join(src, 'my-udf.jar'))}`)],
      ["'local:///tmp/my-flink-job.jar'", JSON.stringify(localUri(job))],
    ]),
  );
  const fetch = splitImports(
    substitute(fetchExample, 'fetch', [
      ["['kubernetes.cluster-id=my-app']", JSON.stringify(['kubernetes.cluster-id=my-app', `user.artifacts.base-dir=${base}`])],
      ["'s3://bucket/job.jar'", JSON.stringify(`${storeUri}my-flink-job.jar`)],
    ]),
  );
  const script = [
    ...new Set([...upload.imports, ...fetch.imports]),
    "import { readFileSync } from 'node:fs';",
    'let fetchReport;',
    // Each example in its own block: both declare `config` and `report`.
    `{\n${upload.body}}`,
    `{\n${fetch.body}fetchReport = report;\n}`,
    `const original = readFileSync(${JSON.stringify(job)});`,
    'const fetched = readFileSync(fetchReport.jobJar);',
    'console.log(JSON.stringify({ jobJar: fetchReport.jobJar, fetched: fetchReport.fetched, bytes: fetched.length, identical: fetched.equals(original) }));',
    '',
  ].join('\n');
  // The blocks are TypeScript by their fence: strip any types, keep every import as written.
  const js = ts.transpileModule(script, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, verbatimModuleSyntax: true } }).outputText;
  const packages = importedPackages(js);
  t.deepEqual([...packages].filter((name) => !API_PACKAGES.has(name)), [], 'the examples import only the installed API packages');
  t.true(packages.size > 0);
  const scriptPath = await writeFixture(join(dir, 'readme-api.mjs'), js);

  const result = await run(process.execPath, [scriptPath], dir, userEnv({ FLINK_ARTIFACTS_CACHE_DIR: join(work, 'checksum-cache') }));
  t.is(result.code, 0, describe('the README API examples', result));
  const lines = result.stdout.trim().split('\n');
  // The upload example prints the rewritten job URI first.
  t.is(lines[0], `${storeUri}my-flink-job.jar`);
  const summary = JSON.parse(lines.at(-1)!) as { jobJar: string; fetched: number; bytes: number; identical: boolean };
  t.is(summary.jobJar, join(base, 'default', 'my-app', 'my-flink-job.jar'));
  t.is(summary.fetched, 1);
  t.is(summary.bytes, 300_000);
  t.true(summary.identical, 'the fetched job jar has the uploaded bytes');
  t.true((await readFile(summary.jobJar)).equals(await readFile(job)));
  t.is(result.stderr, '', 'the programmatic API prints nothing to the caller\'s stderr');
});

test('the installed fetch API against an unreachable S3 endpoint throws, and prints no AWS SDK Node-version warning', async (t) => {
  t.timeout(TIMEOUT);
  const { dir, work } = await install();
  const base = join(work, 'artifacts-s3');
  // Port 9 (discard) on loopback: nothing listens, the connection is refused at once.
  const script = `import { resolveFlinkConfig } from '@flink-artifacts/core';
import { fetchArtifacts } from '@flink-artifacts/fetcher';

const { config } = await resolveFlinkConfig({
  dynamicProperties: ${JSON.stringify([
    'kubernetes.cluster-id=my-app',
    `user.artifacts.base-dir=${base}`,
    's3.endpoint=http://127.0.0.1:9',
    's3.path.style.access=true',
    's3.endpoint.region=us-east-1',
    's3.access-key=packaging-test',
    's3.secret-key=packaging-test-secret',
    'flink-artifacts.retry.max-attempts=1',
  ])},
});
try {
  await fetchArtifacts({ config, jobUri: 's3://packaging-test/job.jar' });
  console.log(JSON.stringify({ thrown: false }));
} catch (error) {
  console.log(JSON.stringify({ thrown: true, name: error?.name, code: error?.code, message: error?.message }));
}
`;
  const scriptPath = await writeFixture(join(dir, 's3-unreachable.mjs'), script);
  const started = Date.now();
  const result = await run(process.execPath, [scriptPath], dir, userEnv({ FLINK_ARTIFACTS_CACHE_DIR: join(work, 'checksum-cache') }));
  t.log(`failed in ${Date.now() - started} ms: ${result.stdout.trim().split('\n').at(-1)}`);
  t.is(result.code, 0, describe('the S3 script', result));
  const outcome = JSON.parse(result.stdout.trim().split('\n').at(-1)!) as { thrown: boolean; name?: string; code?: string; message?: string };
  t.true(outcome.thrown, 'the failure reaches the caller as a thrown error');
  t.regex(outcome.code ?? '', /^ERR_/, `a typed error with a stable code: ${JSON.stringify(outcome)}`);
  t.notRegex(result.stderr, /NodeVersion|node version/i, 'the AWS SDK\'s Node-version warning does not reach the caller\'s stderr');
});

test('npx flink-artifacts --help, installed from the tarballs, lists the commands', async (t) => {
  t.timeout(TIMEOUT);
  const { dir } = await install();
  // `npx flink-artifacts --help`, with `--no --` so that npx runs the installed command or fails,
  // and never downloads a package of that name (without `--`, npx takes `--help` for itself).
  const result = await run('npx', ['--no', '--', 'flink-artifacts', '--help'], dir, userEnv());
  t.is(result.code, 0, describe('npx flink-artifacts --help', result));
  for (const command of ['fetch', 'upload', 'render', 'run-application']) {
    t.regex(result.stdout, new RegExp(`^\\s*flink-artifacts ${command}\\b`, 'm'), `lists ${command}`);
  }
});

test('each installed package imports, at run time, only what its manifest lists as dependencies, and lists nothing it does not import', async (t) => {
  t.timeout(TIMEOUT);
  const { dir } = await install();
  for (const name of PACKAGES) {
    const manifest = JSON.parse(await readFile(join(root, 'packages', name, 'package.json'), 'utf8')) as { name: string; dependencies?: Record<string, string> };
    const installedDir = join(dir, 'node_modules', manifest.name);
    const imported = new Set<string>();
    for (const sub of ['dist', 'bin']) {
      const entries = await readdir(join(installedDir, sub), { recursive: true, withFileTypes: true }).catch(() => []);
      for (const entry of entries) {
        if (!entry.isFile() || !entry.name.endsWith('.js')) continue;
        for (const pkg of importedPackages(await readFile(join(entry.parentPath, entry.name), 'utf8'))) imported.add(pkg);
      }
    }
    const declared = Object.keys(manifest.dependencies ?? {});
    t.deepEqual([...imported].filter((pkg) => !declared.includes(pkg)).sort(), [], `${manifest.name} imports packages it does not depend on`);
    t.deepEqual(declared.filter((pkg) => !imported.has(pkg)).sort(), [], `${manifest.name} depends on packages its code never imports`);
  }
});
