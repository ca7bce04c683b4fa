/** `definePlugin`: a typed PluginFactory from a kind, a type, a parameter schema and a constructor. */
import { z } from 'zod';
import type { PluginFactory, PluginInstanceOf, PluginKind } from './types.ts';

export function definePlugin<K extends PluginKind, P extends z.ZodType>(def: {
  kind: K;
  type: string;
  summary: string;
  parameters: P;
  create(params: z.output<P>): PluginInstanceOf[K];
}): PluginFactory<K, P> {
  return def;
}

/** A parameter schema that rejects unknown keys (a typo must not pass silently). */
export const params = <S extends z.ZodRawShape>(shape: S) => z.strictObject(shape);
