#!/usr/bin/env node
// Reads gclab heap snapshots with memlab's parser (@memlab/core; no browser) and checks
// the seed's forgotten global in them (forgotten_global.cc writes them):
//   - in <collector>-leak.heapsnapshot, memlab's own shortest path from the GC roots
//     to the LinearMemory goes through the global "window", App.cachedInstance,
//     Instance.memories and the vector's element 0; the memory's backing store is a
//     native node of at least 1 MiB under it; and memlab's dominator tree gives the
//     App a retained size that includes the backing store;
//   - in <collector>-fixed.heapsnapshot, there is no LinearMemory, and the App is
//     still there.
// Exits 0 when every file passes, 1 when a check fails, 2 when memlab cannot parse a
// file.
//
//   NODE_PATH=<dir>/node_modules node check_snapshot.js <file>...
'use strict';
const path = require('path');
const {utils, analysis, config, ErrorHandling} = require('@memlab/core');

config.errorHandling = ErrorHandling.Throw;  // a parse error is an exception, not exit(1)
config.muteConsole = true;

function findNodes(snap, name) {
  const found = [];
  snap.nodes.forEach(node => {
    if (node.name === name) found.push(node);
  });
  return found;
}

function describe(path) {
  const parts = [];
  for (let p = path; p; p = p.next) {
    parts.push(`${p.node.name}` + (p.next ? ` -${p.edge.name_or_index}->` : ''));
  }
  return parts.join(' ');
}

async function check(file) {
  const name = path.basename(file);
  let snap;
  try {
    snap = await utils.getSnapshotFromFile(file, {buildNodeIdIndex: true});
  } catch (e) {
    console.log(`FAIL ${name}: memlab cannot parse it: ${e.message}`);
    return 2;
  }
  const fail = message => {
    console.log(`FAIL ${name}: ${message}`);
    return 1;
  };
  const apps = findNodes(snap, 'App');
  if (apps.length !== 1) return fail(`${apps.length} App nodes, not 1`);
  const memories = findNodes(snap, 'LinearMemory');
  if (file.endsWith('-fixed.heapsnapshot')) {
    if (memories.length !== 0) return fail('the memory is still in the snapshot after the fix');
    console.log(`ok   ${name}: no LinearMemory after the fix (${snap.nodes.length} nodes)`);
    return 0;
  }
  if (memories.length !== 1) return fail(`${memories.length} LinearMemory nodes, not 1`);
  const memory = memories[0];

  const finder = analysis.preparePathFinder(snap);
  const found = finder.getPathToGCRoots(snap, memory);
  if (!found) return fail('memlab finds no path from the GC roots to the LinearMemory');
  const steps = [];
  for (let p = found; p; p = p.next) {
    steps.push({name: p.node.name, type: p.node.type, edge: p.next ? String(p.edge.name_or_index) : null});
  }
  const expected = [
    ['(GC roots)', '1'],
    ['(Persistent handles)', '0'],
    ['Persistent "window"', 'window'],
    ['App', 'cachedInstance'],
    ['Instance', 'memories'],
    ['gclab::HeapVector store', '0'],
    ['LinearMemory', null],
  ];
  const got = steps.map(s => [s.name, s.edge]);
  if (JSON.stringify(got) !== JSON.stringify(expected)) {
    return fail(`memlab's path is ${describe(found)}`);
  }

  let native = null;
  memory.forEachReference(edge => {
    if (edge.toNode.type === 'native') native = edge.toNode;
  });
  if (!native) return fail('no native node under the LinearMemory');
  if (!native.name.startsWith('LinearMemory backing store (1 MiB)')) {
    return fail(`the native node is named ${JSON.stringify(native.name)}`);
  }
  if (native.self_size < 1 << 20) {
    return fail(`the backing store's self size is ${native.self_size}, not its 1 MiB resident`);
  }
  const app = apps[0];
  if (app.retainedSize < native.self_size) {
    return fail(`App retains ${app.retainedSize} bytes, less than the backing store`);
  }
  console.log(`ok   ${name}: ${describe(found)}; ${native.name} resident ${native.self_size}, ` +
              `App retains ${app.retainedSize} (${snap.nodes.length} nodes)`);
  return 0;
}

async function main() {
  const files = process.argv.slice(2);
  if (files.length === 0) {
    console.error('usage: check_snapshot.js <file.heapsnapshot>...');
    return 2;
  }
  let worst = 0;
  for (const file of files) worst = Math.max(worst, await check(file));
  return worst;
}

main().then(code => { process.exitCode = code; },
            e => { console.error(e); process.exitCode = 2; });
