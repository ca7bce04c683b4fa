/** The placement response shape shared by the pipeline and the service. */
import type { PlacementResponseSchema } from '@duet/core';
import type { MessageInitShape } from '@bufbuild/protobuf';

export type PlacementResponseInit = MessageInitShape<typeof PlacementResponseSchema>;
