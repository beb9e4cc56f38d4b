package org.ood4j.engine.autodiff;

import java.util.Arrays;
import java.util.List;

import org.ood4j.engine.DType;
import org.ood4j.engine.Shape;
import org.ood4j.engine.Tensor;

/**
 * A value on a {@link Tape}: a tensor plus what is needed to differentiate through it. Every op
 * returns a new Var recorded on the same tape; its tensor belongs to the tape. Broadcasting,
 * dtypes and argument conventions are those of {@link Tensor}. Convolution, pooling,
 * normalisation and dropout are in {@link Functional}.
 *
 * <p>Gradients (the backward of each op, g = dL/d(output)):
 * <ul>
 *   <li>a ± b: ±g, summed over broadcast dimensions; a b: g b, g a; a / b: g / b, -g a / b²</li>
 *   <li>exp: g eˣ; log: g / x; sqrt: g / (2√x); xᵖ: g p xᵖ⁻¹; |x|: g sign(x); relu: g [x > 0];
 *       sigmoid: g σ(1 - σ); tanh: g (1 - tanh²); clamp: g [lo ≤ x ≤ hi]</li>
 *   <li>A B: g Bᵀ, Aᵀ g (summed over a broadcast batch)</li>
 *   <li>sum: g broadcast back; mean: g / n; max along a dim: g at the (first) argmax</li>
 *   <li>softmax s: s (g - Σ g s); log_softmax: g - softmax Σ g; logsumexp: g softmax</li>
 *   <li>views (reshape, permute, slice, select, expand, ...): the inverse view, zeros elsewhere,
 *       sums over expanded dimensions</li>
 * </ul>
 */
public final class Var {
    private final Tape tape;
    private final Tensor value;
    private final boolean requiresGrad;
    private final int id;

    Var(Tape tape, Tensor value, boolean requiresGrad, int id) {
        this.tape = tape;
        this.value = value;
        this.requiresGrad = requiresGrad;
        this.id = id;
    }

    // ---------------------------------------------------------------- metadata

    /** The value; owned by the tape (or by the caller for leaves): do not close it. */
    public Tensor value() { return value; }

    public Tape tape() { return tape; }

    /** Whether this Var depends on a watched tensor, so gradients flow through it. */
    public boolean requiresGrad() { return requiresGrad; }

    int id() { return id; }

    public long[] shape() { return value.shape(); }

    public long size(int dim) { return value.size(dim); }

    public int rank() { return value.rank(); }

    public DType dtype() { return value.dtype(); }

    @Override
    public String toString() {
        return "Var#" + id + Shape.toString(value.shape()) + " " + value.dtype() + (requiresGrad ? " (grad)" : "");
    }

    private Var record(String op, Tensor out, Backward backward, Var... inputs) {
        return tape.record(op, out, backward, inputs);
    }

    private Var other(Var v) {
        if (v.tape != tape) throw new IllegalArgumentException("operands come from different tapes: " + this + " and " + v);
        return v;
    }

    // ---------------------------------------------------------------- binary, broadcasting

    public Var add(Var b) {
        other(b);
        long[] sa = shape(), sb = b.shape();
        return record("add", value.add(b.value), (g, need) -> new Tensor[] {
            need[0] ? Grads.sumTo(g, sa) : null,
            need[1] ? Grads.sumTo(g, sb) : null}, this, b);
    }

    public Var sub(Var b) {
        other(b);
        long[] sa = shape(), sb = b.shape();
        return record("sub", value.sub(b.value), (g, need) -> new Tensor[] {
            need[0] ? Grads.sumTo(g, sa) : null,
            need[1] ? Grads.sumTo(g.neg(), sb) : null}, this, b);
    }

    public Var mul(Var b) {
        other(b);
        Tensor x = value, y = b.value;
        return record("mul", x.mul(y), (g, need) -> new Tensor[] {
            need[0] ? Grads.sumTo(g.mul(y), x.shape()) : null,
            need[1] ? Grads.sumTo(g.mul(x), y.shape()) : null}, this, b);
    }

    public Var div(Var b) {
        other(b);
        Tensor x = value, y = b.value;
        return record("div", x.div(y), (g, need) -> new Tensor[] {
            need[0] ? Grads.sumTo(g.div(y), x.shape()) : null,
            need[1] ? Grads.sumTo(g.mul(x).div(y.mul(y)).neg(), y.shape()) : null}, this, b);
    }

    // ---------------------------------------------------------------- scalar arithmetic

    public Var add(double s) {
        return record("add_scalar", value.add(s), (g, need) -> new Tensor[] {g}, this);
    }

    public Var sub(double s) {
        return record("sub_scalar", value.sub(s), (g, need) -> new Tensor[] {g}, this);
    }

    public Var mul(double s) {
        return record("mul_scalar", value.mul(s), (g, need) -> new Tensor[] {g.mul(s)}, this);
    }

    public Var div(double s) {
        return record("div_scalar", value.div(s), (g, need) -> new Tensor[] {g.div(s)}, this);
    }

    public Var neg() {
        return record("neg", value.neg(), (g, need) -> new Tensor[] {g.neg()}, this);
    }

    // ---------------------------------------------------------------- unary

    public Var exp() {
        Tensor out = value.exp();
        return record("exp", out, (g, need) -> new Tensor[] {g.mul(out)}, this);
    }

    public Var log() {
        Tensor x = value;
        return record("log", x.log(), (g, need) -> new Tensor[] {g.div(x)}, this);
    }

    public Var sqrt() {
        Tensor out = value.sqrt();
        return record("sqrt", out, (g, need) -> new Tensor[] {g.div(out).mul(0.5)}, this);
    }

    /** x^p for a constant exponent. */
    public Var pow(double p) {
        Tensor x = value;
        return record("pow", x.pow(p), (g, need) -> new Tensor[] {g.mul(x.pow(p - 1)).mul(p)}, this);
    }

    /** |x|; the gradient at 0 is 0. */
    public Var abs() {
        Tensor x = value;
        return record("abs", x.abs(), (g, need) -> new Tensor[] {g.mul(x.sign())}, this);
    }

    /** max(x, 0); the gradient at 0 is 0, as PyTorch. */
    public Var relu() {
        Tensor x = value;
        return record("relu", x.relu(), (g, need) -> new Tensor[] {g.mul(Grads.positive(x))}, this);
    }

    public Var sigmoid() {
        Tensor s = value.sigmoid();
        return record("sigmoid", s, (g, need) -> new Tensor[] {g.mul(s).mul(s.neg().add(1))}, this);
    }

    public Var tanh() {
        Tensor t = value.tanh();
        return record("tanh", t, (g, need) -> new Tensor[] {g.mul(t.mul(t).neg().add(1))}, this);
    }

    /** min(max(x, lo), hi); the gradient passes where lo ≤ x ≤ hi, as PyTorch. */
    public Var clamp(double lo, double hi) {
        Tensor x = value;
        return record("clamp", x.clamp(lo, hi), (g, need) -> new Tensor[] {g.mul(Grads.within(x, lo, hi))}, this);
    }

    // ---------------------------------------------------------------- products

    /** (M,K)@(K,N) or batched (B,M,K)@(B,K,N), a 2-D operand broadcasting over the batch. */
    public Var matmul(Var b) {
        other(b);
        Tensor x = value, y = b.value;
        return record("matmul", x.matmul(y), (g, need) -> new Tensor[] {
            need[0] ? Grads.sumTo(g.matmul(y.transpose(-1, -2)), x.shape()) : null,
            need[1] ? Grads.sumTo(x.transpose(-1, -2).matmul(g), y.shape()) : null}, this, b);
    }

    // ---------------------------------------------------------------- reductions

    /** Sum of all elements (0-d). */
    public Var sum() {
        long[] s = shape();
        return record("sum", value.sum(), (g, need) -> new Tensor[] {g.expand(s)}, this);
    }

    public Var sum(int dim, boolean keepdim) {
        int d = Shape.dim(dim, rank());
        long[] s = shape();
        return record("sum_dim", value.sum(d, keepdim), (g, need) -> new Tensor[] {Grads.restoreDim(g, d, keepdim).expand(s)}, this);
    }

    /** Mean of all elements (0-d). */
    public Var mean() {
        long[] s = shape();
        double n = value.numel();
        return record("mean", value.mean(), (g, need) -> new Tensor[] {g.div(n).expand(s)}, this);
    }

    public Var mean(int dim, boolean keepdim) {
        int d = Shape.dim(dim, rank());
        long[] s = shape();
        double n = s[d];
        return record("mean_dim", value.mean(d, keepdim), (g, need) -> new Tensor[] {Grads.restoreDim(g, d, keepdim).div(n).expand(s)}, this);
    }

    /** Maximum along a dimension; the gradient goes to the first maximum, as torch.max(dim). */
    public Var max(int dim, boolean keepdim) {
        int d = Shape.dim(dim, rank());
        Tensor x = value;
        return record("max_dim", x.max(d, keepdim), (g, need) -> {
            Tensor mask = Grads.oneHot(x.argmax(d, true), x.shape(), d, x.dtype());
            return new Tensor[] {mask.mul(Grads.restoreDim(g, d, keepdim))};
        }, this);
    }

    public Var softmax(int dim) {
        int d = Shape.dim(dim, rank());
        Tensor s = value.softmax(d);
        return record("softmax", s, (g, need) -> new Tensor[] {s.mul(g.sub(g.mul(s).sum(d, true)))}, this);
    }

    public Var logSoftmax(int dim) {
        int d = Shape.dim(dim, rank());
        Tensor ls = value.logSoftmax(d);
        return record("log_softmax", ls, (g, need) -> new Tensor[] {g.sub(ls.exp().mul(g.sum(d, true)))}, this);
    }

    public Var logsumexp(int dim, boolean keepdim) {
        int d = Shape.dim(dim, rank());
        Tensor x = value;
        Tensor out = x.logsumexp(d, keepdim);
        return record("logsumexp", out, (g, need) -> new Tensor[] {
            x.sub(Grads.restoreDim(out, d, keepdim)).exp().mul(Grads.restoreDim(g, d, keepdim))}, this);
    }

    // ---------------------------------------------------------------- views

    public Var reshape(long... newShape) {
        long[] s = shape();
        return record("reshape", value.reshape(newShape), (g, need) -> new Tensor[] {g.reshape(s)}, this);
    }

    /** Keeps dimension 0 and flattens the rest: (N, ...) to (N, -1). */
    public Var flatten(int startDim) {
        int d = Shape.dim(startDim, rank());
        long[] s = Arrays.copyOf(shape(), d + 1);
        s[d] = -1;
        return reshape(s);
    }

    public Var permute(int... order) {
        int[] o = new int[order.length];
        for (int i = 0; i < o.length; i++) o[i] = Shape.dim(order[i], rank());
        int[] inv = Grads.inverse(o);
        return record("permute", value.permute(o), (g, need) -> new Tensor[] {g.permute(inv)}, this);
    }

    public Var transpose(int dim0, int dim1) {
        return record("transpose", value.transpose(dim0, dim1), (g, need) -> new Tensor[] {g.transpose(dim0, dim1)}, this);
    }

    /** Transpose of a 2-D Var. */
    public Var t() {
        if (rank() != 2) throw new IllegalArgumentException("t() needs a 2-D Var, got " + Shape.toString(shape()));
        return transpose(0, 1);
    }

    public Var slice(int dim, long start, long end) {
        int d = Shape.dim(dim, rank());
        long[] s = shape();
        return record("slice", value.slice(d, start, end), (g, need) -> {
            Tensor z = Tensor.zeros(g.dtype(), g.device(), s);
            z.slice(d, start, end).copyFrom(g);
            return new Tensor[] {z};
        }, this);
    }

    public Var select(int dim, long index) {
        int d = Shape.dim(dim, rank());
        long[] s = shape();
        return record("select", value.select(d, index), (g, need) -> {
            Tensor z = Tensor.zeros(g.dtype(), g.device(), s);
            z.select(d, index).copyFrom(g);
            return new Tensor[] {z};
        }, this);
    }

    public Var unsqueeze(int dim) {
        int d = Shape.dim(dim, rank() + 1);
        return record("unsqueeze", value.unsqueeze(d), (g, need) -> new Tensor[] {g.squeeze(d)}, this);
    }

    public Var squeeze(int dim) {
        int d = Shape.dim(dim, rank());
        return record("squeeze", value.squeeze(d), (g, need) -> new Tensor[] {g.unsqueeze(d)}, this);
    }

    /** Broadcast view to a larger shape; the gradient sums over the stretched dimensions. */
    public Var expand(long... target) {
        long[] s = shape();
        return record("expand", value.expand(target), (g, need) -> new Tensor[] {Grads.sumTo(g, s)}, this);
    }

    /** Joins Vars of one tape along an existing dimension. */
    public static Var cat(List<Var> parts, int dim) {
        if (parts.isEmpty()) throw new IllegalArgumentException("cat of no Vars");
        Var first = parts.get(0);
        int d = Shape.dim(dim, first.rank());
        long[] starts = new long[parts.size() + 1];
        for (int i = 0; i < parts.size(); i++) starts[i + 1] = starts[i] + first.other(parts.get(i)).size(d);
        Tensor out = Tensor.cat(parts.stream().map(Var::value).toList(), d);
        return first.record("cat", out, (g, need) -> {
            Tensor[] r = new Tensor[need.length];
            for (int i = 0; i < need.length; i++) {
                if (need[i]) r[i] = g.slice(d, starts[i], starts[i + 1]);
            }
            return r;
        }, parts.toArray(Var[]::new));
    }
}
