/**
 * Server-sent events from a fetch body: yields the `data:` payload of each event as it arrives
 * (multi-line data joined with "\n"), decoding UTF-8 across chunk boundaries. Comments and other
 * fields are skipped.
 */
export async function* sseData(body: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let buf = '';
  let data: string[] = [];
  for await (const chunk of body) {
    buf += decoder.decode(chunk, { stream: true });
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl).replace(/\r$/, '');
      buf = buf.slice(nl + 1);
      if (line === '') {
        if (data.length > 0) yield data.join('\n');
        data = [];
      } else if (line.startsWith('data:')) {
        data.push(line.slice(5).replace(/^ /, ''));
      }
    }
  }
  buf += decoder.decode();
  if (buf.startsWith('data:')) data.push(buf.slice(5).replace(/^ /, ''));
  if (data.length > 0) yield data.join('\n');
}
