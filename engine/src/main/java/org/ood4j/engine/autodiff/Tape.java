package org.ood4j.engine.autodiff;

import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

import org.ood4j.engine.Scope;
import org.ood4j.engine.Shape;
import org.ood4j.engine.Tensor;

/**
 * A reverse-mode autodiff tape. Ops on {@link Var}s of this tape are recorded in order, each with
 * its vector-Jacobian product; {@link #grad} and {@link #vjp} replay them backwards.
 * <pre>{@code
 * try (Tape tape = new Tape()) {
 *     Var x = tape.watch(input);                    // d/dx wanted
 *     Var loss = model(x).logSoftmax(1).select(1, 3).sum().neg();
 *     Tensor dx = tape.grad(loss, List.of(x)).get(0);  // owned by the caller
 * }
 * }</pre>
 *
 * <p>Memory: the tape owns every tensor its ops create (results and what they save for the
 * backward pass) and frees them on {@link #close()}; they are taken out of any {@link Scope}, so a
 * scope closing inside a forward pass does not free them. Tensors given to {@link #watch} and
 * {@link #constant} stay the caller's and must stay open until the tape closes. Gradients returned
 * by {@link #grad}/{@link #vjp} belong to the caller (and to the scope current at the call).
 *
 * <p>The backward pass only visits ops on a path from a requested input to the output, and frees
 * each intermediate gradient as soon as it is complete. Gradients may be requested for any Var
 * of the tape, intermediate ones included (the gradient of a layer's output, say). A tape is for
 * one thread.
 */
public final class Tape implements AutoCloseable {
    private final List<Node> nodes = new ArrayList<>();
    private final List<Tensor> owned = new ArrayList<>();
    private final IdentityHashMap<Tensor, Var> watched = new IdentityHashMap<>();
    private final Map<Class<?>, Object> attachments = new HashMap<>();
    private int nextId;
    private boolean closed;

    /** One recorded op: its output, inputs and backward function. */
    private record Node(String op, Var output, Var[] inputs, Backward backward) {}

    // ---------------------------------------------------------------- leaves

    /**
     * A leaf whose gradient can be asked for; watching the same tensor twice gives the same Var.
     * The tensor stays the caller's.
     */
    public Var watch(Tensor value) {
        checkOpen();
        return watched.computeIfAbsent(value, v -> new Var(this, v, true, nextId++));
    }

    /** A leaf with no gradient (data, frozen weights); the tensor stays the caller's. */
    public Var constant(Tensor value) {
        checkOpen();
        value.checkOpen();
        return new Var(this, value, false, nextId++);
    }

    /** The watched Var of {@code value} if it was {@link #watch watched}, else a constant: how layers take their weights. */
    public Var leaf(Tensor value) {
        Var w = watched.get(value);
        return w != null ? w : constant(value);
    }

    /** Whether {@code value} was watched on this tape. */
    public boolean isWatched(Tensor value) {
        return watched.containsKey(value);
    }

    // ---------------------------------------------------------------- recording (ops)

    /** Records an op: the tape takes {@code value}; the op's backward is kept when an input needs a gradient. */
    Var record(String op, Tensor value, Backward backward, Var... inputs) {
        checkOpen();
        own(value);
        boolean requires = false;
        for (Var in : inputs) {
            if (in.tape() != this) throw new IllegalArgumentException(op + ": operands come from different tapes");
            requires |= in.requiresGrad();
        }
        Var out = new Var(this, value, requires, nextId++);
        if (requires) nodes.add(new Node(op, out, inputs.clone(), backward));
        return out;
    }

    /**
     * Hands a tensor to the tape, which frees it on {@link #close()} (a one-hot mask, a dropout
     * mask, anything made for this forward pass); it leaves any scope. Returns it.
     */
    public Tensor own(Tensor t) {
        checkOpen();
        Scope.release(t);
        owned.add(t);
        return t;
    }

    // ---------------------------------------------------------------- attachments

    /**
     * Attaches a collaborator that code running a forward pass on this tape can look up (for
     * instance a per-sample gradient trace that layers report their inputs and outputs to).
     */
    public <T> void attach(Class<T> type, T value) {
        attachments.put(type, value);
    }

    /** The attachment of this type, or null. */
    public <T> T attachment(Class<T> type) {
        return type.cast(attachments.get(type));
    }

    // ---------------------------------------------------------------- backward

    /** dL/d(input) for each input, L a one-element output. */
    public List<Tensor> grad(Var output, List<Var> inputs) {
        if (output.value().numel() != 1) {
            throw new IllegalArgumentException("grad needs a one-element output, got shape " + Shape.toString(output.shape())
                    + "; use vjp with a cotangent");
        }
        try (Tensor zero = Tensor.zeros(output.dtype(), output.value().device(), output.shape()); Tensor seed = zero.add(1)) {
            return vjp(output, seed, inputs);
        }
    }

    /**
     * The vector-Jacobian product vᵀ ∂output/∂input for each input, v = {@code cotangent} of the
     * output's shape. Inputs the output does not depend on get zeros.
     */
    public List<Tensor> vjp(Var output, Tensor cotangent, List<Var> inputs) {
        checkOpen();
        checkOwnVar(output);
        for (Var in : inputs) {
            checkOwnVar(in);
            if (!in.requiresGrad()) {
                throw new IllegalArgumentException("no gradient for " + in + ": it does not depend on a watched tensor"
                        + " (watch the tensor before the forward pass)");
            }
        }
        if (!java.util.Arrays.equals(cotangent.shape(), output.shape())) {
            throw new IllegalArgumentException("cotangent shape " + Shape.toString(cotangent.shape()) + " differs from output shape "
                    + Shape.toString(output.shape()));
        }
        boolean[] onPath = dependsOn(inputs);
        Map<Integer, Tensor> grads = new HashMap<>();
        Map<Integer, Tensor> requested = new HashMap<>();
        boolean[] wanted = new boolean[nextId];
        for (Var in : inputs) wanted[in.id()] = true;
        try {
            if (onPath[output.id()]) {
                try (Tensor c = cotangent.to(output.dtype())) {
                    grads.put(output.id(), c.copy());
                }
            }
            for (int k = nodes.size() - 1; k >= 0; k--) {
                Node node = nodes.get(k);
                Tensor g = grads.remove(node.output().id());
                if (g == null) continue;
                propagate(node, g, onPath, grads);
                if (wanted[node.output().id()]) requested.put(node.output().id(), g);
                else g.close();
            }
            requested.putAll(grads); // leaves (and an output that is itself requested with no node)
            grads.clear();
            return collect(inputs, requested);
        } catch (RuntimeException e) {
            requested.values().forEach(Tape::closeQuietly);
            throw e;
        } finally {
            grads.values().forEach(Tape::closeQuietly);
        }
    }

    /** onPath[v]: v is a requested input or computed from one, so its gradient is needed. */
    private boolean[] dependsOn(List<Var> inputs) {
        boolean[] on = new boolean[nextId];
        for (Var in : inputs) on[in.id()] = true;
        for (Node node : nodes) {
            for (Var in : node.inputs()) {
                if (on[in.id()]) { on[node.output().id()] = true; break; }
            }
        }
        return on;
    }

    /** Runs one node's backward and adds its input gradients into {@code grads}. */
    private void propagate(Node node, Tensor g, boolean[] onPath, Map<Integer, Tensor> grads) {
        Var[] ins = node.inputs();
        boolean[] needed = new boolean[ins.length];
        boolean any = false;
        for (int i = 0; i < ins.length; i++) {
            needed[i] = ins[i].requiresGrad() && onPath[ins[i].id()];
            any |= needed[i];
        }
        if (!any) return;
        Tensor[] parts = new Tensor[ins.length];
        try (Scope s = Scope.open()) {
            Tensor[] raw = node.backward().apply(g, needed);
            for (int i = 0; i < ins.length; i++) {
                if (!needed[i]) continue;
                parts[i] = s.keep(conform(node, ins[i], raw[i], g));
            }
        }
        for (int i = 0; i < ins.length; i++) {
            if (parts[i] == null) continue;
            Tensor prev = grads.get(ins[i].id());
            if (prev == null) {
                grads.put(ins[i].id(), parts[i]);
            } else {
                grads.put(ins[i].id(), prev.add(parts[i]));
                prev.close();
                parts[i].close();
            }
        }
    }

    /** Checks a backward result's shape and gives it the input's dtype as a fresh handle of this scope. */
    private static Tensor conform(Node node, Var in, Tensor grad, Tensor g) {
        if (grad == null) throw new IllegalStateException(node.op() + ": backward gave no gradient for a needed input");
        if (!java.util.Arrays.equals(grad.shape(), in.shape())) {
            throw new IllegalStateException(node.op() + ": gradient of shape " + Shape.toString(grad.shape())
                    + " for an input of shape " + Shape.toString(in.shape()));
        }
        // A fresh handle (a view at most), so the same tensor returned twice, or grad itself, is safe to keep.
        return grad.dtype() == in.dtype() ? grad.reshape(grad.shape()) : grad.to(in.dtype());
    }

    /** The gradient of each input in order (a copy where one is asked for twice); frees the rest. */
    private static List<Tensor> collect(List<Var> inputs, Map<Integer, Tensor> found) {
        List<Tensor> out = new ArrayList<>(inputs.size());
        IdentityHashMap<Tensor, Boolean> returned = new IdentityHashMap<>();
        for (Var in : inputs) {
            Tensor g = found.get(in.id());
            Tensor r = g == null ? Tensor.zeros(in.dtype(), in.value().device(), in.shape())
                    : returned.containsKey(g) || !g.isContiguous() ? g.copy() : g;
            returned.put(r, true);
            out.add(r);
        }
        for (Tensor t : found.values()) {
            if (!returned.containsKey(t)) closeQuietly(t);
        }
        return Collections.unmodifiableList(out);
    }

    // ---------------------------------------------------------------- lifetime

    private void checkOwnVar(Var v) {
        if (v.tape() != this) throw new IllegalArgumentException("Var " + v + " belongs to another tape");
    }

    void checkOpen() {
        if (closed) throw new IllegalStateException("tape is closed");
    }

    /** Ops recorded so far (those with a backward). */
    public int size() {
        return nodes.size();
    }

    /** Frees every tensor the tape's ops created. Vars of this tape are unusable afterwards. */
    @Override
    public void close() {
        if (closed) return;
        closed = true;
        nodes.clear();
        watched.clear();
        attachments.clear();
        owned.forEach(Tape::closeQuietly);
        owned.clear();
    }

    private static void closeQuietly(Tensor t) {
        if (!t.isClosed()) t.close();
    }
}
