/* entries.mjs: every file and folder CID the JS importer makes for a path, in the form of
 * `fog add` (and kubo `ipfs add`): "added <CID> <path>", paths starting at the basename of
 * PATH. Sorted bytewise, so that a shell `LC_ALL=C sort` of fog's output compares equal.
 * The importer does not report empty folders (its tree builder yields only folders it built),
 * so those are added here with the CID of an empty folder under the same settings.
 * Usage: node entries.mjs PATH FLAGS...
 */
import fs from 'node:fs';
import path from 'node:path';
import { NullBlockstore, importPath, importerOptions, parseFlags } from './lib.mjs';

const [p, ...flags] = process.argv.slice(2);
const opts = importerOptions(parseFlags(flags));
const { entries } = await importPath(p, opts, new NullBlockstore());
const lines = new Map();
for (const e of entries) {
    lines.set(e.path, e.cid.toString());
}

/* Empty folders under p, as paths starting at its basename. */
function emptyDirs(abs, rel, out) {
    if (!fs.statSync(abs).isDirectory()) {
        return out;
    }
    const names = fs.readdirSync(abs);
    if (names.length === 0) {
        out.push(rel);
    }
    for (const n of names) {
        emptyDirs(path.join(abs, n), `${rel}/${n}`, out);
    }
    return out;
}
const empties = emptyDirs(p, path.basename(p), []);
if (empties.length > 0) {
    const tmp = fs.mkdtempSync('/tmp/fog-entries-');
    fs.mkdirSync(`${tmp}/e`);
    const { root } = await importPath(`${tmp}/e`, opts, new NullBlockstore());
    fs.rmSync(tmp, { recursive: true });
    for (const rel of empties) {
        if (!lines.has(rel)) {
            lines.set(rel, root.cid.toString());
        }
    }
}
const out = [...lines].map(([rel, cid]) => `added ${cid} ${rel}`);
out.sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
console.log(out.join('\n'));
