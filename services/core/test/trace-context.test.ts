import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { headers } from 'nats';
import { TRACE_HEADER_NAMES, traceCarrier, traceHeaders } from '../src/index.ts';

const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

void describe('trace context in NATS headers', () => {
  void it('round-trips traceparent and tracestate, dropping other carrier keys', () => {
    const h = traceHeaders({ traceparent, tracestate: 'duet=1', baggage: 'x=y' });
    assert.deepEqual(traceCarrier(h), { traceparent, tracestate: 'duet=1' });
    assert.equal(h.has('baggage'), false);
    assert.deepEqual([...TRACE_HEADER_NAMES], ['traceparent', 'tracestate']);
  });

  void it('adds to existing headers, replacing an older trace', () => {
    const h = headers();
    h.set('duet-request-id', 'req-1');
    h.set('traceparent', 'stale');
    traceHeaders({ traceparent }, h);
    assert.equal(h.get('duet-request-id'), 'req-1');
    assert.deepEqual(h.values('traceparent'), [traceparent]);
  });

  void it('reads keys case-insensitively and tolerates no headers at all', () => {
    const h = headers();
    h.set('TraceParent', traceparent);
    assert.deepEqual(traceCarrier(h), { traceparent });
    assert.deepEqual(traceCarrier(undefined), {});
    assert.deepEqual(traceCarrier(headers()), {});
  });

  void it('skips empty values', () => {
    assert.deepEqual(traceCarrier(traceHeaders({ traceparent: '' })), {});
  });
});
