/**
 * The one error the client throws for a refused request: `error` is the service's stable code
 * (`invalid_credentials`, `rate_limited`, `origin_not_allowed`, …), `status` the HTTP status.
 * A network failure surfaces as `network_error` with status 0.
 */
export class GatehouseError extends Error {
  override readonly name = 'GatehouseError';
  readonly error: string;
  readonly status: number;
  readonly body: Record<string, unknown>;

  constructor(status: number, body: Record<string, unknown>) {
    const error = typeof body.error === 'string' ? body.error : 'server_error';
    super(typeof body.error_description === 'string' ? body.error_description : error);
    this.error = error;
    this.status = status;
    this.body = body;
  }
}
