/* car_check.mjs: reads a CAR that fog exported and checks it with the JS implementations.
 * Usage: node car_check.mjs NAME CAR PATH ROOT FLAGS...
 *   PATH is the file or folder fog added with FLAGS; ROOT is the CID fog printed.
 * Checks, one output line each ("ok   NAME/check" or "FAIL NAME/check: why"):
 *   roots    the CAR header (@ipld/car CarReader) lists exactly ROOT;
 *   hashes   every block's bytes hash (sha2-256, in JS) to its CID and decode for its codec;
 *   blocks   the set of block CIDs equals the set ipfs-unixfs-importer stores for PATH with
 *            the same settings (and the CAR has no block twice);
 *   content  ipfs-unixfs-exporter, reading only the CAR's blocks, gives back every file's bytes
 *            and every folder's entry names as on disk.
 * Exit 1 when a check fails.
 */
import fs from 'node:fs';
import path from 'node:path';
import { CarReader } from '@ipld/car';
import { exporter } from 'ipfs-unixfs-exporter';
import {
    RecordingBlockstore, equalBytes, importPath, importerOptions, parseCid, parseFlags,
    verifyBlock
} from './lib.mjs';

const out = [];
let failed = 0;
function report(name, problem) {
    if (problem) {
        failed++;
        out.push(`FAIL ${name}: ${problem}`);
    } else {
        out.push(`ok   ${name}`);
    }
}

async function collect(chunks) {
    const parts = [];
    let n = 0;
    for await (const c of chunks) {
        parts.push(c);
        n += c.length;
    }
    const all = new Uint8Array(n);
    let off = 0;
    for (const p of parts) {
        all.set(p, off);
        off += p.length;
    }
    return all;
}

/* Compares the DAG under cid with the file or folder at disk; returns a problem or null. */
async function compareTree(cid, disk, store, rel) {
    const entry = await exporter(cid, store);
    const st = fs.statSync(disk);
    if (st.isDirectory()) {
        if (entry.type !== 'directory') {
            return `${rel}: folder on disk, ${entry.type} in the CAR`;
        }
        const want = fs.readdirSync(disk).sort();
        const got = [];
        for await (const e of entry.entries()) {
            got.push(e);
        }
        const names = got.map((e) => e.name).sort();
        if (JSON.stringify(names) !== JSON.stringify(want)) {
            return `${rel}: entries ${JSON.stringify(names)} vs disk ${JSON.stringify(want)}`;
        }
        for (const e of got) {
            const p = await compareTree(e.cid, path.join(disk, e.name), store, `${rel}/${e.name}`);
            if (p) {
                return p;
            }
        }
        return null;
    }
    if (entry.type !== 'file' && entry.type !== 'raw') {
        return `${rel}: file on disk, ${entry.type} in the CAR`;
    }
    const bytes = await collect(entry.content());
    if (!equalBytes(bytes, fs.readFileSync(disk))) {
        return `${rel}: ${bytes.length} bytes differ from the file on disk (${st.size} bytes)`;
    }
    return null;
}

async function main() {
    const [name, carPath, inPath, rootText, ...flags] = process.argv.slice(2);
    const root = parseCid(rootText);
    const reader = await CarReader.fromBytes(fs.readFileSync(carPath));
    const roots = (await reader.getRoots()).map(String);
    report(`${name}/roots`, roots.length === 1 && roots[0] === root.toString() ? null
        : `header roots ${JSON.stringify(roots)}, want [${root}]`);

    const store = new RecordingBlockstore();
    const seen = new Set();
    let dups = 0;
    let bad = null;
    for await (const { cid, bytes } of reader.blocks()) {
        const problem = await verifyBlock(cid, bytes);
        if (problem && !bad) {
            bad = `${cid}: ${problem}`;
        }
        if (seen.has(cid.toString())) {
            dups++;
        }
        seen.add(cid.toString());
        store.put(cid, bytes);
    }
    report(`${name}/hashes`, bad);

    const ref = new RecordingBlockstore();
    const { root: jsRoot } = await importPath(inPath, importerOptions(parseFlags(flags)), ref);
    const want = new Set(ref.cids.keys());
    const missing = [...want].filter((c) => !seen.has(c));
    const extra = [...seen].filter((c) => !want.has(c));
    let problem = null;
    if (jsRoot.cid.toString() !== root.toString()) {
        problem = `js importer root ${jsRoot.cid}, fog ${root}`;
    } else if (missing.length || extra.length) {
        problem = `${missing.length} blocks missing (${missing.slice(0, 3).join(' ')}), ` +
                  `${extra.length} extra (${extra.slice(0, 3).join(' ')})`;
    } else if (dups) {
        problem = `${dups} blocks written twice`;
    }
    report(`${name}/blocks`, problem);

    let content;
    try {
        content = await compareTree(root, inPath, store, path.basename(inPath));
    } catch (err) {
        content = `exporter: ${err.message}`;
    }
    report(`${name}/content`, content);
}

await main();
console.log(out.join('\n'));
process.exit(failed ? 1 : 0);
