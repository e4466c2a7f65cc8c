// js_import.mjs: the JavaScript reference importer (npm ipfs-unixfs-importer, as helia uses it) on
// one file, for bench/add/run.sh. Settings are those of fog's default profile, IPIP-499
// unixfs-v1-2025, spelled out one by one so that a change of the library's defaults cannot
// change what is measured: CIDv1, raw leaves, fixed 1 MiB chunks, balanced layout with at most
// 1024 links per node. Blocks go to a black hole (a put() that drops them), so the figure is
// the importer's chunking, hashing and DAG building alone, the same work as `fog add -n`.
// Usage: node js_import.mjs FILE. Prints two lines: "cid <CID>" and "seconds <wall time>".
// The module path comes from tests/interop/node_modules (scripts/deps.sh --test installs it).
import { createReadStream } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const modules = join(here, '..', '..', 'tests', 'interop', 'node_modules');
const require = createRequire(join(modules, 'noop.js'));
const load = (name) => import(pathToFileURL(require.resolve(name)).href);

const { importer } = await load('ipfs-unixfs-importer');
const { fixedSize } = await load('ipfs-unixfs-importer/chunker');
const { balanced } = await load('ipfs-unixfs-importer/layout');

const CHUNK = 1024 * 1024;
const path = process.argv[2];
if (!path) {
    console.error('usage: node js_import.mjs FILE');
    process.exit(2);
}

// A black-hole blockstore: the importer only needs put(); the CID is its return value.
const blackHole = { put: async (cid) => cid };

const options = {
    profile: 'unixfs-v1-2025',
    cidVersion: 1,
    rawLeaves: true,
    chunker: fixedSize({ chunkSize: CHUNK }),
    layout: balanced({ maxChildrenPerNode: 1024 }),
    wrapWithDirectory: false,
};

const start = process.hrtime.bigint();
let root = null;
const source = [{ content: createReadStream(path, { highWaterMark: 4 * CHUNK }) }];
for await (const entry of importer(source, blackHole, options)) {
    root = entry.cid;
}
const seconds = Number(process.hrtime.bigint() - start) / 1e9;
if (root === null) {
    console.error('js_import: the importer produced no entry');
    process.exit(1);
}
console.log(`cid ${root.toString()}`);
console.log(`seconds ${seconds.toFixed(3)}`);
