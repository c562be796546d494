/** Limits of the upload routes that clients plan around as well as the API. */

/** How many part URLs one answer carries at most (POST /uploads and POST /uploads/{videoId}/parts). */
export const PART_URLS_PER_BATCH = 100;
