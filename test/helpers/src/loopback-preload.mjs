// Loaded with `node --import` into every process of a test run (NODE_OPTIONS, set by
// scripts/run-tests.mjs): the ava workers and every CLI or tool process the tests start. Stops
// and records any packet that would leave loopback; see loopback-guard.mjs.
import { guardLoopback } from './loopback-guard.mjs';

guardLoopback();
