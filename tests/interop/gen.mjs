/* gen.mjs: writes the deterministic test inputs (seeded PRNG: the same bytes on every run).
 * Usage: node gen.mjs OUTDIR cids|car
 *   cids: single files around the chunk sizes of both IPIP-499 profiles, a 174 x 256 KiB + 1
 *         file (two levels under unixfs-v0-2015), a folder tree with UTF-8 names, empty files
 *         and empty folders, a 3000-entry folder, and folders exactly at and one byte over
 *         the HAMT threshold for each profile's size estimate.
 *   car:  one folder mixing all of that at a smaller scale, for the CAR tests.
 * HAMT estimates (ipfs-unixfs-importer dir-flat.ts, boxo directory.go):
 *   links-bytes (v0 profile) = sum(len(name) + len(CID bytes)); CIDv0 is 34 bytes.
 *   block-bytes (v1 profile) = the basic directory's exact dag-pb size: 4 bytes of Data
 *   (0a 02 08 01) + per link 1 + 1 + linkLen, linkLen = (2 + 36 CIDv1 raw) + (2 + len(name))
 *   + (1 + 1 byte Tsize varint) when the name is under 86 bytes and the file under 128 bytes.
 */
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes, seedOf, prng } from './lib.mjs';

const KiB = 1024;
const MiB = 1024 * KiB;

function file(dir, rel, size, seedText) {
    const p = path.join(dir, rel);
    fs.mkdirSync(path.dirname(p), { recursive: true });
    fs.writeFileSync(p, randomBytes(seedOf(seedText ?? rel), size));
}

function emptyDir(dir, rel) {
    fs.mkdirSync(path.join(dir, rel), { recursive: true });
}

/* n names of exactly `len` bytes (ASCII), the first `longer` of them one byte longer. */
function fixedNames(prefix, n, len, longer) {
    const names = [];
    for (let i = 0; i < n; i++) {
        const want = len + (i < longer ? 1 : 0);
        const num = String(i);
        names.push(prefix + 'x'.repeat(want - prefix.length - num.length) + num);
    }
    return names;
}

/* A folder of small files (1..maxSize bytes) with the given names. */
function smallFiles(dir, rel, names, maxSize) {
    const d = path.join(dir, rel);
    fs.mkdirSync(d, { recursive: true });
    const next = prng(seedOf(rel));
    for (const n of names) {
        fs.writeFileSync(path.join(d, n), randomBytes(seedOf(rel + '/' + n), 1 + next() % maxSize));
    }
}

/* Names chosen to catch sorting and encoding mistakes: bytewise order differs from UTF-16
 * order (U+FF21 vs an emoji), from locale order (upper/lower case, accents), NFC and NFD
 * spellings of the same word, a 255-byte name of 3-byte characters, prefixes of each other. */
function utf8Tree(dir, rel) {
    const r = (p) => `${rel}/${p}`;
    file(dir, r('README.txt'), 700);
    file(dir, r('caf\u00e9.txt'), 33);
    file(dir, r('cafe\u0301.txt'), 34);
    file(dir, r('\uff21-fullwidth.txt'), 12);
    file(dir, r('\u{1f600}.txt'), 13);
    file(dir, r('\u{1f469}\u200d\u{1f4bb} dev/main.c'), 2000);
    file(dir, r('\u{1f469}\u200d\u{1f4bb} dev/empty'), 0);
    file(dir, r('\u6587\u4ef6\u5939/\u6570\u636e.bin'), 5000);
    emptyDir(dir, r('\u6587\u4ef6\u5939/\u7a7a'));
    file(dir, r('\u65e5\u672c\u8a9e.txt'), 99);
    file(dir, r('\u00c4rger.txt'), 5);
    for (const n of ['B.txt', 'a.txt', 'a-b.txt', 'a b.txt', 'a', 'Z.txt', '_u', '~t', '-d',
                     '0', '9', '10']) {
        file(dir, r(n), n.length * 3);
    }
    file(dir, r('\u8a9e'.repeat(85)), 85);
    file(dir, r('nested/a/b/c/d/e/f/g/h/empty.txt'), 0);
    emptyDir(dir, r('nested/a/b/empty-dir'));
    file(dir, r('nested/x/empty'), 0);
    emptyDir(dir, r('emptydirs/e1'));
    emptyDir(dir, r('emptydirs/e2/e3'));
    file(dir, r('multi-chunk.bin'), 300 * KiB + 7);
}

function genCids(out) {
    fs.writeFileSync(path.join(out, 'hello.txt'), 'hello world');
    const sizes = {
        'empty.bin': 0, 'one.bin': 1,
        'k256-1.bin': 256 * KiB - 1, 'k256.bin': 256 * KiB, 'k256+1.bin': 256 * KiB + 1,
        'm1-1.bin': MiB - 1, 'm1.bin': MiB, 'm1+1.bin': MiB + 1,
        'k300.bin': 300 * KiB, 'big-v0.bin': 174 * 256 * KiB + 1
    };
    for (const [n, s] of Object.entries(sizes)) {
        file(out, n, s);
    }
    emptyDir(out, 'emptydir');
    utf8Tree(out, 'tree');
    const many = [];
    for (let i = 0; i < 3000; i++) {
        many.push(`${i.toString(36)}-${'n'.repeat(i % 11)}.dat`);
    }
    smallFiles(out, 'many', many, 200);
    /* v0: 5242 * (16 + 34) + 44 = 262144; one more long name gives 262145. */
    smallFiles(out, 'hamt-v0-at', fixedNames('h', 5242, 16, 44), 64);
    smallFiles(out, 'hamt-v0-over', fixedNames('h', 5242, 16, 45), 64);
    /* v1: 4 + 4369 * (44 + 16) = 262144; one 17-byte name gives 262145. */
    smallFiles(out, 'hamt-v1-at', fixedNames('h', 4369, 16, 0), 100);
    smallFiles(out, 'hamt-v1-over', fixedNames('h', 4369, 16, 1), 100);
}

function genCar(out) {
    const r = 'carfolder';
    utf8Tree(out, `${r}/tree`);
    file(out, `${r}/big.bin`, 2 * MiB + 300 * KiB + 3);
    file(out, `${r}/empty.bin`, 0);
    file(out, `${r}/one.bin`, 1);
    emptyDir(out, `${r}/empty-dir`);
    smallFiles(out, `${r}/shard`, fixedNames('s', 4369, 16, 1), 100);
    fs.writeFileSync(path.join(out, 'single.bin'), randomBytes(seedOf('single'), 3 * MiB + 5));
}

const [out, what] = process.argv.slice(2);
if (!out || !['cids', 'car'].includes(what)) {
    console.error('usage: gen.mjs OUTDIR cids|car');
    process.exit(2);
}
fs.mkdirSync(out, { recursive: true });
(what === 'cids' ? genCids : genCar)(out);
