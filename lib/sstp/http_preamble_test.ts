import assert from "node:assert/strict";
import { ProtocolError } from "../errors.ts";
import { readHttpFixture } from "../../test/helpers/sstp_builders.ts";
import {
  buildSstpHttpRequest,
  buildSstpHttpResponse,
  parseSstpHttpRequest,
  parseSstpHttpResponse,
  type SstpHttpRequest,
  validateSstpHttpRequest,
} from "./http_preamble.ts";

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);
const badHttp = (e: unknown) =>
  e instanceof ProtocolError && e.layer === "http" && e.code === "BAD_HTTP";

Deno.test("parseSstpHttpRequest() parses the golden request", () => {
  const bytes = readHttpFixture("http_request.txt");
  const parsed = parseSstpHttpRequest(bytes);
  assert.ok(parsed !== null);
  assert.equal(parsed.consumed, bytes.length);
  assert.equal(parsed.request.method, "SSTP_DUPLEX_POST");
  assert.equal(parsed.request.path, "/sra_{BA195980-CD49-458b-9E23-C84EE0ADCD75}/");
  assert.equal(parsed.request.version, "HTTP/1.1");
  assert.equal(parsed.request.host, "vpn.example.test");
  assert.equal(parsed.request.correlationId, "{5A433D8D-3AEC-4E16-B4F9-6D2C4A8C0C31}");
  assert.equal(parsed.request.headers.get("content-length"), "18446744073709551615");
  assert.equal(validateSstpHttpRequest(parsed.request), 200);
});

Deno.test("buildSstpHttpRequest() reproduces the golden request", () => {
  assert.deepEqual(
    buildSstpHttpRequest({
      host: "vpn.example.test:443",
      correlationId: "{5A433D8D-3AEC-4E16-B4F9-6D2C4A8C0C31}",
    }),
    readHttpFixture("http_request.txt"),
  );
  assert.throws(() => buildSstpHttpRequest({ host: "a\r\nX: y", correlationId: "x" }), TypeError);
  assert.throws(
    () => buildSstpHttpRequest({ host: "a", correlationId: "x", path: "/a b" }),
    TypeError,
  );
});

Deno.test("buildSstpHttpResponse() reproduces the golden 200 response", () => {
  const golden = readHttpFixture("http_response.txt");
  assert.deepEqual(
    buildSstpHttpResponse({ status: 200, date: new Date(Date.UTC(2006, 10, 9, 0, 51, 9)) }),
    golden,
  );
  assert.deepEqual(
    buildSstpHttpResponse({ status: 200, date: "Thu, 09 Nov 2006 00:51:09 GMT" }),
    golden,
  );
  const parsed = parseSstpHttpResponse(golden);
  assert.deepEqual(parsed?.response, {
    version: "HTTP/1.1",
    status: 200,
    reason: "OK",
    headers: new Map([
      ["content-length", "18446744073709551615"],
      ["server", "Microsoft-HTTPAPI/2.0"],
      ["date", "Thu, 09 Nov 2006 00:51:09 GMT"],
    ]),
  });
});

Deno.test("parseSstpHttpRequest() returns null until the header is complete, at every prefix", () => {
  const bytes = readHttpFixture("http_request.txt");
  for (let i = 0; i < bytes.length; i++) {
    assert.equal(parseSstpHttpRequest(bytes.subarray(0, i)), null, `prefix ${i}`);
  }
  const response = readHttpFixture("http_response.txt");
  for (let i = 0; i < response.length; i++) {
    assert.equal(parseSstpHttpResponse(response.subarray(0, i)), null);
  }
});

Deno.test("parseSstpHttpRequest() and parseSstpHttpResponse() leave SSTP bytes after the header", () => {
  const sstp = [0x10, 0x01, 0x00, 0x0e];
  const request = new Uint8Array([...readHttpFixture("http_request.txt"), ...sstp]);
  const parsedRequest = parseSstpHttpRequest(request);
  assert.deepEqual([...request.subarray(parsedRequest?.consumed)], sstp);
  const response = new Uint8Array([...readHttpFixture("http_response.txt"), ...sstp]);
  const parsedResponse = parseSstpHttpResponse(response);
  assert.deepEqual([...response.subarray(parsedResponse?.consumed)], sstp);
});

Deno.test("parseSstpHttpRequest() tolerates header order and case, bare LF, IPv6 hosts and GUIDs without braces", () => {
  const parsed = parseSstpHttpRequest(enc(
    "SSTP_DUPLEX_POST /SRA_{ba195980-cd49-458b-9e23-c84ee0adcd75}/?tenantid=x HTTP/1.1\n" +
      "sstpcorrelationid:  5a433d8d-3aec-4e16-b4f9-6d2c4a8c0c31 \n" +
      "content-length: 18446744073709551615\nHOST: [2001:db8::1]:4443\n\nrest",
  ));
  assert.ok(parsed !== null);
  assert.equal(parsed.request.host, "2001:db8::1");
  assert.equal(parsed.request.correlationId, "5a433d8d-3aec-4e16-b4f9-6d2c4a8c0c31");
  assert.equal(validateSstpHttpRequest(parsed.request), 200);
  assert.equal(
    dec(
      enc(
        "SSTP_DUPLEX_POST /SRA_{ba195980-cd49-458b-9e23-c84ee0adcd75}/?tenantid=x HTTP/1.1\n" +
          "sstpcorrelationid:  5a433d8d-3aec-4e16-b4f9-6d2c4a8c0c31 \n" +
          "content-length: 18446744073709551615\nHOST: [2001:db8::1]:4443\n\nrest",
      ).subarray(parsed.consumed),
    ),
    "rest",
  );
  const noPort = parseSstpHttpRequest(enc("SSTP_DUPLEX_POST / HTTP/1.1\r\nHost: 10.0.0.1\r\n\r\n"));
  assert.equal(noPort?.request.host, "10.0.0.1");
  assert.equal(noPort?.request.correlationId, undefined);
});

Deno.test("parseSstpHttpRequest() throws BAD_HTTP for malformed or over-long headers", () => {
  for (
    const text of [
      "SSTP_DUPLEX_POST /sra_/\r\n\r\n",
      "SSTP_DUPLEX_POST  /sra_/ HTTP/1.1\r\n\r\n",
      "SSTP_DUPLEX_POST /sra_/ HTTP/1.1 extra\r\n\r\n",
      "SSTP_DUPLEX_POST /sra_/ HTTPS/1.1\r\n\r\n",
      "SSTP_DUPLEX_POST /sra_/ HTTP/1.1\r\nNoColon\r\n\r\n",
      "SSTP_DUPLEX_POST /sra_/ HTTP/1.1\r\nBad Name: x\r\n\r\n",
      "SSTP_DUPLEX_POST /sra_/ HTTP/1.1\r\n folded: x\r\n\r\n",
      "SSTP_DUPLEX_POST /sra_/ HTTP/1.1\r\nA: b\rc\r\n\r\n",
      "SSTP_DUPLEX_POST /sra_/ HTTP/1.1\r\nA: \0\r\n\r\n",
      "\r\n\r\n",
    ]
  ) {
    assert.throws(() => parseSstpHttpRequest(enc(text)), badHttp, JSON.stringify(text));
  }
  const long = enc("SSTP_DUPLEX_POST / HTTP/1.1\r\nX: " + "a".repeat(9000));
  assert.throws(() => parseSstpHttpRequest(long), badHttp);
  const longComplete = enc("SSTP_DUPLEX_POST / HTTP/1.1\r\nX: " + "a".repeat(8200) + "\r\n\r\n");
  assert.throws(() => parseSstpHttpRequest(longComplete), badHttp);
  assert.equal(
    parseSstpHttpRequest(enc("SSTP_DUPLEX_POST / HTTP/1.1\r\nX: " + "a".repeat(8000))),
    null,
  );
  assert.throws(() => parseSstpHttpResponse(enc("HTTP/1.1 20 OK\r\n\r\n")), badHttp);
  assert.throws(() => parseSstpHttpResponse(enc("ICY 200 OK\r\n\r\n")), badHttp);
});

Deno.test("validateSstpHttpRequest() answers 200, 400, 404, 405 and 501", () => {
  const req = (method: string, path: string, version = "HTTP/1.1"): SstpHttpRequest => ({
    method,
    path,
    version,
    headers: new Map(),
  });
  const sra = "/sra_{BA195980-CD49-458b-9E23-C84EE0ADCD75}/";
  assert.equal(validateSstpHttpRequest(req("SSTP_DUPLEX_POST", sra)), 200);
  assert.equal(validateSstpHttpRequest(req("SSTP_DUPLEX_POST", sra + "?tenantid=t1")), 200);
  assert.equal(validateSstpHttpRequest(req("SSTP_DUPLEX_POST", sra, "HTTP/1.0")), 400);
  assert.equal(validateSstpHttpRequest(req("SSTP_DUPLEX_POST", "/")), 404);
  assert.equal(validateSstpHttpRequest(req("GET", "/index.html")), 404);
  assert.equal(validateSstpHttpRequest(req("GET", sra)), 405);
  assert.equal(validateSstpHttpRequest(req("sstp_duplex_post", sra)), 501);
  assert.equal(validateSstpHttpRequest(req("BREW", sra)), 501);
});

Deno.test("buildSstpHttpResponse() builds short error responses that close the connection", () => {
  const text = dec(buildSstpHttpResponse({ status: 404 }));
  assert.equal(text, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
  assert.match(
    dec(buildSstpHttpResponse({ status: 405 })),
    /^HTTP\/1\.1 405 Method Not Allowed\r\nAllow: SSTP_DUPLEX_POST\r\n/,
  );
  const parsed = parseSstpHttpResponse(buildSstpHttpResponse({ status: 501 }));
  assert.equal(parsed?.response.status, 501);
  assert.equal(parsed?.response.headers.get("connection"), "close");
  assert.throws(() => buildSstpHttpResponse({ status: 99 }), RangeError);
  assert.equal(parseSstpHttpResponse(enc("HTTP/1.1 200\r\n\r\n"))?.response.reason, "");
});

Deno.test("parseSstpHttpRequest() keeps only a GUID-shaped SSTPCORRELATIONID (it tags every log line)", () => {
  const id = (value: string) =>
    parseSstpHttpRequest(
      enc(`SSTP_DUPLEX_POST /x HTTP/1.1\r\nHost: a\r\nSSTPCORRELATIONID: ${value}\r\n\r\n`),
    )?.request.correlationId;
  assert.equal(
    id("{5A433D8D-3AEC-4E16-B4F9-6D2C4A8C0C31}"),
    "{5A433D8D-3AEC-4E16-B4F9-6D2C4A8C0C31}",
  );
  assert.equal(id("5a433d8d-3aec-4e16-b4f9-6d2c4a8c0c31"), "5a433d8d-3aec-4e16-b4f9-6d2c4a8c0c31");
  for (
    const bad of [
      "{1234}",
      "x".repeat(7000),
      "{5A433D8D-3AEC-4E16-B4F9-6D2C4A8C0C31",
      "5A433D8D-3AEC-4E16-B4F9-6D2C4A8C0C31}",
      "{5A433D8D-3AEC-4E16-B4F9-6D2C4A8C0C31} forged=1",
    ]
  ) {
    assert.equal(id(bad), undefined, bad.slice(0, 40));
  }
});

Deno.test("parseSstpHttpRequest() quotes a malformed request line escaped and cut", () => {
  // U+202E (right-to-left override) arrives as bytes e2 80 ae; 0x80 is a C1 control.
  const line = "GET\u202e /x" + " y".repeat(200);
  assert.throws(
    () => parseSstpHttpRequest(enc(`${line}\r\n\r\n`)),
    (e: Error) =>
      e.message.includes("\\x80") && !e.message.includes("\u0080") && e.message.length < 140,
  );
});
