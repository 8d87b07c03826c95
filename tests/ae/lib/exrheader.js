'use strict';
// Minimal OpenEXR header reader (first part): channel names and data window.  Enough for the
// AE model to know what a footage file holds (alpha or not, size, pixel aspect) the way AE's importer would.
const fs = require('node:fs');

function readExrHeader(file) {
  const fd = fs.openSync(file, 'r');
  try {
    const buf = Buffer.alloc(65536);
    const n = fs.readSync(fd, buf, 0, buf.length, 0);
    if (n < 8 || buf.readUInt32LE(0) !== 20000630) {
      throw new Error(`not an OpenEXR file: ${file}`);
    }
    const flags = buf.readUInt32LE(4);
    let off = 8;
    const cstr = () => {
      const end = buf.indexOf(0, off);
      if (end < 0 || end >= n) throw new Error(`truncated EXR header: ${file}`);
      const s = buf.toString('latin1', off, end);
      off = end + 1;
      return s;
    };
    const attrs = {};
    for (;;) {
      const name = cstr();
      if (name === '') break;
      const type = cstr();
      const size = buf.readInt32LE(off);
      off += 4;
      const start = off;
      if (type === 'chlist') {
        const channels = [];
        let p = start;
        while (p < start + size) {
          const end = buf.indexOf(0, p);
          const ch = buf.toString('latin1', p, end);
          if (ch === '') break;
          const pixelType = buf.readInt32LE(end + 1);
          channels.push({ name: ch, type: ['uint', 'half', 'float'][pixelType] });
          p = end + 1 + 16;
        }
        attrs[name] = channels;
      } else if (type === 'float' && size === 4) {
        attrs[name] = buf.readFloatLE(start);
      } else if (type === 'box2i') {
        attrs[name] = [0, 1, 2, 3].map((i) => buf.readInt32LE(start + 4 * i));
      } else {
        attrs[name] = { type, size };
      }
      off = start + size;
    }
    const dw = attrs.dataWindow || attrs.displayWindow;
    return {
      multipart: Boolean(flags & 0x1000),
      channels: attrs.channels || [],
      width: dw[2] - dw[0] + 1,
      height: dw[3] - dw[1] + 1,
      pixelAspect: typeof attrs.pixelAspectRatio === 'number' ? attrs.pixelAspectRatio : 1,
    };
  } finally {
    fs.closeSync(fd);
  }
}

module.exports = { readExrHeader };
