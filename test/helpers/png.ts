import { crc32 } from 'node:zlib';
import { createCanvas, loadImage } from '@napi-rs/canvas';

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/**
 * Reads a PNG as an image viewer would: the signature, the IHDR chunk (first, 13 bytes, its CRC
 * right) for the size, then a full decode; throws on anything malformed. Answers the size and
 * the RGBA pixels.
 */
export async function decodePng(
  bytes: Buffer,
): Promise<{ width: number; height: number; pixels: Uint8ClampedArray }> {
  if (!bytes.subarray(0, 8).equals(SIGNATURE)) throw new Error('not a PNG: wrong signature');
  const length = bytes.readUInt32BE(8);
  const type = bytes.subarray(12, 16).toString('latin1');
  if (type !== 'IHDR' || length !== 13)
    throw new Error(`the first chunk is ${type} (${length} bytes), not IHDR`);
  if (crc32(bytes.subarray(12, 29)) !== bytes.readUInt32BE(29))
    throw new Error('the IHDR chunk fails its CRC');
  const width = bytes.readUInt32BE(16);
  const height = bytes.readUInt32BE(20);
  if (bytes.subarray(-8, -4).toString('latin1') !== 'IEND') throw new Error('the PNG does not end with IEND');
  const image = await loadImage(bytes);
  if (image.width !== width || image.height !== height) throw new Error('the decoded size differs from IHDR');
  const canvas = createCanvas(width, height);
  const ctx = canvas.getContext('2d');
  ctx.drawImage(image, 0, 0);
  return { width, height, pixels: ctx.getImageData(0, 0, width, height).data };
}

/** How many pixels are within `tolerance` of the colour `#rrggbb`. */
export function countColour(pixels: Uint8ClampedArray, hex: string, tolerance = 12): number {
  const [r, g, b] = [1, 3, 5].map((i) => Number.parseInt(hex.slice(i, i + 2), 16)) as [
    number,
    number,
    number,
  ];
  let count = 0;
  for (let i = 0; i < pixels.length; i += 4) {
    if (
      Math.abs(pixels[i]! - r) <= tolerance &&
      Math.abs(pixels[i + 1]! - g) <= tolerance &&
      Math.abs(pixels[i + 2]! - b) <= tolerance
    )
      count++;
  }
  return count;
}
