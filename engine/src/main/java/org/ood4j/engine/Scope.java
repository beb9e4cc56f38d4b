package org.ood4j.engine;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.LinkedHashSet;
import java.util.Set;

/**
 * Frees every tensor created inside it (on this thread) that was not closed or {@link #keep kept}.
 * Scopes nest; a kept tensor moves to the enclosing scope, or becomes unowned when there is none.
 * <pre>{@code
 * Tensor scores;
 * try (Scope s = Scope.open()) {
 *     Tensor p = logits.softmax(1);          // freed at the end of the scope
 *     scores = s.keep(p.max(1).neg());       // survives it
 * }
 * }</pre>
 */
public final class Scope implements AutoCloseable {
    private static final ThreadLocal<Deque<Scope>> STACK = ThreadLocal.withInitial(ArrayDeque::new);

    private final Set<Tensor> owned = new LinkedHashSet<>();
    private final Thread thread = Thread.currentThread();
    private boolean closed;

    private Scope() {}

    /** Opens a scope on the current thread; close it with try-with-resources. */
    public static Scope open() {
        Scope s = new Scope();
        STACK.get().push(s);
        return s;
    }

    static Scope current() {
        Deque<Scope> stack = STACK.get();
        return stack.isEmpty() ? null : stack.peek();
    }

    void register(Tensor t) { owned.add(t); }

    void forget(Tensor t) { owned.remove(t); }

    /** Moves {@code t} out of this scope into the enclosing one (or none) and returns it. */
    public Tensor keep(Tensor t) {
        if (!owned.contains(t)) {
            throw new IllegalArgumentException("tensor " + Shape.toString(t.shape()) + " is not owned by this scope");
        }
        Deque<Scope> stack = STACK.get();
        Scope parent = null;
        boolean seen = false;
        for (Scope s : stack) {
            if (seen) { parent = s; break; }
            if (s == this) seen = true;
        }
        t.moveTo(parent);
        return t;
    }

    /**
     * Takes {@code t} out of whichever scope owns it: the caller (say, a fitted detector that
     * stores it) now owns it and must close it. Returns t.
     */
    public static Tensor release(Tensor t) {
        t.moveTo(null);
        return t;
    }

    /** Keeps several tensors; see {@link #keep(Tensor)}. */
    public void keepAll(Tensor... ts) {
        for (Tensor t : ts) keep(t);
    }

    @Override
    public void close() {
        if (closed) return;
        if (Thread.currentThread() != thread) {
            throw new IllegalStateException("a scope must be closed on the thread that opened it");
        }
        closed = true;
        Deque<Scope> stack = STACK.get();
        if (stack.peek() != this) {
            throw new IllegalStateException("scopes closed out of order: close inner scopes first");
        }
        stack.pop();
        for (Tensor t : new ArrayList<>(owned)) {
            t.closeFromScope();
        }
        owned.clear();
    }
}
