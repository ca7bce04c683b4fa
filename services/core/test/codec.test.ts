import assert from 'node:assert/strict';
import { create, type DescMessage } from '@bufbuild/protobuf';
import { describe, it } from 'node:test';
import {
  DEFAULT_KV_CHUNK_BYTES,
  ErrorCode,
  FinishReason,
  NATS_DEFAULT_MAX_PAYLOAD_BYTES,
  PayloadTooLargeError,
  WireDecodeError,
  WorkerRole,
  crc32,
  wire,
  type WireCodec,
} from '../src/index.ts';
import { fixtures } from './fixtures.ts';

void describe('wire codecs', () => {
  void it('has a fixture for every codec, and each round-trips', () => {
    assert.deepEqual(Object.keys(fixtures).sort(), Object.keys(wire).sort());
    for (const [name, init] of Object.entries(fixtures)) {
      const codec = wire[name as keyof typeof wire] as unknown as WireCodec<DescMessage>;
      const bytes = codec.encode(init);
      const back = codec.decode(bytes);
      // Decoding gives exactly the message the fixture describes (defaults filled in), and
      // re-encoding it gives the same bytes: nothing was lost or invented.
      assert.deepEqual(back, create(codec.schema, init), name);
      assert.deepEqual(codec.encode(back), bytes, name);
    }
  });

  void it('keeps oneofs, optionals, enums and 64-bit fields typed', () => {
    const hb = wire.workerHeartbeat.decode(wire.workerHeartbeat.encode(fixtures.workerHeartbeat));
    assert.equal(hb.worker?.role, WorkerRole.BOTH);
    assert.equal(typeof hb.seq, 'bigint');
    const placed = wire.placementResponse.decode(wire.placementResponse.encode(fixtures.placementResponse));
    assert.equal(placed.result.case, 'placed');
    assert.equal(placed.result.case === 'placed' && placed.result.value.prefillWorkerId, undefined, 'decode-only placement');
    const none = wire.placementResponse.decode(wire.placementResponse.encode({ result: { case: 'noCapacity', value: { reason: 'all busy' } } }));
    assert.equal(none.result.case, 'noCapacity');
    const end = wire.tokenChunk.decode(wire.tokenChunk.encode({ requestId: 'r', finishReason: FinishReason.ERROR, error: { code: ErrorCode.INTERNAL, message: 'boom' } }));
    assert.equal(end.error?.code, ErrorCode.INTERNAL);
    // proto3 optional: "no logprobs" (absent) differs from "0 alternatives" (present, 0).
    const noLp = wire.prefillRequest.decode(wire.prefillRequest.encode({ sampling: { temperature: 0 } }));
    assert.equal(noLp.sampling?.logprobs, undefined);
    const zeroLp = wire.prefillRequest.decode(wire.prefillRequest.encode({ sampling: { logprobs: 0 } }));
    assert.equal(zeroLp.sampling?.logprobs, 0);
  });

  void it('carries sampling floats as doubles, bit-exact', () => {
    const back = wire.decodeRequest.decode(wire.decodeRequest.encode({ sampling: { temperature: 0.7, topP: 0.9 } }));
    assert.equal(back.sampling?.temperature, 0.7);
    assert.equal(back.sampling?.topP, 0.9);
  });

  void it('throws a typed WireDecodeError with the cause on malformed bytes', () => {
    const good = wire.tokenChunk.encode(fixtures.tokenChunk);
    const cases: [string, Uint8Array][] = [
      ['truncated', good.subarray(0, good.length - 3)],
      ['wire type 7', Uint8Array.of(0x0f, 0x00)],
      ['length past the end', Uint8Array.of(0x0a, 0x7f, 0x41)],
    ];
    for (const [what, bytes] of cases) {
      assert.throws(
        () => wire.tokenChunk.decode(bytes),
        (e: unknown) =>
          e instanceof WireDecodeError &&
          e.code === 'wire-decode' &&
          e.typeName === 'duet.v1.TokenChunk' &&
          e.byteLength === bytes.length &&
          e.cause instanceof Error &&
          e.message.startsWith('malformed duet.v1.TokenChunk'),
        what,
      );
    }
  });

  void it('a default-size KV chunk fits NATS max_payload with room to spare; maxBytes names an oversize', () => {
    const payload = new Uint8Array(DEFAULT_KV_CHUNK_BYTES).map((_, i) => i * 31);
    const bytes = wire.kvChunk.encode(
      { transferId: 'x', seq: 4_000_000_000, layer: 79, tokenStart: 0, tokenEnd: 32, checksum: crc32(payload), payload },
      { maxBytes: NATS_DEFAULT_MAX_PAYLOAD_BYTES },
    );
    assert.ok(bytes.length < DEFAULT_KV_CHUNK_BYTES + 128, `overhead ${bytes.length - DEFAULT_KV_CHUNK_BYTES} bytes`);
    const back = wire.kvChunk.decode(bytes);
    assert.equal(crc32(back.payload), back.checksum); // any uint32 round-trips; crc32 is just a value here
    assert.throws(
      () => wire.kvChunk.encode({ payload: new Uint8Array(NATS_DEFAULT_MAX_PAYLOAD_BYTES) }, { maxBytes: NATS_DEFAULT_MAX_PAYLOAD_BYTES }),
      (e: unknown) => e instanceof PayloadTooLargeError && e.typeName === 'duet.v1.KvChunk' && e.limitBytes === NATS_DEFAULT_MAX_PAYLOAD_BYTES,
    );
  });
});
