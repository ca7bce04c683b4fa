/**
 * One watch stream: newline-delimited `{"type","object"}` JSON on a chunked 200 response whose
 * headers go out at once (client-node's informer waits for them before it reports a start).
 *  - no resourceVersion (or "0"): ADDED for every current object, then live events;
 *  - with a label selector, a change that moves an object into the selection is ADDED and one
 *    that moves it out is DELETED;
 *  - resourceVersion X: every retained event after X, then live events;
 *  - X older than the watch cache: one ERROR event carrying a 410 Expired Status, then the
 *    stream ends — what a real API server does, and what makes an informer relist.
 * `timeoutSeconds` ends the stream after that long, as the server's own watch timeout does.
 */
import type { ServerResponse } from 'node:http';
import { ApiError, badRequest } from './errors.ts';
import type { RequestInfo } from './routes.ts';
import { resourceId } from './resources.ts';
import { parseFieldSelector, parseLabelSelector } from './selectors.ts';
import type { Store } from './store.ts';
import type { StoreEvent, StoredObject } from './types.ts';

export function serveWatch(store: Store, info: RequestInfo, res: ServerResponse, open: Set<ServerResponse>): void {
  const labels = parseLabelSelector(info.query.get('labelSelector'));
  const fields = parseFieldSelector(info.query.get('fieldSelector'));
  const rid = resourceId(info.def);
  const matches = (o: StoredObject): boolean =>
    (info.allNamespaces || !info.def.namespaced || o.metadata.namespace === info.namespace) && labels(o.metadata.labels) && fields(o.metadata);
  const rvParam = info.query.get('resourceVersion') ?? '';
  if (rvParam !== '' && !/^\d+$/.test(rvParam)) throw badRequest(`invalid resourceVersion "${rvParam}"`);

  res.writeHead(200, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked', 'Cache-Control': 'no-cache' });
  res.flushHeaders();
  const send = (type: string, object: unknown): void => {
    res.write(JSON.stringify({ type, object }) + '\n');
  };
  // An object whose change moves it into or out of the selection is ADDED or DELETED for this
  // watch, as the API server reports it.
  const deliver = (e: StoreEvent): void => {
    const now = matches(e.object);
    const before = e.type === 'MODIFIED' && e.previous !== undefined && matches(e.previous);
    if (e.type !== 'MODIFIED') {
      if (now) send(e.type, e.object);
    } else if (now) send(before ? 'MODIFIED' : 'ADDED', e.object);
    else if (before) send('DELETED', e.object);
  };

  if (rvParam === '' || rvParam === '0') {
    const { items } = store.list(info.def, info.allNamespaces ? undefined : info.namespace);
    for (const o of items.filter(matches)) send('ADDED', o);
  } else {
    const replay = store.log.since(rid, Number(rvParam));
    if (replay === 'gone') {
      const gone = new ApiError(410, 'Expired', `too old resource version: ${rvParam} (${store.currentRv()})`);
      send('ERROR', gone.toStatus());
      res.end();
      return;
    }
    for (const e of replay) deliver(e);
  }

  open.add(res);
  const unsubscribe = store.log.subscribe((e: StoreEvent) => {
    if (e.resource === rid) deliver(e);
  });
  const timeoutS = Number(info.query.get('timeoutSeconds') ?? '0');
  const timer = timeoutS > 0 ? setTimeout(() => res.end(), timeoutS * 1000) : undefined;
  const cleanup = (): void => {
    unsubscribe();
    if (timer) clearTimeout(timer);
    open.delete(res);
  };
  res.on('close', cleanup);
  res.on('finish', cleanup);
}
