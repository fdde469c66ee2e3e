import type * as z from 'zod';
import { StreamfoldError } from '../core/errors.js';
import type { Item } from '../records/attribute-value.js';
import type { ChangeEvent } from '../records/change-event.js';
import type { Projection, ProjectionEvent } from './define.js';

type ImageSide = 'NewImage' | 'OldImage';

/**
 * Validates images against projection schemas, once per image and schema: several projections of one
 * consumer usually share the source schema, and a retried fold must not pay for parsing again.
 */
export class ImageParser {
  private readonly parsed = new WeakMap<Item, Map<z.ZodType, unknown>>();

  image(projection: Projection, event: ChangeEvent, side: ImageSide): unknown {
    const image = side === 'NewImage' ? event.newImage : event.oldImage;
    if (image === undefined) return undefined;
    let bySchema = this.parsed.get(image);
    if (bySchema === undefined) {
      bySchema = new Map();
      this.parsed.set(image, bySchema);
    }
    if (bySchema.has(projection.schema)) return bySchema.get(projection.schema);
    const result = projection.schema.safeParse(image);
    if (!result.success) {
      const issue = result.error.issues[0];
      const path = issue?.path.map(String) ?? [];
      throw new StreamfoldError(
        'SCHEMA_MISMATCH',
        `image does not match the projection's schema: ${issue?.message ?? 'invalid'}`,
        {
          cause: result.error,
          projection: projection.name,
          eventID: event.eventID,
          key: event.key.id,
          sequence: event.sequence,
          field: ['dynamodb', side, ...path].join('.'),
        },
      );
    }
    bySchema.set(projection.schema, result.data);
    return result.data;
  }

  /**
   * The event as a projection sees it. The new image is validated at once; the old one only if the
   * projection reads it, so a field added to the schema does not make every change of an older item fail.
   */
  event(projection: Projection, event: ChangeEvent): ProjectionEvent<unknown> {
    const typed = {
      eventID: event.eventID,
      kind: event.kind,
      key: event.key.attributes,
      sequence: event.sequence,
      approximateTime: event.approximateTime,
      newImage: this.image(projection, event, 'NewImage'),
      ttlExpiry: event.ttlExpiry,
      replay: event.replay,
    };
    return Object.defineProperty(typed, 'oldImage', {
      enumerable: true,
      get: () => this.image(projection, event, 'OldImage'),
    }) as ProjectionEvent<unknown>;
  }
}
