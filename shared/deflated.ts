/**
 * JSON stored deflated in one binary attribute of a DynamoDB item (`z`): a format byte, then the JSON
 * deflated with that format's preset dictionary. DynamoDB bills writes per started KB and storage per
 * byte; the items that repeat the same names (profiles, journey states, timeline events) are a third
 * to a half of their JSON this way (docs/cost.md). Each store keeps its own dictionary: a dictionary
 * is never changed once items use it — a new one is a new format.
 */
import { deflateRawSync, inflateRawSync } from 'node:zlib';

export interface DeflatedJson {
  /** The `z` attribute for `body`. */
  pack(body: unknown): Buffer;
  /** The JSON an attribute holds; `what` names the item in the error when its format is unknown. */
  unpack<T>(z: Uint8Array, what: string): T;
}

/** The codec of `format` with `dictionary`: a 4 KB window (items are a few KB at most), little CPU per call, the same size. */
export function deflatedJson(format: number, dictionary: string): DeflatedJson {
  const options = { dictionary: Buffer.from(dictionary), windowBits: 12, memLevel: 5 };
  return {
    pack: (body) => Buffer.concat([Buffer.of(format), deflateRawSync(JSON.stringify(body), options)]),
    unpack: <T>(z: Uint8Array, what: string): T => {
      if (z[0] !== format) throw new Error(`${what}: unknown item format ${z[0]}`);
      return JSON.parse(inflateRawSync(z.subarray(1), options).toString('utf8')) as T;
    },
  };
}
