/**
 * A restricted unpickler for the `data.pkl` that `torch.save(state_dict)` writes. It interprets
 * the pickle opcodes (protocols 2-5) into plain values and never runs code: the only globals it
 * accepts are the handful a state dict uses (OrderedDict, the tensor/parameter rebuild functions,
 * the storage classes), each replaced by kiln's own interpretation. Anything else (`os.system`,
 * `builtins.eval`, ...) is refused when the GLOBAL opcode names it.
 *
 * Result values: dicts and OrderedDicts become Map, lists and tuples arrays, tensors TensorRef
 * (storage key, dtype, offset, shape, stride: the bytes are read later, on demand).
 */

/** A storage record named by a persistent id: `('storage', StorageClass, key, location, numel)`. */
export interface StorageRef {
  kind: 'storage';
  key: string;
  /** torch dtype name: 'float32', 'float16', 'bfloat16', or another dtype kiln refuses on read. */
  dtype: string;
}

export interface TensorRef {
  kind: 'tensor';
  storage: StorageRef;
  /** In elements of the storage's dtype. */
  storageOffset: number;
  shape: number[];
  stride: number[];
}

interface GlobalRef {
  kind: 'global';
  qualifiedName: string;
}

/** torch's typed storage classes and the dtype each holds. */
const storageDtypes: Record<string, string> = {
  FloatStorage: 'float32',
  HalfStorage: 'float16',
  BFloat16Storage: 'bfloat16',
  DoubleStorage: 'float64',
  LongStorage: 'int64',
  IntStorage: 'int32',
  ShortStorage: 'int16',
  CharStorage: 'int8',
  ByteStorage: 'uint8',
  BoolStorage: 'bool',
  UntypedStorage: 'uint8',
};

const callableGlobals = new Set([
  'collections.OrderedDict',
  'torch._utils._rebuild_tensor',
  'torch._utils._rebuild_tensor_v2',
  'torch._utils._rebuild_parameter',
]);

function isAllowedGlobal(qualifiedName: string): boolean {
  if (callableGlobals.has(qualifiedName)) return true;
  const match = /^torch(\.storage)?\.(\w+)$/.exec(qualifiedName);
  return match !== null && match[2]! in storageDtypes;
}

const mark = Symbol('mark');

function asInt(value: unknown, what: string): number {
  if (typeof value === 'bigint') value = Number(value);
  if (!Number.isSafeInteger(value)) throw new Error(`${what} must be an integer, got ${String(value)}`);
  return value as number;
}

function asIntList(value: unknown, what: string): number[] {
  if (!Array.isArray(value)) throw new Error(`${what} must be a tuple of integers`);
  return value.map((v) => asInt(v, what));
}

function storageDtype(storageType: unknown, source: string): string {
  if (typeof storageType === 'string') return storageDtypes[storageType] ?? storageType.replace(/^torch\./, '');
  if (typeof storageType === 'object' && storageType !== null && (storageType as GlobalRef).kind === 'global') {
    const className = (storageType as GlobalRef).qualifiedName.split('.').pop()!;
    const dtype = storageDtypes[className];
    if (dtype) return dtype;
  }
  throw new Error(`${source}: persistent id names an unknown storage type ${JSON.stringify(storageType)}`);
}

/** Applies an allowed callable global to its argument tuple (the REDUCE opcode). */
function callGlobal(fn: GlobalRef, args: unknown[], source: string): unknown {
  const what = `${source}: ${fn.qualifiedName}`;
  switch (fn.qualifiedName) {
    case 'collections.OrderedDict': {
      // Protocol 2 passes no arguments and adds the items with SETITEMS; a list of pairs is the
      // other form OrderedDict's reduce can take.
      const items = args.length === 0 ? [] : args[0];
      if (args.length > 1 || !Array.isArray(items) || !items.every((p) => Array.isArray(p) && p.length === 2)) {
        throw new Error(`${what}: expected no arguments or a list of pairs`);
      }
      return new Map(items as [unknown, unknown][]);
    }
    case 'torch._utils._rebuild_tensor':
    case 'torch._utils._rebuild_tensor_v2': {
      // (storage, storage_offset, size, stride[, requires_grad, backward_hooks[, metadata]])
      const storage = args[0] as StorageRef;
      if (storage?.kind !== 'storage') throw new Error(`${what}: first argument is not a storage`);
      return {
        kind: 'tensor',
        storage,
        storageOffset: asInt(args[1], `${what} storage_offset`),
        shape: asIntList(args[2], `${what} size`),
        stride: asIntList(args[3], `${what} stride`),
      } satisfies TensorRef;
    }
    case 'torch._utils._rebuild_parameter': {
      // (data, requires_grad, backward_hooks): a Parameter is its tensor for kiln's purposes.
      const data = args[0] as TensorRef;
      if (data?.kind !== 'tensor') throw new Error(`${what}: first argument is not a tensor`);
      return data;
    }
    default:
      throw new Error(`${what} is not callable`);
  }
}

/**
 * Unpickles `bytes`; `source` (file and entry) is named in every error. The persistent ids are
 * torch's storage references and become StorageRef.
 *
 * One function on purpose, though long: it is an opcode interpreter, and its dispatch loop reads
 * best as one switch over the opcodes sharing the stack, the mark stack, the memo and the cursor;
 * split into helpers, each would take all four and the switch would lose its one-page view.
 */
export function unpickleTorch(bytes: Uint8Array, source: string): unknown {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const text = new TextDecoder('utf-8', { fatal: true });
  const latin1 = new TextDecoder('latin1');
  const stack: unknown[] = [];
  const marks: number[] = [];
  const memo = new Map<number, unknown>();
  let at = 0;

  const need = (n: number) => {
    if (at + n > bytes.length) throw new Error(`${source}: pickle ends in the middle of an opcode at byte ${at}`);
    const start = at;
    at += n;
    return start;
  };
  const u8 = () => bytes[need(1)]!;
  const u16 = () => view.getUint16(need(2), true);
  const u32 = () => view.getUint32(need(4), true);
  const u64 = () => asInt(view.getBigUint64(need(8), true), `${source}: length`);
  const raw = (n: number) => bytes.subarray(need(n), at);
  const utf8 = (n: number) => {
    const start = at;
    const stored = raw(n);
    try {
      return text.decode(stored);
    } catch {
      throw new Error(`${source}: the string at byte ${start} is not valid UTF-8`);
    }
  };
  const line = () => {
    const end = bytes.indexOf(0x0a, at);
    if (end < 0) throw new Error(`${source}: unterminated text line at byte ${at}`);
    const s = latin1.decode(bytes.subarray(at, end));
    at = end + 1;
    return s;
  };
  const pop = () => {
    if (stack.length === 0 || stack[stack.length - 1] === mark) throw new Error(`${source}: pickle stack underflow at byte ${at}`);
    return stack.pop();
  };
  const popToMark = () => {
    const m = marks.pop();
    if (m === undefined) throw new Error(`${source}: pickle has no MARK to pop to at byte ${at}`);
    const items = stack.splice(m);
    items.shift(); // the mark itself
    return items;
  };
  const top = () => {
    if (stack.length === 0) throw new Error(`${source}: pickle stack is empty at byte ${at}`);
    return stack[stack.length - 1];
  };
  const memoGet = (index: number) => {
    if (!memo.has(index)) throw new Error(`${source}: pickle memo has no entry ${index}`);
    return memo.get(index);
  };
  const pushGlobal = (module: string, name: string) => {
    const qualifiedName = `${module}.${name}`;
    if (!isAllowedGlobal(qualifiedName)) {
      throw new Error(
        `${source}: pickle imports global ${qualifiedName}, which kiln refuses to load (only state-dict globals such as collections.OrderedDict and torch._utils._rebuild_tensor_v2 are allowed)`,
      );
    }
    stack.push({ kind: 'global', qualifiedName } satisfies GlobalRef);
  };
  const setItems = (target: unknown, items: unknown[]) => {
    if (!(target instanceof Map)) throw new Error(`${source}: SETITEM on a value that is not a dict`);
    for (let i = 0; i + 1 < items.length; i += 2) target.set(items[i], items[i + 1]);
  };
  const appendItems = (target: unknown, items: unknown[]) => {
    if (!Array.isArray(target)) throw new Error(`${source}: APPEND on a value that is not a list`);
    // One push per item: spreading a long APPENDS (300k items) into push() overflows V8's argument limit.
    for (const item of items) target.push(item);
  };

  for (;;) {
    const opAt = at;
    const op = u8();
    switch (op) {
      case 0x80: u8(); break; // PROTO n
      case 0x95: u64(); break; // FRAME length (framing only; the bytes follow inline)
      case 0x2e: { // STOP
        if (stack.length !== 1) throw new Error(`${source}: pickle stops with ${stack.length} values on the stack`);
        return stack[0];
      }
      case 0x28: marks.push(stack.length); stack.push(mark); break; // MARK
      case 0x7d: stack.push(new Map()); break; // EMPTY_DICT
      case 0x5d: stack.push([]); break; // EMPTY_LIST
      case 0x29: stack.push([]); break; // EMPTY_TUPLE
      case 0x64: { // DICT
        const m = new Map();
        setItems(m, popToMark());
        stack.push(m);
        break;
      }
      case 0x6c: case 0x74: stack.push(popToMark()); break; // LIST, TUPLE
      case 0x85: stack.push([pop()]); break; // TUPLE1
      case 0x86: { const b = pop(); const a = pop(); stack.push([a, b]); break; } // TUPLE2
      case 0x87: { const c = pop(); const b = pop(); const a = pop(); stack.push([a, b, c]); break; } // TUPLE3
      case 0x4e: stack.push(null); break; // NONE
      case 0x88: stack.push(true); break; // NEWTRUE
      case 0x89: stack.push(false); break; // NEWFALSE
      case 0x4a: stack.push(view.getInt32(need(4), true)); break; // BININT
      case 0x4b: stack.push(u8()); break; // BININT1
      case 0x4d: stack.push(u16()); break; // BININT2
      case 0x8a: case 0x8b: { // LONG1, LONG4: little-endian two's complement of n bytes
        const n = op === 0x8a ? u8() : u32();
        const digits = raw(n);
        // One hex parse, linear in n; shifting a growing BigInt byte by byte is quadratic, which
        // made a megabyte-long LONG4 hang the load for minutes.
        const hex = Buffer.from(digits).reverse().toString('hex');
        let value = n === 0 ? 0n : BigInt(`0x${hex}`);
        if (n > 0 && digits[n - 1]! & 0x80) value -= 1n << BigInt(8 * n);
        stack.push(value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value);
        break;
      }
      case 0x49: { // INT (text): also encodes booleans as 00/01
        const s = line();
        stack.push(s === '00' ? false : s === '01' ? true : asInt(Number(s), `${source}: INT`));
        break;
      }
      case 0x47: stack.push(view.getFloat64(need(8), false)); break; // BINFLOAT (big-endian)
      case 0x58: stack.push(utf8(u32())); break; // BINUNICODE
      case 0x8c: stack.push(utf8(u8())); break; // SHORT_BINUNICODE
      case 0x8d: stack.push(utf8(u64())); break; // BINUNICODE8
      case 0x54: stack.push(latin1.decode(raw(u32()))); break; // BINSTRING
      case 0x55: stack.push(latin1.decode(raw(u8()))); break; // SHORT_BINSTRING
      case 0x42: stack.push(raw(u32()).slice()); break; // BINBYTES
      case 0x43: stack.push(raw(u8()).slice()); break; // SHORT_BINBYTES
      case 0x71: memo.set(u8(), top()); break; // BINPUT
      case 0x72: memo.set(u32(), top()); break; // LONG_BINPUT
      case 0x94: memo.set(memo.size, top()); break; // MEMOIZE
      case 0x68: stack.push(memoGet(u8())); break; // BINGET
      case 0x6a: stack.push(memoGet(u32())); break; // LONG_BINGET
      case 0x63: { const module = line(); pushGlobal(module, line()); break; } // GLOBAL
      case 0x93: { // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') throw new Error(`${source}: STACK_GLOBAL needs two strings`);
        pushGlobal(module, name);
        break;
      }
      case 0x52: { // REDUCE
        const args = pop();
        const fn = pop() as GlobalRef;
        if (fn?.kind !== 'global' || !Array.isArray(args)) throw new Error(`${source}: REDUCE at byte ${opAt} on a value that is not an allowed global`);
        stack.push(callGlobal(fn, args, source));
        break;
      }
      case 0x62: pop(); break; // BUILD: state of an OrderedDict (its _metadata) or a tensor; kiln needs neither
      case 0x51: { // BINPERSID
        const pid = pop();
        if (!Array.isArray(pid) || pid[0] !== 'storage' || pid.length < 3) {
          throw new Error(`${source}: unsupported persistent id ${JSON.stringify(pid)}`);
        }
        stack.push({ kind: 'storage', dtype: storageDtype(pid[1], source), key: String(pid[2]) } satisfies StorageRef);
        break;
      }
      case 0x73: { const value = pop(); const key = pop(); setItems(top(), [key, value]); break; } // SETITEM
      case 0x75: { const items = popToMark(); setItems(top(), items); break; } // SETITEMS
      case 0x61: { const value = pop(); appendItems(top(), [value]); break; } // APPEND
      case 0x65: { const items = popToMark(); appendItems(top(), items); break; } // APPENDS
      case 0x30: pop(); break; // POP
      case 0x31: popToMark(); break; // POP_MARK
      case 0x32: stack.push(top()); break; // DUP
      default:
        throw new Error(`${source}: unsupported pickle opcode 0x${op.toString(16).padStart(2, '0')} at byte ${opAt}`);
    }
  }
}
