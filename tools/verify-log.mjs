#!/usr/bin/env node
// An independent verifier of titrator audit logs (envelope v3), using only Node's standard
// library: it shares no code with titrator. The format: docs/integrator/audit-log.md.
// Usage: node tools/verify-log.mjs LOG [--key-file FILE] [--expect-head HEX]
// Exit 0 intact and closed, 1 damaged, 2 usage or unreadable, 3 intact but not closed.
import { createHash, createHmac } from "crypto";
import { readFileSync } from "fs";

// RFC 8785: ECMAScript number and string forms, object keys sorted by UTF-16 code units.
const jcs = (v) =>
  v === null || typeof v !== "object" ? JSON.stringify(v)
  : Array.isArray(v) ? `[${v.map(jcs).join(",")}]`
  : `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${jcs(v[k])}`).join(",")}}`;
const without = (o, ...names) => Object.fromEntries(Object.entries(o).filter(([k]) => !names.includes(k)));
const sha256 = (text) => createHash("sha256").update(text, "utf8").digest("hex");

const args = process.argv.slice(2);
const opt = (name) => { const i = args.indexOf(name); return i < 0 ? null : args.splice(i, 2)[1]; };
const keyFile = opt("--key-file"), anchor = opt("--expect-head");
if (args.length !== 1 || (anchor !== null && !/^[0-9a-f]{16,64}$/.test(anchor))) {
  console.log("usage: verify-log.mjs LOG [--key-file FILE] [--expect-head 16-64 HEX]"); process.exit(2);
}
let text, key = null;
try { text = readFileSync(args[0], "utf8"); key = keyFile && readFileSync(keyFile); }
catch (e) { console.log(`ERROR cannot read: ${e.code}`); process.exit(2); }
const fail = (n, why) => { console.log(`DAMAGED line ${n}: ${why}`); process.exit(1); };
const lines = text.split("\n");
if (lines.pop() !== "") fail(lines.length + 1, "last line is incomplete");
const zeros = "0".repeat(64), keyId = key && createHmac("sha256", key).update("titrator-audit key id v1").digest("hex").slice(0, 16);
let prevHash = zeros, prevMac = zeros, session = null, keyed = false, closed = false;
lines.forEach((line, i) => {
  const n = i + 1; let r;
  try { r = JSON.parse(line); } catch { fail(n, "not valid JSON"); }
  if (closed) fail(n, "data after the session_closed record");
  if (r === null || typeof r !== "object" || !Number.isInteger(r.v)) fail(n, "not a record");
  if (r.v !== 3) { console.log(`UNSUPPORTED line ${n}: envelope v${r.v}; this verifier reads v3`); process.exit(2); }
  if (jcs(r) !== line) fail(n, "not in RFC 8785 canonical form");
  if (!Number.isInteger(r.mono)) fail(n, "mono is not whole milliseconds");
  if (r.seq !== i) fail(n, `seq ${r.seq} where ${i} was expected`);
  if (i === 0) {
    if (r.kind !== "log_opened") fail(n, "first record is not log_opened");
    [session, keyed] = [r.session_id, "mac" in r];
    if (key && !keyed) fail(n, "a key was given but the log carries no MACs");
    if (key && r.key_id !== keyId) fail(n, `log signed with key ${r.key_id}, not ${keyId}`);
  } else if (r.session_id !== session) fail(n, "record of another session");
  if (r.prev_hash !== prevHash) fail(n, "prev_hash does not link to the previous record");
  if (["key_id", "prev_mac", "mac"].some((f) => (f in r) !== keyed)) fail(n, "MAC fields inconsistent");
  if (keyed && r.prev_mac !== prevMac) fail(n, "prev_mac does not link to the previous record");
  if (key && createHmac("sha256", key).update(jcs(without(r, "hash", "mac")), "utf8").digest("hex") !== r.mac)
    fail(n, "MAC does not match");
  if (sha256(jcs(without(r, "hash"))) !== r.hash) fail(n, "hash does not match the record");
  [prevHash, prevMac, closed] = [r.hash, r.mac, r.kind === "session_closed"];
});
if (anchor && !prevHash.startsWith(anchor)) fail(lines.length, `head ${prevHash} is not the expected ${anchor}`);
const how = key ? "MAC-verified" : anchor ? "anchored" : "hash chain only";
console.log(`${closed ? "OK" : "UNFINISHED"} ${lines.length} records, head ${prevHash} (${how})`);
process.exit(closed ? 0 : 3);
