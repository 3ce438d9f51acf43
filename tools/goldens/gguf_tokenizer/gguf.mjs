// Minimal GGUF v3 metadata reader/writer for golden generation (no tensor data). Reading keeps
// every key in file order; arrays become JS arrays (with the element type in `types`).
import fs from "node:fs";

export const T = {
  UINT8: 0, INT8: 1, UINT16: 2, INT16: 3, UINT32: 4, INT32: 5, FLOAT32: 6, BOOL: 7, STRING: 8,
  ARRAY: 9, UINT64: 10, INT64: 11, FLOAT64: 12,
};

class Reader {
  constructor(buf) { this.buf = buf; this.off = 0; }
  u8() { return this.buf.readUInt8(this.off++); }
  u32() { const v = this.buf.readUInt32LE(this.off); this.off += 4; return v; }
  u64() { const v = this.buf.readBigUInt64LE(this.off); this.off += 8; return Number(v); }
  str() { const n = this.u64(); const s = this.buf.toString("utf8", this.off, this.off + n); this.off += n; return s; }
  value(type) {
    const b = this.buf;
    switch (type) {
      case T.UINT8: return this.u8();
      case T.INT8: { const v = b.readInt8(this.off); this.off += 1; return v; }
      case T.UINT16: { const v = b.readUInt16LE(this.off); this.off += 2; return v; }
      case T.INT16: { const v = b.readInt16LE(this.off); this.off += 2; return v; }
      case T.UINT32: return this.u32();
      case T.INT32: { const v = b.readInt32LE(this.off); this.off += 4; return v; }
      case T.FLOAT32: { const v = b.readFloatLE(this.off); this.off += 4; return v; }
      case T.BOOL: return this.u8() !== 0;
      case T.STRING: return this.str();
      case T.UINT64: return this.u64();
      case T.INT64: { const v = Number(b.readBigInt64LE(this.off)); this.off += 8; return v; }
      case T.FLOAT64: { const v = b.readDoubleLE(this.off); this.off += 8; return v; }
      default: throw new Error(`unknown GGUF type ${type}`);
    }
  }
}

// { version, metadata: Map key -> value, types: Map key -> {type, elem} , n_tensors }
export function readGgufMetadata(path) {
  const buf = fs.readFileSync(path);
  const r = new Reader(buf);
  if (buf.toString("latin1", 0, 4) !== "GGUF") throw new Error(`${path}: not a GGUF file`);
  r.off = 4;
  const version = r.u32();
  const nTensors = r.u64();
  const nKv = r.u64();
  const metadata = new Map(), types = new Map();
  for (let i = 0; i < nKv; ++i) {
    const key = r.str();
    const type = r.u32();
    if (type === T.ARRAY) {
      const elem = r.u32();
      const n = r.u64();
      const arr = new Array(n);
      for (let k = 0; k < n; ++k) arr[k] = r.value(elem);
      metadata.set(key, arr);
      types.set(key, { type, elem });
    } else {
      metadata.set(key, r.value(type));
      types.set(key, { type });
    }
  }
  return { version, nTensors, metadata, types };
}

class Writer {
  constructor() { this.chunks = []; }
  raw(b) { this.chunks.push(b); }
  u32(v) { const b = Buffer.alloc(4); b.writeUInt32LE(v); this.raw(b); }
  u64(v) { const b = Buffer.alloc(8); b.writeBigUInt64LE(BigInt(v)); this.raw(b); }
  str(s) { const b = Buffer.from(s, "utf8"); this.u64(b.length); this.raw(b); }
  value(type, v) {
    const b8 = Buffer.alloc(8);
    switch (type) {
      case T.UINT8: b8.writeUInt8(v); this.raw(b8.subarray(0, 1)); break;
      case T.INT8: b8.writeInt8(v); this.raw(b8.subarray(0, 1)); break;
      case T.UINT16: b8.writeUInt16LE(v); this.raw(b8.subarray(0, 2)); break;
      case T.INT16: b8.writeInt16LE(v); this.raw(b8.subarray(0, 2)); break;
      case T.UINT32: this.u32(v); break;
      case T.INT32: b8.writeInt32LE(v); this.raw(b8.subarray(0, 4)); break;
      case T.FLOAT32: b8.writeFloatLE(v); this.raw(b8.subarray(0, 4)); break;
      case T.BOOL: b8.writeUInt8(v ? 1 : 0); this.raw(b8.subarray(0, 1)); break;
      case T.STRING: this.str(v); break;
      case T.UINT64: this.u64(v); break;
      case T.INT64: b8.writeBigInt64LE(BigInt(v)); this.raw(b8); break;
      case T.FLOAT64: b8.writeDoubleLE(v); this.raw(b8); break;
      default: throw new Error(`unknown GGUF type ${type}`);
    }
  }
}

// Writes a tensor-free GGUF v3 file; `entries` is a list of [key, {type, elem?}, value].
export function writeGgufMetadata(path, entries) {
  const w = new Writer();
  w.raw(Buffer.from("GGUF", "latin1"));
  w.u32(3);
  w.u64(0);
  w.u64(entries.length);
  for (const [key, t, v] of entries) {
    w.str(key);
    w.u32(t.type);
    if (t.type === T.ARRAY) {
      w.u32(t.elem);
      w.u64(v.length);
      for (const e of v) w.value(t.elem, e);
    } else {
      w.value(t.type, v);
    }
  }
  fs.writeFileSync(path, Buffer.concat(w.chunks));
}
