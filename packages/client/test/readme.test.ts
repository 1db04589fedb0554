import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import test from 'ava';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

// The example is typechecked with this package (tsconfig includes examples/); this keeps the
// README's copy identical to it, so the README never shows code that does not compile.
test('the README shows the upload API example exactly as it compiles', async (t) => {
  const readme = await readFile(join(root, 'README.md'), 'utf8');
  const example = await readFile(join(root, 'packages', 'client', 'examples', 'upload-api.ts'), 'utf8');
  const block = /<!-- example: packages\/client\/examples\/upload-api\.ts -->\n```ts\n([\s\S]*?)```/.exec(readme)?.[1];
  t.truthy(block, 'README has the marked example block');
  t.is(block, example);
});
