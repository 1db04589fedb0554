#!/usr/bin/env node
// The installed command. Kept in JavaScript and outside dist/ so that package managers can
// link it before the first build.
import '../dist/bin.js';
