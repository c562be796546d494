/** The answer to GET /videos/{videoId}/playback. */
import { Type, type Static } from '@sinclair/typebox';

export const Playback = Type.Object(
  {
    manifestUrl: Type.String({
      format: 'uri',
      description: 'The HLS master playlist on the CDN, signed (CloudFront custom policy) for every object of this video; give it to the player as is.',
    }),
    expiresAt: Type.String({
      format: 'date-time',
      description: 'When the signature stops working: at least the video duration plus a margin from now. Ask again afterwards.',
    }),
  },
  { $id: 'Playback', additionalProperties: false },
);
export type Playback = Static<typeof Playback>;
