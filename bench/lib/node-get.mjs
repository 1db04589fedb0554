// A reference contender: Node's own http(s).get piped to a file, nothing else (no SDK, no
// checks, no retries). What any Node-based fetcher pays at least. Usage: node-get.mjs URL FILE
import { createWriteStream } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { pipeline } from 'node:stream/promises';

const [url, file] = process.argv.slice(2);
const client = url.startsWith('https:') ? https : http;
await new Promise((resolve, reject) => {
  client
    .get(url, (response) => {
      if (response.statusCode !== 200) reject(new Error(`HTTP ${response.statusCode}`));
      else pipeline(response, createWriteStream(file)).then(resolve, reject);
    })
    .on('error', reject);
});
