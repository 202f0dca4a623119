// The open pixel's body: a 43-byte 1×1 GIF whose only pixel is transparent.
/** GIF89a, 1×1, a 2-colour table, a graphic control extension marking colour 0 transparent, one LZW block. */
export const TRANSPARENT_GIF: Buffer = Buffer.from('R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAICRAEAOw==', 'base64');
