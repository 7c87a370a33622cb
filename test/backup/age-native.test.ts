/**
 * The native age implementation (src/backup/age-native.ts) writes and reads the same format as
 * the age-encryption library: each decrypts the other's files, for sizes around the 64 KiB chunk
 * boundary; a wrong key, a damaged chunk and a truncated file are refused.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { Decrypter, Encrypter, generateIdentity, identityToRecipient } from 'age-encryption';
import { nativeDecrypter, nativeEncrypter } from '../../src/backup/age-native.js';

async function collect(s: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of s) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

test('native age and the age-encryption library read each other, and damage is refused', async () => {
  const id = await generateIdentity();
  const r = await identityToRecipient(id);
  const other = await generateIdentity();
  const r2 = await identityToRecipient(other);
  for (const size of [0, 1, 65535, 65536, 65537, 200_000]) {
    const plain = randomBytes(size);
    const ours = await collect(Readable.from([plain]).pipe(nativeEncrypter([r2, r])!));
    const d = new Decrypter();
    d.addIdentity(id);
    assert.ok(Buffer.from(await d.decrypt(new Uint8Array(ours))).equals(plain), `library reads ours (${size} bytes)`);
    const e = new Encrypter();
    e.addRecipient(r);
    const theirs = Buffer.from(await e.encrypt(new Uint8Array(plain)));
    assert.ok((await collect(Readable.from([theirs]).pipe(nativeDecrypter(id)!.stream))).equals(plain), `we read the library's (${size} bytes)`);
  }
  const ct = await collect(Readable.from([randomBytes(150_000)]).pipe(nativeEncrypter([r])!));
  const wrong = nativeDecrypter(other)!;
  await assert.rejects(collect(Readable.from([ct]).pipe(wrong.stream)), /no identity matched/);
  await assert.rejects(wrong.headerChecked, (e: any) => e.wrongKey === true);
  const damaged = Buffer.from(ct);
  damaged[damaged.length - 100] ^= 1;
  await assert.rejects(collect(Readable.from([damaged]).pipe(nativeDecrypter(id)!.stream)), /damaged/);
  await assert.rejects(collect(Readable.from([ct.subarray(0, ct.length - 70_000)]).pipe(nativeDecrypter(id)!.stream)), /damaged|truncated/);
  assert.equal(nativeEncrypter(['age1pq1notsupported']), null, 'other recipient types fall back to the library');
});

/** `buf` cut into pieces of `size` bytes (the last one shorter). */
function pieces(buf: Buffer, size: number): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < buf.length; i += size) out.push(buf.subarray(i, i + size));
  return out;
}

test('native age reads and writes a file however its bytes arrive: any piece size, blocks split across reads', async () => {
  const id = await generateIdentity();
  const r = await identityToRecipient(id);
  // 4 full 64 KiB blocks and a partial one; and exactly 3 full blocks (the last one full and final).
  for (const size of [300_000, 3 * 65536]) {
    const plain = randomBytes(size);
    const ct = await collect(Readable.from([plain]).pipe(nativeEncrypter([r])!));
    // The encrypter too takes its input in any pieces: the library reads what it writes.
    for (const piece of [1, 1000, 65535, 65536, 65537, 200_000]) {
      const again = await collect(Readable.from(pieces(plain, piece)).pipe(nativeEncrypter([r])!));
      const d = new Decrypter();
      d.addIdentity(id);
      assert.ok(Buffer.from(await d.decrypt(new Uint8Array(again))).equals(plain), `${size} bytes encrypted in pieces of ${piece}`);
    }
    // 65552 = one block with its tag: reads aligned with blocks, one byte short and one over.
    for (const piece of [1, 7, 1000, 65535, 65551, 65552, 65553, 131104, 200_000, 1 << 20]) {
      const got = await collect(Readable.from(pieces(ct, piece)).pipe(nativeDecrypter(id)!.stream));
      assert.ok(got.equals(plain), `${size} bytes read in pieces of ${piece}`);
    }
    // A flipped byte in the second block and a file cut at a block boundary are refused however they arrive.
    const damaged = Buffer.from(ct);
    damaged[ct.length - (size % 65536 ? 100 : 70_000)] ^= 1;
    const header = ct.length - Math.ceil(size / 65536) * 65552 + (size % 65536 ? 65536 - (size % 65536) : 0);
    for (const piece of [1000, 65552, 65553]) {
      await assert.rejects(collect(Readable.from(pieces(damaged, piece)).pipe(nativeDecrypter(id)!.stream)), /damaged/);
      await assert.rejects(collect(Readable.from(pieces(ct.subarray(0, header + 2 * 65552), piece)).pipe(nativeDecrypter(id)!.stream)), /damaged|truncated/);
    }
  }
});
