/**
 * RouterOS profile `address-list` on Linux: while a session is up, its
 * client address is an element of the nftables set named after the list,
 * in table `inet sstp` (created with the set when missing), so firewall
 * rules can match `ip saddr @LIST`. The element is removed when the
 * session ends.
 *
 * @module
 */
import type { ToolRunner } from "./tool_runner.ts";
import { runToolChecked } from "./tool_runner.ts";

/** The nftables table holding the lists. */
export const ADDRESS_LIST_TABLE = "sstp";

/**
 * Why nftables cannot hold address lists here (`nft` missing, or the kernel
 * refuses nf_tables), or `undefined` when it can: creates the table.
 */
export async function addressListProblem(run: ToolRunner): Promise<string | undefined> {
  try {
    const r = await run(["nft", "add", "table", "inet", ADDRESS_LIST_TABLE]);
    if (r.code === 0) return undefined;
    return `nft failed: ${r.stderr.trim() || `exit code ${r.code}`}`;
  } catch (e) {
    return `nft cannot be run (${(e as Error).message}); install nftables`;
  }
}

/** Adds `address` to list `name` (the set is created when missing). */
export async function addToAddressList(
  run: ToolRunner,
  name: string,
  address: string,
): Promise<void> {
  const family = address.includes(":") ? "ipv6_addr" : "ipv4_addr";
  const set = family === "ipv4_addr" ? name : `${name}6`;
  await runToolChecked(run, ["nft", "add", "table", "inet", ADDRESS_LIST_TABLE]);
  await runToolChecked(run, [
    "nft",
    "add",
    "set",
    "inet",
    ADDRESS_LIST_TABLE,
    set,
    `{ type ${family}; }`,
  ]);
  await runToolChecked(run, [
    "nft",
    "add",
    "element",
    "inet",
    ADDRESS_LIST_TABLE,
    set,
    `{ ${address} }`,
  ]);
}

/** Removes `address` from list `name`; an element or set already gone is fine. */
export async function removeFromAddressList(
  run: ToolRunner,
  name: string,
  address: string,
): Promise<void> {
  const set = address.includes(":") ? `${name}6` : name;
  const r = await run([
    "nft",
    "delete",
    "element",
    "inet",
    ADDRESS_LIST_TABLE,
    set,
    `{ ${address} }`,
  ]);
  if (r.code !== 0 && !/No such file or directory|does not exist/i.test(r.stderr)) {
    throw new Error(`Cannot remove ${address} from address-list ${name}: ${r.stderr.trim()}`);
  }
}
