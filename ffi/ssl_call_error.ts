/**
 * The error for an OpenSSL call that failed with `SSL_get_error` code
 * `code`, shared by the TLS connection (`openssl_conn.ts`) and the Worker's
 * session path (`data_plane_session.ts`).
 *
 * @module
 */
import { errno, ErrnoError } from "./libc.ts";
import { OpenSslError, SSL_ERROR, takeErrors } from "./openssl.ts";

/**
 * `SSL_ERROR_SYSCALL` with an empty error queue is the socket's own error
 * (errno), or, with errno 0, the peer closing without close_notify (a reset
 * for the caller); anything else is an {@linkcode OpenSslError} with the
 * queued library errors.
 */
export function sslCallError(action: string, call: string, code: number): Error {
  if (code === SSL_ERROR.SYSCALL) {
    const codes = takeErrors();
    const e = errno();
    if (codes.length === 0) {
      return e === 0
        ? new Deno.errors.ConnectionReset(`${action}: peer closed the connection`)
        : new ErrnoError(action, call, e);
    }
    return new OpenSslError(action, call, code, codes);
  }
  return new OpenSslError(action, call, code);
}
