/** The public client_id: 128 random bits, base64url (22 characters). */
export const CLIENT_ID_BYTES = 16;

/** What a generated client_id looks like; anything else names no client (404 before a query). */
export const CLIENT_ID = /^[A-Za-z0-9_-]{22}$/;
