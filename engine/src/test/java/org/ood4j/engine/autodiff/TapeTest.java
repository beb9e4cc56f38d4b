package org.ood4j.engine.autodiff;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.SplittableRandom;

import org.junit.jupiter.api.Test;
import org.ood4j.engine.DType;
import org.ood4j.engine.MemoryStats;
import org.ood4j.engine.Scope;
import org.ood4j.engine.Tensor;

/** The tape's bookkeeping: which gradients it gives, to whom the tensors belong, and errors. */
class TapeTest {
    private final SplittableRandom rng = new SplittableRandom(3);

    @Test
    void gradientOfKnownFunction() {
        // L = Σ x² w  →  dL/dx = 2 x w, dL/dw = Σ x².
        try (Tensor x = Tensor.of(new double[] {1, -2, 3}); Tensor w = Tensor.scalar(0.5, DType.FLOAT64); Tape tape = new Tape()) {
            Var xv = tape.watch(x), wv = tape.watch(w);
            List<Tensor> g = tape.grad(xv.mul(xv).mul(wv).sum(), List.of(xv, wv));
            try (Tensor gx = g.get(0); Tensor gw = g.get(1)) {
                assertArrayEquals(new double[] {1, -2, 3}, gx.toDoubleArray(), 1e-15);
                assertEquals(14, gw.item(), 1e-15);
                assertArrayEquals(new long[0], gw.shape());
            }
        }
    }

    @Test
    void gradientsWithRespectToIntermediateVars() {
        // y = exp(x), L = Σ y²: dL/dy = 2y, dL/dx = 2y·y.
        try (Scope s = Scope.open(); Tape tape = new Tape()) {
            Tensor x = Tensor.randn(rng, DType.FLOAT64, 4);
            Var xv = tape.watch(x);
            Var y = xv.exp();
            List<Tensor> g = tape.grad(y.mul(y).sum(), List.of(y, xv));
            double[] yv = y.value().toDoubleArray(), gy = g.get(0).toDoubleArray(), gx = g.get(1).toDoubleArray();
            for (int i = 0; i < 4; i++) {
                assertEquals(2 * yv[i], gy[i], 1e-12);
                assertEquals(2 * yv[i] * yv[i], gx[i], 1e-12);
            }
        }
    }

    @Test
    void unusedInputsGetZerosAndRepeatedInputsGetCopies() {
        try (Scope s = Scope.open(); Tape tape = new Tape()) {
            Var a = tape.watch(Tensor.randn(rng, DType.FLOAT32, 2, 3)), b = tape.watch(Tensor.randn(rng, DType.FLOAT32, 5));
            List<Tensor> g = tape.grad(a.sum(), List.of(a, b, a));
            assertArrayEquals(new double[5], g.get(1).toDoubleArray());
            assertArrayEquals(g.get(0).toDoubleArray(), g.get(2).toDoubleArray());
            assertNotSame(g.get(0), g.get(2));
            assertEquals(DType.FLOAT32, g.get(0).dtype());
            assertTrue(g.get(0).isContiguous(), "a gradient from a broadcast is returned contiguous");
        }
    }

    @Test
    void watchingTwiceGivesOneVarAndLeafTellsWatchedFromConstant() {
        try (Tensor w = Tensor.ones(DType.FLOAT64, 2); Tensor c = Tensor.ones(DType.FLOAT64, 2); Tape tape = new Tape()) {
            Var v = tape.watch(w);
            assertSame(v, tape.watch(w));
            assertSame(v, tape.leaf(w));
            assertTrue(tape.isWatched(w));
            assertFalse(tape.leaf(c).requiresGrad());
            assertFalse(tape.leaf(c).mul(tape.leaf(c)).requiresGrad(), "ops of constants are not differentiable");
            assertEquals(0, tape.size(), "nothing recorded for constants");
        }
    }

    @Test
    void mixedPrecisionGradientsTakeTheInputsDtype() {
        try (Scope s = Scope.open(); Tape tape = new Tape()) {
            Var a = tape.watch(Tensor.randn(rng, DType.FLOAT32, 3)), b = tape.watch(Tensor.randn(rng, DType.FLOAT64, 3));
            Var loss = a.mul(b).sum();
            assertEquals(DType.FLOAT64, loss.dtype());
            List<Tensor> g = tape.grad(loss, List.of(a, b));
            assertEquals(DType.FLOAT32, g.get(0).dtype());
            assertArrayEquals(b.value().toFloatArray(), g.get(0).toFloatArray(), 1e-6f);
        }
    }

    @Test
    void vjpOfNonScalarOutput() {
        try (Scope s = Scope.open(); Tape tape = new Tape()) {
            Var x = tape.watch(Tensor.of(new double[] {1, 2, 3}));
            Tensor v = Tensor.of(new double[] {1, 0, -1});
            List<Tensor> g = tape.vjp(x.pow(2), v, List.of(x));
            assertArrayEquals(new double[] {2, 0, -6}, g.get(0).toDoubleArray(), 1e-12);
        }
    }

    @Test
    void errorsNameTheProblem() {
        try (Scope s = Scope.open(); Tape tape = new Tape(); Tape other = new Tape()) {
            Var x = tape.watch(Tensor.randn(rng, DType.FLOAT64, 3));
            Var c = tape.constant(Tensor.randn(rng, DType.FLOAT64, 3));
            var e = assertThrows(IllegalArgumentException.class, () -> tape.grad(x.exp(), List.of(x)));
            assertTrue(e.getMessage().contains("vjp"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> tape.grad(x.sum(), List.of(c)));
            assertTrue(e.getMessage().contains("watch"), e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> tape.vjp(x.exp(), Tensor.ones(DType.FLOAT64, 4), List.of(x)));
            Var y = other.watch(Tensor.randn(rng, DType.FLOAT64, 3));
            assertThrows(IllegalArgumentException.class, () -> x.add(y));
        }
    }

    @Test
    void closingTheTapeFreesEverythingItCreated() {
        long before = MemoryStats.liveBlocks();
        try (Tensor x = Tensor.randn(rng, DType.FLOAT32, 4, 3); Tensor w = Tensor.randn(rng, DType.FLOAT32, 2, 3)) {
            Tensor gx;
            try (Tape tape = new Tape()) {
                Var xv = tape.watch(x);
                Var out;
                try (Scope inner = Scope.open()) {
                    // an inner scope closing mid-forward must not free what the tape owns
                    out = Functional.linear(xv, tape.constant(w), null).relu().logSoftmax(1);
                }
                gx = tape.grad(out.sum(), List.of(xv)).get(0);
                assertTrue(MemoryStats.liveBlocks() > before + 3);
            }
            gx.close();
        }
        assertEquals(before, MemoryStats.liveBlocks());
        Tape closed = new Tape();
        closed.close();
        assertThrows(IllegalStateException.class, () -> closed.watch(Tensor.ones(DType.FLOAT32, 1)));
    }

    @Test
    void attachmentsAreFoundByType() {
        try (Tape tape = new Tape()) {
            assertEquals(null, tape.attachment(StringBuilder.class));
            StringBuilder sb = new StringBuilder();
            tape.attach(StringBuilder.class, sb);
            assertSame(sb, tape.attachment(StringBuilder.class));
        }
    }
}
