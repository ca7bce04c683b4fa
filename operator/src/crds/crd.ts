/**
 * A CRD definition (definitions.ts) → an `apiextensions.k8s.io/v1` CustomResourceDefinition object:
 * the zod schemas go through `z.toJSONSchema` (input side: what a user writes, defaults included)
 * and `toStructural`, then sit under spec/status of the openAPIV3Schema.
 */
import { z } from 'zod';
import { DUET_GROUP, DUET_VERSION } from './common.ts';
import type { CrdDefinition } from './definitions.ts';
import { toStructural, type JsonSchema } from './structural.ts';

/** The structural OpenAPI v3 schema of a zod schema. */
export function openApiSchemaOf(schema: z.ZodType): JsonSchema {
  const json = z.toJSONSchema(schema, { io: 'input', reused: 'inline', unrepresentable: 'throw', target: 'draft-2020-12' }) as JsonSchema;
  return toStructural(json);
}

/** The whole `openAPIV3Schema` of one kind. */
export function crdSchemaOf(def: CrdDefinition): JsonSchema {
  return {
    type: 'object',
    description: def.description,
    properties: {
      apiVersion: { type: 'string', description: 'APIVersion defines the versioned schema of this representation of an object.' },
      kind: { type: 'string', description: 'Kind is a string value representing the REST resource this object represents.' },
      metadata: { type: 'object' },
      spec: openApiSchemaOf(def.spec),
      status: openApiSchemaOf(def.status),
    },
    required: ['spec'],
  };
}

export function crdName(def: CrdDefinition): string {
  return `${def.plural}.${DUET_GROUP}`;
}

/** The CustomResourceDefinition object (as plain JSON, ready for YAML). */
export function buildCrd(def: CrdDefinition): JsonSchema {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: {
      name: crdName(def),
      labels: { 'app.kubernetes.io/name': 'duet', 'app.kubernetes.io/part-of': 'duet' },
    },
    spec: {
      group: DUET_GROUP,
      names: {
        kind: def.kind,
        listKind: `${def.kind}List`,
        plural: def.plural,
        singular: def.singular,
        shortNames: def.shortNames,
        categories: ['duet'],
      },
      scope: 'Namespaced',
      versions: [
        {
          name: DUET_VERSION,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: def.printerColumns,
          schema: { openAPIV3Schema: crdSchemaOf(def) },
        },
      ],
    },
  };
}
