package org.ood4j.engine;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.random.RandomGenerator;

import org.ood4j.engine.backend.Backend;
import org.ood4j.engine.backend.BinaryOp;
import org.ood4j.engine.backend.ReduceOp;
import org.ood4j.engine.backend.UnaryOp;

/**
 * An n-dimensional array: shape, strides and offset (in elements) over a reference-counted
 * {@link Storage} on a {@link Device}. Views (reshape, transpose, slice, select, expand, ...)
 * share the storage; ops return new tensors.
 *
 * <p>Lifetime is explicit. {@link #close()} drops this tensor's reference to its storage (freed
 * when the last view goes); a {@link Scope} closes what was created inside it. A closed tensor
 * throws {@link IllegalStateException} naming its shape on any use.
 *
 * <p>Thread safety: reading a tensor from many threads is safe; closing it while another thread
 * uses it is a programming error that is reported, never a crash.
 */
public final class Tensor implements AutoCloseable {
    private final Storage storage;
    private final DType dtype;
    private final long[] shape;
    private final long[] strides;
    private final long offset;
    private volatile boolean closed;
    private Scope scope;

    private Tensor(Storage storage, DType dtype, long[] shape, long[] strides, long offset) {
        this.storage = storage;
        this.dtype = dtype;
        this.shape = shape;
        this.strides = strides;
        this.offset = offset;
        this.scope = Scope.current();
        if (scope != null) scope.register(this);
    }

    // ---------------------------------------------------------------- creation

    /** A zero-filled contiguous tensor. */
    public static Tensor zeros(DType dtype, Device device, long... shape) {
        return allocate(dtype, device, shape, true);
    }

    public static Tensor zeros(DType dtype, long... shape) {
        return zeros(dtype, Device.CPU, shape);
    }

    /**
     * A contiguous tensor whose contents are unspecified (as {@code torch.empty}): for an output
     * every element of which is written before it is read. Large host blocks are reused without
     * the zero fill that {@link #zeros} pays (a memset of the whole size).
     */
    public static Tensor empty(DType dtype, Device device, long... shape) {
        return allocate(dtype, device, shape, false);
    }

    public static Tensor empty(DType dtype, long... shape) {
        return empty(dtype, Device.CPU, shape);
    }

    private static Tensor allocate(DType dtype, Device device, long[] shape, boolean zero) {
        long[] s = Shape.check(shape);
        long bytes = Math.multiplyExact(Shape.numel(s), dtype.byteSize());
        return new Tensor(Backends.allocate(device, bytes, zero), dtype, s, Shape.contiguousStrides(s), 0);
    }

    public static Tensor full(double value, DType dtype, long... shape) {
        Tensor t = zeros(dtype, shape);
        if (value != 0) t.fillHost(value);
        return t;
    }

    public static Tensor ones(DType dtype, long... shape) {
        return full(1, dtype, shape);
    }

    /** A 0-d tensor. */
    public static Tensor scalar(double value, DType dtype) {
        return full(value, dtype);
    }

    /** 0, 1, ..., n-1 as int64. */
    public static Tensor arange(long n) {
        Tensor t = zeros(DType.INT64, n);
        MemorySegment seg = t.storage.segment();
        for (long i = 0; i < n; i++) seg.setAtIndex(ValueLayout.JAVA_LONG, i, i);
        return t;
    }

    /** 0, 1, ..., n-1 as int64 on {@code device} (written on the host, then moved). */
    public static Tensor arange(long n, Device device) {
        return arange(n).movedTo(device);
    }

    /** A float32 tensor holding a copy of {@code data}; a 1-D shape when none is given. */
    public static Tensor of(float[] data, long... shape) {
        Tensor t = zeros(DType.FLOAT32, shapeFor(data.length, shape));
        MemorySegment.copy(data, 0, t.storage.segment(), DType.FLOAT32.layout(), 0, data.length);
        return t;
    }

    public static Tensor of(double[] data, long... shape) {
        Tensor t = zeros(DType.FLOAT64, shapeFor(data.length, shape));
        MemorySegment.copy(data, 0, t.storage.segment(), DType.FLOAT64.layout(), 0, data.length);
        return t;
    }

    public static Tensor of(long[] data, long... shape) {
        Tensor t = zeros(DType.INT64, shapeFor(data.length, shape));
        MemorySegment.copy(data, 0, t.storage.segment(), DType.INT64.layout(), 0, data.length);
        return t;
    }

    /** A float32 matrix from rows of equal length. */
    public static Tensor of(float[][] rows) {
        int cols = rows.length == 0 ? 0 : rows[0].length;
        float[] flat = new float[rows.length * cols];
        for (int i = 0; i < rows.length; i++) {
            if (rows[i].length != cols) {
                throw new IllegalArgumentException("row " + i + " has " + rows[i].length + " values, row 0 has " + cols);
            }
            System.arraycopy(rows[i], 0, flat, i * cols, cols);
        }
        return of(flat, rows.length, cols);
    }

    /** A float64 matrix from rows of equal length. */
    public static Tensor of(double[][] rows) {
        int cols = rows.length == 0 ? 0 : rows[0].length;
        double[] flat = new double[rows.length * cols];
        for (int i = 0; i < rows.length; i++) {
            if (rows[i].length != cols) {
                throw new IllegalArgumentException("row " + i + " has " + rows[i].length + " values, row 0 has " + cols);
            }
            System.arraycopy(rows[i], 0, flat, i * cols, cols);
        }
        return of(flat, rows.length, cols);
    }

    /** Standard normal values from a seeded generator (e.g. {@code new SplittableRandom(42)}). */
    public static Tensor randn(RandomGenerator rng, DType dtype, long... shape) {
        Tensor t = zeros(dtype, shape);
        long n = t.numel();
        MemorySegment seg = t.storage.segment();
        for (long i = 0; i < n; i++) setRaw(seg, dtype, i, rng.nextGaussian());
        return t;
    }

    /** Uniform values in [lo, hi) from a seeded generator; for int64, integers in [lo, hi). */
    public static Tensor rand(RandomGenerator rng, DType dtype, double lo, double hi, long... shape) {
        Tensor t = zeros(dtype, shape);
        long n = t.numel();
        MemorySegment seg = t.storage.segment();
        for (long i = 0; i < n; i++) {
            double v = dtype == DType.INT64 ? rng.nextLong((long) lo, (long) hi) : rng.nextDouble(lo, hi);
            setRaw(seg, dtype, i, v);
        }
        return t;
    }

    /** Wraps already-filled contiguous storage (for backends and readers); takes over its reference. */
    public static Tensor wrap(Storage storage, DType dtype, long... shape) {
        long[] s = Shape.check(shape);
        long need = Shape.numel(s) * dtype.byteSize();
        if (need > storage.byteSize()) {
            throw new IllegalArgumentException("storage of " + storage.byteSize() + " bytes is too small for "
                    + dtype + Shape.toString(s));
        }
        return new Tensor(storage, dtype, s, Shape.contiguousStrides(s), 0);
    }

    private static long[] shapeFor(int length, long[] shape) {
        if (shape.length == 0) return new long[] {length};
        long[] s = Shape.check(shape);
        if (Shape.numel(s) != length) {
            throw new IllegalArgumentException("shape " + Shape.toString(s) + " needs " + Shape.numel(s)
                    + " values, got " + length);
        }
        return s;
    }

    // ---------------------------------------------------------------- metadata

    public DType dtype() { return dtype; }

    public Device device() { return storage.device(); }

    public long[] shape() { return shape.clone(); }

    public int rank() { return shape.length; }

    /** Size of one dimension; negative dims count from the end. */
    public long size(int dim) { return shape[Shape.dim(dim, shape.length)]; }

    public long numel() { return Shape.numel(shape); }

    /** Strides in elements. */
    public long[] strides() { return strides.clone(); }

    /** Offset of element [0, ..., 0] in the storage, in elements. */
    public long offset() { return offset; }

    /** The storage, checked to be open (for backends and IO). */
    public Storage storage() {
        checkOpen();
        return storage;
    }

    public boolean isContiguous() {
        long expected = 1;
        for (int i = shape.length - 1; i >= 0; i--) {
            if (shape[i] != 1 && strides[i] != expected) return false;
            expected *= shape[i];
        }
        return true;
    }

    public boolean isClosed() { return closed; }

    @Override
    public String toString() {
        return "Tensor" + Shape.toString(shape) + " " + dtype + " on " + device() + (closed ? " (closed)" : "");
    }

    // ---------------------------------------------------------------- lifetime

    /** Drops this tensor's reference to its storage. Closing twice is an error. */
    @Override
    public void close() {
        if (closed) {
            throw new IllegalStateException("tensor " + Shape.toString(shape) + " " + dtype + " closed twice");
        }
        closeFromScope();
    }

    synchronized void closeFromScope() {
        if (closed) return;
        closed = true;
        if (scope != null) {
            scope.forget(this);
            scope = null;
        }
        storage.release();
    }

    synchronized void moveTo(Scope target) {
        checkOpen();
        if (scope != null) scope.forget(this);
        scope = target;
        if (target != null) target.register(this);
    }

    /** Throws when this tensor is closed; every public op calls it. */
    public void checkOpen() {
        if (closed) {
            throw new IllegalStateException("tensor " + Shape.toString(shape) + " " + dtype + " is closed");
        }
    }

    // ---------------------------------------------------------------- element access (host)

    /** All elements in C order, converted to float. Copies from the device when needed. */
    public float[] toFloatArray() {
        try (Tensor c = hostContiguous(DType.FLOAT32)) {
            return c.storage.segment().asSlice(c.offset * 4, c.numel() * 4L).toArray(ValueLayout.JAVA_FLOAT_UNALIGNED);
        }
    }

    public double[] toDoubleArray() {
        try (Tensor c = hostContiguous(DType.FLOAT64)) {
            return c.storage.segment().asSlice(c.offset * 8, c.numel() * 8L).toArray(ValueLayout.JAVA_DOUBLE_UNALIGNED);
        }
    }

    public long[] toLongArray() {
        try (Tensor c = hostContiguous(DType.INT64)) {
            return c.storage.segment().asSlice(c.offset * 8, c.numel() * 8L).toArray(ValueLayout.JAVA_LONG_UNALIGNED);
        }
    }

    /** Rows of a 2-D tensor as float64. */
    public double[][] toDoubleMatrix() {
        if (rank() != 2) throw new IllegalArgumentException("toDoubleMatrix needs a 2-D tensor, got " + Shape.toString(shape));
        double[] flat = toDoubleArray();
        double[][] rows = new double[(int) shape[0]][];
        for (int i = 0; i < rows.length; i++) {
            rows[i] = Arrays.copyOfRange(flat, i * (int) shape[1], (i + 1) * (int) shape[1]);
        }
        return rows;
    }

    private Tensor hostContiguous(DType as) {
        checkOpen();
        if (device() != Device.CPU) {
            try (Tensor host = to(Device.CPU)) {
                return host.hostContiguous(as);
            }
        }
        if (as == dtype && isContiguous()) return view(shape, strides, offset);
        if (dtype.isStorageOnly()) return HalfFloats.convert(this, as);
        Tensor out = zeros(as, shape);
        backend().elementwise().copy(this, out);
        return out;
    }

    /**
     * One element as double; indices must address every dimension. On a device the element is
     * copied to the host first (one small transfer, as torch's {@code t[i].item()}).
     */
    public double getDouble(long... index) {
        checkOpen();
        if (device() != Device.CPU) {
            try (Tensor host = elementOnHost(index)) {
                return host.getDouble();
            }
        }
        return getRaw(storage.segment(), dtype, elementOffset(index));
    }

    /** One element as long (exact for int64); on a device copied to the host first, as {@link #getDouble}. */
    public long getLong(long... index) {
        checkOpen();
        if (device() != Device.CPU) {
            try (Tensor host = elementOnHost(index)) {
                return host.getLong();
            }
        }
        long at = elementOffset(index);
        return dtype == DType.INT64
                ? storage.segment().getAtIndex(ValueLayout.JAVA_LONG_UNALIGNED, at)
                : (long) getRaw(storage.segment(), dtype, at);
    }

    /** One element of a device tensor as a 0-dim host tensor (one small transfer). */
    private Tensor elementOnHost(long[] index) {
        try (Tensor element = view(new long[0], new long[0], elementOffset(index))) {
            return element.to(Device.CPU);
        }
    }

    /** The value of a one-element tensor (copied to the host first when it lives on a device, as torch's item()). */
    public double item() {
        checkOpen();
        if (numel() != 1) throw new IllegalArgumentException("item() needs one element, tensor has shape " + Shape.toString(shape));
        return getDouble(new long[shape.length]);
    }

    /** Sets one element (host tensors only; for building inputs and tests). */
    public void set(double value, long... index) {
        checkOpen();
        requireHost("set");
        requireWritable();
        setRaw(storage.segment(), dtype, elementOffset(index), value);
    }

    private long elementOffset(long[] index) {
        if (index.length != shape.length) {
            throw new IllegalArgumentException(index.length + " indices for a tensor of shape " + Shape.toString(shape));
        }
        long at = offset;
        for (int i = 0; i < index.length; i++) {
            if (index[i] < 0 || index[i] >= shape[i]) {
                throw new IndexOutOfBoundsException("index " + index[i] + " out of range for dimension " + i
                        + " of shape " + Shape.toString(shape));
            }
            at += index[i] * strides[i];
        }
        return at;
    }

    private void requireHost(String what) {
        if (device() != Device.CPU) throw new IllegalStateException(what + " needs a CPU tensor; call to(Device.CPU)");
    }

    private void fillHost(double value) {
        MemorySegment seg = storage.segment();
        long n = numel();
        for (long i = 0; i < n; i++) setRaw(seg, dtype, i, value);
    }

    static double getRaw(MemorySegment seg, DType dtype, long index) {
        return switch (dtype) {
            case FLOAT32 -> seg.getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, index);
            case FLOAT64 -> seg.getAtIndex(ValueLayout.JAVA_DOUBLE_UNALIGNED, index);
            case INT64 -> seg.getAtIndex(ValueLayout.JAVA_LONG_UNALIGNED, index);
            case BFLOAT16, FLOAT16 -> HalfFloats.get(seg, dtype, index);
        };
    }

    static void setRaw(MemorySegment seg, DType dtype, long index, double v) {
        switch (dtype) {
            case FLOAT32 -> seg.setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, index, (float) v);
            case FLOAT64 -> seg.setAtIndex(ValueLayout.JAVA_DOUBLE_UNALIGNED, index, v);
            case INT64 -> seg.setAtIndex(ValueLayout.JAVA_LONG_UNALIGNED, index, (long) v);
            case BFLOAT16, FLOAT16 -> HalfFloats.set(seg, dtype, index, v);
        }
    }

    // ---------------------------------------------------------------- views (share storage)

    /** A new handle on the same storage with the given geometry. */
    private Tensor view(long[] newShape, long[] newStrides, long newOffset) {
        checkOpen();
        storage.retain();
        return new Tensor(storage, dtype, newShape, newStrides, newOffset);
    }

    /** Same elements, new shape (one dimension may be -1). A view when possible, else a copy. */
    public Tensor reshape(long... newShape) {
        checkOpen();
        long[] s = inferShape(newShape);
        if (isContiguous()) return view(s, Shape.contiguousStrides(s), offset);
        try (Tensor c = contiguous()) {
            return c.reshape(s);
        }
    }

    private long[] inferShape(long[] newShape) {
        long[] s = newShape.clone();
        int free = -1;
        long known = 1;
        for (int i = 0; i < s.length; i++) {
            if (s[i] == -1) {
                if (free >= 0) throw new IllegalArgumentException("only one -1 allowed in shape " + Arrays.toString(newShape));
                free = i;
            } else {
                if (s[i] < 0) throw new IllegalArgumentException("negative dimension in shape " + Arrays.toString(newShape));
                known *= s[i];
            }
        }
        long n = numel();
        if (free >= 0) {
            if (known == 0 || n % known != 0) {
                throw new IllegalArgumentException("cannot reshape " + Shape.toString(shape) + " to " + Arrays.toString(newShape));
            }
            s[free] = n / known;
        } else if (known != n) {
            throw new IllegalArgumentException("cannot reshape " + Shape.toString(shape) + " (" + n + " elements) to "
                    + Arrays.toString(newShape));
        }
        return s;
    }

    /** Flattens to 1-D. */
    public Tensor flatten() { return reshape(-1); }

    /** Reorders dimensions: result dim i is this tensor's dim {@code order[i]}. */
    public Tensor permute(int... order) {
        if (order.length != shape.length) {
            throw new IllegalArgumentException("permute needs " + shape.length + " dims, got " + Arrays.toString(order));
        }
        long[] s = new long[order.length];
        long[] st = new long[order.length];
        boolean[] used = new boolean[order.length];
        for (int i = 0; i < order.length; i++) {
            int d = Shape.dim(order[i], shape.length);
            if (used[d]) throw new IllegalArgumentException("dimension repeated in permute " + Arrays.toString(order));
            used[d] = true;
            s[i] = shape[d];
            st[i] = strides[d];
        }
        return view(s, st, offset);
    }

    /** A view with dimension {@code dim} moved to the end, the others in order (ops along one dimension use it). */
    public Tensor moveDimToEnd(int dim) {
        int d = Shape.dim(dim, shape.length);
        int[] order = new int[shape.length];
        for (int i = 0, j = 0; i < shape.length; i++) {
            if (i != d) order[j++] = i;
        }
        order[shape.length - 1] = d;
        return permute(order);
    }

    public Tensor transpose(int dim0, int dim1) {
        int[] order = new int[shape.length];
        for (int i = 0; i < order.length; i++) order[i] = i;
        int a = Shape.dim(dim0, shape.length), b = Shape.dim(dim1, shape.length);
        order[a] = b;
        order[b] = a;
        return permute(order);
    }

    /** Transpose of a 2-D tensor. */
    public Tensor t() {
        if (rank() != 2) throw new IllegalArgumentException("t() needs a 2-D tensor, got " + Shape.toString(shape));
        return transpose(0, 1);
    }

    /** Elements start..end-1 of one dimension (a view). */
    public Tensor slice(int dim, long start, long end) {
        int d = Shape.dim(dim, shape.length);
        if (start < 0 || end > shape[d] || start > end) {
            throw new IndexOutOfBoundsException("slice [" + start + ", " + end + ") out of range for dimension " + d
                    + " of shape " + Shape.toString(shape));
        }
        long[] s = shape.clone();
        s[d] = end - start;
        return view(s, strides.clone(), offset + start * strides[d]);
    }

    /** Index {@code index} of one dimension, which is removed (a view). */
    public Tensor select(int dim, long index) {
        int d = Shape.dim(dim, shape.length);
        if (index < 0 || index >= shape[d]) {
            throw new IndexOutOfBoundsException("index " + index + " out of range for dimension " + d
                    + " of shape " + Shape.toString(shape));
        }
        return view(remove(shape, d), remove(strides, d), offset + index * strides[d]);
    }

    public Tensor unsqueeze(int dim) {
        int d = Shape.dim(dim, shape.length + 1);
        long stride = d < shape.length ? strides[d] * shape[d] : 1;
        return view(insert(shape, d, 1), insert(strides, d, stride), offset);
    }

    /** Removes one dimension of size 1. */
    public Tensor squeeze(int dim) {
        int d = Shape.dim(dim, shape.length);
        if (shape[d] != 1) {
            throw new IllegalArgumentException("cannot squeeze dimension " + d + " of size " + shape[d]);
        }
        return view(remove(shape, d), remove(strides, d), offset);
    }

    /** Broadcasts to a larger shape without copying (stride 0 along stretched dimensions). */
    public Tensor expand(long... target) {
        if (target.length < shape.length) {
            throw new IllegalArgumentException("cannot expand " + Shape.toString(shape) + " to fewer dims " + Arrays.toString(target));
        }
        long[] st = new long[target.length];
        int lead = target.length - shape.length;
        for (int i = 0; i < target.length; i++) {
            if (i < lead) { st[i] = 0; continue; }
            long have = shape[i - lead];
            if (have == target[i]) st[i] = strides[i - lead];
            else if (have == 1) st[i] = 0;
            else throw new IllegalArgumentException("cannot expand " + Shape.toString(shape) + " to " + Arrays.toString(target));
        }
        return view(target.clone(), st, offset);
    }

    private static long[] remove(long[] a, int i) {
        long[] r = new long[a.length - 1];
        System.arraycopy(a, 0, r, 0, i);
        System.arraycopy(a, i + 1, r, i, a.length - i - 1);
        return r;
    }

    private static long[] insert(long[] a, int i, long v) {
        long[] r = new long[a.length + 1];
        System.arraycopy(a, 0, r, 0, i);
        r[i] = v;
        System.arraycopy(a, i, r, i + 1, a.length - i);
        return r;
    }

    // ---------------------------------------------------------------- copies and conversion

    /** A contiguous tensor with the same values: a new handle on this storage when already contiguous. */
    public Tensor contiguous() {
        checkOpen();
        if (isContiguous()) return view(shape, strides, offset);
        return copy();
    }

    /** A contiguous copy with its own storage. */
    public Tensor copy() {
        return to(dtype, true);
    }

    /**
     * Writes {@code src} (broadcast to this shape, converted to this dtype) into this tensor's
     * elements — typically a slice of a larger output. {@code src} may be on another device.
     */
    public void copyFrom(Tensor src) {
        checkOpen();
        src.checkOpen();
        requireWritable();
        for (int i = 0; i < shape.length; i++) {
            if (strides[i] == 0 && shape[i] > 1) {
                throw new IllegalArgumentException("cannot write into a broadcast view " + Shape.toString(shape));
            }
        }
        if (src.device() != device()) {           // an explicit copy may cross devices (torch's copy_)
            try (Tensor moved = src.to(device())) {
                copyFrom(moved);
            }
            return;
        }
        if (src.dtype().isStorageOnly() && !dtype.isStorageOnly()) {   // decoded first: no op computes on 16-bit storage
            try (Tensor decoded = src.to(dtype)) {
                copyFrom(decoded);
            }
            return;
        }
        if (dtype.isStorageOnly()) {   // into 16-bit storage (a bank's rows): encoded first, then copied bit for bit on the host
            if (device() != Device.CPU) throw new IllegalArgumentException("copyFrom into " + dtype + " runs on the CPU only, not " + device());
            try (Tensor encoded = src.to(dtype); Tensor b = encoded.expand(shape)) {
                Backends.of(Device.CPU).elementwise().copy(b, this);
            }
            return;
        }
        try (Tensor b = src.expand(shape)) {
            backend().elementwise().copy(b, this);
        }
    }

    private void requireWritable() {
        if (storage.readOnly()) {
            throw new IllegalStateException("tensor " + Shape.toString(shape) + " " + dtype + " is read-only (" + storage.describe()
                    + "); write into a copy (copy())");
        }
    }

    /** Joins tensors along an existing dimension; all other dimensions must agree. */
    public static Tensor cat(java.util.List<Tensor> parts, int dim) {
        if (parts.isEmpty()) throw new IllegalArgumentException("cat of no tensors");
        Tensor first = parts.get(0);
        int d = Shape.dim(dim, first.rank());
        long[] outShape = first.shape();
        outShape[d] = 0;
        DType type = first.dtype();
        for (Tensor p : parts) {
            Backends.sameDevice(first, p);
            long[] ps = p.shape();
            if (ps.length != outShape.length) {
                throw new IllegalArgumentException("cat: rank of " + Shape.toString(ps) + " differs from " + Shape.toString(first.shape));
            }
            for (int i = 0; i < ps.length; i++) {
                if (i != d && ps[i] != first.shape[i]) {
                    throw new IllegalArgumentException("cat: shape " + Shape.toString(ps) + " differs from "
                            + Shape.toString(first.shape) + " outside dimension " + d);
                }
            }
            outShape[d] += ps[d];
            type = DType.promote(type, p.dtype());
        }
        Tensor out = zeros(type, first.device(), outShape);
        long at = 0;
        for (Tensor p : parts) {
            try (Tensor dst = out.slice(d, at, at + p.shape[d])) {
                dst.copyFrom(p);
            }
            at += p.shape[d];
        }
        return out;
    }

    /** Converts the dtype (a copy; a new handle when the dtype is already right). */
    public Tensor to(DType target) {
        return to(target, false);
    }

    private Tensor to(DType target, boolean forceCopy) {
        checkOpen();
        if (target == dtype && !forceCopy) return view(shape, strides, offset);
        if (dtype.isStorageOnly() || target.isStorageOnly()) return toOrFromHalf(target);
        Tensor out = empty(target, device(), shape);   // the copy writes every element
        backend().elementwise().copy(this, out);
        return out;
    }

    /**
     * A conversion to or from a 16-bit storage type, on the host ({@link HalfFloats}); a CUDA
     * tensor goes through a host copy (no kernel encodes or decodes them), so it must be
     * contiguous there (a strided one would need this very conversion to become contiguous).
     */
    private Tensor toOrFromHalf(DType target) {
        if (device() == Device.CPU) return HalfFloats.convert(this, target);
        if (dtype.isStorageOnly() && !isContiguous()) {
            throw new IllegalArgumentException("cannot convert a strided " + dtype + " " + Shape.toString(shape)
                    + " on " + device() + "; move it to Device.CPU first");
        }
        try (Tensor host = to(Device.CPU); Tensor converted = host.to(target)) {
            return converted.to(device());
        }
    }

    /**
     * This tensor on {@code target}, moved rather than copied: itself when it is already there,
     * else a copy on {@code target}, and this one is closed. For host-built values bound for a
     * device: {@code Tensor.of(values).movedTo(x.device())}.
     */
    public Tensor movedTo(Device target) {
        checkOpen();
        if (device() == target) return this;
        try {
            return to(target);
        } finally {
            close();
        }
    }

    /** Moves to a device (a copy; a new handle when already there). */
    public Tensor to(Device target) {
        checkOpen();
        if (target == device()) return view(shape, strides, offset);
        return Backends.transfer(this, target);
    }

    // ---------------------------------------------------------------- elementwise

    /** This tensor's backend, for an op that computes: refused for the 16-bit storage types (see {@link DType}). */
    Backend backend() {
        checkOpen();
        DType.requireComputable(this, "an op other than views, to(DType) and the kNN search");
        return Backends.of(device());
    }

    private Tensor unary(UnaryOp op, double a, double b) {
        return backend().elementwise().unary(op, this, a, b);
    }

    private Tensor binary(BinaryOp op, Tensor other) {
        checkOpen();
        other.checkOpen();
        DType.requireComputable(other, "a binary op");
        if (device() == other.device()) return backend().elementwise().binary(op, this, other);
        Tensor[] on = onOneDevice(this, other);
        try {
            return on[0].backend().elementwise().binary(op, on[0], on[1]);
        } finally {
            closeMoved(on, this, other);
        }
    }

    /**
     * The operands of one op whose devices differ, brought to one device. As torch allows, a 0-dim
     * CPU tensor (a scalar) meets a tensor of another device: it is copied there (the copies are
     * closed by {@link #closeMoved}). Any other mix of devices is refused rather than silently copied.
     */
    private static Tensor[] onOneDevice(Tensor... operands) {
        Device device = Device.CPU;
        for (Tensor t : operands) {
            t.checkOpen();
            if (t.device() != Device.CPU) device = t.device();
        }
        Tensor[] on = operands.clone();
        try {
            for (int i = 0; i < on.length; i++) {
                if (on[i].device() != device && on[i].rank() == 0) on[i] = on[i].to(device);
                Backends.sameDevice(on[0], on[i]);
            }
            return on;
        } catch (RuntimeException e) {
            closeMoved(on, operands);
            throw e;
        }
    }

    private static void closeMoved(Tensor[] on, Tensor... operands) {
        for (int i = 0; i < on.length; i++) {
            if (on[i] != operands[i] && !on[i].isClosed()) on[i].close();
        }
    }

    public Tensor add(Tensor other) { return binary(BinaryOp.ADD, other); }
    public Tensor sub(Tensor other) { return binary(BinaryOp.SUB, other); }
    public Tensor mul(Tensor other) { return binary(BinaryOp.MUL, other); }

    /**
     * this * other (broadcast) written into {@code out} — the broadcast shape, any dtype and strides,
     * on the same device, e.g. a block of a larger tensor — with no tensor of the product made first;
     * returns out.
     */
    public Tensor mul(Tensor other, Tensor out) {
        checkOpen();
        other.checkOpen();
        out.checkOpen();
        DType.requireComputable(other, "a binary op");
        Backends.sameDevice(this, other);
        Backends.sameDevice(this, out);
        backend().elementwise().binaryInto(BinaryOp.MUL, this, other, out);
        return out;
    }
    public Tensor div(Tensor other) { return binary(BinaryOp.DIV, other); }
    public Tensor pow(Tensor other) { return binary(BinaryOp.POW, other); }
    public Tensor maximum(Tensor other) { return binary(BinaryOp.MAXIMUM, other); }
    public Tensor minimum(Tensor other) { return binary(BinaryOp.MINIMUM, other); }
    public Tensor gt(Tensor other) { return binary(BinaryOp.GT, other); }
    public Tensor ge(Tensor other) { return binary(BinaryOp.GE, other); }
    public Tensor lt(Tensor other) { return binary(BinaryOp.LT, other); }
    public Tensor le(Tensor other) { return binary(BinaryOp.LE, other); }
    public Tensor eq(Tensor other) { return binary(BinaryOp.EQ, other); }
    public Tensor ne(Tensor other) { return binary(BinaryOp.NE, other); }

    public Tensor add(double s) { return unary(UnaryOp.AFFINE, 1, s); }
    public Tensor sub(double s) { return unary(UnaryOp.AFFINE, 1, -s); }
    public Tensor mul(double s) { return unary(UnaryOp.AFFINE, s, 0); }
    public Tensor div(double s) { return unary(UnaryOp.AFFINE, 1 / s, 0); }
    public Tensor neg() { return unary(UnaryOp.AFFINE, -1, 0); }
    public Tensor exp() { return unary(UnaryOp.EXP, 0, 0); }
    public Tensor log() { return unary(UnaryOp.LOG, 0, 0); }
    public Tensor sqrt() { return unary(UnaryOp.SQRT, 0, 0); }
    public Tensor abs() { return unary(UnaryOp.ABS, 0, 0); }
    public Tensor sign() { return unary(UnaryOp.SIGN, 0, 0); }
    public Tensor pow(double exponent) { return unary(UnaryOp.POW, exponent, 0); }
    public Tensor clamp(double min, double max) { return unary(UnaryOp.CLAMP, min, max); }
    public Tensor clampMin(double min) { return clamp(min, Double.POSITIVE_INFINITY); }
    public Tensor clampMax(double max) { return clamp(Double.NEGATIVE_INFINITY, max); }
    public Tensor relu() { return unary(UnaryOp.RELU, 0, 0); }
    public Tensor sigmoid() { return unary(UnaryOp.SIGMOID, 0, 0); }
    public Tensor tanh() { return unary(UnaryOp.TANH, 0, 0); }
    /** s / x. */
    public Tensor reciprocal(double s) { return unary(UnaryOp.RECIPROCAL, s, 0); }
    /** int64 1 where an element is NaN or infinite. */
    public Tensor nonFinite() { return unary(UnaryOp.NONFINITE, 0, 0); }

    /** {@code cond != 0 ? a : b} with broadcasting. */
    public static Tensor where(Tensor cond, Tensor a, Tensor b) {
        cond.checkOpen();
        a.checkOpen();
        b.checkOpen();
        if (cond.device() == a.device() && a.device() == b.device()) return a.backend().elementwise().where(cond, a, b);
        Tensor[] on = onOneDevice(cond, a, b);
        try {
            return on[1].backend().elementwise().where(on[0], on[1], on[2]);
        } finally {
            closeMoved(on, cond, a, b);
        }
    }

    // ---------------------------------------------------------------- reductions

    private Tensor reduce(ReduceOp op, int dim, boolean keepdim) {
        return backend().reductions().reduce(op, this, dim, keepdim);
    }

    /**
     * Reduces every element to a 0-d tensor. SUM, MIN, MAX (and MEAN through SUM) go a dimension
     * at a time, so the rows of a large tensor reduce in parallel and no buffer spans it all.
     */
    private Tensor reduceAll(ReduceOp op) {
        boolean staged = op == ReduceOp.SUM || op == ReduceOp.MIN || op == ReduceOp.MAX || op == ReduceOp.MEAN;
        if (staged && rank() >= 2 && numel() > 0) {
            ReduceOp stage = op == ReduceOp.MEAN ? ReduceOp.SUM : op;
            try (Tensor partial = reduce(stage, -1, false); Tensor total = partial.reduceAll(stage)) {
                return op == ReduceOp.MEAN ? total.to(total.dtype() == DType.INT64 ? DType.FLOAT64 : total.dtype()).div(numel())
                        : total.to(total.dtype());
            }
        }
        try (Tensor flat = reshape(-1)) {
            return flat.reduce(op, 0, false);
        }
    }

    public Tensor sum(int dim, boolean keepdim) { return reduce(ReduceOp.SUM, dim, keepdim); }
    public Tensor sum(int dim) { return sum(dim, false); }
    public Tensor sum() { return reduceAll(ReduceOp.SUM); }
    public Tensor mean(int dim, boolean keepdim) { return reduce(ReduceOp.MEAN, dim, keepdim); }
    public Tensor mean(int dim) { return mean(dim, false); }
    public Tensor mean() { return reduceAll(ReduceOp.MEAN); }
    /** Unbiased variance (n-1), as torch.var. */
    public Tensor var(int dim, boolean keepdim) { return reduce(ReduceOp.VAR, dim, keepdim); }
    public Tensor var(int dim, boolean unbiased, boolean keepdim) {
        return reduce(unbiased ? ReduceOp.VAR : ReduceOp.VAR_BIASED, dim, keepdim);
    }
    public Tensor min(int dim, boolean keepdim) { return reduce(ReduceOp.MIN, dim, keepdim); }
    public Tensor min(int dim) { return min(dim, false); }
    public Tensor min() { return reduceAll(ReduceOp.MIN); }
    public Tensor max(int dim, boolean keepdim) { return reduce(ReduceOp.MAX, dim, keepdim); }
    public Tensor max(int dim) { return max(dim, false); }
    public Tensor max() { return reduceAll(ReduceOp.MAX); }
    public Tensor argmax(int dim, boolean keepdim) { return reduce(ReduceOp.ARGMAX, dim, keepdim); }
    public Tensor argmax(int dim) { return argmax(dim, false); }
    public Tensor argmin(int dim, boolean keepdim) { return reduce(ReduceOp.ARGMIN, dim, keepdim); }
    public Tensor argmin(int dim) { return argmin(dim, false); }
    public Tensor normL1(int dim, boolean keepdim) { return reduce(ReduceOp.NORM_L1, dim, keepdim); }
    public Tensor normL2(int dim, boolean keepdim) { return reduce(ReduceOp.NORM_L2, dim, keepdim); }
    public Tensor logsumexp(int dim, boolean keepdim) { return reduce(ReduceOp.LOGSUMEXP, dim, keepdim); }
    public Tensor logsumexp(int dim) { return logsumexp(dim, false); }
    /** How many elements along dim are NaN or infinite (int64). */
    public Tensor countNonFinite(int dim) { return reduce(ReduceOp.COUNT_NONFINITE, dim, false); }

    /** Whether every element is finite (no NaN, no infinity; true for integer tensors): one fast pass where the backend has one. */
    public boolean allFinite() {
        checkOpen();
        return backend().reductions().allFinite(this);
    }

    /**
     * {@code f} of each row of this 2-D tensor (N, C), as a new (N,) float64 tensor: one pass over
     * the rows, each loaded as float64 whatever the dtype, rows in parallel. For fused row scores
     * (see {@link RowReducer}). On a device other than the CPU the rows are copied to the host and
     * the result back.
     */
    public Tensor reduceRows(RowReducer f) {
        return reduceRows(f, null, false);
    }

    /**
     * As {@link #reduceRows(RowReducer)}, but a row holding a NaN or an infinity gives NaN without
     * {@code f} being called: a score and the check of its input in one pass over the rows.
     */
    public Tensor reduceFiniteRows(RowReducer f) {
        return reduceRows(f, null, true);
    }

    /**
     * As {@link #reduceRows(RowReducer)}, with {@code f32} the same function for float32 rows: a
     * float32 tensor's rows go to {@code f32} as float32, any other dtype's to {@code f64} as float64.
     */
    public Tensor reduceRows(RowReducer f64, FloatRowReducer f32) {
        return reduceRows(f64, f32, false);
    }

    /** {@link #reduceRows(RowReducer, FloatRowReducer)} with {@link #reduceFiniteRows}' NaN for a non-finite row. */
    public Tensor reduceFiniteRows(RowReducer f64, FloatRowReducer f32) {
        return reduceRows(f64, f32, true);
    }

    /**
     * As {@link #reduceFiniteRows(RowReducer, FloatRowReducer)}'s float32 form for this float32 (N, C)
     * tensor, and each row as {@code f} leaves it ({@code f} may rewrite it in place) written to the
     * same row of {@code into}, float32 (N, C): a per-row value and a per-row transform from one read
     * of the rows (NNGuide's bank rows E(z) z, with E(z) from the row itself). A row holding NaN or an
     * infinity gives NaN without {@code f}, and is written as read. On a device other than the CPU the
     * rows are copied to the host, and the results back.
     */
    public Tensor reduceFiniteRowsInto(Tensor into, FloatRowReducer f) {
        checkOpen();
        into.checkOpen();
        if (rank() != 2) throw new IllegalArgumentException("reduceRowsInto needs a 2-D tensor (N, C), got " + Shape.toString(shape));
        if (f == null) throw new IllegalArgumentException("reduceRowsInto needs a function");
        if (device() != Device.CPU || into.device() != Device.CPU) {
            try (Tensor host = to(Device.CPU); Tensor hostInto = Tensor.empty(DType.FLOAT32, into.shape());
                 Tensor r = host.reduceFiniteRowsInto(hostInto, f)) {
                into.copyFrom(hostInto);
                return r.to(device());
            }
        }
        return org.ood4j.engine.cpu.CpuRows.reduceInto(this, into, f, true);
    }

    /**
     * {@code f} of each row of this 2-D tensor (N, C) to {@code width} values, as a new (N, width)
     * float64 tensor: one pass over the rows, each loaded as float64, rows in parallel (as
     * {@link #reduceRows(RowReducer)}, whose many-valued form it is).
     */
    public Tensor mapRows(int width, RowMapper f) {
        return mapRows(width, f, null);
    }

    /**
     * As {@link #mapRows(int, RowMapper)}, with {@code f32} the same function for float32 rows: a
     * float32 tensor's rows go to {@code f32} as float32, any other dtype's to {@code f64} as float64.
     */
    public Tensor mapRows(int width, RowMapper f64, FloatRowMapper f32) {
        checkOpen();
        if (rank() != 2) throw new IllegalArgumentException("mapRows needs a 2-D tensor (N, C), got " + Shape.toString(shape));
        if (f64 == null || width < 0) throw new IllegalArgumentException("mapRows needs a function and a width >= 0, got width " + width);
        if (device() != Device.CPU) {
            try (Tensor host = to(Device.CPU); Tensor r = host.mapRows(width, f64, f32)) {
                return r.to(device());
            }
        }
        if (f32 != null && dtype == DType.FLOAT32) return org.ood4j.engine.cpu.CpuRows.map(this, width, f32);
        return org.ood4j.engine.cpu.CpuRows.map(this, width, f64);
    }

    private Tensor reduceRows(RowReducer f64, FloatRowReducer f32, boolean finiteOnly) {
        checkOpen();
        if (rank() != 2) throw new IllegalArgumentException("reduceRows needs a 2-D tensor (N, C), got " + Shape.toString(shape));
        if (f64 == null) throw new IllegalArgumentException("reduceRows needs a function");
        if (device() != Device.CPU) {
            try (Tensor host = to(Device.CPU); Tensor r = host.reduceRows(f64, f32, finiteOnly)) {
                return r.to(device());
            }
        }
        if (f32 != null && dtype == DType.FLOAT32) return org.ood4j.engine.cpu.CpuRows.reduce(this, f32, finiteOnly);
        return org.ood4j.engine.cpu.CpuRows.reduce(this, f64, finiteOnly);
    }

    public Tensor softmax(int dim) { return backend().reductions().softmax(this, dim, false); }
    public Tensor logSoftmax(int dim) { return backend().reductions().softmax(this, dim, true); }

    // ---------------------------------------------------------------- sorting and order statistics

    /** {values, int64 indices}, stable. */
    public Tensor[] sort(int dim, boolean descending) { return backend().sorting().sort(this, dim, descending); }

    public Tensor argsort(int dim, boolean descending) {
        Tensor[] r = sort(dim, descending);
        r[0].close();
        return r[1];
    }

    /** The k largest (or smallest) along dim, in order: {values, int64 indices}. */
    public Tensor[] topk(int k, int dim, boolean largest) { return backend().sorting().topk(this, k, dim, largest); }

    /** The k-th smallest value along dim (k from 1), as torch.kthvalue. */
    public Tensor kthvalue(int k, int dim, boolean keepdim) { return backend().sorting().kthvalue(this, k, dim, keepdim); }

    /** One quantile along dim (linear interpolation, as torch.quantile). */
    public Tensor quantile(double q, int dim, boolean keepdim) {
        Tensor r = backend().sorting().quantile(this, new double[] {q}, dim, keepdim);
        try (r) {
            return r.select(0, 0);
        }
    }

    /** Several quantiles along dim; the result has a leading dimension of qs.length. */
    public Tensor quantile(double[] qs, int dim, boolean keepdim) { return backend().sorting().quantile(this, qs, dim, keepdim); }

    /** One quantile of all elements, as a 0-d tensor. */
    public Tensor quantile(double q) {
        try (Tensor flat = reshape(-1)) {
            return flat.quantile(q, 0, false);
        }
    }

    // ---------------------------------------------------------------- indexing and grouping

    public Tensor gather(int dim, Tensor index) {
        Backends.sameDevice(this, index);
        return backend().indexing().gather(this, dim, index);
    }

    public Tensor indexSelect(int dim, Tensor index) {
        Backends.sameDevice(this, index);
        return backend().indexing().indexSelect(this, dim, index);
    }

    public Tensor maskedSelect(Tensor mask) {
        Backends.sameDevice(this, mask);
        return backend().indexing().maskedSelect(this, mask);
    }

    /** Per-group sums of rows by label (negative labels skipped): (groups, ...). */
    public Tensor groupSum(Tensor labels, int groups) {
        Backends.sameDevice(this, labels);
        return backend().indexing().groupSum(this, labels, groups);
    }

    /** {@link #groupSum(Tensor, int)} in {@code dtype}: float64 sums of float32 rows without a float64 copy of the rows. */
    public Tensor groupSum(Tensor labels, int groups, DType dtype) {
        Backends.sameDevice(this, labels);
        if (!dtype.isFloating()) throw new IllegalArgumentException("groupSum sums in a floating dtype, not " + dtype);
        return backend().indexing().groupSum(this, labels, groups, dtype);
    }

    /** Per-group means of rows by label (negative labels skipped); an empty group gives NaN rows. */
    public Tensor groupMean(Tensor labels, int groups) {
        try (Scope s = Scope.open()) {
            Tensor sums = groupSum(labels, groups);
            Tensor counts = backend().indexing().groupCount(labels, groups).to(sums.dtype());
            long[] countShape = new long[sums.rank()];
            Arrays.fill(countShape, 1);
            countShape[0] = groups;
            return s.keep(sums.div(counts.reshape(countShape)));
        }
    }

    /** Rows per label in [0, groups) as int64; negative labels skipped. */
    public static Tensor groupCount(Tensor labels, int groups) {
        return labels.backend().indexing().groupCount(labels, groups);
    }

    // ---------------------------------------------------------------- products

    /** (M,K)@(K,N) or batched (B,M,K)@(B,K,N); any strides. */
    public Tensor matmul(Tensor other) {
        Backends.sameDevice(this, other);
        return backend().matmul().matmul(this, other);
    }
}
